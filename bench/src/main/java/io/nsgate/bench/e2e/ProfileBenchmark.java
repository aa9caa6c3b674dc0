// `bench/run profile`: one workload through nsgate in the seed lab, profiled machine-wide with perf and a JVM perf map.
package io.nsgate.bench.e2e;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

import io.nsgate.control.netns.NetNs;
import io.nsgate.control.testsupport.SeedLab;
import io.nsgate.testkit.Commands;
import io.nsgate.testkit.Processes;
import io.nsgate.testkit.TestPrefix;

/**
 * The developer's profile of the data path: a seed lab, nsgate as a process with its production options plus
 * {@code -XX:+UnlockDiagnosticVMOptions -XX:+DumpPerfMapAtExit -XX:+PreserveFramePointer} (the JVM writes
 * /tmp/perf-PID.map when it exits, naming the compiled Java methods), one workload from bench/run e2e, and, while it
 * runs, {@code perf record -e cpu-clock -a -g} over the whole machine (the kernel's softirq work is where a
 * forwarded frame spends much of its time). After the gateway stopped, {@code perf report} prints the top symbols of
 * the machine (kernel and Java, by share of all samples), then of the gateway's process alone. perf.data stays in
 * the run's directory for {@code perf report -i}; with Brendan Gregg's FlameGraph scripts on the PATH
 * (stackcollapse-perf.pl, flamegraph.pl) a flame graph is written there too.
 */
public final class ProfileBenchmark {
    private static final String USAGE = String.join("\n",
        "usage: bench/run profile [--workload tcp-in|tcp-out|http-keepalive|http-close|udp] [--seconds N] [--top N]",
        "                         [--nsgate-jar JAR]",
        "  --workload W   what goes through the gateway while perf records (default tcp-in)",
        "  --seconds N    how long perf records (default 10)",
        "  --top N        symbols listed per table (default 25)",
        "  --nsgate-jar J the gateway from another build's bench/target/benchmarks.jar (a before/after profile)");

    private ProfileBenchmark() {
    }

    public static void main(String[] args) throws Exception {
        Workload workload = Workload.TCP_IN;
        int seconds = 10;
        int top = 25;
        Path gatewayJar = null;
        try {
            for (int i = 0; i < args.length; i += 2) {
                String v = i + 1 < args.length ? args[i + 1] : "";
                switch (args[i]) {
                    case "--workload" -> workload = workload(v);
                    case "--seconds" -> seconds = Integer.parseInt(v);
                    case "--top" -> top = Integer.parseInt(v);
                    case "--nsgate-jar" -> {
                        gatewayJar = Path.of(v);
                        if (!Files.isRegularFile(gatewayJar)) {
                            throw new IllegalArgumentException("--nsgate-jar " + v + ": no such file");
                        }
                    }
                    default -> throw new IllegalArgumentException("unknown option " + args[i]);
                }
            }
        } catch (RuntimeException e) {
            System.err.println("profile: " + e.getMessage() + "\n" + USAGE);
            System.exit(2);
            return;
        }
        if (!NetNs.isAvailable()) {
            System.err.println("profile: needs root: " + NetNs.unavailabilityCause());
            System.exit(1);
        }
        Tools.require();
        Processes procs = new Processes(Files.createTempDirectory("nsgate-profile-"));
        SeedLab lab = SeedLab.create(TestPrefix.Kind.BENCHMARK, procs);
        NginxServer nginx = null;
        NsgateSide gateway = null;
        int code = 0;
        try {
            nginx = NginxServer.start(lab, SeedLab.BLUE, 80);
            gateway = new NsgateSide(lab, 2, null, List.of(), List.of("-XX:+UnlockDiagnosticVMOptions",
                "-XX:+DumpPerfMapAtExit", "-XX:+PreserveFramePointer")).gatewayJar(gatewayJar);
            gateway.start();
            long pid = gateway.pid();
            Path data = procs.dir().resolve("perf.data");
            say("lab " + lab.prefix() + ", nsgate pid " + pid + ", files in " + procs.dir());
            run(lab, workload, 2, new Meter(pid)); // warm-up: the JIT compiles the data path first
            Process perf = procs.start(List.of("perf", "record", "-e", "cpu-clock", "-F", "997", "-a", "-g", "-o",
                data.toString(), "--", "sleep", String.valueOf(seconds)), procs.dir().resolve("perf-record.log"));
            Measurement m = run(lab, workload, seconds, new Meter(pid));
            perf.waitFor();
            gateway.close(); // the JVM writes /tmp/perf-PID.map as it exits
            gateway = null;
            StringBuilder r = new StringBuilder();
            r.append(String.format(Locale.ROOT, "# nsgate profile: %s for %d s%n%nCPU: %s · %d CPUs · %s%n%n",
                workload.label, seconds, Tools.cpuModel(), Runtime.getRuntime().availableProcessors(), m.values));
            r.append("## The whole machine (perf record -a, cpu-clock), by share of all samples\n\n```\n");
            r.append(report(procs, data, top, null)).append("```\n\n");
            r.append("## The gateway's process alone\n\n```\n");
            r.append(report(procs, data, top, pid)).append("```\n");
            Path svg = flameGraph(procs, data);
            if (svg != null) {
                r.append("\nFlame graph: ").append(svg).append('\n');
            }
            r.append("\nperf.data: ").append(data).append(" (perf report -i it)\n");
            System.out.println(r);
        } catch (Exception e) {
            System.err.println("profile: " + e.getMessage() + " (files in " + procs.dir() + ")");
            code = 1;
        } finally {
            if (gateway != null) {
                gateway.close();
            }
            if (nginx != null) {
                nginx.close();
            }
            procs.stopAll();
            lab.close();
        }
        System.exit(code);
    }

