// The seed lab's rules for the guard tests: lan0 (LAN) and v-net-0 (inside), masquerade, forward tcp:80 to blue.
package io.nsgate.dataplane.io.ebpf;

import java.util.List;

import io.nsgate.dataplane.nat.ForwardRule;
import io.nsgate.dataplane.nat.GatewayInterface;
import io.nsgate.dataplane.nat.MasqueradeRule;
import io.nsgate.dataplane.nat.PortRange;
import io.nsgate.dataplane.nat.RuleSet;
import io.nsgate.linux.net.Ipv4Address;
import io.nsgate.linux.net.Ipv4Prefix;

/**
 * As {@code nat.SeedLabRules}: #0 lan0 (LAN, 192.168.1.2/24), #1 v-net-0 (inside, 192.168.15.5/24); masquerade
 * 192.168.15.0/24 out of lan0; forward tcp:80 to blue (192.168.15.2:80); NAT ports 61000-65535.
 */
final class GuardLab {
    static final int LAN_IF = 0;
    static final int INSIDE_IF = 1;
    static final String GW_LAN = "192.168.1.2";
    static final String GW_INSIDE = "192.168.15.5";
    static final String LAN_HOST = "192.168.1.3";
    static final String RED = "192.168.15.1";
    static final String BLUE = "192.168.15.2";

    /** The seed lab's forward: tcp:80=192.168.15.2:80, on every LAN address. */
    static final ForwardRule HTTP_TO_BLUE = forward(6, 0, PortRange.single(80), BLUE, PortRange.single(80));

    private GuardLab() {
    }

    static ForwardRule forward(int proto, int externalAddress, PortRange external, String backend, PortRange ports) {
        return new ForwardRule(proto, externalAddress, external,
            List.of(new ForwardRule.Backend(Ipv4Address.parse(backend), ports)));
    }

    /** The interfaces and masquerade, without forwards. */
    static RuleSet.Builder base() {
        return RuleSet.builder()
            .iface("lan0", GatewayInterface.Role.LAN, Ipv4Prefix.parse("192.168.1.2/24"), 1500)
            .iface("v-net-0", GatewayInterface.Role.INSIDE, Ipv4Prefix.parse("192.168.15.5/24"), 1500)
            .masquerade(MasqueradeRule.masquerade(Ipv4Prefix.parse("192.168.15.0/24"), "lan0"));
    }

    static RuleSet rules() {
        return base().forward(HTTP_TO_BLUE).build();
    }
}
