// An IPv6 route the data plane forwards by: destination prefix, egress interface (the data plane's index), gateway.
package io.nsgate.dataplane.nat;

import io.nsgate.linux.net.Ipv6Address;
import io.nsgate.linux.net.Ipv6Prefix;

/**
 * One entry of a {@link RuleSet}'s IPv6 routing table: a connected route (the network of an interface's IPv6
 * address) or a route of the namespace's table through a router on one of the interfaces.
 *
 * @param gateway   null when the destination is on the link: the next hop is the destination itself
 * @param connected derived from an interface's address rather than found in the kernel's table
 */
public record Route6(Ipv6Prefix destination, int interfaceIndex, Ipv6Address gateway, boolean connected) {
    @Override
    public String toString() {
        return destination + " dev#" + interfaceIndex + (gateway != null ? " via " + gateway : "")
            + (connected ? " (connected)" : "");
    }
}
