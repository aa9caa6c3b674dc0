// The probe behind @RequiresBpf: whether bpf(2) can create maps and load programs here.
package io.nsgate.testkit;

import io.nsgate.linux.sys.Bpf;

/** Backed by {@code Bpf.unavailabilityCause()}: root, or CAP_BPF and CAP_NET_ADMIN. */
public final class BpfRequirement extends Requirement {
    /** Used by JUnit through {@link RequiresBpf}. */
    public BpfRequirement() {
        super("bpf(2) (root, or CAP_BPF and CAP_NET_ADMIN)");
    }

    @Override
    protected String unavailabilityCause() {
        return Bpf.unavailabilityCause();
    }
}
