// The probe behind @RequiresNetns: the kit's (root, namespaces, ip), then nsgate's own NetNs probe.
package io.nsgate.control.testsupport;

import java.util.List;

import io.nsgate.control.netns.NetNs;
import io.nsgate.testkit.NamespacesRequirement;
import io.nsgate.testkit.Requirement;

/** Control's namespace tests need what any lab needs, and nsgate's NetNs must be able to create and enter one. */
public final class NetnsRequirement extends Requirement {
    /** Used by JUnit through {@link RequiresNetns}, and by {@link SeedLab}. */
    public NetnsRequirement() {
        super("root and network namespaces", List.of(NamespacesRequirement::probe, NetNs::unavailabilityCause));
    }
}
