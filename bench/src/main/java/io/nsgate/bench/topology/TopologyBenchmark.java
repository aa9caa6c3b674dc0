// Apply and destroy a 50-namespace topology with nsgate (in process) and with the equivalent `ip` script; print the ratio.
package io.nsgate.bench.topology;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;

import io.nsgate.control.netns.NetNs;
import io.nsgate.control.topology.Topology;
import io.nsgate.control.topology.TopologyApplier;
import io.nsgate.control.topology.TopologyReport;
import io.nsgate.testkit.Processes;
import io.nsgate.testkit.TestPrefix;

/**
 * The topology: a hub namespace with bridge br0 (10.77.0.1/16) and N leaf namespaces, each joined to the bridge by
 * a veth pair (leaf eth0 with an address, hub hNN enslaved to br0), lo up everywhere, a default route in each leaf.
 * nsgate builds it in process from a {@link Topology} ({@link TopologyApplier#apply}, then
 * {@link TopologyApplier#destroy}); the baseline is the shell script a person would write with iproute2
 * ({@code ip netns add}, {@code ip -n NS link add ... peer name eth0 netns LEAF}, {@code ip -n NS addr/route add},
 * {@code ip netns del}), run by one bash. Every name carries a per-run prefix ngbXXXX-; nothing is created in the
 * benchmark's own namespace (veths are created from inside the hub, with the peer directly in its leaf).
 *
 * <p>Rounds alternate which side goes first; after each destroy the run pauses so that the kernel's
 * asynchronous namespace cleanup does not bill the next measurement. One warm-up round is not reported.
 *
 * <pre>
 *   bench/run topology [--namespaces 50] [--rounds 5]
 * </pre>
 */
public final class TopologyBenchmark {
    private static final long SETTLE_MS = 400;

    private TopologyBenchmark() {
    }

    public static void main(String[] args) throws Exception {
        int namespaces = 50;
        int rounds = 5;
        for (int i = 0; i < args.length; i++) {
            switch (args[i]) {
                case "--namespaces" -> namespaces = Integer.parseInt(args[++i]);
                case "--rounds" -> rounds = Integer.parseInt(args[++i]);
                default -> {
                    System.err.println("usage: bench/run topology [--namespaces N] [--rounds R]");
                    System.exit(2);
                }
            }
        }
        if (namespaces < 1 || namespaces > 250) {
            System.err.println("--namespaces must be 1..250");
            System.exit(2);
        }
        if (!NetNs.isAvailable()) {
            System.err.println("topology benchmark needs root: " + NetNs.unavailabilityCause());
            System.exit(1);
        }
        String nsgatePrefix = TestPrefix.fresh(TestPrefix.Kind.BENCHMARK);
        String ipPrefix;
        do {
            ipPrefix = TestPrefix.fresh(TestPrefix.Kind.BENCHMARK);
        } while (ipPrefix.equals(nsgatePrefix));

        Topology topology = Topology.parse(yaml(namespaces), "benchmark topology");
        Path dir = Files.createTempDirectory("nsgate-topology-bench");
        Path up = dir.resolve("up.sh");
        Path down = dir.resolve("down.sh");
        Files.writeString(up, ipUpScript(ipPrefix, namespaces));
        Files.writeString(down, ipDownScript(ipPrefix, namespaces));

        System.out.printf(Locale.ROOT, "topology: hub namespace with bridge br0 + %d leaf namespaces, %d veth pairs, "
            + "%d addresses, %d routes, lo up everywhere%n", namespaces, namespaces, namespaces + 1, namespaces);
        System.out.printf(Locale.ROOT, "nsgate: in process (TopologyApplier), prefix %s; ip: bash %s (%d ip commands "
            + "up, %d down), prefix %s%n%n", nsgatePrefix, up, countCommands(up), countCommands(down), ipPrefix);

        List<double[]> results = new ArrayList<>(); // {nsApply, nsDestroy, ipApply, ipDestroy} ms
        try {
            for (int round = 0; round <= rounds; round++) {
                double[] r = new double[4];
                boolean nsgateFirst = round % 2 == 0;
                for (int side = 0; side < 2; side++) {
                    if ((side == 0) == nsgateFirst) {
                        long t0 = System.nanoTime();
                        TopologyReport applied = TopologyApplier.apply(topology, nsgatePrefix);
                        long t1 = System.nanoTime();
                        check(nsgatePrefix, namespaces, applied);
                        long t2 = System.nanoTime();
                        TopologyApplier.destroy(topology, nsgatePrefix);
                        long t3 = System.nanoTime();
                        r[0] = (t1 - t0) / 1e6;
                        r[1] = (t3 - t2) / 1e6;
                    } else {
                        long t0 = System.nanoTime();
                        bash(up);
                        long t1 = System.nanoTime();
                        check(ipPrefix, namespaces, null);
                        long t2 = System.nanoTime();
                        bash(down);
                        long t3 = System.nanoTime();
                        r[2] = (t1 - t0) / 1e6;
                        r[3] = (t3 - t2) / 1e6;
                    }
                    Thread.sleep(SETTLE_MS);
                }
                if (round > 0) {
                    results.add(r);
                }
            }
        } finally {
            try {
                TestPrefix.sweep(nsgatePrefix);
            } finally {
                TestPrefix.sweep(ipPrefix);
            }
        }
        print(results);
    }

