// The probe behind @RequiresBpf: whether bpf(2) can create maps and load programs here.
package io.nsgate.testkit;

import java.util.List;

import io.nsgate.linux.sys.Bpf;

/** Backed by {@code Bpf.unavailabilityCause()}: root, or CAP_BPF and CAP_NET_ADMIN. */
public final class BpfRequirement extends Requirement {
    /** Used by JUnit through {@link RequiresBpf}. */
    public BpfRequirement() {
        super("bpf(2) (root, or CAP_BPF and CAP_NET_ADMIN)", List.of(Bpf::unavailabilityCause));
    }
}
