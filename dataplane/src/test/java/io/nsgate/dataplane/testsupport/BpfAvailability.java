// The JUnit extension behind @RequiresBpf: probes bpf(2) once, then fails or (with -Dnsgate.allowSkip=true) aborts.
package io.nsgate.dataplane.testsupport;

import org.junit.jupiter.api.Assertions;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.extension.BeforeAllCallback;
import org.junit.jupiter.api.extension.ExtensionContext;

import io.nsgate.linux.sys.Bpf;

/** Fails the test class with the probe's cause; skipping is opt-in and never the default. */
public final class BpfAvailability implements BeforeAllCallback {

    @Override
    public void beforeAll(ExtensionContext context) {
        String cause = Bpf.unavailabilityCause();
        if (cause == null) {
            return;
        }
        String message = context.getDisplayName() + " needs bpf(2) (root, or CAP_BPF and CAP_NET_ADMIN): " + cause;
        if (Boolean.getBoolean("nsgate.allowSkip")) {
            Assumptions.abort(message + " (skipped because -Dnsgate.allowSkip=true)");
        }
        Assertions.fail(message + " (run as root, or pass -Dnsgate.allowSkip=true to skip knowingly)");
    }
}
