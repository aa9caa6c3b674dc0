// `bench/run abuse`: what control-socket abuse costs the daemon in resident memory, with its production flags.
package io.nsgate.bench.e2e;

import java.io.IOException;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

import io.nsgate.control.api.client.ControlClient;
import io.nsgate.control.netns.NetNs;
import io.nsgate.control.testsupport.SeedLab;
import io.nsgate.testkit.Processes;
import io.nsgate.testkit.TestPrefix;

/**
 * Starts `nsgate run` in a seed lab as {@link NsgateSide} does (the production JVM flags of {@code jvm.options}), then
 * abuses its control socket the way the hostile run of issue 10 did, phase after phase, and reads the daemon's
 * resident size ({@code VmRSS}) and peak ({@code VmHWM}) from /proc after each:
 * <ol>
 *   <li>1,000 connections opened at once and left idle;</li>
 *   <li>20,000 pipelined status requests on 10 connections that never read their answers;</li>
 *   <li>10 MB lines without a newline on 10 connections;</li>
 *   <li>all of it again, then a status request: the daemon must still answer.</li>
 * </ol>
 * The figure is the peak's growth over the resident size before the abuse.
 */
public final class AbuseBenchmark {
    private static final byte[] STATUS = "{\"v\":1,\"id\":1,\"op\":\"status\"}\n".getBytes(StandardCharsets.US_ASCII);

    private AbuseBenchmark() {
    }

    public static void main(String[] args) throws Exception {
        if (!NetNs.isAvailable()) {
            System.err.println("abuse: needs root: " + NetNs.unavailabilityCause());
            System.exit(1);
        }
        Processes procs = new Processes(Files.createTempDirectory("nsgate-abuse-"));
        SeedLab lab = SeedLab.create(TestPrefix.Kind.BENCHMARK, procs);
        NsgateSide gateway = new NsgateSide(lab, 2, null);
        int code = 0;
        try {
            gateway.start();
            Path socket = gateway.controlSocket();
            long pid = gateway.pid();
            Thread.sleep(2000);
            StringBuilder r = new StringBuilder("# nsgate control-socket abuse\n\n");
            r.append(String.format(Locale.ROOT, "JVM flags: %s%n%n", String.join(" ", NsgateSide.productionFlags())));
            r.append("| phase | VmRSS (MiB) | VmHWM, peak (MiB) |\n|---|---:|---:|\n");
            long base = kib(pid, "VmRSS");
            row(r, "started, idle", pid);
            for (int round = 1; round <= 2; round++) {
                connections(socket, 1000);
                row(r, "round " + round + ": 1,000 idle connections", pid);
                pipelined(socket, 10, 2000);
                row(r, "round " + round + ": 20,000 pipelined requests never read", pid);
                longLines(socket, 10, 10 << 20);
                row(r, "round " + round + ": 10 MB lines on 10 connections", pid);
            }
            boolean answers;
            try (ControlClient c = ControlClient.connect(socket, Duration.ofSeconds(5))) {
                answers = c.call("status", null).ok();
            }
            long peak = kib(pid, "VmHWM");
            r.append(String.format(Locale.ROOT, "%nGrowth of the peak over the idle daemon: %.0f MiB (goal < 200). "
                + "Still answering status: %s.%n", (peak - base) / 1024.0, answers));
            System.out.println(r);
            if (args.length == 2 && args[0].equals("--out")) {
                Files.writeString(Path.of(args[1]), r.toString());
            }
        } catch (Exception e) {
            System.err.println("abuse: " + e.getMessage());
            code = 1;
        } finally {
            gateway.close();
            procs.stopAll();
            lab.close();
        }
        System.exit(code);
    }

    private static void row(StringBuilder r, String phase, long pid) throws IOException {
        r.append(String.format(Locale.ROOT, "| %s | %.0f | %.0f |%n", phase, kib(pid, "VmRSS") / 1024.0,
            kib(pid, "VmHWM") / 1024.0));
    }

    private static long kib(long pid, String field) throws IOException {
        for (String line : Files.readAllLines(Path.of("/proc", String.valueOf(pid), "status"))) {
            if (line.startsWith(field + ":")) {
                return Long.parseLong(line.replaceAll("[^0-9]", ""));
            }
        }
        throw new IOException("no " + field + " for pid " + pid);
    }

    private static SocketChannel open(Path socket) throws IOException {
        SocketChannel ch = SocketChannel.open(StandardProtocolFamily.UNIX);
        ch.connect(UnixDomainSocketAddress.of(socket));
        return ch;
    }

    private static void connections(Path socket, int n) throws Exception {
        List<SocketChannel> open = new ArrayList<>();
        try {
            for (int i = 0; i < n; i++) {
                open.add(open(socket));
            }
            Thread.sleep(2000);
        } finally {
            for (SocketChannel ch : open) {
                ch.close();
            }
        }
    }

    /** Connections each sending {@code requestsEach} status requests and never reading an answer. */
    private static void pipelined(Path socket, int connections, int requestsEach) throws Exception {
        ByteBuffer all = ByteBuffer.allocate(STATUS.length * requestsEach);
        for (int i = 0; i < requestsEach; i++) {
            all.put(STATUS);
        }
        writeFromMany(socket, connections, all.flip(), 3000);
    }

    /** Connections each sending {@code bytes} of one line that never ends. */
    private static void longLines(Path socket, int connections, int bytes) throws Exception {
        byte[] line = new byte[bytes];
        java.util.Arrays.fill(line, (byte) 'x');
        writeFromMany(socket, connections, ByteBuffer.wrap(line), 2000);
    }

    /**
     * Opens {@code connections} connections, writes {@code data} on each for as long as the daemon reads it (5 s at
     * most: once it stops reading, what it holds is bounded), keeps them open {@code holdMs}, then closes them.
     */
    private static void writeFromMany(Path socket, int connections, ByteBuffer data, long holdMs) throws Exception {
        List<SocketChannel> open = new ArrayList<>();
        try {
            for (int c = 0; c < connections; c++) {
                SocketChannel ch = open(socket);
                ch.configureBlocking(false);
                open.add(ch);
                ByteBuffer left = data.duplicate();
                long deadline = System.nanoTime() + 5_000_000_000L;
                while (left.hasRemaining() && System.nanoTime() < deadline) {
                    if (ch.write(left) == 0) {
                        Thread.sleep(5);
                    }
                }
            }
            Thread.sleep(holdMs);
        } finally {
            for (SocketChannel ch : open) {
                ch.close();
            }
        }
    }
}
