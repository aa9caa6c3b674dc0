// `bench/run local`: the gateway host's own clients to a published port: nsgate's splice proxy against the kernel.
package io.nsgate.bench.e2e;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

import io.nsgate.control.testsupport.SeedLab;
import io.nsgate.testkit.Commands;
import io.nsgate.testkit.NsgateProcess;
import io.nsgate.testkit.Processes;
import io.nsgate.testkit.TestPrefix;

/**
 * In one seed lab, clients in the gateway's namespace (edge) reach blue's services through {@code 127.0.0.1}: iperf3 to
 * port 5201 and wrk to nginx on port 80, keep-alive and one connection per request. First through the kernel, as
 * Docker does without its userland proxy: {@code iptables -t nat -A OUTPUT -d 127.0.0.1 ... -j DNAT} with
 * {@code route_localnet=1} and a MASQUERADE out of v-net-0; then through nsgate's local access (a splice(2) proxy, the
 * gateway running with the same two forwards). Prints one table with the ratios.
 */
public final class LocalAccessBenchmark implements BenchMain.Bench {
    private static final String USAGE = String.join("\n",
        "usage: bench/run local [--seconds N] [--connections N] [--out FILE]",
        "  --seconds N      measured seconds per workload (default 10)",
        "  --connections N  wrk's connections (default 32)",
        "  --out FILE       also write the report there");

    private final Processes procs;
    private final int seconds;
    private final int connections;
    private SeedLab lab;
    private NginxServer nginx;
    private NsgateProcess gateway;

    private LocalAccessBenchmark(Processes procs, int seconds, int connections) {
        this.procs = procs;
        this.seconds = seconds;
        this.connections = connections;
    }

    public static void main(String[] args) throws Exception {
        Map<String, String> flags = BenchMain.flags("local", USAGE, args, Set.of("--seconds", "--connections", "--out"));
        int seconds = BenchMain.positive("local", USAGE, flags, "--seconds", 10);
        int connections = BenchMain.positive("local", USAGE, flags, "--connections", 32);
        Path out = flags.containsKey("--out") ? Path.of(flags.get("--out")) : null;
        BenchMain.run("local", new LocalAccessBenchmark(new Processes(Files.createTempDirectory("nsgate-local-")), seconds,
            connections), out);
    }

    @Override
    public String run() throws Exception {
        lab = SeedLab.create(TestPrefix.Kind.BENCHMARK, procs);
        nginx = NginxServer.start(lab, SeedLab.BLUE, 80);
        Map<String, Map<String, Double>> results = new LinkedHashMap<>();
        kernelRules(true);
        try {
            results.put("kernel", measure("kernel"));
        } finally {
            kernelRules(false);
        }
        String jar = Path.of(System.getProperty("java.class.path").split(":")[0]).toAbsolutePath().toString();
        for (String mode : List.of("splice", "copy")) {
            List<String> flags = new ArrayList<>(NsgateSide.productionFlags());
            flags.add("-Dnsgate.localAccess=" + mode);
            gateway = NsgateProcess.start(procs, NsgateProcess.Launch.of("run", "--netns", lab.ns("edge"), "--lan",
                    "lan0", "--inside", "v-net-0", "--masquerade", SeedLab.INSIDE_NET, "--forward",
                    "tcp:80=" + SeedLab.BLUE + ":80", "tcp:5201=" + SeedLab.BLUE + ":5201", "--workers", "2",
                    "--no-control-socket")
                .withJvmFlags(flags).withClasspath(jar));
            gateway.readUntil("nsgate: running", Duration.ofSeconds(90));
            results.put("nsgate " + mode, measure("nsgate " + mode));
            gateway.terminate();
            gateway.waitFor(Duration.ofSeconds(60));
        }

        StringBuilder b = new StringBuilder(String.format(
            "local: %s, %d CPUs; clients in edge to 127.0.0.1, forwarded to blue; %d s per workload, wrk -c%d%n%n",
            Tools.cpuModel(), Runtime.getRuntime().availableProcessors(), seconds, connections));
        b.append("| workload | kernel (OUTPUT DNAT, route_localnet) | nsgate, splice | ratio | nsgate, copy | ratio |\n"
            + "|---|---:|---:|---:|---:|---:|\n");
        for (String key : results.get("kernel").keySet()) {
            double k = results.get("kernel").get(key);
            double sp = results.get("nsgate splice").getOrDefault(key, Double.NaN);
            double cp = results.get("nsgate copy").getOrDefault(key, Double.NaN);
            b.append(String.format("| %s | %.2f | %.2f | %.2f | %.2f | %.2f |%n", key, k, sp, sp / k, cp, cp / k));
        }
        return b.toString().stripTrailing();
    }

