// A route the data plane forwards by: destination prefix, egress interface (the data plane's index), optional gateway.
package io.nsgate.dataplane.nat;

import io.nsgate.linux.net.Ipv4Address;
import io.nsgate.linux.net.Ipv4Prefix;

/**
 * One entry of a {@link RuleSet}'s routing table, resolved: either a connected route (an interface's own subnet)
 * or a {@link StaticRoute} whose interface name became an index.
 *
 * @param gateway   0 when the destination is on the link: the next hop is the destination itself
 * @param connected derived from an interface's address rather than configured
 */
public record Route(Ipv4Prefix destination, int interfaceIndex, int gateway, boolean connected) {
    public int nextHop(int dstIp) {
        return gateway != 0 ? gateway : dstIp;
    }

    @Override
    public String toString() {
        return destination + " dev#" + interfaceIndex + (gateway != 0 ? " via " + Ipv4Address.format(gateway) : "")
            + (connected ? " (connected)" : "");
    }
}
