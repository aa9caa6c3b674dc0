// One interface the data plane serves: its role, address, subnet, IPv6 addresses and MTU.
package io.nsgate.dataplane.nat;

import java.util.List;

import io.nsgate.linux.net.Ipv4Address;
import io.nsgate.linux.net.Ipv4Prefix;
import io.nsgate.linux.net.Ipv6Address;
import io.nsgate.linux.net.Ipv6Prefix;

/**
 * An interface of the gateway as the NAT sees it. {@code index} is the data plane's own small number for it
 * (0..{@link RuleSet#MAX_INTERFACES}-1, stored in flow records), not the kernel's ifindex.
 *
 * @param role LAN: the side that carries the host's address and faces the outside; INSIDE: a bridge or link towards
 *             the namespaces
 * @param ipv6 the interface's own IPv6 addresses with their prefix lengths (each one's network is a connected
 *             route), link-local ones left out (they are never routed)
 */
public record GatewayInterface(int index, String name, Role role, Ipv4Prefix address, List<Ipv6Prefix> ipv6,
                               int mtu) {
    public enum Role { LAN, INSIDE }

    public GatewayInterface {
        if (index < 0 || index >= RuleSet.MAX_INTERFACES) {
            throw new IllegalArgumentException("interface " + name + ": index " + index + " out of range");
        }
        if (mtu < 576 || mtu > 65535) {
            throw new IllegalArgumentException("interface " + name + ": MTU " + mtu + " is not in 576..65535");
        }
        ipv6 = List.copyOf(ipv6);
    }

    /** The same interface at another index, address, IPv6 addresses or MTU. */
    GatewayInterface with(int index, Ipv4Prefix address, List<Ipv6Prefix> ipv6, int mtu) {
        return new GatewayInterface(index, name, role, address, ipv6, mtu);
    }

    /** The interface's own address (the host part of {@link #address}). */
    public int ip() {
        return address.address();
    }

    /** The interface's own IPv6 addresses, without their lengths. */
    public List<Ipv6Address> ipv6Addresses() {
        return ipv6.stream().map(Ipv6Prefix::address).toList();
    }

    /** The address masquerade and hairpin translate to when leaving here: the first IPv6 address, or null. */
    public Ipv6Address ipv6Address() {
        return ipv6.isEmpty() ? null : ipv6.get(0).address();
    }

    @Override
    public String toString() {
        return name + " (" + role.name().toLowerCase() + ", " + Ipv4Address.format(ip()) + "/" + address.length()
            + (ipv6.isEmpty() ? "" : ", " + ipv6.stream().map(Ipv6Prefix::toString)
                .collect(java.util.stream.Collectors.joining(", "))) + ", mtu " + mtu + ")";
    }
}
