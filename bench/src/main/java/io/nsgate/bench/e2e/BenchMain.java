// What a benchmark's main does around its measurements: its flags, root and tools checked, the report, the cleanup.
package io.nsgate.bench.e2e;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;
import java.util.Set;

import io.nsgate.control.netns.NetNs;

/** The skeleton of {@code bench/run local} and {@code bench/run restart}. */
final class BenchMain {
    /** A benchmark: a run that returns its report, and a cleanup that may run twice (finally and shutdown hook). */
    interface Bench {
        String run() throws Exception;

        void cleanUp();
    }

    private BenchMain() {
    }

    /**
     * The {@code --name value} flags among {@code known}; prints the usage and exits (0 for -h, 2 for a bad flag).
     */
    static Map<String, String> flags(String name, String usage, String[] args, Set<String> known) {
        Map<String, String> flags = new HashMap<>();
        for (int i = 0; i < args.length; i++) {
            if (args[i].equals("-h") || args[i].equals("--help")) {
                System.out.println(usage);
                System.exit(0);
            }
            if (!known.contains(args[i]) || i + 1 >= args.length) {
                System.err.println(name + ": " + (known.contains(args[i]) ? args[i] + " needs a value"
                    : "unknown option " + args[i]) + "\n" + usage);
                System.exit(2);
            }
            flags.put(args[i], args[++i]);
        }
        return flags;
    }

    /** A flag's value as a positive int, or {@code otherwise}; exits 2 naming it when it is not one. */
    static int positive(String name, String usage, Map<String, String> flags, String flag, int otherwise) {
        String v = flags.get(flag);
        if (v == null) {
            return otherwise;
        }
        try {
            int n = Integer.parseInt(v);
            if (n > 0) {
                return n;
            }
        } catch (NumberFormatException e) {
            // said below
        }
        System.err.println(name + ": " + flag + " " + v + ": not a positive number\n" + usage);
        System.exit(2);
        return otherwise;
    }

    /**
     * Checks root and the tools, runs the benchmark, prints its report (and writes it to {@code out}, when given),
     * cleans up also on Ctrl-C, and exits.
     */
    static void run(String name, Bench bench, Path out) throws Exception {
        if (!NetNs.isAvailable()) {
            System.err.println(name + ": needs root: " + NetNs.unavailabilityCause());
            System.exit(1);
        }
        Tools.require();
        Runtime.getRuntime().addShutdownHook(new Thread(bench::cleanUp, name + "-cleanup"));
        try {
            String report = bench.run();
            System.out.println(report);
            if (out != null) {
                Files.writeString(out, report + "\n");
            }
        } finally {
            bench.cleanUp();
        }
        System.exit(0);
    }
}