    private static Workload workload(String id) {
        for (Workload w : Workload.values()) {
            if (w.id.equals(id) && w != Workload.PING_RTT) {
                return w;
            }
        }
        throw new IllegalArgumentException("unknown workload " + id);
    }

    private static Measurement run(SeedLab lab, Workload w, int seconds, Meter meter) throws Exception {
        return w.run(lab, seconds, 32, meter);
    }

    /** perf report's flat profile, symbols by their own share (no children), the top {@code top} lines. */
    private static String report(Processes procs, Path data, int top, Long pid) {
        List<String> cmd = new ArrayList<>(List.of("perf", "report", "-i", data.toString(), "--stdio",
            "--no-children", "--sort", "dso,sym", "-g", "none", "--percent-limit", "0.3"));
        if (pid != null) {
            cmd.addAll(List.of("--pid", String.valueOf(pid)));
        }
        Commands.Result r = procs.run(Duration.ofMinutes(2), cmd);
        StringBuilder b = new StringBuilder();
        int lines = 0;
        for (String line : r.output().split("\n")) {
            if (line.isBlank() || line.startsWith("#")) {
                continue;
            }
            b.append(line.strip()).append('\n');
            if (++lines == top) {
                break;
            }
        }
        return b.length() == 0 ? "(perf report printed nothing: " + r.stderr().strip() + ")\n" : b.toString();
    }

    /** A flame graph, when FlameGraph's scripts are on the PATH; else null. */
    private static Path flameGraph(Processes procs, Path data) {
        if (!procs.run(Duration.ofSeconds(5), List.of("sh", "-c", "command -v stackcollapse-perf.pl && command -v "
            + "flamegraph.pl")).ok()) {
            return null;
        }
        Path svg = data.resolveSibling("flamegraph.svg");
        Commands.Result r = procs.run(Duration.ofMinutes(3), List.of("sh", "-c", "perf script -i " + data
            + " | stackcollapse-perf.pl | flamegraph.pl > " + svg));
        return r.ok() ? svg : null;
    }

    private static void say(String line) {
        System.err.println("profile: " + line);
    }
}
