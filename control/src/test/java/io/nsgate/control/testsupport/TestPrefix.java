// Per-run name prefixes ("ngt1a2b-") for everything a test creates, and the sweep that removes them.
package io.nsgate.control.testsupport;

import java.security.SecureRandom;
import java.util.List;

import io.nsgate.control.netns.NetNs;

/**
 * Every namespace a test makes is named {@code ngt<4 hex>-...}; {@link #sweep} deletes the namespaces of one prefix
 * (never any other name), which is also what {@code scripts/clean-test-leftovers} does for all of them after a
 * crash.
 */
public final class TestPrefix {
    /** The pattern all test prefixes follow. */
    public static final String PATTERN = "ngt[0-9a-f]{4}-";
    private static final SecureRandom RANDOM = new SecureRandom();

    private TestPrefix() {
    }

    /** A fresh prefix not used by any existing namespace. */
    public static String fresh() {
        while (true) {
            String prefix = String.format("ngt%04x-", RANDOM.nextInt(0x10000));
            if (NetNs.list().stream().noneMatch(n -> n.startsWith(prefix))) {
                return prefix;
            }
        }
    }

    /** Deletes every namespace whose name starts with {@code prefix}; returns their names. */
    public static List<String> sweep(String prefix) {
        if (!prefix.matches(PATTERN)) {
            throw new IllegalArgumentException("not a test prefix: " + prefix);
        }
        List<String> mine = NetNs.list().stream().filter(n -> n.startsWith(prefix)).toList();
        for (String name : mine) {
            NetNs.delete(name);
        }
        return mine;
    }
}
