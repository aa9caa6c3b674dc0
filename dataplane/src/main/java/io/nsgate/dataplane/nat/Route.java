// A route the data plane forwards by: destination prefix, egress interface, optional gateway.
package io.nsgate.dataplane.nat;

import io.nsgate.linux.net.Ipv4Address;
import io.nsgate.linux.net.Ipv4Prefix;

/** {@code gateway == 0} means the destination is on the link: the next hop is the destination itself. */
public record Route(Ipv4Prefix destination, int interfaceIndex, int gateway) {
    public int nextHop(int dstIp) {
        return gateway != 0 ? gateway : dstIp;
    }

    @Override
    public String toString() {
        return destination + " dev#" + interfaceIndex + (gateway != 0 ? " via " + Ipv4Address.format(gateway) : "");
    }
}
