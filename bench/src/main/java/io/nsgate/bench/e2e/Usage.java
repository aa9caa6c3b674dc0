// CPU and memory around a workload, from /proc: the whole machine's CPU and the gateway process's own.
package io.nsgate.bench.e2e;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;

/**
 * A {@link Snapshot} is taken right before and right after a workload's measured part; two of them make a
 * {@link Window}:
 * <ul>
 *   <li>machine CPU busy: from the first line of /proc/stat (all CPUs; busy = everything but idle and iowait), as %
 *       of the whole machine. For the kernel's NAT this is the only place its cost shows (softirq time);</li>
 *   <li>the gateway's CPU: utime + stime of /proc/PID/stat (all its threads), in seconds and as % of one core;</li>
 *   <li>the gateway's resident memory: VmRSS of /proc/PID/status at the end of the window (and VmHWM, the peak).</li>
 * </ul>
 */
final class Usage {
    private Usage() {
    }

    /** Clock ticks per second of /proc/PID/stat's times (USER_HZ: 100 on every Linux architecture nsgate runs on). */
    static final double TICKS_PER_SECOND = 100.0;

    record Snapshot(long nanos, Instant wall, long machineBusy, long machineTotal, long procTicks, long rssKb,
                    long hwmKb) {
    }

    /** What one workload cost; the process fields are NaN / -1 when there is no gateway process (the kernel). */
    record Window(Instant start, Instant end, double seconds, double machineBusyPct, double procCpuSeconds,
                  double procCpuPctOfCore, long rssKb, long hwmKb) {
    }

    /** Now; {@code pid} -1 for no process. */
    static Snapshot take(long pid) {
        long[] cpu = machineCpu();
        long ticks = -1;
        long rss = -1;
        long hwm = -1;
        if (pid > 0) {
            ticks = processTicks(pid);
            rss = statusKb(pid, "VmRSS:");
            hwm = statusKb(pid, "VmHWM:");
        }
        return new Snapshot(System.nanoTime(), Instant.now(), cpu[0], cpu[1], ticks, rss, hwm);
    }

    static Window between(Snapshot a, Snapshot b) {
        double seconds = (b.nanos() - a.nanos()) / 1e9;
        long total = b.machineTotal() - a.machineTotal();
        double busy = total > 0 ? 100.0 * (b.machineBusy() - a.machineBusy()) / total : Double.NaN;
        double procSeconds = Double.NaN;
        double procPct = Double.NaN;
        if (a.procTicks() >= 0 && b.procTicks() >= 0) {
            procSeconds = (b.procTicks() - a.procTicks()) / TICKS_PER_SECOND;
            procPct = 100.0 * procSeconds / seconds;
        }
        return new Window(a.wall(), b.wall(), seconds, busy, procSeconds, procPct, b.rssKb(), b.hwmKb());
    }

    /** {busy, total} jiffies over all CPUs. */
    private static long[] machineCpu() {
        String first = read(Path.of("/proc/stat")).lines().findFirst().orElse("");
        String[] f = first.trim().split("\\s+");
        long total = 0;
        long idle = 0;
        for (int i = 1; i < Math.min(f.length, 9); i++) { // user nice system idle iowait irq softirq steal
            long v = Long.parseLong(f[i]);
            total += v;
            if (i == 4 || i == 5) {
                idle += v;
            }
        }
        return new long[] {total - idle, total};
    }

    /** utime + stime in clock ticks (fields 14 and 15; the command name in field 2 may hold spaces). */
    static long processTicks(long pid) {
        String stat = read(Path.of("/proc", String.valueOf(pid), "stat"));
        int close = stat.lastIndexOf(')');
        if (close < 0) {
            return -1;
        }
        String[] f = stat.substring(close + 2).trim().split("\\s+"); // f[0] is field 3 (state)
        return Long.parseLong(f[11]) + Long.parseLong(f[12]);
    }

    private static long statusKb(long pid, String key) {
        for (String line : read(Path.of("/proc", String.valueOf(pid), "status")).split("\n")) {
            if (line.startsWith(key)) {
                return Long.parseLong(line.substring(key.length()).trim().split("\\s+")[0]);
            }
        }
        return -1;
    }

    private static String read(Path p) {
        try {
            return Files.readString(p);
        } catch (IOException e) {
            return "";
        }
    }
}
