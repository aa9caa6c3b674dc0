// The command line of `bench/run e2e`.
package io.nsgate.bench.e2e;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.List;
import java.util.Locale;
import java.util.Set;

final class Options {
    static final String USAGE = String.join("\n",
        "usage: bench/run e2e [--seconds N] [--only kernel|nsgate] [--workers N] [--skip W[,W...]]",
        "                     [--warmup N] [--profile W[,W...]|none] [--connections N] [--quiet-wait N]",
        "                     [--noisy-retries N] [--nsgate-jar JAR] [--state-file yes|no] [--out FILE]",
        "  Seed lab, the same workloads through the kernel's iptables NAT and then through nsgate; prints a table.",
        "  --seconds N      measured seconds per workload (default 10)",
        "  --only SIDE      measure only the kernel's NAT or only nsgate",
        "  --workers N      nsgate's worker threads (default 2)",
        "  --skip W,...     leave workloads out: rtt, tcp-in, tcp-out, http-keepalive, http-close, udp, tcp-in6,",
        "                   tcp-out6, http-keepalive6",
        "  --warmup N       seconds of unreported TCP, new-connection and UDP traffic before each side's",
        "                   measurements, so nsgate's JIT has compiled its paths (default 2; 0: none)",
        "  --profile W,...  workloads whose JFR samples are summarised (default tcp-in,udp); none: no recording",
        "  --connections N  wrk's connections (default 32)",
        "  --quiet-wait N   before each workload, wait up to N s for other processes on the machine to use less",
        "                   than 15% of a core (default 20; 0: do not wait; noisy measurements are marked anyway)",
        "  --noisy-retries N  measure a workload again, up to N times, when other processes took 15% of a core or",
        "                   more during it; the least disturbed attempt is kept (default 2)",
        "  --nsgate-jar JAR run the gateway from another build's bench/target/benchmarks.jar (an older checkout),",
        "                   to compare builds through the same harness",
        "  --state-file yes run the gateway with a state file (on tmpfs) and pinned guards, as the package does:",
        "                   its tables in the file's 4 KiB pages instead of anonymous huge pages",
        "  --out FILE       also write the report (markdown) to FILE",
        "Needs root. Everything lives in namespaces ngbXXXX-{edge,red,blue,lan}, removed at the end.");

    private static final Set<String> KNOWN = Set.of("--seconds", "--only", "--workers", "--skip", "--warmup",
        "--profile", "--connections", "--quiet-wait", "--noisy-retries", "--nsgate-jar", "--state-file", "--out");

    int seconds = 10;
    Set<String> sides = Set.of("kernel", "nsgate");
    int workers = 2;
    Set<Workload> workloads = EnumSet.allOf(Workload.class);
    int warmup = 2;
    List<Workload> profile = List.of(Workload.TCP_IN, Workload.UDP);
    int connections = 32;
    int quietWait = 20;
    int noisyRetries = 2;
    Path out;
    Path nsgateJar;
    boolean stateFile;

    /** @throws IllegalArgumentException with a message for the user */
    static Options parse(String[] args) {
        Options o = new Options();
        for (int i = 0; i < args.length; i++) {
            String a = args[i];
            if (a.equals("-h") || a.equals("--help")) {
                throw new HelpRequested();
            }
            if (!KNOWN.contains(a)) {
                throw new IllegalArgumentException("unknown option " + a);
            }
            if (i + 1 >= args.length) {
                throw new IllegalArgumentException(a + " needs a value");
            }
            String v = args[++i];
            switch (a) {
                case "--seconds" -> o.seconds = positive(a, v, 1, 600);
                case "--only" -> {
                    String s = v.toLowerCase(Locale.ROOT);
                    if (!s.equals("kernel") && !s.equals("nsgate")) {
                        throw new IllegalArgumentException("--only " + v + ": kernel or nsgate");
                    }
                    o.sides = Set.of(s);
                }
                case "--workers" -> o.workers = positive(a, v, 1, 64);
                case "--skip" -> {
                    for (String w : v.split(",")) {
                        o.workloads.remove(Workload.parse(w));
                    }
                }
                case "--warmup" -> o.warmup = positive(a, v, 0, 60);
                case "--profile" -> {
                    List<Workload> p = new ArrayList<>();
                    if (!v.equalsIgnoreCase("none")) {
                        for (String w : v.split(",")) {
                            p.add(Workload.parse(w));
                        }
                    }
                    o.profile = p;
                }
                case "--connections" -> o.connections = positive(a, v, 2, 10_000);
                case "--quiet-wait" -> o.quietWait = positive(a, v, 0, 600);
                case "--noisy-retries" -> o.noisyRetries = positive(a, v, 0, 10);
                case "--out" -> o.out = Path.of(v);
                case "--state-file" -> {
                    if (!v.equals("yes") && !v.equals("no")) {
                        throw new IllegalArgumentException("--state-file " + v + ": yes or no");
                    }
                    o.stateFile = v.equals("yes");
                }
                case "--nsgate-jar" -> {
                    o.nsgateJar = Path.of(v);
                    if (!java.nio.file.Files.isRegularFile(o.nsgateJar)) {
                        throw new IllegalArgumentException("--nsgate-jar " + v + ": no such file");
                    }
                }
                default -> throw new IllegalArgumentException("unknown option " + a);
            }
        }
        if (o.workloads.isEmpty()) {
            throw new IllegalArgumentException("--skip left no workload to run");
        }
        return o;
    }

    boolean runs(String side) {
        return sides.contains(side);
    }

    /** Whether nsgate records with JFR: some profiled workload runs. */
    boolean profiling() {
        return runs("nsgate") && profile.stream().anyMatch(workloads::contains);
    }

    private static int positive(String option, String v, int min, int max) {
        try {
            int n = Integer.parseInt(v);
            if (n >= min && n <= max) {
                return n;
            }
        } catch (NumberFormatException ignored) {
            // reported below
        }
        throw new IllegalArgumentException(option + " " + v + ": a whole number from " + min + " to " + max);
    }

    /** -h / --help. */
    static final class HelpRequested extends RuntimeException {
        private static final long serialVersionUID = 1L;
    }
}
