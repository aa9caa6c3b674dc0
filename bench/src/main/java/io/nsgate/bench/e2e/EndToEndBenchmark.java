// `bench/run e2e`: the seed lab, the same workloads through the kernel's iptables NAT and through nsgate, one table.
package io.nsgate.bench.e2e;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.ZonedDateTime;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.stream.Collectors;

import io.nsgate.control.netns.NetNs;
import io.nsgate.control.testsupport.SeedLab;
import io.nsgate.testkit.CommandException;
import io.nsgate.testkit.Commands;
import io.nsgate.testkit.Processes;
import io.nsgate.testkit.TestPrefix;

/**
 * One run, in this order (each step's class says how it is done):
 * <ol>
 *   <li>{@link SeedLab}: the seed lab under a fresh prefix ngbXXXX-, and {@link NginxServer} in blue;</li>
 *   <li>the kernel's NAT ({@link KernelNat}), then nsgate ({@link NsgateSide}), each: set up in edge, proven with
 *       a ping out (masquerade) and an HTTP request in (port forward), warmed up, then the workloads in
 *       {@link Workload} order ({@link TcpThroughput}, {@link HttpLoad}, {@link UdpFrames}), each bracketed by a
 *       {@link Meter}; then removed;</li>
 *   <li>the {@link Report}: comparison table, CPU and memory, remarks, and the {@link JfrProfile} of chosen
 *       workloads, printed and, with --out, written to a file.</li>
 * </ol>
 * Everything is removed at the end, after a failure too (finally, and a shutdown hook for Ctrl-C): processes this
 * run started (by pid), the kernel's rules (with edge), the namespaces. The run's files (logs, nginx and trafgen
 * configuration, the JFR recording) stay in a directory under /tmp, printed at the start.
 */
public final class EndToEndBenchmark {
    private static final Duration SETTLE = Duration.ofSeconds(1);

    private final Options options;
    private final Processes procs;
    private final Report report = new Report();
    private volatile SeedLab lab;
    private volatile NginxServer nginx;
    private volatile Side side;
    private boolean cleanedUp;
    /** Set by the shutdown hook when the run is stopped (Ctrl-C, SIGTERM) before it finished. */
    private volatile boolean interrupted;
    private volatile boolean finished;

    private EndToEndBenchmark(Options options, Processes procs) {
        this.options = options;
        this.procs = procs;
    }

