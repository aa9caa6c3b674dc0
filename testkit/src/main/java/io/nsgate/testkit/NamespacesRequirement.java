// The probe behind @RequiresNamespaces: root (namespaces and veth pairs need it) and iproute2's ip.
package io.nsgate.testkit;

import java.util.List;

import io.nsgate.linux.sys.Syscalls;

/** Tests that build labs of namespaces need the system-call layer, euid 0 and {@code ip}. */
public final class NamespacesRequirement extends Requirement {
    /** Used by JUnit through {@link RequiresNamespaces}. */
    public NamespacesRequirement() {
        super("root, network namespaces and iproute2's ip", List.of(NamespacesRequirement::probe));
    }

    /** Why labs of namespaces cannot be built here, or null. */
    public static String probe() {
        if (!Syscalls.isAvailable()) {
            return Syscalls.unavailabilityCause();
        }
        if (Syscalls.geteuid() != 0) {
            return "not running as root (euid " + Syscalls.geteuid() + "): creating namespaces and veth pairs needs"
                + " CAP_SYS_ADMIN and CAP_NET_ADMIN";
        }
        return Commands.unavailabilityCause();
    }
}
