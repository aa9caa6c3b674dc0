// `bench/run flood`: an established stream through a random-source SYN flood, the kernel's NAT and nsgate in one run.
package io.nsgate.bench.e2e;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import io.nsgate.control.api.StatsJson;
import io.nsgate.control.lab.HttpProbe;
import io.nsgate.control.netns.NetNs;
import io.nsgate.control.testsupport.SeedLab;
import io.nsgate.dataplane.pipeline.DataPlane;
import io.nsgate.dataplane.stats.Counter;
import io.nsgate.dataplane.stats.DropReason;
import io.nsgate.dataplane.stats.PortCounter;
import io.nsgate.dataplane.stats.StatsSnapshot;
import io.nsgate.testkit.CommandException;
import io.nsgate.testkit.Commands;
import io.nsgate.testkit.Processes;
import io.nsgate.testkit.TestPrefix;

/**
 * For each table size (the default, then 4096 flows) and each side (the kernel's iptables NAT, then nsgate), in one
 * seed lab:
 * <ol>
 *   <li>an established stream: {@code iperf3 -c 192.168.1.2 -p 5201 -b CAP} from lan to blue through the forward,
 *       one-second intervals as blue received them ({@code --get-server-output});</li>
 *   <li>after BEFORE seconds, a flood for FLOOD seconds: trafgen in lan (one CPU, as fast as it can) sends TCP SYNs to
 *       192.168.1.2:80 (the forward to nginx in blue) from random sources in 10.0.0.0/8 and random ports, sequence
 *       numbers and IP ids; edge routes 10.0.0.0/8 back to lan, so the replies to the flood go there (and die);</li>
 *   <li>right after the flood: the time a new HTTP request from lan to 192.168.1.2:80 takes (connect included);</li>
 *   <li>AFTER more seconds of the stream.</li>
 * </ol>
 * Reported per run: the flood's rate (lan0's tx_packets), the stream's mean rate before, during and after the flood
 * and its worst second during it, and the new connection's time. The kernel's table is nf_conntrack's: in a network
 * namespace other than the first, nf_conntrack_max is not writable, so the kernel always runs with the machine's
 * table size (printed); nsgate runs with --flow-table-size. Everything is removed at the end, as in e2e.
 */
public final class FloodBenchmark {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final int STREAM_PORT = 5201;
    private static final String FLOOD_ROUTE = "10.0.0.0/8";

    private final Processes procs;
    private final int before;
    private final int flood;
    private final int after;
    private final String cap;
    private final int workers;
    private final List<String> sides;
    private final List<Integer> tables;
    private final List<String> rows = new ArrayList<>();
    private final List<String> notes = new ArrayList<>();
    private volatile SeedLab lab;
    private volatile Side side;
    private volatile NginxServer nginx;

    private FloodBenchmark(Processes procs, int before, int flood, int after, String cap, int workers,
                           List<String> sides, List<Integer> tables) {
        this.procs = procs;
        this.before = before;
        this.flood = flood;
        this.after = after;
        this.cap = cap;
        this.workers = workers;
        this.sides = sides;
        this.tables = tables;
    }

    private static final String USAGE = String.join("\n",
        "usage: bench/run flood [--before S] [--flood S] [--after S] [--cap RATE] [--only kernel|nsgate]",
        "                       [--table default|small] [--workers N] [--out FILE]",
        "  --before/--flood/--after S   seconds of the stream before, during and after the flood (5, 10, 5)",
        "  --cap RATE      the established stream's iperf3 -b (default 200M)",
        "  --table T       only the default table size, or only the small one (4096 flows)",
        "  --out FILE      also write the report there");