    private void kernelRules(boolean on) {
        String edge = lab.ns("edge");
        if (!on) {
            lab.exec(edge, "nft", "flush", "ruleset");
            for (String dev : List.of("all", "lo", "v-net-0")) {
                lab.exec(edge, "sysctl", "-q", "-w", "net.ipv4.conf." + dev + ".route_localnet=0");
            }
            return;
        }
        for (String dev : List.of("all", "lo", "v-net-0")) {
            lab.exec(edge, "sysctl", "-q", "-w", "net.ipv4.conf." + dev + ".route_localnet=1");
        }
        for (int port : new int[] {80, 5201}) {
            lab.exec(edge, "iptables", "-w", "-t", "nat", "-A", "OUTPUT", "-d", "127.0.0.1", "-p", "tcp", "--dport",
                String.valueOf(port), "-j", "DNAT", "--to", SeedLab.BLUE + ":" + port);
        }
        lab.exec(edge, "iptables", "-w", "-t", "nat", "-A", "POSTROUTING", "-s", "127.0.0.0/8", "-o", "v-net-0", "-j",
            "MASQUERADE");
    }

    private Map<String, Double> measure(String side) throws Exception {
        say(side + ": measuring");
        Map<String, Double> r = new LinkedHashMap<>();
        Process server = lab.start(lab.ns("blue"), "iperf3", "-s", "-1", "-B", SeedLab.BLUE);
        lab.awaitListening(lab.ns("blue"), 5201, server, Duration.ofSeconds(10));
        String json = lab.processes().check(Duration.ofSeconds(seconds + 30L), Commands.inNetns(lab.ns("edge"),
            List.of("iperf3", "-c", "127.0.0.1", "-t", String.valueOf(seconds), "-J")));
        Measurement tcp = new Measurement(Workload.TCP_IN);
        TcpThroughput.parse(json, tcp);
        r.put("TCP (Gbit/s)", tcp.value(Measurement.GBPS));
        for (boolean close : new boolean[] {false, true}) {
            List<String> cmd = new ArrayList<>(List.of("wrk", "-t2", "-c" + connections, "-d" + seconds + "s",
                "--latency"));
            if (close) {
                cmd.addAll(List.of("-H", "Connection: close"));
            }
            cmd.add("http://127.0.0.1/");
            String out = lab.processes().check(Duration.ofSeconds(seconds + 30L), Commands.inNetns(lab.ns("edge"), cmd));
            Measurement m = HttpLoad.parse(out, new Measurement(close ? Workload.HTTP_CLOSE : Workload.HTTP_KEEPALIVE));
            r.put(close ? "HTTP new connections (req/s)" : "HTTP keep-alive (req/s)", m.value(Measurement.RPS));
            r.put(close ? "HTTP new connections p99 (ms)" : "HTTP keep-alive p99 (ms)", m.value(Measurement.P99_MS));
        }
        say(side + ": " + r);
        return r;
    }

    private static void say(String line) {
        System.err.println("local: " + line);
    }

    @Override
    public synchronized void cleanUp() {
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
