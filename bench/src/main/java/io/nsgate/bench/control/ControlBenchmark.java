// The control socket under load: status requests/s, listing a million flows, and what a listing costs forwarding.
package io.nsgate.bench.control;

import java.io.IOException;
import java.io.PrintWriter;
import java.io.Writer;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;

import io.nsgate.control.api.client.ControlClient;
import io.nsgate.control.api.server.ControlServer;
import io.nsgate.control.api.ops.ControlTarget;
import io.nsgate.control.cli.Main;
import io.nsgate.control.daemon.Gateway;
import io.nsgate.control.daemon.GatewayConfig;
import io.nsgate.control.netns.NetNs;
import io.nsgate.control.testsupport.SeedLab;
import io.nsgate.dataplane.conntrack.FlowTimeouts;
import io.nsgate.dataplane.nat.ForwardRule;
import io.nsgate.dataplane.nat.PortRange;
import io.nsgate.dataplane.stats.Counter;
import io.nsgate.linux.net.Ipv4Address;
import io.nsgate.linux.net.Ipv4Prefix;
import io.nsgate.testkit.CommandException;
import io.nsgate.testkit.Commands;
import io.nsgate.testkit.NsgateProcess;
import io.nsgate.testkit.Processes;
import io.nsgate.testkit.TestPrefix;
import picocli.CommandLine;
import io.nsgate.control.api.ops.SyntheticFlows;

/**
 * The seed lab under a per-run prefix ngbXXXX-, the gateway in its edge namespace (two workers) with a flow table
 * holding a million established connections (inserted directly, as the data plane would have created them), and
 * its control socket in a temporary directory. Then:
 * <ol>
 *   <li><b>status requests/s</b>: one client, request after request; then four clients at once;</li>
 *   <li><b>listing a million flows</b> with no traffic: a raw client that only counts the lines (the daemon's
 *       side), the {@link ControlClient} parsing every item (what {@code nsgate ctl --json flows} does), and
 *       {@code nsgate ctl flows} in process printing its table to nowhere;</li>
 *   <li><b>the dip</b>: trafgen in lan sends 64-byte UDP frames to a port forward (udp:9000 to blue) while the data
 *       plane's FORWARDED counter is sampled; quiet phases and phases during {@code nsgate ctl --json flows} (its own
 *       JVM, output to /dev/null) alternate, and the dip is 1 - (frames/s during) / (frames/s in the neighbouring
 *       quiet phases). First at full speed: two vCPUs shared by trafgen and both workers, saturated, the worst case;
 *       with, as a reference, the dip caused by the cheapest background process there is (a SCHED_IDLE shell busy
 *       loop, for as long as a listing took). Then at half the quiet full-speed rate, the operating point a gateway
 *       is sized for.</li>
 * </ol>
 *
 * <pre>
 *   bench/run control [--flows 1000000] [--rounds 3]
 * </pre>
 */
public final class ControlBenchmark {
    private static final int FORWARD_PORT = 9000;
    /** trafgen and the sender it forks get this long after SIGTERM. */
    private static final Duration TRAFGEN_GRACE = Duration.ofSeconds(5);

    private ControlBenchmark() {
    }

