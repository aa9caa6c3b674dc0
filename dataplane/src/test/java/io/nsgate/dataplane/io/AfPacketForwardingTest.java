// GSO super-frames through the rings: a user-space bridge between two veth pairs carries a TCP transfer intact.
package io.nsgate.dataplane.io;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.concurrent.atomic.AtomicReference;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

import io.nsgate.dataplane.io.AfPacketOptions.RxVersion;
import io.nsgate.dataplane.packet.VirtioNetHeader;
import io.nsgate.dataplane.stats.PortCounter;
import io.nsgate.dataplane.testsupport.RequiresAfPacket;
import io.nsgate.testkit.Commands;
import io.nsgate.testkit.NetnsLab;
import java.util.StringJoiner;
import java.util.Locale;

/**
 * The lab: {@code a} (10.9.0.1/24) -- veth -- {@code x} in namespace {@code br} and {@code y} in {@code br} -- veth --
 * {@code b} (10.9.0.2/24). {@code br}'s kernel has no address and does not forward: the only way between a and b is
 * the {@link Bridge} thread, which copies every frame received on x into y's TX ring and back, virtio-net header
 * included. TSO and GSO stay on (veth's defaults), so a's TCP hands x super-frames of up to 64 KiB, which must
 * arrive whole, be sent on whole, and reach b's application byte for byte. Every test runs with both ring versions;
 * the measurements (printed, never asserted: machines are noisy) compare them.
 */
@RequiresAfPacket
class AfPacketForwardingTest {
    private static final Pattern DIGEST = Pattern.compile("(\\d+) ([0-9a-f]{64})");
    private static final String RECEIVER = String.join("\n",
        "import hashlib, socket, sys, time",
        "s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)",
        "s.bind(('10.9.0.2', int(sys.argv[1]))); s.listen(1); print('ready', flush=True)",
        "c, _ = s.accept(); h = hashlib.sha256(); n = 0; pause = float(sys.argv[2])",
        "while True:",
        "    d = c.recv(262144)",
        "    if not d: break",
        "    h.update(d); n += len(d)",
        "    if pause: time.sleep(pause)",
        "print(n, h.hexdigest(), flush=True)");
    private static final String SENDER = String.join("\n",
        "import hashlib, random, socket, sys",
        "data = random.Random(int(sys.argv[3])).randbytes(int(sys.argv[2]))",
        "s = socket.create_connection(('10.9.0.2', int(sys.argv[1])))",
        "s.sendall(data); s.shutdown(socket.SHUT_WR); s.recv(1); s.close()",
        "print(len(data), hashlib.sha256(data).hexdigest(), flush=True)");

    private static NetnsLab lab;
    private static String a;
    private static String br;
    private static String b;

    private AfPacketPort x;
    private AfPacketPort y;
    private Bridge bridge;

    @BeforeAll
    static void buildLab() {
        lab = NetnsLab.create();
        a = lab.addNamespace("a");
        br = lab.addNamespace("br");
        b = lab.addNamespace("b");
        lab.veth(a, "eth0", br, "x");
        lab.veth(br, "y", b, "eth0");
        lab.address(a, "eth0", "10.9.0.1/24");
        lab.address(b, "eth0", "10.9.0.2/24"); // veth's offloads stay as they are: TSO, GSO, checksum offload on
    }

    @AfterAll
    static void removeLab() {
        if (lab != null) {
            lab.close();
        }
    }

    private void startBridge(RxVersion version) {
        AfPacketOptions options = AfPacketOptions.builder().rxVersion(version).build();
        x = lab.inside(br, () -> AfPacketPort.open("x", options));
        y = lab.inside(br, () -> AfPacketPort.open("y", options));
        bridge = new Bridge(x, y);
        bridge.start();
    }

    @AfterEach
    void stopBridge() {
        if (bridge != null) {
            bridge.stop();
        }
        if (x != null) {
            x.close();
        }
        if (y != null) {
            y.close();
        }
    }

