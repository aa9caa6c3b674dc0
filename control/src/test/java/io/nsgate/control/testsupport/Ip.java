// Runs iproute2's `ip` as an independent test oracle (never used by the product) and parses its JSON.
package io.nsgate.control.testsupport;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.TimeUnit;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

/** {@code Ip.json("-n", ns, "link")} runs {@code ip -j -n ns link} and returns the parsed array. */
public final class Ip {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final String IP = findIp();

    private Ip() {
    }

    private static String findIp() {
        for (String dir : List.of("/usr/sbin", "/sbin", "/usr/bin", "/bin")) {
            if (Files.isExecutable(Path.of(dir, "ip"))) {
                return dir + "/ip";
            }
        }
        return null;
    }

    /** Null when `ip` is installed. */
    public static String unavailabilityCause() {
        return IP == null ? "iproute2's ip (the test oracle) is not installed: run scripts/ensure-deps test" : null;
    }

    /** Runs {@code ip -j ARGS} and parses the output (an empty output parses as an empty array). */
    public static JsonNode json(String... args) {
        List<String> cmd = new ArrayList<>();
        cmd.add("-j");
        cmd.addAll(Arrays.asList(args));
        String out = run(cmd.toArray(new String[0]));
        try {
            return out.isBlank() ? JSON.createArrayNode() : JSON.readTree(out);
        } catch (IOException e) {
            throw new AssertionError("ip " + String.join(" ", cmd) + " printed no JSON: " + out, e);
        }
    }

    /** Runs {@code ip ARGS}; returns stdout, throws AssertionError with stderr when it fails. */
    public static String run(String... args) {
        Result r = tryRun(args);
        if (r.exitCode != 0) {
            throw new AssertionError("ip " + String.join(" ", args) + " failed (" + r.exitCode + "): " + r.stderr);
        }
        return r.stdout;
    }

    /** Runs {@code ip ARGS} and returns whatever happened. */
    public static Result tryRun(String... args) {
        List<String> cmd = new ArrayList<>();
        cmd.add(IP);
        cmd.addAll(Arrays.asList(args));
        return exec(cmd);
    }

    /** Runs any command (ping inside a namespace through `ip netns exec`, for instance). */
    public static Result exec(List<String> cmd) {
        try {
            Process p = new ProcessBuilder(cmd).redirectErrorStream(false).start();
            byte[] out = p.getInputStream().readAllBytes();
            byte[] err = p.getErrorStream().readAllBytes();
            if (!p.waitFor(60, TimeUnit.SECONDS)) {
                p.destroyForcibly();
                throw new AssertionError(cmd + " did not finish in 60 s");
            }
            return new Result(p.exitValue(), new String(out, StandardCharsets.UTF_8),
                new String(err, StandardCharsets.UTF_8));
        } catch (IOException e) {
            throw new AssertionError("cannot run " + cmd + ": " + e, e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new AssertionError("interrupted running " + cmd, e);
        }
    }

    /** A finished command. */
    public record Result(int exitCode, String stdout, String stderr) {
    }
}
