// Source NAT for traffic from inside: a source prefix leaving through an interface takes the gateway's address.
package io.nsgate.dataplane.nat;

import io.nsgate.linux.net.IpFamily;
import io.nsgate.linux.net.IpPrefix;
import io.nsgate.linux.net.Ipv4Address;
import io.nsgate.linux.net.Ipv4Prefix;
import io.nsgate.linux.net.Ipv6Prefix;

/**
 * {@code iptables -t nat -A POSTROUTING -s SOURCE -o EGRESS -j MASQUERADE}, or {@code -j SNAT --to ADDRESS} when
 * {@code toAddress} is not 0 (IPv4 only). An IPv6 source prefix is {@code ip6tables}' MASQUERADE (NAT66): the
 * egress interface's first IPv6 address.
 */
public record MasqueradeRule(IpPrefix source, String egressInterface, int toAddress) {
    public MasqueradeRule {
        if (egressInterface == null || egressInterface.isEmpty()) {
            throw new IllegalArgumentException("masquerade " + source + ": egress interface missing");
        }
        if (toAddress != 0 && source.family() != IpFamily.IPV4) {
            throw new IllegalArgumentException("masquerade " + source + ": an IPv4 SNAT address for an IPv6 source");
        }
    }

    public static MasqueradeRule masquerade(IpPrefix source, String egressInterface) {
        return new MasqueradeRule(source, egressInterface, 0);
    }

    public boolean ipv6() {
        return source.family() == IpFamily.IPV6;
    }

    /** Whether an IPv4 source lies in this rule's (IPv4) prefix. */
    public boolean contains(int srcIp) {
        return source instanceof Ipv4Prefix p && p.contains(srcIp);
    }

    /** Whether an IPv6 source lies in this rule's (IPv6) prefix. */
    public boolean contains(long srcHigh, long srcLow) {
        return source instanceof Ipv6Prefix p && p.contains(srcHigh, srcLow);
    }

    @Override
    public String toString() {
        return source + " -> " + egressInterface + (toAddress != 0 ? " as " + Ipv4Address.format(toAddress) : "");
    }
}