    @ParameterizedTest
    @EnumSource(RxVersion.class)
    void tcpSuperFramesCrossTheRingsWholeAndTheDataArrivesIntact(RxVersion version) {
        startBridge(version);
        // a receiver that pauses after each read, so that data waits in b's socket while TX slots are reused
        String received = transfer(5001, 24 << 20, 0.002);
        String sent = lastDigest;
        assertEquals(sent, received, "bytes and SHA-256 at b equal what a sent");

        assertTrue(bridge.superFrames > 0, "GSO super-frames (longer than the 1514-byte MTU frame) arrived on x: "
            + bridge.summary());
        assertEquals(VirtioNetHeader.GSO_TCPV4, bridge.superFrameGsoType, bridge.summary());
        assertTrue((bridge.superFrameFlags & VirtioNetHeader.FLAG_NEEDS_CSUM) != 0,
            "super-frames carry a partial checksum (NEEDS_CSUM): " + bridge.summary());
        assertEquals(1448, bridge.superFrameGsoSize, "segment size = MSS on a 1500-byte MTU: " + bridge.summary());
        assertTrue(bridge.longestFrame > 30_000, bridge.summary());
        assertEquals(0, bridge.sum(PortCounter.RX_TRUNCATED), "no frame was clamped to its block");
        assertEquals(0, bridge.sum(PortCounter.TX_REJECTED), bridge.summary());
        assertEquals(0, bridge.dropped, "the bridge never gave up on a full TX ring: " + bridge.summary());
        assertEquals(null, bridge.failure.get());
    }

    @ParameterizedTest
    @EnumSource(RxVersion.class)
    void bridgeLoopAllocatesNothingWhileForwardingBulkTraffic(RxVersion version) {
        startBridge(version);
        // warm-up: the JIT compiles the loop over ~100k calls, allocating a little on the way (measured apart: ~24 KB
        // in the first thousand calls of a method, a few hundred bytes at each tier change, then nothing)
        iperf(5204, "-t", "1", "-u", "-b", "0", "-l", "18");
        transfer(5002, 8 << 20, 0);
        long before = bridge.allocatedBytes();
        long framesBefore = bridge.frames;
        long start = System.nanoTime();
        transfer(5003, 64 << 20, 0);
        double seconds = (System.nanoTime() - start) / 1e9;
        long allocated = bridge.allocatedBytes() - before;
        long frames = bridge.frames - framesBefore;
        System.out.printf("bridge (" + version + "): 64 MiB from a to b (python sockets) in %.2f s, %d frames"
            + " forwarded (%d bytes on average), %d bytes allocated by the bridge thread%n", seconds, frames,
            (64L << 20) / frames, allocated);
        assertTrue(frames > 1000, bridge.summary());
        assertTrue(allocated < 4096, bridge.summary() + "; " + allocated + " bytes allocated by"
            + " receive/transmit/flush/poll over " + frames + " frames");
    }

