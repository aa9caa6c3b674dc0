// What a test class needs of the machine (root, namespaces, bpf, AF_PACKET): it fails naming the cause, never skips.
package io.nsgate.testkit;

import java.util.List;
import java.util.function.Supplier;

import org.junit.jupiter.api.Assertions;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.extension.BeforeAllCallback;
import org.junit.jupiter.api.extension.ExtensionContext;

/**
 * The JUnit extension behind every {@code @Requires...} annotation: before a class's first test it asks its probes,
 * in order, and when one names a cause (something missing), fails the class with it. CI runs as root, where that
 * never happens; {@code -Dnsgate.allowSkip=true} turns the failure into an aborted (skipped) class for a developer
 * without root, knowingly. Subclasses are thin: what is needed, in words, and the probes (each returns the cause, or
 * null when its part is there).
 */
public abstract class Requirement implements BeforeAllCallback {
    /** The system property that allows skipping. */
    public static final String ALLOW_SKIP = "nsgate.allowSkip";

    private final String needs;
    private final List<Supplier<String>> probes;

    /**
     * @param needs  what the tests need, in words ("root and network namespaces")
     * @param probes asked in order; the first cause found is the one reported
     */
    protected Requirement(String needs, List<Supplier<String>> probes) {
        this.needs = needs;
        this.probes = List.copyOf(probes);
    }

    /** Why the tests cannot run here (the first probe's cause), or null when they can. */
    public final String unavailabilityCause() {
        for (Supplier<String> probe : probes) {
            String cause = probe.get();
            if (cause != null) {
                return cause;
            }
        }
        return null;
    }

    @Override
    public final void beforeAll(ExtensionContext context) {
        check(context.getDisplayName());
    }

    /** Fails (or, with -Dnsgate.allowSkip=true, aborts) the caller, {@code what}, when the probe finds a cause. */
    public final void check(String what) {
        String cause = unavailabilityCause();
        if (cause == null) {
            return;
        }
        String message = what + " needs " + needs + ": " + cause;
        if (Boolean.getBoolean(ALLOW_SKIP)) {
            Assumptions.abort(message + " (skipped because -D" + ALLOW_SKIP + "=true)");
        }
        Assertions.fail(message + " (run as root, or pass -D" + ALLOW_SKIP + "=true to skip knowingly)");
    }
}