    public static void main(String[] args) throws Exception {
        int before = 5;
        int flood = 10;
        int after = 5;
        String cap = "200M";
        int workers = 2;
        List<String> sides = List.of("kernel", "nsgate");
        List<Integer> tables = List.of(0, 4096);
        Path out = null;
        try {
            for (int i = 0; i < args.length; i++) {
                String a = args[i];
                String v = i + 1 < args.length ? args[i + 1] : null;
                switch (a) {
                    case "--before" -> before = Integer.parseInt(v);
                    case "--flood" -> flood = Integer.parseInt(v);
                    case "--after" -> after = Integer.parseInt(v);
                    case "--cap" -> cap = v;
                    case "--workers" -> workers = Integer.parseInt(v);
                    case "--only" -> sides = List.of(v);
                    case "--table" -> tables = List.of("small".equals(v) ? 4096 : 0);
                    case "--out" -> out = Path.of(v);
                    case "-h", "--help" -> {
                        System.out.println(USAGE);
                        return;
                    }
                    default -> throw new IllegalArgumentException("unknown option " + a);
                }
                i++;
            }
            if (before < 1 || flood < 1 || after < 1 || unknownSide(sides)) {
                throw new IllegalArgumentException("durations must be at least 1 s; sides are kernel and nsgate");
            }
        } catch (RuntimeException e) {
            System.err.println("flood: " + e.getMessage() + "\n" + USAGE);
            System.exit(2);
            return;
        }
        if (!NetNs.isAvailable()) {
            System.err.println("flood: needs root: " + NetNs.unavailabilityCause());
            System.exit(1);
        }
        Tools.require();
        FloodBenchmark bench = new FloodBenchmark(new Processes(Files.createTempDirectory("nsgate-flood-")), before,
            flood, after, cap, workers, sides, tables);
        Runtime.getRuntime().addShutdownHook(new Thread(bench::cleanUp, "flood-cleanup"));
        int code;
        try {
            code = bench.run(out);
        } finally {
            bench.cleanUp();
        }
        System.exit(code);
    }

    private static boolean unknownSide(List<String> sides) {
        return sides.stream().anyMatch(s -> !s.equals("kernel") && !s.equals("nsgate"));
    }

    private int run(Path out) throws Exception {
        lab = SeedLab.create(TestPrefix.Kind.BENCHMARK, procs);
        nginx = NginxServer.start(lab, SeedLab.BLUE, 80);
        String edge = lab.ns("edge");
        lab.exec(edge, "ip", "route", "add", FLOOD_ROUTE, "via", SeedLab.LAN);
        String kernelMax = lab.tryExec(edge, "cat", "/proc/sys/net/netfilter/nf_conntrack_max").output().strip();
        String cpu = Tools.cpuModel();
        say("lab " + lab.prefix() + "{edge,red,blue,lan}; files in " + procs.dir() + "; CPU " + cpu);
        for (int table : tables) {
            for (String name : sides) {
                List<String> extra = table == 0 ? List.of() : List.of("--flow-table-size", String.valueOf(table));
                Side s = name.equals("kernel") ? new KernelNat(lab) : new NsgateSide(lab, workers, null, extra);
                side = s;
                try {
                    s.start();
                    rows.add(measure(s, table, kernelMax));
                } catch (Exception e) {
                    rows.add(String.format(Locale.ROOT, "| %s | %s | failed: %s | | | | | |", tableName(table, name,
                        kernelMax), name, e.getMessage()));
                } finally {
                    s.close();
                    side = null;
                }
            }
        }
        StringBuilder r = new StringBuilder();
        r.append("# nsgate flood benchmark\n\n");
        r.append(String.format(Locale.ROOT, "CPU: %s · %d CPUs · kernel %s · nsgate %d worker(s) · lab %s%n%n", cpu,
            Runtime.getRuntime().availableProcessors(), Files.readString(Path.of("/proc/sys/kernel/osrelease"))
                .strip(), workers, lab.prefix()));
        r.append(String.format(Locale.ROOT, "Stream: iperf3 lan -> 192.168.1.2:%d (forward to blue), -b %s, rate as "
            + "blue received it. Flood: trafgen in lan, random-source SYNs to 192.168.1.2:80 (forward to nginx in "
            + "blue), %d s after the stream started, for %d s; the stream goes on %d s after it.%n%n", STREAM_PORT,
            cap, before, flood, after));
        r.append("| table | side | flood (SYN/s) | stream before (Mbit/s) | during: mean | during: worst second "
            + "| after "
            + "| new connection right after the flood |\n|---|---|---:|---:|---:|---:|---:|---|\n");
        rows.forEach(row -> r.append(row).append('\n'));
        r.append('\n');
        notes.forEach(n -> r.append("- ").append(n).append('\n'));
        System.out.println(r);
        if (out != null) {
            Files.writeString(out, r.toString());
        }
        return 0;
    }

