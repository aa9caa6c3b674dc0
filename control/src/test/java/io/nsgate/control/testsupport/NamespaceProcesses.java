// Processes a test starts inside lab namespaces: run to completion with a timeout, or kept and stopped by pid.
package io.nsgate.control.testsupport;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.TimeUnit;

import io.nsgate.control.netns.NetNs;

/**
 * Starts commands inside a namespace ({@link NetNs#startProcess}) and stops exactly those, by their own pid, in
 * {@link #stopAll()} (call it in teardown; it runs even when a test fails).
 */
public final class NamespaceProcesses {
    private final List<Process> started = new ArrayList<>();

    /** A finished command: exit code and everything it printed (stdout and stderr). */
    public record Result(int exitCode, String output) {
        public boolean ok() {
            return exitCode == 0;
        }
    }

    /** Starts {@code command} in {@code ns} and keeps it running (e.g. a server); stopped by {@link #stopAll}. */
    public synchronized Process start(NetNs ns, String... command) throws IOException {
        Process p = ns.startProcess(new ProcessBuilder(command).redirectErrorStream(true));
        started.add(p);
        return p;
    }

    /** Runs {@code command} in {@code ns} to completion; kills it after {@code timeoutSeconds}. */
    public Result run(NetNs ns, int timeoutSeconds, String... command) throws IOException, InterruptedException {
        Result r = await(start(ns, command), timeoutSeconds);
        return r.exitCode() == -1
            ? new Result(-1, "timed out after " + timeoutSeconds + " s: " + Arrays.toString(command) + "\n" + r.output())
            : r;
    }

    /** Waits for a started process to finish, up to {@code timeoutSeconds} (then kills it: exit code -1). */
    public Result await(Process p, int timeoutSeconds) throws IOException, InterruptedException {
        boolean finished = p.waitFor(timeoutSeconds, TimeUnit.SECONDS);
        if (!finished) {
            p.destroyForcibly();
            p.waitFor(5, TimeUnit.SECONDS);
        }
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        synchronized (this) {
            started.remove(p);
        }
        return new Result(finished ? p.exitValue() : -1, out);
    }

    /** Stops every process started here and still running: SIGTERM, then SIGKILL after a second. */
    public synchronized void stopAll() {
        for (Process p : started) {
            p.destroy();
        }
        for (Process p : started) {
            try {
                if (!p.waitFor(1, TimeUnit.SECONDS)) {
                    p.destroyForcibly();
                    p.waitFor(5, TimeUnit.SECONDS);
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
        started.clear();
    }
}