    public static void main(String[] args) throws Exception {
        Options options;
        try {
            options = Options.parse(args);
        } catch (Options.HelpRequested e) {
            System.out.println(Options.USAGE);
            return;
        } catch (IllegalArgumentException e) {
            System.err.println("e2e: " + e.getMessage() + "\n" + Options.USAGE);
            System.exit(2);
            return;
        }
        if (!NetNs.isAvailable()) {
            System.err.println("e2e: needs root: " + NetNs.unavailabilityCause());
            System.exit(1);
        }
        try {
            Tools.require();
        } catch (IllegalStateException e) {
            System.err.println("e2e: " + e.getMessage());
            System.exit(1);
        }
        Path dir = Files.createTempDirectory("nsgate-e2e-");
        EndToEndBenchmark bench = new EndToEndBenchmark(options, new Processes(dir));
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            bench.interrupted = !bench.finished;
            bench.cleanUp();
        }, "e2e-cleanup"));
        int code;
        try {
            code = bench.run();
        } finally {
            bench.finished = true;
            bench.cleanUp();
        }
        System.exit(code);
    }

    private int run() throws Exception {
        try {
            lab = SeedLab.create(TestPrefix.Kind.BENCHMARK, procs);
            say("seed lab " + lab.prefix() + "{edge,red,blue,lan}; files in " + procs.dir());
            nginx = NginxServer.start(lab, SeedLab.BLUE, 80);
        } catch (RuntimeException e) {
            System.err.println("e2e: could not set the lab up (files in " + procs.dir() + "): " + e.getMessage());
            return 1;
        }
        header(lab.prefix());
        Path jfr = options.profiling() ? procs.dir().resolve("nsgate.jfr") : null;
        List<JfrProfile.Window> profiled = new ArrayList<>();
        for (String name : List.of("kernel", "nsgate")) {
            if (!options.runs(name)) {
                continue;
            }
            List<String> extra = !options.stateFile ? List.of() : List.of("--state-file",
                Path.of("/dev/shm", lab.prefix() + "flows").toString(), "--pin-dir", lab.bpfFileSystem().toString());
            Side s = name.equals("kernel") ? new KernelNat(lab)
                : new NsgateSide(lab, options.workers, jfr, extra).gatewayJar(options.nsgateJar);
            side = s;
            try {
                runSide(s, profiled);
            } catch (Exception e) {
                if (interrupted) {
                    say("stopped before the end: everything it started is being removed; no report");
                    return 130;
                }
                String why = e.getMessage() == null ? e.toString() : e.getMessage();
                say(name + " FAILED: " + why);
                report.failed(name, why);
            } finally {
                s.close();
                side = null;
            }
            if (s instanceof NsgateSide n) {
                gatewayRemarks(n);
            }
        }
        if (jfr != null && Files.exists(jfr) && !profiled.isEmpty()) {
            try {
                report.profile(JfrProfile.summarize(jfr, profiled, 10) + "Recording: " + jfr
                    + " (e.g. `jfr print --events jdk.ExecutionSample " + jfr + "`)\n");
            } catch (IOException | RuntimeException e) {
                report.note("could not read the JFR recording " + jfr + ": " + e.getMessage());
            }
        }
        String text = report.render(options) + howMeasured();
        System.out.println();
        System.out.println(text);
        if (options.out != null) {
            Files.writeString(options.out, text);
            say("report written to " + options.out);
        }
        return 0;
    }

    private void runSide(Side s, List<JfrProfile.Window> profiled) throws Exception {
        Usage.Window quiet = awaitQuiet(s.name() + ": start");
        String background = String.format(Locale.ROOT, "%s: before it, with the lab idle, other processes used "
            + "%.0f%% of a core and the machine was %.0f%% busy", s.name(), quiet.foreignPctOfCore(),
            quiet.machineBusyPct());
        say(background);
        report.header(background);
        say(s.name() + ": setting up");
        s.start();
        if (s instanceof NsgateSide n) {
            say("nsgate: pid " + n.pid() + " running (log " + n.log() + ")");
        }
        Usage.Snapshot begin = Usage.take(s.pid());
        prove(s);
        if (options.warmup > 0) {
            say(s.name() + ": warm-up, " + options.warmup + " s per workload");
            for (Workload w : options.workloads) {
                if (w == Workload.PING_RTT) {
                    continue;
                }
                run(w, options.warmup, new Meter(s.pid()));
                s.checkAlive();
                Thread.sleep(SETTLE.toMillis());
            }
        }
        for (Workload w : options.workloads) {
            Measurement m = measure(s, w);
            report.add(s.name(), m);
            say(s.name() + ": " + w.label + ": " + summary(m));
            if (s instanceof NsgateSide && options.profile.contains(w)) {
                profiled.add(new JfrProfile.Window(w.label, m.window.start(), m.window.end(), m.window.threads()));
            }
        }
        if (s.pid() > 0) {
            report.nsgateRun(Usage.between(begin, Usage.take(s.pid())));
        }
    }

    /**
     * One workload, measured again (up to --noisy-retries times) while other processes on the machine took more than
     * {@link Report#NOISY_PCT} of a core during it; the attempt they disturbed least is kept.
     */
    private Measurement measure(Side s, Workload w) throws Exception {
        Measurement best = null;
        for (int attempt = 0; attempt <= options.noisyRetries; attempt++) {
            awaitQuiet(s.name() + ": " + w.label);
            Meter meter = new Meter(s.pid());
            Map<String, Long> dropsBefore = s instanceof NsgateSide n ? n.drops() : null;
            Measurement m = run(w, options.seconds, meter);
            m.window = meter.window();
            s.checkAlive();
            if (s instanceof NsgateSide n) {
                String drops = NsgateSide.dropsBetween(dropsBefore, n.drops());
                m.note("nsgate's drop counters over the workload: " + (drops.isEmpty() ? "none" : drops));
            }
            if (best == null || m.window.foreignPctOfCore() < best.window.foreignPctOfCore()) {
                best = m;
            }
            double foreign = m.window.foreignPctOfCore();
            if (foreign < Report.NOISY_PCT) {
                break;
            }
            if (attempt < options.noisyRetries) {
                say(String.format(Locale.ROOT, "%s: %s: other processes used %.0f%% of a core meanwhile (%s); "
                    + "measuring again", s.name(), w.label, foreign, summary(m)));
            }
        }
        return best;
    }

    /**
     * The machine is shared (other sessions' tests, builds): watch one second at a time until other processes use
     * less than {@link Report#NOISY_PCT} of a core, for at most --quiet-wait seconds. Also the pause between
     * workloads. Returns the last second watched.
     */
    private Usage.Window awaitQuiet(String what) throws InterruptedException {
        long deadline = System.nanoTime() + options.quietWait * 1_000_000_000L;
        boolean told = false;
        while (true) {
            Meter m = new Meter(-1);
            m.begin();
            Thread.sleep(SETTLE.toMillis());
            m.end();
            double foreign = m.window().foreignPctOfCore();
            if (foreign < Report.NOISY_PCT) {
                return m.window();
            }
            if (System.nanoTime() >= deadline) {
                if (options.quietWait > 0) {
                    say(String.format(Locale.ROOT, "%s: other processes still use %.0f%% of a core after %d s; "
                        + "measuring anyway", what, foreign, options.quietWait));
                }
                return m.window();
            }
            if (!told) {
                say(String.format(Locale.ROOT, "%s: waiting (up to %d s) for other processes on the machine to "
                    + "quiet down: they use %.0f%% of a core", what, options.quietWait, foreign));
                told = true;
            }
        }
    }

    private Measurement run(Workload w, int seconds, Meter meter) throws Exception {
        return w.run(lab, seconds, options.connections, meter);
    }

    /** Both directions work before anything is measured (and the neighbour entries on the way are resolved). */
    private void prove(Side s) {
        Commands.Result ping = procs.run(Duration.ofSeconds(15),
            Commands.inNetns(lab.ns("blue"), "ping", "-c", "3", "-i", "0.2", "-W", "2", SeedLab.LAN));
        if (ping.exitCode() != 0) {
            throw new IllegalStateException("masquerade does not work: ping from blue to " + SeedLab.LAN + " through "
                + s.name() + " failed" + CommandException.tail(ping.output()));
        }
        Commands.Result curl = procs.run(Duration.ofSeconds(15),
            Commands.inNetns(lab.ns("lan"), "curl", "-s", "-S", "-m", "5", "http://" + SeedLab.GATEWAY_LAN + "/"));
        if (curl.exitCode() != 0 || !curl.output().contains("hello from blue")) {
            throw new IllegalStateException("port forward does not work: curl http://" + SeedLab.GATEWAY_LAN
                + "/ from lan through " + s.name() + " did not reach nginx in blue"
                + CommandException.tail(curl.output()));
        }
        Commands.Result ping6 = procs.run(Duration.ofSeconds(15),
            Commands.inNetns(lab.ns("blue"), "ping", "-6", "-c", "3", "-i", "0.2", "-W", "2", SeedLab.LAN6));
        Commands.Result curl6 = procs.run(Duration.ofSeconds(15), Commands.inNetns(lab.ns("lan"), "curl", "-s", "-S",
            "-g", "-m", "5", "http://[" + SeedLab.GATEWAY_LAN6 + "]/"));
        if (ping6.exitCode() != 0 || curl6.exitCode() != 0 || !curl6.output().contains("hello from blue")) {
            throw new IllegalStateException("IPv6 does not work through " + s.name() + ": ping -6 blue → "
                + SeedLab.LAN6 + " exit " + ping6.exitCode() + ", curl lan → [" + SeedLab.GATEWAY_LAN6 + "] exit "
                + curl6.exitCode() + CommandException.tail(ping6.output() + curl6.output()));
        }
        say(s.name() + ": ping out (masquerade) and HTTP in (port forward) work, over IPv4 and IPv6");
    }

    /** What the gateway printed beyond its start-up lines (warnings, errors) goes to the remarks. */
    private void gatewayRemarks(NsgateSide n) {
        List<String> odd = n.output().lines()
            .filter(l -> l.toLowerCase(Locale.ROOT).matches(".*(warn|error|exception|fail).*"))
            .limit(10).collect(Collectors.toList());
        for (String l : odd) {
            report.note("nsgate printed: `" + l.strip() + "`");
        }
    }

    private void header(String prefix) {
        String kernel;
        try {
            kernel = Files.readString(Path.of("/proc/sys/kernel/osrelease")).strip();
        } catch (IOException e) {
            kernel = "?";
        }
        report.header(String.format(Locale.ROOT, "%s · CPU %s · kernel %s · %d CPUs · lab %s{edge,red,blue,lan}",
            ZonedDateTime.now().format(DateTimeFormatter.ISO_OFFSET_DATE_TIME).replaceAll("\\.\\d+", ""),
            Tools.cpuModel(), kernel, Runtime.getRuntime().availableProcessors(), prefix));
        if (options.stateFile) {
            report.header("nsgate with a state file on tmpfs (/dev/shm) and pinned guards, as the package runs it");
        }
        if (options.nsgateJar != null) {
            report.header("nsgate from " + options.nsgateJar.toAbsolutePath());
        }
        report.header(String.format(Locale.ROOT, "%d s per workload after %d s of warm-up each · nsgate %d worker(s)"
            + " · wrk -t2 -c%d · sides: %s, in this order%s", options.seconds, options.warmup, options.workers,
            options.connections, String.join(", ", List.of("kernel", "nsgate").stream().filter(options::runs).toList()),
            options.profiling() ? " · nsgate records JFR (settings=profile) throughout" : ""));
        report.header(String.format(Locale.ROOT, "shared machine: each workload waits up to %d s for other processes to"
            + " use < %.0f%% of a core, and is measured again up to %d times if they took more meanwhile (the least"
            + " disturbed attempt is kept)", options.quietWait, Report.NOISY_PCT, options.noisyRetries));
        String forwards = NatRules.FORWARDS.stream().map(f -> f.proto() + " " + f.port())
            .collect(Collectors.joining(", "));
        report.header("kernel: ip_forward=1, iptables MASQUERADE " + SeedLab.INSIDE_NET + " -o lan0, DNAT "
            + SeedLab.GATEWAY_LAN + " " + forwards + " → " + SeedLab.BLUE + "; IPv6 forwarding 1, ip6tables MASQUERADE "
            + SeedLab.INSIDE_NET6 + " -o lan0, DNAT " + SeedLab.GATEWAY_LAN6 + " tcp 80, 5201 → " + SeedLab.BLUE6
            + " · nsgate: `nsgate run --netns " + prefix + "edge --lan lan0 --inside v-net-0 --masquerade "
            + SeedLab.INSIDE_NET + " " + SeedLab.INSIDE_NET6 + " --forward "
            + String.join(" ", NsgateSide.forwardFlags()) + " --workers " + options.workers
            + "` (ip_forward=0, IPv6 forwarding 0), own JVM");
    }

    private static String howMeasured() {
        return String.join("\n",
            "",
            "### How measured",
            "",
            "- ping RTT: ping -c 150 -i 0.02 192.168.1.3 from blue (one echo at a time, masqueraded), after the"
                + " warm-up; median and 99th percentile.",
            "- TCP in: iperf3 -s in blue; iperf3 -c 192.168.1.2 -p 5201 -t N -O 1 -J in lan (one stream, DNAT to blue);"
                + " receiver's bits/s.",
            "- TCP out: iperf3 -s in lan; iperf3 -c 192.168.1.3 in blue (masqueraded to 192.168.1.2); receiver's"
                + " bits/s.",
            "- HTTP: wrk -t2 -cC -dNs --latency http://192.168.1.2/ in lan against nginx in blue (16-byte body);"
                + " req/s and wrk's 99th percentile. New connections: the same with -H \"Connection: close\".",
            "- 64B UDP: trafgen -P 1 in blue, 16 flows of 64-byte frames 192.168.15.2:40000-40015 → 192.168.1.3:9 "
                + "(masqueraded); received = rx_packets of lan's lan0 over the window / seconds; sent = blue eth0"
                + " tx_packets.",
            "- IPv6: the same TCP and keep-alive workloads to fd01::2 (forwards to [fd15::2]) and fd01::3 (NAT66 of"
                + " fd15::/64), against ip6tables' MASQUERADE and DNAT.",
            "- Ratios are nsgate / kernel; for p99 lower is better (goal: at most 1.2× the kernel's).",
            "");
    }

    private static String summary(Measurement m) {
        return m.values.entrySet().stream()
            .map(e -> String.format(Locale.ROOT, "%s %.2f", e.getKey(), e.getValue()))
            .collect(Collectors.joining(", "))
            + (m.window != null && !Double.isNaN(m.window.procCpuPctOfCore())
                ? String.format(Locale.ROOT, ", nsgate CPU %.0f%%", m.window.procCpuPctOfCore()) : "")
            + (m.window != null ? String.format(Locale.ROOT, ", machine busy %.0f%%, other processes %.0f%%",
                m.window.machineBusyPct(), m.window.foreignPctOfCore()) : "")
            + (m.notes.isEmpty() ? "" : " (" + String.join("; ", m.notes) + ")");
    }

    private static void say(String line) {
        System.out.println("e2e: " + line);
    }

    /** Stops the side, every process started, removes the lab; once, from the finally or the shutdown hook. */
    private synchronized void cleanUp() {
        if (cleanedUp) {
            return;
        }
        cleanedUp = true;
        Side s = side;
        if (s != null) {
            s.close();
        }
        if (nginx != null) {
            nginx.close();
        }
        procs.stopAll();
        if (lab != null) {
            try {
                java.nio.file.Files.deleteIfExists(Path.of("/dev/shm", lab.prefix() + "flows")); // --state-file yes
            } catch (java.io.IOException e) {
                System.err.println("e2e: removing the state file: " + e.getMessage());
            }
            try {
                lab.close();
                say("removed " + lab.prefix() + "{edge,red,blue,lan}");
            } catch (RuntimeException e) {
                System.err.println("e2e: removing the lab: " + e.getMessage());
            }
        }
    }
}
