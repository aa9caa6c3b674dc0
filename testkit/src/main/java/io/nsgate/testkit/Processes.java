// The processes a test or benchmark starts: run to completion with a timeout, or kept and stopped by their own pid.
package io.nsgate.testkit;

import java.io.File;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.Stream;

/**
 * Every process goes through one of these, so that a run stops exactly what it started and nothing else: a process
 * is remembered with its handle while it may still run and, when stopped, gets SIGTERM by its own pid together with
 * its own children (nginx's workers, trafgen's sender), then SIGKILL if it is still there after a grace period.
 * {@link #stopAll} is the teardown after a failure. Output never goes to a pipe nobody reads: a started process
 * writes stdout and stderr to a file ({@link #output} reads it so far); a command run to completion writes them to
 * two temporary files that are read and deleted when it ends. Standard input is /dev/null.
 *
 * <p>The files are in {@link #dir()}: the directory given (a benchmark's run directory, kept), or a temporary one
 * made on first use and removed by {@link #close}.
 */
public final class Processes implements AutoCloseable {
    /** How long {@link #stopAll} and a timed-out command get between SIGTERM and SIGKILL. */
    public static final Duration GRACE = Duration.ofSeconds(3);

    private final Path givenDir;
    private Path ownDir;
    private final Map<Process, Started> started = new ConcurrentHashMap<>();
    private final AtomicInteger sequence = new AtomicInteger();

    /** What a started process was, for output and error messages. */
    private record Started(List<String> command, Path output) {
    }

    /** Output files in a temporary directory made on first use and removed by {@link #close}. */
    public Processes() {
        this.givenDir = null;
    }

    /** Output files in {@code dir}, which stays (a benchmark's run directory). */
    public Processes(Path dir) {
        this.givenDir = dir;
    }

    /** Where output files go. */
    public synchronized Path dir() {
        if (givenDir != null) {
            return givenDir;
        }
        if (ownDir == null) {
            try {
                ownDir = Files.createTempDirectory("nsgate-processes-");
            } catch (IOException e) {
                throw new IllegalStateException("cannot create a directory for process output in "
                    + System.getProperty("java.io.tmpdir") + ": " + e.getMessage(), e);
            }
        }
        return ownDir;
    }

    /** Starts {@code command} in the background, its output in a new file of {@link #dir()}. */
    public Process start(List<String> command) {
        return start(command, dir().resolve(String.format("process-%03d.out", sequence.incrementAndGet())));
    }

    /** Starts {@code command} in the background, its output (stdout and stderr) in {@code output}. */
    public Process start(List<String> command, Path output) {
        Process p = launch(command, ProcessBuilder.Redirect.to(output.toFile()), null);
        started.put(p, new Started(List.copyOf(command), output));
        return p;
    }

    /** What a process from {@link #start} has printed so far ("" before it printed anything). */
    public String output(Process process) {
        Started s = started.get(process);
        return s == null ? "" : read(s.output());
    }

    /**
     * Waits for a process from {@link #start} to end and returns its output. A process that does not end in time is
     * stopped; that, or an exit code other than 0, throws {@link CommandException} with its output.
     */
    public String await(Process process, Duration timeout) {
        Started s = started.get(process);
        List<String> command = s == null ? List.of("pid " + process.pid()) : s.command();
        try {
            if (!process.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS)) {
                String output = output(process);
                stop(process, GRACE);
                throw new CommandException(command, "did not end within " + CommandException.seconds(timeout), output);
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            stop(process, GRACE);
            throw new CommandException(command, "interrupted while waiting for it", output(process));
        }
        if (process.exitValue() != 0) {
            throw new CommandException(command, "exit code " + process.exitValue(), output(process));
        }
        return output(process);
    }

