// What a test class needs of the machine (root, namespaces, bpf, AF_PACKET): it fails naming the cause, never skips.
package io.nsgate.testkit;

import org.junit.jupiter.api.Assertions;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.extension.BeforeAllCallback;
import org.junit.jupiter.api.extension.ExtensionContext;

/**
 * The JUnit extension behind every {@code @Requires...} annotation: before a class's first test it asks the probe
 * ({@link #unavailabilityCause}) once and, when something is missing, fails the class with the cause. CI runs as
 * root, where that never happens; {@code -Dnsgate.allowSkip=true} turns the failure into an aborted (skipped) class
 * for a developer without root, knowingly. Subclasses are thin: what is needed, in words, and the probe.
 */
public abstract class Requirement implements BeforeAllCallback {
    /** The system property that allows skipping. */
    public static final String ALLOW_SKIP = "nsgate.allowSkip";

    private final String needs;

    /** @param needs what the tests need, in words ("root and network namespaces") */
    protected Requirement(String needs) {
        this.needs = needs;
    }

    /** Why the tests cannot run here, or null when they can. */
    protected abstract String unavailabilityCause();

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
