// The probe behind @RequiresAfPacket: root, namespaces and iproute2's ip (the kit's probe), then AF_PACKET itself.
package io.nsgate.dataplane.testsupport;

import java.util.List;

import io.nsgate.dataplane.io.AfPacketPort;
import io.nsgate.testkit.NamespacesRequirement;
import io.nsgate.testkit.Requirement;

/** AF_PACKET tests build their own namespaces and veth pairs, then open rings on them. */
public final class AfPacketRequirement extends Requirement {
    /** Used by JUnit through {@link RequiresAfPacket}. */
    public AfPacketRequirement() {
        super("root, network namespaces and AF_PACKET",
            List.of(NamespacesRequirement::probe, AfPacketPort::unavailabilityCause));
    }
}