    /**
     * Runs {@code command} to completion and returns its exit code and output, whatever the exit code. One that
     * does not finish within {@code timeout} is stopped and throws {@link CommandException}.
     */
    public Commands.Result run(Duration timeout, List<String> command) {
        Path stdout = null;
        Path stderr = null;
        try {
            stdout = Files.createTempFile(dir(), "command-", ".out");
            stderr = Files.createTempFile(dir(), "command-", ".err");
            Process p = launch(command, ProcessBuilder.Redirect.to(stdout.toFile()),
                ProcessBuilder.Redirect.to(stderr.toFile()));
            started.put(p, new Started(List.copyOf(command), stdout));
            try {
                if (!p.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS)) {
                    stop(p, GRACE);
                    throw new CommandException(command, "did not finish within " + CommandException.seconds(timeout),
                        read(stdout) + read(stderr));
                }
                return new Commands.Result(p.exitValue(), read(stdout), read(stderr));
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                stop(p, GRACE);
                throw new CommandException(command, "interrupted", read(stdout) + read(stderr));
            } finally {
                started.remove(p);
            }
        } catch (IOException e) {
            throw new CommandException(command, e);
        } finally {
            deleteQuietly(stdout);
            deleteQuietly(stderr);
        }
    }

    /** Runs {@code command} like {@link #run} and returns its stdout; an exit code other than 0 throws with output. */
    public String check(Duration timeout, List<String> command) {
        Commands.Result r = run(timeout, command);
        if (!r.ok()) {
            throw new CommandException(command, "exit code " + r.exitCode(), r.output());
        }
        return r.stdout();
    }

    /**
     * Stops {@code process} and its children: SIGTERM to each (by pid), SIGKILL to those still alive after
     * {@code grace}. Returns once they are gone (or after 5 s more of waiting for the process itself).
     */
    public void stop(Process process, Duration grace) {
        List<ProcessHandle> family = new ArrayList<>(process.descendants().toList());
        family.add(process.toHandle());
        for (ProcessHandle h : family) {
            h.destroy();
        }
        long deadline = System.nanoTime() + grace.toNanos();
        for (ProcessHandle h : family) {
            long left = deadline - System.nanoTime();
            if (left > 0) {
                h.onExit().completeOnTimeout(h, left, TimeUnit.NANOSECONDS).join();
            }
            if (h.isAlive()) {
                h.destroyForcibly();
            }
        }
        try {
            process.waitFor(5, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    /** Stops every process started here that is still running (the teardown, after a failure too). */
    public void stopAll() {
        for (Process p : List.copyOf(started.keySet())) {
            if (p.isAlive()) {
                stop(p, GRACE);
            }
        }
    }

    /** {@link #stopAll}, then removes the temporary directory if this made one (a given directory stays). */
    @Override
    public synchronized void close() {
        stopAll();
        started.clear();
        if (ownDir != null) {
            try (Stream<Path> files = Files.list(ownDir)) {
                files.forEach(Processes::deleteQuietly);
            } catch (IOException e) {
                // the directory is gone already, or unreadable: nothing more to remove
            }
            deleteQuietly(ownDir);
            ownDir = null;
        }
    }

    private static Process launch(List<String> command, ProcessBuilder.Redirect stdout,
                                  ProcessBuilder.Redirect stderr) {
        ProcessBuilder pb = new ProcessBuilder(command).redirectOutput(stdout)
            .redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null")));
        if (stderr == null) {
            pb.redirectErrorStream(true);
        } else {
            pb.redirectError(stderr);
        }
        try {
            return pb.start();
        } catch (IOException e) {
            throw new CommandException(command, e);
        }
    }

    private static String read(Path file) {
        try {
            return new String(Files.readAllBytes(file), StandardCharsets.UTF_8);
        } catch (IOException e) {
            return "";
        }
    }

    private static void deleteQuietly(Path file) {
        if (file == null) {
            return;
        }
        try {
            Files.deleteIfExists(file);
        } catch (IOException e) {
            // a leftover file in a temporary directory does no harm
        }
    }
}
