// One interface the data plane serves: its role, address, subnet, IPv6 addresses and MTU.
package io.nsgate.dataplane.nat;

import java.util.List;

import io.nsgate.linux.net.Ipv4Address;
import io.nsgate.linux.net.Ipv4Prefix;
import io.nsgate.linux.net.Ipv6Address;

/**
 * An interface of the gateway as the NAT sees it. {@code index} is the data plane's own small number for it
 * (0..{@link RuleSet#MAX_INTERFACES}-1, stored in flow records), not the kernel's ifindex.
 *
 * @param role          LAN: the side that carries the host's address and faces the outside; INSIDE: a bridge or link
 *                      towards the namespaces
 * @param ipv6Addresses the interface's own IPv6 addresses, link-local ones left out (they are never routed)
 */
public record GatewayInterface(int index, String name, Role role, Ipv4Prefix address, List<Ipv6Address> ipv6Addresses,
                               int mtu) {
    public enum Role { LAN, INSIDE }

    public GatewayInterface {
        if (index < 0 || index >= RuleSet.MAX_INTERFACES) {
            throw new IllegalArgumentException("interface " + name + ": index " + index + " out of range");
        }
        if (mtu < 576 || mtu > 65535) {
            throw new IllegalArgumentException("interface " + name + ": MTU " + mtu + " is not in 576..65535");
        }
        ipv6Addresses = List.copyOf(ipv6Addresses);
    }

    /** The same interface at another index, address, IPv6 addresses or MTU. */
    GatewayInterface with(int index, Ipv4Prefix address, List<Ipv6Address> ipv6Addresses, int mtu) {
        return new GatewayInterface(index, name, role, address, ipv6Addresses, mtu);
    }

    /** The interface's own address (the host part of {@link #address}). */
    public int ip() {
        return address.address();
    }

    @Override
    public String toString() {
        return name + " (" + role.name().toLowerCase() + ", " + Ipv4Address.format(ip()) + "/" + address.length()
            + ", mtu " + mtu + ")";
    }
}