    public static void main(String[] args) throws Exception {
        int flows = 1_000_000;
        int rounds = 3;
        for (int i = 0; i < args.length; i++) {
            switch (args[i]) {
                case "--flows" -> flows = Integer.parseInt(args[++i]);
                case "--rounds" -> rounds = Integer.parseInt(args[++i]);
                default -> {
                    System.err.println("usage: bench/run control [--flows N] [--rounds R]");
                    System.exit(2);
                }
            }
        }
        if (!NetNs.isAvailable()) {
            System.err.println("control benchmark needs root: " + NetNs.unavailabilityCause());
            System.exit(1);
        }
        double busy = machineBusy(1000);
        System.out.printf(Locale.ROOT, "machine before the run: %.0f %% of its CPUs busy with other work%s%n",
            busy * 100, busy > 0.1 ? " (figures below will be noisy: something else is running)" : "");
        Path dir = Files.createTempDirectory("nsgate-control-bench");
        Path socket = dir.resolve("control.sock");
        Processes processes = new Processes(dir);
        Run run = new Run(processes, dir);
        // SIGTERM or Ctrl-C: the same clean-up as a normal end (namespaces, processes, files), once
        Thread hook = new Thread(run::cleanUp, "control-bench-cleanup");
        Runtime.getRuntime().addShutdownHook(hook);
        try {
            SeedLab lab = run.lab = SeedLab.create(TestPrefix.Kind.BENCHMARK, processes);
            int capacity = flows + flows / 10 + 65536;
            GatewayConfig config = new GatewayConfig(lab.ns("edge"), "lan0", List.of("v-net-0"),
                List.of(Ipv4Prefix.parse(SeedLab.INSIDE_NET)),
                List.of(ForwardRule.parse("udp:" + FORWARD_PORT + "=" + SeedLab.BLUE + ":" + FORWARD_PORT)), 2,
                PortRange.DEFAULT_NAT, capacity, FlowTimeouts.DEFAULTS);
            Gateway gateway = run.gateway = Gateway.start(config, line -> { });
            long t0 = System.nanoTime();
            SyntheticFlows.insertDnat(gateway.dataPlane().flowTable(), flows, Ipv4Address.parse("10.64.0.0"));
            System.out.printf(Locale.ROOT, "setup: seed lab %s{edge,red,blue,lan}, gateway with 2 workers, flow table "
                    + "of %,d with %,d established flows (inserted in %.2f s), %d CPUs%n", lab.prefix(), capacity,
                flows, (System.nanoTime() - t0) / 1e9, Runtime.getRuntime().availableProcessors());
            run.server = ControlServer.start(ControlServer.Settings.of(socket), ControlTarget.of(gateway, null),
                line -> { });

            statusRate(socket, 1, 3);
            statusRate(socket, 4, 3);
            System.out.println();
            listing(socket, flows, rounds);
            System.out.println();
            // the real tool, as an operator runs it: its own JVM, JSON to /dev/null
            List<String> ctl = NsgateProcess.Launch.of("ctl", "--socket", socket.toString(), "--json", "flows")
                .command();
            run.trafgen = startTrafgen(lab, 0);
            String saturated = "at full speed (saturation: trafgen and both workers share the 2 vCPUs)";
            double[] full = dip(gateway, processes, rounds, saturated, ctl,
                "`nsgate ctl --json flows` (JVM start included)");
            // the floor: the cheapest background process there is, for as long as a listing took
            long floorSeconds = Math.max(1, Math.round(full[1]));
            dip(gateway, processes, rounds, saturated, List.of("timeout", Long.toString(floorSeconds), "chrt", "--idle",
                "0", "sh", "-c", "while :; do :; done"), "a SCHED_IDLE busy loop for " + floorSeconds
                + " s instead (reference: what any background process costs here)");
            processes.stop(run.trafgen, TRAFGEN_GRACE);
            run.trafgen = null;
            System.out.println();
            long offered = Math.round(full[0] * 0.5 / 1000) * 1000;
            run.trafgen = startTrafgen(lab, offered);
            dip(gateway, processes, rounds, "offered at " + String.format(Locale.ROOT, "%,d", offered)
                + " frames/s (half of the quiet full-speed rate)", ctl, "`nsgate ctl --json flows`");
        } finally {
            run.cleanUp();
            try {
                Runtime.getRuntime().removeShutdownHook(hook);
            } catch (IllegalStateException alreadyShuttingDown) {
                // the hook runs (or ran) the same clean-up
            }
        }
    }

    /** The fraction of all CPUs busy over {@code ms} (from /proc/stat), while this benchmark itself is idle. */
    static double machineBusy(long ms) throws Exception {
        long[] a = cpuTimes();
        Thread.sleep(ms);
        long[] b = cpuTimes();
        return (double) (b[0] - a[0]) / Math.max(1, b[1] - a[1]);
    }