    @ParameterizedTest
    @EnumSource(RxVersion.class)
    void throughputAndLatencyThroughTheBridgeAreMeasured(RxVersion version) {
        startBridge(version);
        lab.tryExec(a, "ping", "-c", "1", "-W", "1", "10.9.0.2"); // ARP both ways first
        String ping = lab.exec(a, "ping", "-c", "50", "-i", "0.01", "10.9.0.2");
        List<Double> rtts = new ArrayList<>();
        Matcher each = Pattern.compile("time=([\\d.]+) ms").matcher(ping);
        while (each.find()) {
            rtts.add(Double.parseDouble(each.group(1)));
        }
        assertTrue(rtts.size() >= 45, ping);
        rtts.sort(Comparator.naturalOrder());

        double tcpBits = iperf(5201, "-t", "2");
        long drops = PortDriver.ringDrops(x);
        long[] before = bridge.counters();
        iperf(5202, "-t", "2", "-u", "-b", "0", "-l", "18");
        String small = bridge.since(before) + ", x kernel drops " + (PortDriver.ringDrops(x) - drops);
        before = bridge.counters();
        String http = httpKeepAlive(8080);
        http += " (" + bridge.since(before) + ")";
        System.out.printf("bridge (%s): ping RTT median %.3f ms, max %.3f ms; iperf3 TCP a->b %.2f Gbit/s;"
            + " iperf3 UDP 18-byte payloads forwarded: %s; %s%n",
            x.options().rxVersion() == RxVersion.V2 ? "V2" : "V3, rxBlockTimeoutMs " + x.options().rxBlockTimeoutMs(),
            rtts.get(rtts.size() / 2), rtts.get(rtts.size() - 1), tcpBits / 1e9, small, http);
        assertTrue(tcpBits > 1e9, "TCP " + tcpBits / 1e9 + " Gbit/s: " + bridge.summary());
        assertEquals(null, bridge.failure.get());
    }

    /**
     * HTTP keep-alive through the bridge, as the gateway's goal measures it: wrk (32 connections, 2 s) in a against
     * nginx (one process, a 2-byte answer) in b; "wrk and nginx not both installed" when they are not (the tools
     * of scripts/ensure-deps bench).
     */
    private static String httpKeepAlive(int port) {
        Path nginx = Stream.of("/usr/sbin/nginx", "/usr/bin/nginx").map(Path::of).filter(Files::isExecutable)
            .findFirst().orElse(null);
        Path wrk = Stream.of("/usr/bin/wrk", "/usr/local/bin/wrk").map(Path::of).filter(Files::isExecutable)
            .findFirst().orElse(null);
        if (nginx == null || wrk == null) {
            return "HTTP: wrk and nginx not both installed";
        }
        Path prefix = null;
        try {
            prefix = Files.createTempDirectory("ngt-nginx");
            Files.writeString(prefix.resolve("nginx.conf"), String.join("\n",
                "daemon off; master_process off; worker_processes 1; pid " + prefix + "/nginx.pid;",
                "error_log stderr warn; events { worker_connections 256; }",
                "http { access_log off; client_body_temp_path " + prefix + "; proxy_temp_path " + prefix + ";",
                "  fastcgi_temp_path " + prefix + "; uwsgi_temp_path " + prefix + "; scgi_temp_path " + prefix + ";",
                "  keepalive_requests 1000000;",
                "  server { listen 10.9.0.2:" + port + "; location / { return 200 \"ok\"; } } }", ""));
            Process server = lab.start(b, nginx.toString(), "-e", "stderr", "-p", prefix.toString(), "-c",
                prefix.resolve("nginx.conf").toString());
            try {
                long deadline = System.nanoTime() + 5_000_000_000L;
                while (lab.tryExec(a, "curl", "-s", "-m", "1", "http://10.9.0.2:" + port + "/").exitCode() != 0) {
                    assertTrue(System.nanoTime() < deadline && server.isAlive(), "nginx: " + lab.output(server));
                    sleep(20);
                }
                String out = lab.exec(a, wrk.toString(), "-t", "1", "-c", "32", "-d", "2s", "--latency",
                    "http://10.9.0.2:" + port + "/");
                Matcher rate = Pattern.compile("Requests/sec:\\s+([\\d.]+)").matcher(out);
                // the "Latency Distribution" lines, not the thread statistics' "+/- Stdev" column
                Matcher p50 = Pattern.compile("(?m)^\\s+50%\\s+(\\S+)").matcher(out);
                Matcher p99 = Pattern.compile("(?m)^\\s+99%\\s+(\\S+)").matcher(out);
                assertTrue(rate.find() && p50.find() && p99.find(), out);
                return String.format("HTTP keep-alive (wrk, 32 connections): %.0f req/s, latency p50 %s p99 %s",
                    Double.parseDouble(rate.group(1)), p50.group(1), p99.group(1));
            } finally {
                server.destroy();
                lab.await(server, Duration.ofSeconds(10)); // nginx ends on SIGTERM with status 0
            }
        } catch (IOException e) {
            throw new AssertionError(e);
        } finally {
            if (prefix != null) {
                try (Stream<Path> files = Files.walk(prefix)) {
                    files.sorted(Comparator.reverseOrder()).forEach(f -> f.toFile().delete());
                } catch (IOException ignored) {
                    // a temporary directory left behind
                }
            }
        }
    }

