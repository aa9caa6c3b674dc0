// Per-run name prefixes ("ngt1a2b-", benchmarks "ngb1a2b-") for every namespace a run makes, and the sweep of one.
package io.nsgate.testkit;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.stream.Stream;

/**
 * Every namespace a test makes is named {@code ngt<4 hex>-...}, every one a benchmark makes {@code ngb<4 hex>-...},
 * with a prefix of its own per run ({@link #fresh}). {@link #sweep} deletes the namespaces of one prefix and never
 * any other name; {@code scripts/clean-test-leftovers} removes those of every prefix of {@link #PATTERN} after a
 * crash. Named namespaces are the entries of /run/netns.
 */
public final class TestPrefix {
    /** The pattern all prefixes follow (the one scripts/clean-test-leftovers matches). */
    public static final String PATTERN = "ng[tb][0-9a-f]{4}-";
    private static final Path RUN_NETNS = Path.of("/run/netns");
    private static final SecureRandom RANDOM = new SecureRandom();

    /** Who makes the namespaces: the letter after "ng". */
    public enum Kind {
        /** A test: ngt. */
        TEST('t'),
        /** A benchmark: ngb. */
        BENCHMARK('b');

        private final char letter;

        Kind(char letter) {
            this.letter = letter;
        }
    }

    private TestPrefix() {
    }

    /** A fresh test prefix ("ngt1a2b-") not used by any existing namespace. */
    public static String fresh() {
        return fresh(Kind.TEST);
    }

    /** A fresh prefix of {@code kind} not used by any existing namespace. */
    public static String fresh(Kind kind) {
        List<String> existing = namespaces("");
        while (true) {
            String prefix = String.format(Locale.ROOT, "ng%c%04x-", kind.letter, RANDOM.nextInt(0x10000));
            if (existing.stream().noneMatch(n -> n.startsWith(prefix))) {
                return prefix;
            }
        }
    }

    /** The named namespaces whose names start with {@code prefix} (all of them for ""), sorted. */
    public static List<String> namespaces(String prefix) {
        if (!Files.isDirectory(RUN_NETNS)) {
            return List.of();
        }
        try (Stream<Path> entries = Files.list(RUN_NETNS)) {
            return entries.map(p -> p.getFileName().toString()).filter(n -> n.startsWith(prefix)).sorted().toList();
        } catch (IOException e) {
            throw new IllegalStateException("cannot list " + RUN_NETNS + ": " + e.getMessage(), e);
        }
    }

    /**
     * Deletes every namespace whose name starts with {@code prefix} ({@code ip netns del}); returns their names.
     * Throws when {@code prefix} is not a test or benchmark prefix, or naming those it could not delete.
     */
    public static List<String> sweep(String prefix) {
        if (!prefix.matches(PATTERN)) {
            throw new IllegalArgumentException("\"" + prefix + "\" is not a test prefix (" + PATTERN + ")");
        }
        List<String> mine = namespaces(prefix);
        List<String> failures = new ArrayList<>();
        for (String name : mine) {
            Commands.Result r = Commands.tryIp("netns", "del", name);
            if (!r.ok()) {
                failures.add(name + ": " + r.stderr().strip());
            }
        }
        if (!failures.isEmpty()) {
            throw new IllegalStateException("could not delete namespaces " + failures
                + " (scripts/clean-test-leftovers " + prefix + " stops what runs in them and removes them)");
        }
        return mine;
    }
}
