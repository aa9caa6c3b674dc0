// `bench/run restart`: how long a TCP stream stalls when the gateway restarts with its state file.
package io.nsgate.bench.e2e;

import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;

import io.nsgate.control.lab.EchoHttpService;
import io.nsgate.control.testsupport.IperfStalls;
import io.nsgate.control.testsupport.KeepAliveHttp;
import io.nsgate.control.testsupport.SeedLab;
import io.nsgate.testkit.NsgateProcess;
import io.nsgate.testkit.Processes;
import io.nsgate.testkit.TestPrefix;

/**
 * In one seed lab, an iperf3 stream from lan through the forward to blue ({@code -b RATE}, 100 ms intervals) and an
 * idle keep-alive HTTP connection, while nsgate (with a state file, guards pinned in the lab's own bpf file system) is
 * restarted ROUNDS times with SIGTERM, then ROUNDS times with SIGKILL; first on the JVM's defaults, then with a
 * class-data-sharing archive of the gateway (what the package's launcher gives {@code run}), made by a training start
 * and stop. Reported per launch: the stop (signal to exit) and the start (exit to "running") in ms, the stall each
 * restart left in the stream (a run of intervals with nothing received), and whether the keep-alive connection
 * answered after every restart.
 */
public final class RestartBenchmark implements BenchMain.Bench {
    private static final String USAGE = String.join("\n",
        "usage: bench/run restart [--rounds N] [--rate RATE] [--out FILE]",
        "  --rounds N   restarts per signal and launch (default 3)",
        "  --rate RATE  the stream's iperf3 -b (default 200M)",
        "  --out FILE   also write the report there");
    private static final int GAP_S = 4;

    private final Processes procs;
    private final int rounds;
    private final String rate;
    private SeedLab lab;
    private EchoHttpService web;

    private RestartBenchmark(Processes procs, int rounds, String rate) {
        this.procs = procs;
        this.rounds = rounds;
        this.rate = rate;
    }

    public static void main(String[] args) throws Exception {
        Map<String, String> flags = BenchMain.flags("restart", USAGE, args, Set.of("--rounds", "--rate", "--out"));
        int rounds = BenchMain.positive("restart", USAGE, flags, "--rounds", 3);
        String rate = flags.getOrDefault("--rate", "200M");
        Path out = flags.containsKey("--out") ? Path.of(flags.get("--out")) : null;
        BenchMain.run("restart", new RestartBenchmark(new Processes(Files.createTempDirectory("nsgate-restart-")),
            rounds, rate), out);
    }

    private record Launch(String name, List<String> flags) {
    }

    @Override
    public String run() throws Exception {
        lab = SeedLab.create(TestPrefix.Kind.BENCHMARK, procs);
        web = EchoHttpService.start(lab.netns("blue"), "blue", SeedLab.BLUE, 80);
        Path work = procs.dir();
        Path archive = work.resolve("run.jsa");
        StringBuilder report = new StringBuilder(String.format(
            "restart: %s, %d CPUs, stream %s lan -> blue through the forward, %d SIGTERM and %d SIGKILL restarts per "
                + "launch%n", Tools.cpuModel(), Runtime.getRuntime().availableProcessors(), rate, rounds, rounds));
        report.append(String.format("%-34s %-8s %10s %12s  %-40s %s%n", "launch", "signal", "stop ms", "start ms",
            "stalls (ms)", "keep-alive"));
        List<Launch> launches = List.of(new Launch("JVM defaults", List.of()),
            new Launch("class-data-sharing archive", List.of("-XX:SharedArchiveFile=" + archive, "-Xshare:auto")));
        for (Launch launch : launches) {
            Path state = work.resolve("flows-" + launches.indexOf(launch));
            if (!launch.flags().isEmpty()) {
                // the training run: start and stop once, the archive written at exit (as the service's first stop)
                NsgateProcess training = start(state, List.of("-XX:ArchiveClassesAtExit=" + archive));
                training.readUntil("nsgate: running", Duration.ofSeconds(90));
                training.terminate();
                training.waitFor(Duration.ofSeconds(60));
            }
            for (String signal : List.of("SIGTERM", "SIGKILL")) {
                report.append(measure(launch, signal, state));
            }
        }
        return report.toString().stripTrailing();
    }

