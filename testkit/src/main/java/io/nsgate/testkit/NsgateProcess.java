// nsgate as an operator runs it: a JVM of its own, its output read up to a line, stopped with SIGTERM by its pid.
package io.nsgate.testkit;

import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * {@code java --add-exports java.base/jdk.internal.misc=ALL-UNNAMED [JVM flags] -cp CLASSPATH
 * io.nsgate.control.cli.Main ARGS}, optionally under another command: inside a namespace ({@code ip netns exec NS
 * java ...}: ip execs the JVM, so the pid is the JVM's) or as another user ({@code setpriv ...}). The main class
 * is named, not linked: the kit does not depend on control. Started through a {@link Processes}, its output (stdout
 * and stderr) goes to a file: {@link #readUntil} waits for a line, {@link #rest} returns what followed once it
 * ended. {@link #terminate} sends SIGTERM (the clean shutdown an operator triggers); {@link #close} stops it by pid,
 * SIGKILL after a grace period, if it is still running.
 *
 * <pre>
 *   NsgateProcess p = NsgateProcess.start(processes, Launch.of("run", "--netns", edge, ...));
 *   String log = p.readUntil("nsgate: running", Duration.ofSeconds(60));
 *   p.terminate();
 *   assertTrue(p.waitFor(Duration.ofSeconds(30)));
 *   assertEquals(0, p.exitValue(), p.rest());
 * </pre>
 */
public final class NsgateProcess implements AutoCloseable {
    /** nsgate's command-line entry point. */
    public static final String MAIN_CLASS = "io.nsgate.control.cli.Main";
    /** How long {@link #close} waits after SIGTERM: the shutdown detaches from the kernel and writes a JFR file. */
    public static final Duration STOP_GRACE = Duration.ofSeconds(30);
    private static final Duration END_TIMEOUT = Duration.ofSeconds(60);

    private final Processes processes;
    private final Process process;
    private int consumed;

    /**
     * What to start.
     *
     * @param wrapper   the command nsgate's JVM runs under ({@code ip netns exec NS}, {@code setpriv ...}), or empty
     * @param jvmFlags  flags after the Agrona export (e.g. -Dagrona.disable.bounds.checks=true, JFR)
     * @param classpath where Main and its dependencies are
     * @param args      nsgate's arguments ("run", "--netns", ...)
     * @param output    the file its output goes to, or null for a new one in the processes' directory
     */
    public record Launch(List<String> wrapper, List<String> jvmFlags, String classpath, List<String> args,
                         Path output) {
        public Launch {
            wrapper = List.copyOf(wrapper);
            jvmFlags = List.copyOf(jvmFlags);
            args = List.copyOf(args);
        }

        /** nsgate ARGS in the caller's namespace, on this JVM's classpath, no extra flags. */
        public static Launch of(String... args) {
            return new Launch(List.of(), List.of(), System.getProperty("java.class.path"), List.of(args), null);
        }

        /** The same, inside namespace {@code ns} ({@code ip netns exec NS java ...}). */
        public Launch inNetns(String ns) {
            return under(Commands.inNetns(ns, List.of()));
        }

        /** The same, run under {@code command} (which runs the rest of the line: {@code setpriv --reuid=...}). */
        public Launch under(List<String> command) {
            return new Launch(command, jvmFlags, classpath, args, output);
        }

        /** The same, with these JVM flags. */
        public Launch withJvmFlags(List<String> flags) {
            return new Launch(wrapper, flags, classpath, args, output);
        }

        /** The same, with the options of a {@code jvm.options} file (what ./nsgate runs with) before its flags. */
        public Launch withJvmOptionsFile(Path file) {
            List<String> flags = new ArrayList<>(jvmOptions(file));
            flags.addAll(jvmFlags);
            return new Launch(wrapper, flags, classpath, args, output);
        }

        /** The same, on another classpath (e.g. the benchmark jar alone). */
        public Launch withClasspath(String path) {
            return new Launch(wrapper, jvmFlags, path, args, output);
        }

        /** The same, its output in {@code file}. */
        public Launch withOutput(Path file) {
            return new Launch(wrapper, jvmFlags, classpath, args, file);
        }

        /** The command line. */
        public List<String> command() {
            List<String> line = new ArrayList<>(wrapper);
            line.addAll(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "--add-exports", "java.base/jdk.internal.misc=ALL-UNNAMED"));
            line.addAll(jvmFlags);
            line.addAll(List.of("-cp", classpath, MAIN_CLASS));
            line.addAll(args);
            return line;
        }
    }

    /** The options of a {@code jvm.options} file: one per line, blank lines and {@code #} comments skipped. */
    public static List<String> jvmOptions(Path file) {
        try {
            return java.nio.file.Files.readAllLines(file).stream().map(String::strip)
                .filter(l -> !l.isEmpty() && !l.startsWith("#")).toList();
        } catch (java.io.IOException e) {
            throw new IllegalStateException("cannot read " + file + ": " + e.getMessage(), e);
        }
    }

    /**
     * The repository's {@code jvm.options}, looked for from the working directory up (a module's directory while
     * Maven runs its tests, the checkout's root otherwise).
     */
    public static Path repositoryJvmOptions() {
        for (Path dir = Path.of("").toAbsolutePath(); dir != null; dir = dir.getParent()) {
            Path candidate = dir.resolve("jvm.options");
            if (java.nio.file.Files.isRegularFile(candidate)) {
                return candidate;
            }
        }
        throw new IllegalStateException("no jvm.options in " + Path.of("").toAbsolutePath() + " or above");
    }

    private NsgateProcess(Processes processes, Process process) {
        this.processes = processes;
        this.process = process;
    }

    /** Starts nsgate as {@code launch} says, through {@code processes} (which stop it on their teardown too). */
    public static NsgateProcess start(Processes processes, Launch launch) {
        Process p = launch.output() == null ? processes.start(launch.command())
            : processes.start(launch.command(), launch.output());
        return new NsgateProcess(processes, p);
    }

    /**
     * Waits for a line containing {@code marker} and returns the output up to and including it, from where the
     * previous read ended. Throws {@link CommandException} with what it printed when nsgate ends first or the line
     * does not come within {@code timeout}.
     */
    public String readUntil(String marker, Duration timeout) throws InterruptedException {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (true) {
            boolean ended = !process.isAlive(); // before reading: a line printed just before the end is not missed
            String all = output();
            int from = consumed;
            for (int end = all.indexOf('\n', from); end >= 0; end = all.indexOf('\n', from)) {
                if (all.substring(from, end).contains(marker)) {
                    String read = all.substring(consumed, end + 1);
                    consumed = end + 1;
                    return read;
                }
                from = end + 1;
            }
            if (ended) {
                throw new CommandException(toString(), "ended (exit code " + process.exitValue()
                    + ") without printing \"" + marker + "\"", all.substring(consumed));
            }
            if (System.nanoTime() > deadline) {
                throw new CommandException(toString(), "did not print \"" + marker + "\" within "
                    + CommandException.seconds(timeout), all.substring(consumed));
            }
            Thread.sleep(20);
        }
    }

    /** Waits for nsgate to end (60 s at most, else throws) and returns what it printed after the last read. */
    public String rest() throws InterruptedException {
        if (!waitFor(END_TIMEOUT)) {
            throw new CommandException(toString(), "still running after " + CommandException.seconds(END_TIMEOUT),
                output());
        }
        String all = output();
        String rest = all.substring(Math.min(consumed, all.length()));
        consumed = all.length();
        return rest;
    }

    /** Sends SIGTERM, by pid: the shutdown an operator triggers. Does not wait. */
    public void terminate() {
        process.toHandle().destroy();
    }

    /** Waits up to {@code timeout} for nsgate to end; true when it did. */
    public boolean waitFor(Duration timeout) throws InterruptedException {
        return process.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS);
    }

    /** Its exit code; throws IllegalThreadStateException while it runs. */
    public int exitValue() {
        return process.exitValue();
    }

    /** Whether it still runs. */
    public boolean isAlive() {
        return process.isAlive();
    }

    /** Its pid. */
    public long pid() {
        return process.pid();
    }

    /** Everything it printed so far. */
    public String output() {
        return processes.output(process);
    }

    /** Stops it if still running: SIGTERM, then SIGKILL after {@link #STOP_GRACE}, by pid, with its children. */
    @Override
    public void close() {
        if (process.isAlive()) {
            processes.stop(process, STOP_GRACE);
        }
    }

    @Override
    public String toString() {
        return "nsgate (pid " + process.pid() + ")";
    }
}