    /** Runs an iperf3 client in a against a one-off server in b; returns the receiver's bits per second. */
    private static double iperf(int port, String... clientOptions) {
        Process server = lab.start(b, "iperf3", "-s", "-1", "--forceflush", "-B", "10.9.0.2", "-p",
            Integer.toString(port));
        long deadline = System.nanoTime() + 5_000_000_000L;
        while (!lab.output(server).contains("listening")) {
            assertTrue(System.nanoTime() < deadline && server.isAlive(), "iperf3 server: " + lab.output(server));
            sleep(10);
        }
        List<String> cmd = new ArrayList<>(List.of("iperf3", "-c", "10.9.0.2", "-p",
            Integer.toString(port), "-J"));
        cmd.addAll(List.of(clientOptions));
        String json = lab.exec(a, cmd.toArray(new String[0]));
        lab.await(server, Duration.ofSeconds(10));
        int at = json.indexOf("\"sum_received\"");
        if (at < 0) {
            at = json.indexOf("\"sum\"", json.indexOf("\"end\""));
        }
        Matcher bits = Pattern.compile("\"bits_per_second\":\\s*([\\d.e+]+)").matcher(json);
        assertTrue(at >= 0 && bits.find(at), json);
        return Double.parseDouble(bits.group(1));
    }

    private String lastDigest;

    /** Sends {@code bytes} from a to b through the bridge; returns b's "length sha256", keeps a's in lastDigest. */
    private String transfer(int port, int bytes, double pause) {
        Process receiver = lab.start(b, Commands.python(), "-c", RECEIVER, Integer.toString(port),
            Double.toString(pause));
        long deadline = System.nanoTime() + 5_000_000_000L;
        while (!lab.output(receiver).contains("ready")) {
            assertTrue(System.nanoTime() < deadline && receiver.isAlive(), "receiver started: "
                + lab.output(receiver));
            sleep(10);
        }
        Process sender = lab.start(a, Commands.python(), "-c", SENDER, Integer.toString(port),
            Integer.toString(bytes), "12345");
        lastDigest = digest(lab.await(sender, Duration.ofSeconds(60)));
        return digest(lab.await(receiver, Duration.ofSeconds(60)));
    }

    private static String digest(String output) {
        Matcher m = DIGEST.matcher(output);
        assertTrue(m.find(), "a length and a SHA-256 in: " + output);
        return m.group(0);
    }