    private NsgateProcess start(Path state, List<String> extraFlags) {
        List<String> flags = new ArrayList<>(NsgateSide.productionFlags());
        flags.addAll(extraFlags);
        String jar = Path.of(System.getProperty("java.class.path").split(":")[0]).toAbsolutePath().toString();
        return NsgateProcess.start(procs, NsgateProcess.Launch.of("run", "--netns", lab.ns("edge"), "--lan", "lan0",
                "--inside", "v-net-0", "--masquerade", SeedLab.INSIDE_NET, "--forward", "tcp:80=" + SeedLab.BLUE + ":80",
                "tcp:5201=" + SeedLab.BLUE + ":5201", "--workers", "2", "--no-control-socket", "--state-file",
                state.toString(), "--pin-dir", lab.bpfFileSystem().toString())
            .withJvmFlags(flags).withClasspath(jar));
    }

    private String measure(Launch launch, String signal, Path state) throws Exception {
        NsgateProcess gateway = start(state, launch.flags());
        gateway.readUntil("nsgate: running", Duration.ofSeconds(90));
        Process server = lab.start(lab.ns("blue"), "iperf3", "-s", "-1", "-B", SeedLab.BLUE);
        lab.awaitListening(lab.ns("blue"), 5201, server, Duration.ofSeconds(10));
        int seconds = rounds * GAP_S + GAP_S;
        Process stream = lab.start(lab.ns("lan"), "iperf3", "-c", SeedLab.GATEWAY_LAN, "-t", String.valueOf(seconds),
            "-i", "0.1", "-b", rate, "-J");
        List<Long> stops = new ArrayList<>();
        List<Long> starts = new ArrayList<>();
        int answered = 0;
        try (Socket keepAlive = lab.netns("lan").call(() -> {
            Socket s = new Socket();
            s.connect(new InetSocketAddress(SeedLab.GATEWAY_LAN, 80), 3000);
            s.setSoTimeout(10_000);
            return s;
        })) {
            String first = KeepAliveHttp.get(keepAlive, SeedLab.GATEWAY_LAN);
            for (int r = 0; r < rounds; r++) {
                Thread.sleep(GAP_S * 1000L - 1500);
                long t0 = System.nanoTime();
                if (signal.equals("SIGKILL")) {
                    ProcessHandle.of(gateway.pid()).orElseThrow().destroyForcibly();
                } else {
                    gateway.terminate();
                }
                gateway.waitFor(Duration.ofSeconds(60));
                long t1 = System.nanoTime();
                gateway = start(state, launch.flags());
                gateway.readUntil("nsgate: running", Duration.ofSeconds(90));
                long t2 = System.nanoTime();
                stops.add((t1 - t0) / 1_000_000);
                starts.add((t2 - t1) / 1_000_000);
                if (first.equals(KeepAliveHttp.get(keepAlive, SeedLab.GATEWAY_LAN))) {
                    answered++;
                }
            }
        }
        String json = lab.await(stream, Duration.ofSeconds(seconds + 60L));
        IperfStalls.Report stalls = IperfStalls.read(json);
        gateway.terminate();
        gateway.waitFor(Duration.ofSeconds(60));
        List<Long> stallMs = stalls.stalls().stream().map(IperfStalls.Stall::ms).toList();
        return String.format("%-34s %-8s %10s %12s  %-40s %d/%d%s%n", launch.name(), signal, stops, starts, stallMs,
            answered, rounds, stalls.error() != null ? "  stream error: " + stalls.error() : "");
    }

    @Override
    public synchronized void cleanUp() {
        procs.stopAll();
        if (web != null) {
            web.close();
            web = null;
        }
        if (lab != null) {
            lab.close();
            lab = null;
        }
    }
}
