// What a Type=notify systemd unit is told: ready once attached, a status line, watchdog pings while workers run.
package io.nsgate.control.daemon;

import java.util.Arrays;
import java.util.Locale;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;

import io.nsgate.dataplane.pipeline.DataPlane;
import io.nsgate.dataplane.stats.Counter;
import io.nsgate.dataplane.stats.StatsSnapshot;
import io.nsgate.linux.sys.SystemdNotify;

/**
 * Speaks for a running gateway to its service manager ({@link SystemdNotify}):
 * <ul>
 *   <li>{@code READY=1} when it is made: the caller makes it once the rings and the guard are attached and the
 *       control socket serves;</li>
 *   <li>every period (half the watchdog's, or 2 s without one) a {@code STATUS=} line: flows of both tables and the
 *       forwarding rate since the last one;</li>
 *   <li>{@code WATCHDOG=1} with it only when every worker ran a duty cycle since the last check (an idle worker runs
 *       one per 10 ms poll timeout): a worker stuck in a frame or a command stops the pings, and systemd restarts
 *       the service when {@code WatchdogSec=} passes; the stall is logged;</li>
 *   <li>{@code STOPPING=1} from {@link #stopping()}.</li>
 * </ul>
 */
public final class ServiceNotifier implements AutoCloseable {
    private final SystemdNotify notify;
    private final DataPlane dataPlane;
    private final Consumer<String> log;
    private final ScheduledExecutorService timer;
    private long[] lastCycles;
    private long lastForwarded;
    private long lastNs;
    private boolean stalled;

    private ServiceNotifier(SystemdNotify notify, DataPlane dataPlane, Consumer<String> log) {
        this.notify = notify;
        this.dataPlane = dataPlane;
        this.log = log;
        this.timer = Executors.newSingleThreadScheduledExecutor(r -> {
            Thread t = new Thread(r, "nsgate-notify");
            t.setDaemon(true);
            return t;
        });
    }

    /** Sends READY=1 and starts the status and watchdog ticks. */
    public static ServiceNotifier ready(SystemdNotify notify, DataPlane dataPlane, Consumer<String> log) {
        ServiceNotifier n = new ServiceNotifier(notify, dataPlane, log);
        n.lastCycles = dataPlane.workerCycles();
        n.lastNs = System.nanoTime();
        StatsSnapshot stats = dataPlane.stats();
        n.lastForwarded = stats.total(Counter.FORWARDED);
        n.notify.send("READY=1\nSTATUS=" + status(stats, 0));
        long periodMs = notify.watchdogUsec() > 0 ? Math.max(100, notify.watchdogUsec() / 2000) : 2000;
        n.timer.scheduleAtFixedRate(n::tick, periodMs, periodMs, TimeUnit.MILLISECONDS);
        log.accept("told the service manager (" + notify + ") it is ready; status every " + periodMs + " ms"
            + (notify.watchdogUsec() > 0 ? ", watchdog pings while every worker runs" : ""));
        return n;
    }

    private void tick() {
        try {
            long[] cycles = dataPlane.workerCycles();
            int stuck = -1;
            for (int i = 0; i < cycles.length; i++) {
                if (cycles[i] == lastCycles[i]) {
                    stuck = i;
                }
            }
            lastCycles = cycles;
            long now = System.nanoTime();
            StatsSnapshot stats = dataPlane.stats(); // a system call per port: once a tick
            long forwarded = stats.total(Counter.FORWARDED);
            double rate = (forwarded - lastForwarded) * 1e9 / Math.max(1, now - lastNs);
            lastForwarded = forwarded;
            lastNs = now;
            if (stuck >= 0) {
                if (!stalled) {
                    log.accept("warning: worker " + stuck + " ran no duty cycle for a whole watchdog period: no "
                        + "watchdog ping until it does (cycles " + Arrays.toString(cycles) + ")");
                }
                stalled = true;
                notify.send("STATUS=worker " + stuck + " stalled; " + status(stats, rate));
                return;
            }
            stalled = false;
            notify.send((notify.watchdogUsec() > 0 ? "WATCHDOG=1\n" : "") + "STATUS=" + status(stats, rate));
        } catch (RuntimeException e) {
            log.accept("warning: service status: " + e.getMessage());
        }
    }

    private static String status(StatsSnapshot s, double framesPerSecond) {
        return String.format(Locale.ROOT, "forwarding: %d flows (%d IPv6), %.0f frames/s", s.flowTable().size()
            + s.flowTable6().size(), s.flowTable6().size(), framesPerSecond);
    }

    /** STOPPING=1, and no more ticks. */
    public void stopping() {
        timer.shutdownNow();
        notify.send("STOPPING=1\nSTATUS=stopping");
    }

    @Override
    public void close() {
        timer.shutdownNow();
        notify.close();
    }
}
