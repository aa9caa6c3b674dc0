// A route as configured: a destination reached through a named interface, optionally via a gateway.
package io.nsgate.dataplane.nat;

import io.nsgate.linux.net.Ipv4Address;
import io.nsgate.linux.net.Ipv4Prefix;

/**
 * What the daemon finds in its namespace's routing table (a default route via a LAN router, say) or is given, before
 * {@link RuleSet.Builder#build()} resolves the interface name to the data plane's index ({@link Route}).
 *
 * @param gateway the next hop's address, or 0 when the destination is on the link
 */
public record StaticRoute(Ipv4Prefix destination, String interfaceName, int gateway) {
    @Override
    public String toString() {
        return destination + " dev " + interfaceName + (gateway != 0 ? " via " + Ipv4Address.format(gateway) : "");
    }
}
