// nsgate started as a process of its own (the way an operator runs it), its output read line by line, stopped at the end.
package io.nsgate.control.cli;

import static org.junit.jupiter.api.Assertions.fail;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/** The processes one test started; {@link #close} kills those still running (only those, by their handles). */
final class NsgateProcesses implements AutoCloseable {
    private final List<Process> started = new ArrayList<>();
    private final Map<Process, BufferedReader> readers = new HashMap<>();

    /** nsgate ARGS in a JVM of its own on this test's classpath, in the current namespace (or {@code netns}). */
    Process start(String netns, String... args) throws IOException {
        List<String> command = new ArrayList<>();
        if (netns != null) {
            command.addAll(List.of("ip", "netns", "exec", netns));
        }
        command.addAll(List.of(ProcessHandle.current().info().command().orElse("java"),
            "--add-exports", "java.base/jdk.internal.misc=ALL-UNNAMED",
            "-cp", System.getProperty("java.class.path"), Main.class.getName()));
        command.addAll(List.of(args));
        Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
        started.add(p);
        return p;
    }

    private BufferedReader reader(Process p) {
        return readers.computeIfAbsent(p,
            q -> new BufferedReader(new InputStreamReader(q.getInputStream(), StandardCharsets.UTF_8)));
    }

    /** Its output up to and including the first line containing {@code marker}; fails with what it printed. */
    String readUntil(Process p, String marker, long timeoutMs) throws Exception {
        StringBuilder out = new StringBuilder();
        BufferedReader r = reader(p);
        long deadline = System.currentTimeMillis() + timeoutMs;
        while (System.currentTimeMillis() < deadline) {
            if (r.ready()) {
                String line = r.readLine();
                if (line == null) {
                    break;
                }
                out.append(line).append('\n');
                if (line.contains(marker)) {
                    return out.toString();
                }
            } else if (!p.isAlive() && !r.ready()) {
                break;
            } else {
                Thread.sleep(20);
            }
        }
        fail("no \"" + marker + "\" from nsgate within " + timeoutMs + " ms; it printed:\n" + out);
        return null;
    }

    /** The rest of its output, up to its end. */
    String rest(Process p) throws IOException {
        StringBuilder out = new StringBuilder();
        BufferedReader r = reader(p);
        for (String line = r.readLine(); line != null; line = r.readLine()) {
            out.append(line).append('\n');
        }
        return out.toString();
    }

    @Override
    public void close() throws InterruptedException {
        for (Process p : started) {
            p.destroyForcibly();
            p.waitFor(10, TimeUnit.SECONDS);
        }
        started.clear();
        readers.clear();
    }
}
