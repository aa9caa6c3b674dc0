// Short commands for tests and benchmarks: iproute2's `ip` (found once, its JSON parsed), any command with a timeout.
package io.nsgate.testkit;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

/**
 * {@code ip} is the independent oracle and builder of the tests (production code never shells out): it is looked for
 * once, in /usr/sbin, /sbin, /usr/bin and /bin. {@link #ip} returns what it printed and throws with its stderr when
 * it fails; {@link #ipJson} parses {@code ip -j}. {@link #run} runs any command to completion (through a
 * {@link Processes} of its own, so a command that hangs is stopped by its pid); {@link #inNetns} builds the
 * {@code ip netns exec NS ...} line that runs a command inside a namespace with that namespace's own /sys.
 */
public final class Commands {
    /** How long a short command may take. */
    public static final Duration TIMEOUT = Duration.ofSeconds(60);

    private static final ObjectMapper JSON = new ObjectMapper();
    private static final String IP = find("ip", "/usr/sbin", "/sbin", "/usr/bin", "/bin");
    private static final String PYTHON = find("python3", "/usr/bin", "/usr/local/bin", "/bin");
    private static final String MISSING = "is not installed: run scripts/ensure-deps test";
    private static final Processes SHORT = new Processes(Path.of(System.getProperty("java.io.tmpdir")));

    private Commands() {
    }

    /** A finished command. */
    public record Result(int exitCode, String stdout, String stderr) {
        /** Exit code 0. */
        public boolean ok() {
            return exitCode == 0;
        }

        /** stdout, then stderr. */
        public String output() {
            return stdout + stderr;
        }
    }

    private static String find(String program, String... dirs) {
        for (String dir : dirs) {
            if (Files.isExecutable(Path.of(dir, program))) {
                return dir + "/" + program;
            }
        }
        return null;
    }

    /** Why {@code ip} cannot be used here, or null when it is installed. */
    public static String unavailabilityCause() {
        return IP == null ? "iproute2's ip " + MISSING : null;
    }

    /** The path of {@code ip}; throws naming what to install when it is missing. */
    public static String ipPath() {
        if (IP == null) {
            throw new IllegalStateException(unavailabilityCause());
        }
        return IP;
    }

    /** The path of python3, which tests run inside namespaces; throws naming what to install when it is missing. */
    public static String python() {
        if (PYTHON == null) {
            throw new IllegalStateException("python3 " + MISSING);
        }
        return PYTHON;
    }

    /** {@code ip netns exec NS COMMAND}: {@code command} run inside namespace {@code ns}. */
    public static List<String> inNetns(String ns, List<String> command) {
        List<String> line = new ArrayList<>(List.of(ipPath(), "netns", "exec", ns));
        line.addAll(command);
        return line;
    }

    /** {@code ip netns exec NS COMMAND...}. */
    public static List<String> inNetns(String ns, String... command) {
        return inNetns(ns, List.of(command));
    }

    /** Runs {@code command} to completion ({@link #TIMEOUT} at most), whatever its exit code. */
    public static Result run(List<String> command) {
        return SHORT.run(TIMEOUT, command);
    }

    /** Runs {@code ip ARGS}; returns stdout, throws {@link CommandException} with its stderr when it fails. */
    public static String ip(String... args) {
        return SHORT.check(TIMEOUT, ipCommand(List.of(args)));
    }

    /** Runs {@code ip ARGS} and returns whatever happened. */
    public static Result tryIp(String... args) {
        return run(ipCommand(List.of(args)));
    }

    /** Runs {@code ip -j ARGS} and parses the output (an empty output parses as an empty array). */
    public static JsonNode ipJson(String... args) {
        List<String> jsonArgs = new ArrayList<>(List.of("-j"));
        jsonArgs.addAll(List.of(args));
        String out = SHORT.check(TIMEOUT, ipCommand(jsonArgs));
        try {
            return out.isBlank() ? JSON.createArrayNode() : JSON.readTree(out);
        } catch (IOException e) {
            throw new CommandException(ipCommand(jsonArgs), "printed no JSON (" + e.getMessage() + ")", out);
        }
    }

    private static List<String> ipCommand(List<String> args) {
        List<String> line = new ArrayList<>(List.of(ipPath()));
        line.addAll(args);
        return line;
    }
}