    private static String tableName(int table, String side, String kernelMax) {
        if (table == 0) {
            return side.equals("kernel") ? "default (nf_conntrack_max " + kernelMax + ")" : "default (1048576)";
        }
        return side.equals("kernel") ? "small: not settable, " + kernelMax : String.valueOf(table);
    }

    private String measure(Side s, int table, String kernelMax) throws Exception {
        String blue = lab.ns("blue");
        String lan = lab.ns("lan");
        HttpProbe.get(lab.netns("lan"), SeedLab.GATEWAY_LAN, 80, 5000); // the forward works (and ARP is resolved)
        Process server = procs.start(Commands.inNetns(blue, "iperf3", "-s", "-p", String.valueOf(STREAM_PORT), "-1"),
            procs.dir().resolve("iperf3-server-" + s.name() + table + ".log"));
        lab.awaitListening(blue, STREAM_PORT, server, Duration.ofSeconds(10));
        int total = before + flood + after;
        Path clientOut = procs.dir().resolve("iperf3-" + s.name() + table + ".json");
        Process client = procs.start(Commands.inNetns(lan, "iperf3", "-c", SeedLab.GATEWAY_LAN, "-p",
            String.valueOf(STREAM_PORT), "-b", cap, "-t", String.valueOf(total), "-i", "1", "-J", "--get-server-output",
            "--connect-timeout", "3000"), clientOut);
        Thread.sleep(before * 1000L);
        Path config = procs.dir().resolve("synflood.trafgen");
        Files.writeString(config, synFlood(lab.mac(lan, "lan0"), lab.mac(lab.ns("edge"), "lan0")));
        StatsSnapshot statsBefore = s instanceof NsgateSide n ? n.stats() : null;
        long tx0 = lab.packets(lan, "lan0", "tx");
        long t0 = System.nanoTime();
        Process trafgen = procs.start(Commands.inNetns(lan, "trafgen", "-o", "lan0", "-i", config.toString(), "-P",
            "1", "--no-sock-mem", "-Q"), procs.dir().resolve("trafgen-" + s.name() + table + ".log"));
        Thread.sleep(flood * 1000L);
        procs.stop(trafgen, Duration.ofSeconds(3));
        double floodRate = (lab.packets(lan, "lan0", "tx") - tx0) / ((System.nanoTime() - t0) / 1e9);
        String connection;
        long c0 = System.nanoTime();
        try {
            HttpProbe.Response r = HttpProbe.get(lab.netns("lan"), SeedLab.GATEWAY_LAN, 80, 5000);
            connection = String.format(Locale.ROOT, "%.1f ms (HTTP %d)", (System.nanoTime() - c0) / 1e6,
                r.status());
        } catch (Exception e) {
            connection = String.format(Locale.ROOT, "failed after %.0f ms: %s", (System.nanoTime() - c0) / 1e6,
                e.getMessage());
        }
        if (!client.waitFor(total + 30L, java.util.concurrent.TimeUnit.SECONDS)) {
            throw new IllegalStateException("iperf3 did not finish");
        }
        procs.stop(server, Duration.ofSeconds(3));
        double[] perSecond = receivedPerSecond(Files.readString(clientOut));
        double beforeRate = mean(perSecond, 1, before);
        double during = mean(perSecond, before, before + flood);
        double worst = min(perSecond, before, before + flood);
        double afterRate = mean(perSecond, before + flood + 1, total);
        if (s instanceof NsgateSide n) {
            notes.add(String.format(Locale.ROOT, "nsgate, table %s, during the flood and the second after it: %s",
                table == 0 ? "default" : table, floodFigures(statsBefore, n.stats())));
        }
        return String.format(Locale.ROOT, "| %s | %s | %.0f | %.1f | %.1f (%.0f%%) | %.1f | %.1f | %s |",
            tableName(table, s.name(), kernelMax), s.name(), floodRate, beforeRate, during,
            beforeRate > 0 ? 100 * during / beforeRate : 0, worst, afterRate, connection);
    }