    /** {busy, total} jiffies of all CPUs. */
    private static long[] cpuTimes() throws IOException {
        String[] f = Files.readAllLines(Path.of("/proc/stat")).get(0).trim().split("\\s+");
        long total = 0;
        for (int i = 1; i < f.length; i++) {
            total += Long.parseLong(f[i]);
        }
        long idle = Long.parseLong(f[4]) + Long.parseLong(f[5]);
        return new long[] {total - idle, total};
    }

    // ------------------------------------------------------------------ status

    private static void statusRate(Path socket, int clients, int seconds) throws Exception {
        ExecutorService pool = Executors.newFixedThreadPool(clients);
        try {
            // warm-up: JIT of both sides
            try (ControlClient c = ControlClient.connect(socket, Duration.ofSeconds(10))) {
                for (int i = 0; i < 5000; i++) {
                    c.call("status", null);
                }
            }
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(seconds);
            long start = System.nanoTime();
            List<Future<long[]>> results = new ArrayList<>();
            for (int t = 0; t < clients; t++) {
                results.add(pool.submit(() -> {
                    long n = 0;
                    long[] latencies = new long[4_000_000];
                    try (ControlClient c = ControlClient.connect(socket, Duration.ofSeconds(10))) {
                        while (System.nanoTime() < deadline) {
                            long s = System.nanoTime();
                            if (!c.call("status", null).ok()) {
                                throw new IllegalStateException("status failed");
                            }
                            if (n < latencies.length) {
                                latencies[(int) n] = System.nanoTime() - s;
                            }
                            n++;
                        }
                    }
                    long[] out = Arrays.copyOf(latencies, (int) Math.min(n, latencies.length) + 1);
                    out[out.length - 1] = n;
                    return out;
                }));
            }
            long total = 0;
            List<Long> all = new ArrayList<>();
            for (Future<long[]> f : results) {
                long[] r = f.get();
                total += r[r.length - 1];
                for (int i = 0; i < r.length - 1; i++) {
                    all.add(r[i]);
                }
            }
            double elapsed = (System.nanoTime() - start) / 1e9;
            all.sort(null);
            System.out.printf(Locale.ROOT, "status: %d client%s, one request at a time each: %,.0f requests/s "
                    + "(median %.0f us, p99 %.0f us per request)%n", clients, clients == 1 ? "" : "s",
                total / elapsed, all.get(all.size() / 2) / 1e3, all.get((int) (all.size() * 0.99)) / 1e3);
        } finally {
            pool.shutdownNow();
        }
    }

    // ------------------------------------------------------------------ listing

    private static void listing(Path socket, int flows, int rounds) throws Exception {
        double[] raw = new double[rounds];
        double[] parsed = new double[rounds];
        double[] table = new double[rounds];
        long bytes = 0;
        for (int r = 0; r < rounds; r++) {
            long s = System.nanoTime();
            long[] counted = rawList(socket);
            raw[r] = (System.nanoTime() - s) / 1e9;
            check(counted[0], flows, "raw");
            bytes = counted[1];

            s = System.nanoTime();
            long[] items = {0};
            try (ControlClient c = ControlClient.connect(socket, Duration.ofSeconds(30))) {
                if (!c.stream("flows.list", null, item -> items[0]++).ok()) {
                    throw new IllegalStateException("listing failed");
                }
            }
            parsed[r] = (System.nanoTime() - s) / 1e9;
            check(items[0], flows, "parsed");

            s = System.nanoTime();
            CommandLine cl = Main.commandLine();
            cl.setOut(new PrintWriter(Writer.nullWriter()));
            cl.setErr(new PrintWriter(Writer.nullWriter()));
            int code = cl.execute("ctl", "--socket", socket.toString(), "flows");
            table[r] = (System.nanoTime() - s) / 1e9;
            if (code != 0) {
                throw new IllegalStateException("nsgate ctl flows exited " + code);
            }
        }
        System.out.printf(Locale.ROOT, "listing %,d flows (%,.0f MB of JSON lines), median of %d, no traffic:%n",
            flows, bytes / 1e6, rounds);
        System.out.printf(Locale.ROOT, "  daemon side (a client counting lines):     %.2f s  (%,.0f flows/s)%n",
            median(raw), flows / median(raw));
        System.out.printf(Locale.ROOT, "  ControlClient parsing each item (--json):  %.2f s  (%,.0f flows/s)%n",
            median(parsed), flows / median(parsed));
        System.out.printf(Locale.ROOT, "  nsgate ctl flows, table to /dev/null:      %.2f s  (%,.0f flows/s)%n",
            median(table), flows / median(table));
    }