    private static void sleep(long ms) {
        try {
            Thread.sleep(ms);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    /**
     * Copies every frame of x to y and of y to x, as a worker would: receive a batch, transmit each frame, one
     * flush per port per round, poll() when idle. A full TX ring makes it flush and wait (counted), never drop.
     */
    static final class Bridge implements Runnable {
        private final AfPacketPort x;
        private final AfPacketPort y;
        private final PortPoller poller;
        private final RxBatch batch = new RxBatch();
        private final Thread thread = new Thread(this, "bridge");
        private volatile boolean running = true;
        final AtomicReference<Throwable> failure = new AtomicReference<>();

        volatile long frames;
        volatile long superFrames;
        volatile int longestFrame;
        volatile int superFrameGsoType = -1;
        volatile int superFrameFlags;
        volatile int superFrameGsoSize;
        volatile long ringFullWaits;
        volatile long dropped;
        volatile long rounds;
        volatile long polls;

        Bridge(AfPacketPort x, AfPacketPort y) {
            this.x = x;
            this.y = y;
            this.poller = new PortPoller(x, y);
            thread.setDaemon(true);
        }

        void start() {
            thread.start();
        }

        void stop() {
            running = false;
            try {
                thread.join(5000);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }

        /** CPU time the bridge thread has used, in nanoseconds. */
        long cpuNanos() {
            return ManagementFactory.getThreadMXBean().getThreadCpuTime(thread.getId());
        }

        /** A snapshot of the counters, to report what happened between two of them. */
        long[] counters() {
            return new long[] {System.nanoTime(), frames, rounds, polls, sum(PortCounter.TX_KICKS), cpuNanos()};
        }

        /** Frames per round, rounds that found nothing and polled, kicks, and the thread's CPU use since {@code s}. */
        String since(long[] s) {
            long[] e = counters();
            double seconds = (e[0] - s[0]) / 1e9;
            long frames = e[1] - s[1];
            long workRounds = e[2] - s[2] - (e[3] - s[3]);
            return String.format("%.0f frames/s, %.1f frames per busy round, %.0f polls/s, %.0f kicks/s, bridge CPU"
                + " %.0f%%", frames / seconds, workRounds == 0 ? 0.0 : (double) frames / workRounds,
                (e[3] - s[3]) / seconds, (e[4] - s[4]) / seconds, (e[5] - s[5]) / 1e7 / seconds);
        }

        long allocatedBytes() {
            return ((com.sun.management.ThreadMXBean) ManagementFactory.getThreadMXBean())
                .getThreadAllocatedBytes(thread.getId());
        }

        @Override
        public void run() {
            try {
                while (running) {
                    int work = forward(x, y) + forward(y, x);
                    x.flush();
                    y.flush();
                    rounds++;
                    if (work == 0) {
                        polls++;
                        poller.poll(2);
                    }
                }
            } catch (Throwable t) {
                failure.set(t);
            }
        }

        private int forward(AfPacketPort from, AfPacketPort to) {
            final int n = from.receive(batch);
            for (int i = 0; i < n; i++) {
                final int length = batch.frameLength[i];
                if (length > 1514) {
                    superFrames++;
                    superFrameGsoType = batch.gsoType[i];
                    superFrameFlags = batch.vnetFlags[i];
                    superFrameGsoSize = batch.gsoSize[i];
                }
                if (length > longestFrame) {
                    longestFrame = length;
                }
                int spins = 0;
                while (!to.transmit(batch.buffer, batch.vnetOffset[i], batch.frameOffset[i], length)) {
                    ringFullWaits++;
                    to.flush();
                    if (++spins > 1_000_000) {
                        dropped++;
                        break;
                    }
                    Thread.onSpinWait();
                }
            }
            frames += n;
            return n;
        }

        /** A counter of both ports. */
        long sum(PortCounter c) {
            return x.counters().get(c) + y.counters().get(c);
        }

        String summary() {
            return "frames " + frames + ", super-frames " + superFrames + " (gso type " + superFrameGsoType
                + ", flags " + superFrameFlags + ", gso size " + superFrameGsoSize + "), longest " + longestFrame
                + ", TX ring full waits " + ringFullWaits + ", dropped " + dropped + ", x " + counters(x) + ", y "
                + counters(y);
        }

        /** The port's counters that are not zero, by their JSON names, and the last kick's errno. */
        private static String counters(AfPacketPort p) {
            StringJoiner all = new StringJoiner(", ", "{", ", last kick errno " + p.lastKickErrno() + "}");
            for (PortCounter c : PortCounter.values()) {
                if (p.counters().get(c) != 0) {
                    all.add(c.name().toLowerCase(Locale.ROOT) + " " + p.counters().get(c));
                }
            }
            return all.toString();
        }
    }
}
