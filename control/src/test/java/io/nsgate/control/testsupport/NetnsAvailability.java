// The JUnit extension behind @RequiresNetns: probes once, then fails or (with -Dnsgate.allowSkip=true) aborts.
package io.nsgate.control.testsupport;

import org.junit.jupiter.api.Assertions;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.extension.BeforeAllCallback;
import org.junit.jupiter.api.extension.ExtensionContext;

import io.nsgate.control.netns.NetNs;

/** Fails the test class with the probe's cause; skipping is opt-in and never the default. */
public final class NetnsAvailability implements BeforeAllCallback {

    /** Why namespace tests cannot run here, or null. */
    public static String unavailabilityCause() {
        String cause = NetNs.unavailabilityCause();
        if (cause != null) {
            return cause;
        }
        return Ip.unavailabilityCause();
    }

    @Override
    public void beforeAll(ExtensionContext context) {
        String cause = unavailabilityCause();
        if (cause == null) {
            return;
        }
        String message = context.getDisplayName() + " needs root and network namespaces: " + cause;
        if (Boolean.getBoolean("nsgate.allowSkip")) {
            Assumptions.abort(message + " (skipped because -Dnsgate.allowSkip=true)");
        }
        Assertions.fail(message + " (run as root, or pass -Dnsgate.allowSkip=true to skip knowingly)");
    }
}