    private static void check(long got, int expected, String what) {
        if (got < expected) {
            throw new IllegalStateException(what + " listing returned " + got + " of " + expected + " flows");
        }
    }

    /** Sends flows.list and counts item lines and bytes until the final line. */
    private static long[] rawList(Path socket) throws IOException {
        try (SocketChannel ch = SocketChannel.open(StandardProtocolFamily.UNIX)) {
            ch.connect(UnixDomainSocketAddress.of(socket));
            String request = "{\"v\":1,\"id\":\"b\",\"op\":\"flows.list\"}\n";
            ch.write(ByteBuffer.wrap(request.getBytes(StandardCharsets.UTF_8)));
            ByteBuffer buf = ByteBuffer.allocateDirect(1 << 20);
            long lines = 0;
            long bytes = 0;
            byte[] tail = new byte[256];
            int tailLength = 0;
            while (true) {
                buf.clear();
                int n = ch.read(buf);
                if (n < 0) {
                    throw new IOException("stream ended early after " + lines + " lines");
                }
                bytes += n;
                buf.flip();
                for (int i = 0; i < n; i++) {
                    byte b = buf.get(i);
                    if (b == '\n') {
                        lines++;
                        if (tailLength >= 8 && new String(tail, 0, Math.min(tailLength, 64), StandardCharsets.UTF_8)
                            .contains("\"ok\":")) {
                            return new long[] {lines - 1, bytes};
                        }
                        tailLength = 0;
                    } else if (tailLength < tail.length) {
                        tail[tailLength++] = b;
                    }
                }
            }
        }
    }

    private static double median(double[] values) {
        double[] v = values.clone();
        Arrays.sort(v);
        return v[v.length / 2];
    }

    // ------------------------------------------------------------------ forwarding while listing

    /** trafgen in lan: 64-byte UDP frames (60 on the wire + FCS) to 192.168.1.2:9000, 1000 source ports. */
    private static Process startTrafgen(SeedLab lab, long ratePps) throws Exception {
        String gatewayMac = lab.mac(lab.ns("edge"), "lan0");
        String lanMac = lab.mac(lab.ns("lan"), "lan0");
        Path conf = lab.processes().dir().resolve("udp64.cfg");
        Files.writeString(conf, "{\n  eth(da=" + gatewayMac + ", sa=" + lanMac + ", type=0x0800),\n"
            + "  ipv4(saddr=" + SeedLab.LAN + ", daddr=" + SeedLab.GATEWAY_LAN + ", ttl=64),\n"
            + "  udp(sp=dinc(20000, 20999), dp=" + FORWARD_PORT + "),\n  fill(0x41, 18)\n}\n");
        List<String> command = new ArrayList<>(List.of("trafgen", "--dev", "lan0", "--conf", conf.toString(), "--cpus",
            "1", "--no-sock-mem", "--notouch-irq", "--no-cpu-stats"));
        if (ratePps > 0) {
            command.addAll(List.of("--rate", ratePps + "pps"));
        }
        // trafgen forks its sender (--cpus 1): Processes.stop ends both, by their pids
        Process p = lab.processes().start(Commands.inNetns(lab.ns("lan"), command),
            lab.processes().dir().resolve("trafgen.log"));
        Thread.sleep(1500);
        if (!p.isAlive()) {
            throw new IllegalStateException("trafgen exited" + CommandException.tail(lab.processes().output(p)));
        }
        return p;
    }

