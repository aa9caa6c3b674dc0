// Named network namespaces for end-to-end tests, made and removed with iproute2's `ip`, under a per-run prefix.
package io.nsgate.dataplane.testsupport;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

/**
 * Every namespace a test makes is named {@code ngt<4 hex>-...} ({@link #freshPrefix()}); {@link #sweep} deletes the
 * namespaces of one prefix and never any other name. Commands run {@code ip} (found in /usr/sbin, /sbin, /usr/bin,
 * /bin) and fail with its stderr. The root namespace is never changed: links are created inside a test namespace
 * ({@code ip -n NS link add ... peer ... netns OTHER}).
 */
public final class TestNetns {
    /** The pattern all test prefixes follow. */
    public static final String PREFIX_PATTERN = "ngt[0-9a-f]{4}-";
    private static final Path NETNS_DIR = Path.of("/run/netns");
    private static final SecureRandom RANDOM = new SecureRandom();
    private static final String IP = findIp();

    private TestNetns() {
    }

    private static String findIp() {
        for (String dir : List.of("/usr/sbin", "/sbin", "/usr/bin", "/bin")) {
            if (Files.isExecutable(Path.of(dir, "ip"))) {
                return dir + "/ip";
            }
        }
        return null;
    }

    /** Why namespace tests cannot run here (no `ip`, not root), or null. */
    public static String unavailabilityCause() {
        if (IP == null) {
            return "iproute2's ip is not installed: run scripts/ensure-deps test";
        }
        if (!"root".equals(System.getProperty("user.name"))) {
            return "network namespaces need root (running as " + System.getProperty("user.name") + ")";
        }
        return null;
    }

    /**
     * Fails the calling test with the cause when namespaces are unusable here; with {@code -Dnsgate.allowSkip=true}
     * aborts (skips) it instead. CI runs as root, where this never triggers.
     */
    public static void requireAvailable(String what) {
        String cause = unavailabilityCause();
        if (cause == null) {
            return;
        }
        String message = what + " needs root and network namespaces: " + cause;
        if (Boolean.getBoolean("nsgate.allowSkip")) {
            org.junit.jupiter.api.Assumptions.abort(message + " (skipped because -Dnsgate.allowSkip=true)");
        }
        org.junit.jupiter.api.Assertions.fail(message + " (run as root, or pass -Dnsgate.allowSkip=true to skip knowingly)");
    }

    /** A fresh prefix not used by any existing namespace. */
    public static String freshPrefix() {
        List<String> existing = list();
        while (true) {
            String prefix = String.format("ngt%04x-", RANDOM.nextInt(0x10000));
            if (existing.stream().noneMatch(n -> n.startsWith(prefix))) {
                return prefix;
            }
        }
    }

    /** Names of the named network namespaces ({@code /run/netns}). */
    public static List<String> list() {
        if (!Files.isDirectory(NETNS_DIR)) {
            return List.of();
        }
        try (Stream<Path> entries = Files.list(NETNS_DIR)) {
            return entries.map(p -> p.getFileName().toString()).sorted().toList();
        } catch (IOException e) {
            throw new AssertionError("cannot list " + NETNS_DIR + ": " + e, e);
        }
    }

    /** {@code ip netns add NAME}; the name must start with a test prefix. */
    public static void add(String name) {
        requireTestName(name);
        ip("netns", "add", name);
    }

    /** Deletes every namespace whose name starts with {@code prefix}; returns their names. */
    public static List<String> sweep(String prefix) {
        if (!prefix.matches(PREFIX_PATTERN)) {
            throw new IllegalArgumentException("not a test prefix: " + prefix);
        }
        List<String> mine = list().stream().filter(n -> n.startsWith(prefix)).toList();
        List<String> failures = new ArrayList<>();
        for (String name : mine) {
            Result r = tryIp("netns", "del", name);
            if (r.exitCode != 0) {
                failures.add(name + ": " + r.stderr.strip());
            }
        }
        if (!failures.isEmpty()) {
            throw new AssertionError("could not delete test namespaces: " + failures);
        }
        return mine;
    }

    private static void requireTestName(String name) {
        if (!name.matches(PREFIX_PATTERN + ".+")) {
            throw new IllegalArgumentException(name + " is not a test namespace name (" + PREFIX_PATTERN + "...)");
        }
    }

    /** Runs {@code ip ARGS}; returns stdout, throws AssertionError with stderr when it fails. */
    public static String ip(String... args) {
        Result r = tryIp(args);
        if (r.exitCode != 0) {
            throw new AssertionError("ip " + String.join(" ", args) + " failed (" + r.exitCode + "): " + r.stderr);
        }
        return r.stdout;
    }

    /** Runs {@code ip ARGS} and returns whatever happened. */
    public static Result tryIp(String... args) {
        List<String> cmd = new ArrayList<>();
        cmd.add(IP);
        cmd.addAll(Arrays.asList(args));
        return exec(cmd);
    }

    /** Runs a command inside namespace {@code name} ({@code ip netns exec}), e.g. ping. */
    public static Result execIn(String name, String... command) {
        requireTestName(name);
        List<String> cmd = new ArrayList<>(List.of(IP, "netns", "exec", name));
        cmd.addAll(Arrays.asList(command));
        return exec(cmd);
    }

    private static Result exec(List<String> cmd) {
        if (IP == null) {
            throw new AssertionError(unavailabilityCause());
        }
        try {
            Process p = new ProcessBuilder(cmd).redirectErrorStream(false).start();
            try {
                byte[] out = p.getInputStream().readAllBytes();
                byte[] err = p.getErrorStream().readAllBytes();
                if (!p.waitFor(30, TimeUnit.SECONDS)) {
                    throw new AssertionError(cmd + " did not finish in 30 s");
                }
                return new Result(p.exitValue(), new String(out, StandardCharsets.UTF_8),
                    new String(err, StandardCharsets.UTF_8));
            } finally {
                if (p.isAlive()) {
                    p.destroyForcibly(); // the process this call started, by its handle
                }
            }
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
