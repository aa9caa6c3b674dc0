// The processes the end-to-end benchmark starts: short commands run to completion, long ones kept and stopped by pid.
package io.nsgate.bench.e2e;

import java.io.File;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;

/**
 * Every process goes through here, so that the benchmark stops exactly what it started and nothing else: a long-lived
 * process ({@link #start}) is remembered with its handle and, when stopped, gets SIGTERM by its own pid together
 * with its own children (nginx's workers, trafgen's sender), then SIGKILL if it is still there after a grace
 * period. Output always goes to a file in the run's directory, never to a pipe nobody reads.
 */
final class Procs {
    /** A command that failed or did not finish; the message names the command and shows the tail of its output. */
    static final class CommandException extends RuntimeException {
        private static final long serialVersionUID = 1L;

        CommandException(String message) {
            super(message);
        }
    }

    /** A finished command: exit code and everything it printed (stdout and stderr interleaved). */
    record Result(int exitCode, String output) {
    }

    private final Path dir;
    private final List<Process> running = new CopyOnWriteArrayList<>();
    private int seq;

    Procs(Path dir) {
        this.dir = dir;
    }

    Path dir() {
        return dir;
    }

    /** Runs {@code cmd} to completion and returns its output; a non-zero exit or a timeout throws with the output. */
    String run(Duration timeout, List<String> cmd) {
        Result r = runAllowingFailure(timeout, cmd);
        if (r.exitCode() != 0) {
            throw new CommandException(String.join(" ", cmd) + ": exit code " + r.exitCode() + tail(r.output()));
        }
        return r.output();
    }

    /** Runs {@code cmd} to completion; a timeout throws (after stopping it), a non-zero exit does not. */
    Result runAllowingFailure(Duration timeout, List<String> cmd) {
        Path out = dir.resolve(String.format("cmd-%03d.out", nextSeq()));
        Process p = launch(cmd, out);
        running.add(p);
        try {
            if (!p.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS)) {
                stop(p, Duration.ofSeconds(2));
                throw new CommandException(String.join(" ", cmd) + ": no answer within " + timeout.toSeconds() + " s"
                    + tail(read(out)));
            }
            return new Result(p.exitValue(), read(out));
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            stop(p, Duration.ofSeconds(2));
            throw new CommandException(String.join(" ", cmd) + ": interrupted");
        } finally {
            running.remove(p);
            try {
                Files.deleteIfExists(out);
            } catch (IOException ignored) {
                // a leftover file in the run's directory does no harm
            }
        }
    }

    /** Starts a long-lived process whose output goes to {@code log} (in the run's directory). */
    Process start(List<String> cmd, Path log) {
        Process p = launch(cmd, log);
        running.add(p);
        return p;
    }

    /**
     * Stops a process this class started, and its children: SIGTERM to each (by pid), SIGKILL to those still alive
     * after {@code grace}. Returns once they are gone.
     */
    void stop(Process p, Duration grace) {
        List<ProcessHandle> family = new ArrayList<>(p.descendants().toList());
        family.add(p.toHandle());
        for (ProcessHandle h : family) {
            h.destroy();
        }
        long deadline = System.nanoTime() + grace.toNanos();
        for (ProcessHandle h : family) {
            long left = deadline - System.nanoTime();
            try {
                if (left > 0) {
                    h.onExit().get(left, TimeUnit.NANOSECONDS);
                }
            } catch (Exception ignored) {
                // still alive: killed below
            }
            if (h.isAlive()) {
                h.destroyForcibly();
            }
        }
        try {
            p.waitFor(5, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        running.remove(p);
    }

    /** Stops everything still running that this class started (the cleanup after a failure). */
    void stopAll() {
        for (Process p : List.copyOf(running)) {
            stop(p, Duration.ofSeconds(3));
        }
    }

    static String read(Path file) {
        try {
            return Files.readString(file, StandardCharsets.UTF_8);
        } catch (IOException e) {
            return "";
        }
    }

    /** The last lines of a command's output, for error messages. */
    static String tail(String output) {
        String s = output.strip();
        if (s.isEmpty()) {
            return " (no output)";
        }
        String[] lines = s.split("\n");
        int from = Math.max(0, lines.length - 12);
        StringBuilder b = new StringBuilder(":");
        for (int i = from; i < lines.length; i++) {
            b.append("\n    ").append(lines[i]);
        }
        return b.toString();
    }

    private Process launch(List<String> cmd, Path out) {
        ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true)
            .redirectOutput(out.toFile()).redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null")));
        try {
            return pb.start();
        } catch (IOException e) {
            throw new CommandException("cannot start " + cmd.get(0) + ": " + e.getMessage());
        }
    }

    private synchronized int nextSeq() {
        return ++seq;
    }
}