    /** Alternates quiet phases and listings; prints the dips; returns the mean quiet rate and the listing time. */
    private static double[] dip(Gateway gateway, Processes processes, int rounds, String load, List<String> lister,
                                String what) throws Exception {
        final long quietNs = TimeUnit.SECONDS.toNanos(3);
        List<double[]> phases = new ArrayList<>(); // {listing?1:0, seconds, frames}
        phases.add(measure(gateway, quietNs, null));
        for (int r = 0; r < rounds; r++) {
            Process process = processes.start(lister, Path.of("/dev/null"));
            AtomicBoolean done = new AtomicBoolean();
            Thread waiter = new Thread(() -> {
                try {
                    process.waitFor();
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                } finally {
                    done.set(true);
                }
            }, "bench-lister");
            waiter.start();
            phases.add(measure(gateway, Long.MAX_VALUE, done));
            waiter.join();
            if (process.exitValue() != 0 && !(lister.get(0).equals("timeout") && process.exitValue() == 124)) {
                throw new IllegalStateException(String.join(" ", lister) + " exited " + process.exitValue());
            }
            phases.add(measure(gateway, quietNs, null));
        }
        System.out.println("forwarding 64-byte UDP frames from trafgen in lan through the udp:9000 forward, " + load
            + ", during " + what + ":");
        List<Double> dips = new ArrayList<>();
        List<Double> listingSeconds = new ArrayList<>();
        double quietSum = 0;
        for (int i = 1; i + 1 < phases.size(); i += 2) {
            double before = phases.get(i - 1)[2] / phases.get(i - 1)[1];
            double during = phases.get(i)[2] / phases.get(i)[1];
            double after = phases.get(i + 1)[2] / phases.get(i + 1)[1];
            double quiet = (before + after) / 2;
            quietSum += quiet;
            double dip = 1 - during / quiet;
            dips.add(dip);
            listingSeconds.add(phases.get(i)[1]);
            System.out.printf(Locale.ROOT, "  round %d: quiet %,.0f frames/s; during (%.2f s) %,.0f frames/s: dip "
                + "%.1f %%%n", i / 2 + 1, quiet, phases.get(i)[1], during, dip * 100);
        }
        dips.sort(null);
        listingSeconds.sort(null);
        System.out.printf(Locale.ROOT, "  median dip: %.1f %%%n", dips.get(dips.size() / 2) * 100);
        return new double[] {quietSum / dips.size(), listingSeconds.get(listingSeconds.size() / 2)};
    }

    /** Frames forwarded over a phase: a fixed time, or until {@code done}. Returns {0, seconds, frames}. */
    private static double[] measure(Gateway gateway, long durationNs, AtomicBoolean done) throws InterruptedException {
        long start = System.nanoTime();
        long before = gateway.dataPlane().stats().total(Counter.FORWARDED);
        while (done == null ? System.nanoTime() - start < durationNs : !done.get()) {
            Thread.sleep(5);
        }
        long frames = gateway.dataPlane().stats().total(Counter.FORWARDED) - before;
        return new double[] {0, (System.nanoTime() - start) / 1e9, frames};
    }

    /** What a run holds, cleaned up once: at the end, on failure, or by the shutdown hook (SIGTERM, Ctrl-C). */
    private static final class Run {
        private final Processes processes;
        private final Path dir;
        SeedLab lab;
        Gateway gateway;
        ControlServer server;
        Process trafgen;
        private boolean cleaned;

        Run(Processes processes, Path dir) {
            this.processes = processes;
            this.dir = dir;
        }

        synchronized void cleanUp() {
            if (cleaned) {
                return;
            }
            cleaned = true;
            try {
                if (trafgen != null) {
                    processes.stop(trafgen, TRAFGEN_GRACE);
                }
                if (server != null) {
                    server.close();
                }
                if (gateway != null) {
                    gateway.close();
                }
            } finally {
                try {
                    if (lab != null) {
                        lab.close();
                    }
                } finally {
                    try (var files = Files.list(dir)) {
                        for (Path p : files.toList()) {
                            Files.deleteIfExists(p);
                        }
                        Files.deleteIfExists(dir);
                    } catch (java.io.IOException e) {
                        System.err.println("control bench: could not remove " + dir + ": " + e.getMessage());
                    }
                }
            }
        }
    }
}