    private static void print(List<double[]> results) {
        System.out.println("round | nsgate apply | nsgate destroy | nsgate total | ip apply | ip destroy | ip total |"
            + " ratio (ip/nsgate)");
        System.out.println("------|--------------|----------------|--------------|----------|------------|----------|"
            + "------------------");
        int n = 1;
        for (double[] r : results) {
            System.out.printf(Locale.ROOT, "%5d | %9.1f ms | %11.1f ms | %9.1f ms | %5.0f ms | %7.0f ms | %5.0f ms | "
                + "%5.1fx%n", n++, r[0], r[1], r[0] + r[1], r[2], r[3], r[2] + r[3], (r[2] + r[3]) / (r[0] + r[1]));
        }
        double[] med = new double[4];
        for (int i = 0; i < 4; i++) {
            final int k = i;
            med[i] = median(results.stream().mapToDouble(r -> r[k]).toArray());
        }
        System.out.printf(Locale.ROOT, "median| %9.1f ms | %11.1f ms | %9.1f ms | %5.0f ms | %7.0f ms | %5.0f ms | "
            + "%5.1fx%n", med[0], med[1], med[0] + med[1], med[2], med[3], med[2] + med[3],
            (med[2] + med[3]) / (med[0] + med[1]));
        System.out.printf(Locale.ROOT, "%nratio ip/nsgate (medians): apply %.1fx, destroy %.1fx, apply+destroy %.1fx "
            + "(goal >= 5x)%n", med[2] / med[0], med[3] / med[1], (med[2] + med[3]) / (med[0] + med[1]));
    }

    private static double median(double[] v) {
        double[] s = v.clone();
        Arrays.sort(s);
        return s.length % 2 == 1 ? s[s.length / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
    }

    /** The benchmark topology as YAML (the same file a user would write). */
    static String yaml(int n) {
        StringBuilder b = new StringBuilder("name: bench-hub\nnamespaces:\n  - name: hub\n");
        for (int i = 1; i <= n; i++) {
            b.append("  - name: ").append(leaf(i)).append('\n');
        }
        b.append("bridges:\n  - {namespace: hub, name: br0, addresses: [10.77.0.1/16]}\nveths:\n");
        for (int i = 1; i <= n; i++) {
            b.append("  - a: {namespace: ").append(leaf(i)).append(", name: eth0, addresses: [").append(address(i))
                .append("/16]}\n    b: {namespace: hub, name: h").append(i).append(", master: br0}\n");
        }
        b.append("routes:\n");
        for (int i = 1; i <= n; i++) {
            b.append("  - {namespace: ").append(leaf(i)).append(", to: default, via: 10.77.0.1}\n");
        }
        return b.toString();
    }

    /** The same topology as an iproute2 script, one process per command. */
    static String ipUpScript(String p, int n) {
        StringBuilder b = new StringBuilder("set -e\n");
        b.append("ip netns add ").append(p).append("hub\n");
        b.append("ip -n ").append(p).append("hub link set lo up\n");
        b.append("ip -n ").append(p).append("hub link add br0 type bridge\n");
        b.append("ip -n ").append(p).append("hub link set br0 up\n");
        b.append("ip -n ").append(p).append("hub addr add 10.77.0.1/16 dev br0\n");
        for (int i = 1; i <= n; i++) {
            String leaf = p + leaf(i);
            b.append("ip netns add ").append(leaf).append('\n');
            b.append("ip -n ").append(leaf).append(" link set lo up\n");
            b.append("ip -n ").append(p).append("hub link add h").append(i).append(" type veth peer name eth0 netns ")
                .append(leaf).append('\n');
            b.append("ip -n ").append(p).append("hub link set h").append(i).append(" master br0 up\n");
            b.append("ip -n ").append(leaf).append(" link set eth0 up\n");
            b.append("ip -n ").append(leaf).append(" addr add ").append(address(i)).append("/16 dev eth0\n");
            b.append("ip -n ").append(leaf).append(" route add default via 10.77.0.1\n");
        }
        return b.toString();
    }

    static String ipDownScript(String p, int n) {
        StringBuilder b = new StringBuilder("set -e\n");
        for (int i = 1; i <= n; i++) {
            b.append("ip netns del ").append(p).append(leaf(i)).append('\n');
        }
        b.append("ip netns del ").append(p).append("hub\n");
        return b.toString();
    }

    private static String leaf(int i) {
        return String.format("n%03d", i);
    }

    private static String address(int i) {
        return "10.77." + (1 + i / 250) + "." + (1 + i % 250);
    }

    private static long countCommands(Path script) throws IOException {
        return Files.readAllLines(script).stream().filter(l -> l.startsWith("ip ")).count();
    }

    private static void bash(Path script) {
        new Processes(script.getParent()).check(Duration.ofSeconds(120), List.of("bash", script.toString()));
    }

    /** Both sides must have built the same thing: N+1 namespaces, N+2 links in the hub (lo, br0, N ports). */
    private static void check(String prefix, int n, TopologyReport report) throws Exception {
        long count = TestPrefix.namespaces(prefix).size();
        if (count != n + 1) {
            throw new IllegalStateException(prefix + ": " + count + " namespaces, expected " + (n + 1));
        }
        int hubLinks;
        try (NetNs hub = NetNs.open(prefix + "hub")) {
            hubLinks = hub.rtnetlink().links().size();
        }
        if (hubLinks != n + 2) {
            throw new IllegalStateException(prefix + "hub has " + hubLinks + " links, expected " + (n + 2));
        }
        if (report != null && report.changes().size() < 3 * n) {
            throw new IllegalStateException("nsgate reported only " + report.changes().size() + " changes");
        }
    }
}