    /** Where the flood went in nsgate: its rings' drops (established and opening apart), flows, evictions, drops. */
    static String floodFigures(StatsSnapshot a, StatsSnapshot b) {
        long established = 0;
        long opening = 0;
        for (String i : b.interfaceNames()) {
            long d = b.total(PortCounter.RX_RING_DROPS, i) - a.total(PortCounter.RX_RING_DROPS, i);
            if (i.endsWith(DataPlane.OPENING_SUFFIX)) {
                opening += d;
            } else {
                established += d;
            }
        }
        StringBuilder dropped = new StringBuilder();
        for (DropReason r : DropReason.values()) {
            long d = b.total(r) - a.total(r);
            if (d > 0) {
                dropped.append(dropped.length() == 0 ? "" : ", ").append(StatsJson.name(r)).append(' ').append(d);
            }
        }
        return String.format(Locale.ROOT, "opening rings dropped %d frames, established rings %d; %d flows created, "
            + "%d evicted (early drop), table %d of %d; dropped by reason: %s", opening, established,
            b.total(Counter.FLOWS_CREATED) - a.total(Counter.FLOWS_CREATED),
            b.flowTable().evicted() - a.flowTable().evicted(), b.flowTable().size(), b.flowTable().capacity(),
            dropped.length() == 0 ? "none" : dropped);
    }

    /** The stream's rate in Mbit/s per second of the test, as the receiver saw it (the server's intervals). */
    static double[] receivedPerSecond(String json) throws Exception {
        JsonNode root = JSON.readTree(json);
        if (root.has("error")) {
            throw new IllegalStateException("iperf3: " + root.get("error").asText());
        }
        JsonNode intervals = root.path("server_output_json").path("intervals");
        if (!intervals.isArray() || intervals.isEmpty()) {
            intervals = root.path("intervals");
        }
        double[] out = new double[intervals.size()];
        for (int i = 0; i < out.length; i++) {
            out[i] = intervals.get(i).path("sum").path("bits_per_second").asDouble() / 1e6;
        }
        return out;
    }

    private static double mean(double[] v, int from, int to) {
        double sum = 0;
        int n = 0;
        for (int i = Math.max(0, from); i < Math.min(v.length, to); i++) {
            sum += v[i];
            n++;
        }
        return n == 0 ? 0 : sum / n;
    }

    private static double min(double[] v, int from, int to) {
        double m = Double.MAX_VALUE;
        for (int i = Math.max(0, from); i < Math.min(v.length, to); i++) {
            m = Math.min(m, v[i]);
        }
        return m == Double.MAX_VALUE ? 0 : m;
    }

    /** trafgen: a 54-byte TCP SYN to 192.168.1.2:80 from 10.R.R.R:R, random sequence number and IP id. */
    static String synFlood(String lanMac, String gatewayMac) {
        return "/* random-source SYN flood: lan -> 192.168.1.2:80 */\n"
            + "{\n"
            + "  " + macBytes(gatewayMac) + ", " + macBytes(lanMac) + ", 0x08, 0x00,\n"
            + "  0x45, 0x00, const16(40), drnd(2), 0x40, 0x00, 64, 6, csumip(14, 33),\n"
            + "  10, drnd(3), 192, 168, 1, 2,\n"
            + "  drnd(2), const16(80), drnd(4), const32(0), 0x50, 0x02, const16(64240), csumtcp(14, 34),"
            + " const16(0)\n"
            + "}\n";
    }

    private static String macBytes(String mac) {
        StringBuilder b = new StringBuilder();
        for (String part : mac.split(":")) {
            if (b.length() > 0) {
                b.append(", ");
            }
            b.append("0x").append(part);
        }
        return b.toString();
    }

    private static void say(String line) {
        System.err.println("flood: " + line);
    }

    private synchronized void cleanUp() {
        Side s = side;
        if (s != null) {
            s.close();
            side = null;
        }
        procs.stopAll();
        if (nginx != null) {
            nginx.close();
            nginx = null;
        }
        if (lab != null) {
            lab.close();
            lab = null;
        }
    }
}
