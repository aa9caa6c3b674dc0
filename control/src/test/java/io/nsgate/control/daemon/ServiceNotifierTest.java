// The systemd notifications of a running gateway, read from a real AF_UNIX datagram socket given as NOTIFY_SOCKET.
package io.nsgate.control.daemon;

import static org.junit.jupiter.api.Assertions.*;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CountDownLatch;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

import io.nsgate.control.cli.LabCommand;
import io.nsgate.control.testsupport.SeedLab;
import io.nsgate.linux.sys.Linux;
import io.nsgate.linux.sys.Syscalls;
import io.nsgate.linux.sys.SystemdNotify;

/**
 * A gateway in the seed lab and a datagram socket standing for systemd: READY=1 comes once the gateway runs (it is
 * sent after start, when rings and guards are attached), then WATCHDOG=1 with status lines; while a worker is
 * wedged the pings stop and the status says so; they resume when it runs again; STOPPING=1 at the end.
 */
class ServiceNotifierTest {
    @RegisterExtension
    static final SeedLab LAB = new SeedLab();
    @TempDir
    static Path dir;

    private static Gateway gateway;

    @BeforeAll
    static void start() {
        gateway = Gateway.start(LabCommand.labConfig(LAB.prefix(), 2), line -> System.out.println("[gateway] " + line));
    }

    @AfterAll
    static void stop() {
        if (gateway != null) {
            gateway.close();
        }
    }

    @Test
    void readyThenWatchdogPingsThatStopWhileAWorkerIsWedged() throws Exception {
        Path path = dir.resolve("notify.sock");
        int fd = Syscalls.socket(Linux.AF_UNIX, Linux.SOCK_DGRAM | Linux.SOCK_NONBLOCK | Linux.SOCK_CLOEXEC, 0,
            "systemd's stand-in");
        try {
            byte[] name = path.toString().getBytes(StandardCharsets.UTF_8);
            ByteBuffer address = ByteBuffer.allocateDirect(2 + name.length + 1).order(ByteOrder.nativeOrder());
            address.putShort((short) Linux.AF_UNIX).put(name).put((byte) 0).flip();
            Syscalls.bind(fd, address, "systemd's stand-in");
            SystemdNotify notify = SystemdNotify.from(Map.of("NOTIFY_SOCKET", path.toString(),
                "WATCHDOG_USEC", "400000", "WATCHDOG_PID", Long.toString(ProcessHandle.current().pid())),
                ProcessHandle.current().pid());
            assertEquals(400_000, notify.watchdogUsec());
            List<String> log = new ArrayList<>();
            ServiceNotifier notifier = ServiceNotifier.ready(notify, gateway.dataPlane(), log::add);
            try {
                String first = receive(fd, 2000);
                assertTrue(first.startsWith("READY=1\nSTATUS=forwarding: "), first);
                String ping = receive(fd, 2000);
                assertTrue(ping.startsWith("WATCHDOG=1\nSTATUS=forwarding: "), ping);

                CountDownLatch release = new CountDownLatch(1);
                gateway.dataPlane().wedgeWorker(1, release);
                try {
                    String stalled = awaitMessage(fd, "stalled", 3000);
                    assertTrue(stalled.startsWith("STATUS=worker 1 stalled"), stalled);
                    for (int i = 0; i < 3; i++) {
                        String m = receive(fd, 2000);
                        assertFalse(m.contains("WATCHDOG=1"), "no ping while worker 1 is wedged: " + m);
                    }
                    assertTrue(log.stream().anyMatch(l -> l.contains("worker 1 ran no duty cycle")), log.toString());
                } finally {
                    release.countDown();
                }
                assertTrue(awaitMessage(fd, "WATCHDOG=1", 3000).startsWith("WATCHDOG=1"), "pings resume");
                notifier.stopping();
                assertTrue(awaitMessage(fd, "STOPPING=1", 2000).startsWith("STOPPING=1"));
            } finally {
                notifier.close();
            }
        } finally {
            Syscalls.closeQuietly(fd);
        }
    }

    /** The next datagram within {@code timeoutMs}. */
    private static String receive(int fd, long timeoutMs) throws InterruptedException {
        ByteBuffer data = ByteBuffer.allocateDirect(4096);
        long deadline = System.nanoTime() + timeoutMs * 1_000_000L;
        while (System.nanoTime() < deadline) {
            data.clear();
            int n = Syscalls.recv(fd, data, 0, "systemd's stand-in");
            if (n > 0) {
                byte[] bytes = new byte[n];
                data.get(0, bytes);
                return new String(bytes, StandardCharsets.UTF_8);
            }
            Thread.sleep(10);
        }
        throw new AssertionError("no notification within " + timeoutMs + " ms");
    }

    private static String awaitMessage(int fd, String containing, long timeoutMs) throws InterruptedException {
        long deadline = System.nanoTime() + timeoutMs * 1_000_000L;
        while (System.nanoTime() < deadline) {
            String m = receive(fd, timeoutMs);
            if (m.contains(containing)) {
                return m;
            }
        }
        throw new AssertionError("no notification with " + containing + " within " + timeoutMs + " ms");
    }
}
