// Source NAT for traffic from inside: a source prefix leaving through an interface takes the gateway's address.
package io.nsgate.dataplane.nat;

import io.nsgate.linux.net.Ipv4Address;
import io.nsgate.linux.net.Ipv4Prefix;

/**
 * {@code iptables -t nat -A POSTROUTING -s SOURCE -o EGRESS -j MASQUERADE}, or {@code -j SNAT --to ADDRESS}
 * when {@code toAddress} is not 0.
 */
public record MasqueradeRule(Ipv4Prefix source, String egressInterface, int toAddress) {
    public MasqueradeRule {
        if (egressInterface == null || egressInterface.isEmpty()) {
            throw new IllegalArgumentException("masquerade " + source + ": egress interface missing");
        }
    }

    public static MasqueradeRule masquerade(Ipv4Prefix source, String egressInterface) {
        return new MasqueradeRule(source, egressInterface, 0);
    }

    @Override
    public String toString() {
        return source + " -> " + egressInterface + (toAddress != 0 ? " as " + Ipv4Address.format(toAddress) : "");
    }
}
