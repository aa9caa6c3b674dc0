// What the data plane owns: the rule's cases one by one, and what a RuleSet puts into it (lingering forwards too).
package io.nsgate.dataplane.nat;

import static io.nsgate.dataplane.nat.SeedLabRules.BLUE;
import static io.nsgate.dataplane.nat.SeedLabRules.GW_INSIDE;
import static io.nsgate.dataplane.nat.SeedLabRules.GW_LAN;
import static io.nsgate.dataplane.nat.SeedLabRules.LAN;
import static io.nsgate.dataplane.nat.SeedLabRules.HTTP_TO_BLUE;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;

import org.junit.jupiter.api.Test;

import io.nsgate.dataplane.packet.IpProtocol;
import io.nsgate.linux.net.Ipv4Address;
import io.nsgate.linux.net.Ipv4Prefix;

class OwnershipTest {
    private static int ip(String text) {
        return Ipv4Address.parse(text);
    }

    @Test
    void takesAddressesBroadcastsNatRangeAndForwardsFromTheRules() {
        Ownership o = SeedLabRules.rules().ownership();
        assertEquals(List.of(new Ownership.Address(GW_LAN, true), new Ownership.Address(GW_INSIDE, false)),
            o.addresses());
        assertEquals(List.of(ip("192.168.1.255"), ip("192.168.15.255")), o.broadcasts());
        assertEquals(new PortRange(61000, 65535), o.natPorts());
        assertEquals(List.of(new ForwardedPorts(6, 0, PortRange.single(80)),
            new ForwardedPorts(6, (io.nsgate.linux.net.Ipv6Address) null, PortRange.single(80))), o.forwards());
        assertEquals(List.of(SeedLabRules.GW_LAN6, SeedLabRules.GW_INSIDE6), o.ipv6Addresses(), "link-local ones left out");
        assertTrue(o.ipv6Lan(0) && !o.ipv6Lan(1));
    }

    @Test
    void ownsIpv6TransitAndOnlyTheNatAndForwardedPortsOfItsOwnAddresses() {
        Ownership o = SeedLabRules.rules().ownership();
        long lanHigh = SeedLabRules.GW_LAN6.high();
        long lanLow = SeedLabRules.GW_LAN6.low();
        assertTrue(o.ownsIpv6(6, SeedLabRules.BLUE6.high(), SeedLabRules.BLUE6.low(), 22, false), "transit");
        assertTrue(o.ownsIpv6(58, SeedLabRules.BLUE6.high(), SeedLabRules.BLUE6.low(), 0, true), "transit, a later fragment too");
        assertTrue(o.ownsIpv6(6, lanHigh, lanLow, 80, false), "the IPv6 forward on a LAN address");
        assertFalse(o.ownsIpv6(6, SeedLabRules.GW_INSIDE6.high(), SeedLabRules.GW_INSIDE6.low(), 80, false), "not on an inside address");
        assertTrue(o.ownsIpv6(17, lanHigh, lanLow, 62000, false), "a NAT port");
        assertFalse(o.ownsIpv6(6, lanHigh, lanLow, 22, false), "the host's ssh");
        assertFalse(o.ownsIpv6(58, lanHigh, lanLow, 0, false), "pings to the host");
        assertFalse(o.ownsIpv6(6, lanHigh, lanLow, 80, true), "a later fragment to the host");
        assertFalse(o.ownsIpv6(6, 0xFF02_0000_0000_0000L, 1, 80, false), "multicast");
    }

    @Test
    void addsLingeringForwardsAfterTheCurrentOnesWithoutDuplicates() {
        ForwardRule dns = SeedLabRules.forward(17, GW_LAN, PortRange.single(53), BLUE, PortRange.single(53));
        ForwardRule alsoHttp = SeedLabRules.forward(6, 0, PortRange.single(80), SeedLabRules.RED,
            PortRange.single(80));
        RuleSet.Builder b = SeedLabRules.builder().forward(dns);
        assertTrue(b.removeForward(dns));
        assertTrue(b.removeForward(HTTP_TO_BLUE));
        b.forward(alsoHttp); // the same external ports as the lingering HTTP_TO_BLUE: one entry
        RuleSet rules = b.build();
        assertEquals(List.of(dns, HTTP_TO_BLUE), rules.lingeringForwards());
        assertEquals(List.of(new ForwardedPorts(6, (io.nsgate.linux.net.Ipv6Address) null, PortRange.single(80)),
            new ForwardedPorts(6, 0, PortRange.single(80)), new ForwardedPorts(17, GW_LAN, PortRange.single(53))),
            rules.ownership().forwards());
        assertTrue(rules.toBuilder().forward(dns).build().lingeringForwards().equals(List.of(HTTP_TO_BLUE)),
            "a forward added again no longer lingers");
    }

    @Test
    void pointToPointSubnetsHaveNoDirectedBroadcast() {
        RuleSet rules = SeedLabRules.base()
            .iface("p2p", GatewayInterface.Role.INSIDE, Ipv4Prefix.parse("10.99.0.0/31"), 1500)
            .iface("host", GatewayInterface.Role.INSIDE, Ipv4Prefix.parse("10.98.0.1/32"), 1500)
            .iface("small", GatewayInterface.Role.INSIDE, Ipv4Prefix.parse("10.97.0.1/30"), 1500)
            .build();
        assertEquals(List.of(ip("192.168.1.255"), ip("192.168.15.255"), ip("10.97.0.3")),
            rules.ownership().broadcasts());
    }

    @Test
    void refusesMoreForwardEntriesThanTheGuardScans() {
        RuleSet.Builder rules = SeedLabRules.base();
        for (int i = 0; i < Ownership.MAX_FORWARDS; i++) {
            rules.forward(SeedLabRules.forward(17, 0, PortRange.single(1000 + i), BLUE, PortRange.single(1)));
        }
        RuleSet full = rules.build();
        assertEquals(Ownership.MAX_FORWARDS, full.ownership().forwards().size());
        RuleSet.Builder oneMore = full.toBuilder();
        assertTrue(oneMore.removeForward(full.forwards().get(0)));
        oneMore.forward(HTTP_TO_BLUE);
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, oneMore::build);
        assertTrue(e.getMessage().contains("65 forward entries (current and lingering forwards together), at most 64"),
            e.getMessage());
    }

    @Test
    void broadcastMulticastAndTheHostsOwnTrafficAreNotOwned() {
        Ownership o = SeedLabRules.rules().ownership();
        int tcp = IpProtocol.TCP;
        int udp = IpProtocol.UDP;
        assertFalse(o.owns(udp, -1, 67, false), "limited broadcast");
        assertFalse(o.owns(udp, ip("224.0.0.251"), 5353, false), "multicast");
        assertFalse(o.owns(udp, ip("192.168.15.255"), 62000, false), "directed broadcast, even to a NAT port");
        assertFalse(o.owns(tcp, GW_LAN, 22, false), "the host's sshd");
        assertFalse(o.owns(IpProtocol.ICMP, GW_LAN, 0, false), "ping to the gateway");
        assertFalse(o.owns(47, GW_LAN, 0, false), "GRE to the gateway");
        assertFalse(o.owns(tcp, GW_LAN, 80, true), "a non-first fragment to the gateway: no ports to judge by");
        assertFalse(o.owns(tcp, GW_INSIDE, 80, false), "a forward without an address serves LAN addresses only");
        assertFalse(o.owns(udp, GW_LAN, 80, false), "udp:80 is not forwarded");
        assertFalse(o.owns(tcp, GW_LAN, 60999, false), "just below the NAT range");
    }

    @Test
    void transitForwardedPortsAndNatPortsAreOwned() {
        Ownership o = SeedLabRules.rules().ownership();
        assertTrue(o.owns(IpProtocol.TCP, GW_LAN, 80, false), "the forward");
        assertTrue(o.owns(IpProtocol.UDP, GW_LAN, 61000, false), "first NAT port");
        assertTrue(o.owns(IpProtocol.TCP, GW_INSIDE, 65535, false), "last NAT port, hairpin replies on inside");
        assertTrue(o.owns(IpProtocol.TCP, ip("8.8.8.8"), 443, false), "transit");
        assertTrue(o.owns(47, ip("10.0.0.1"), 0, false), "transit of any protocol");
        assertTrue(o.owns(IpProtocol.UDP, ip("8.8.8.8"), 0, true), "transit fragments");
        assertTrue(o.isGatewayAddress(GW_INSIDE));
        assertFalse(o.isGatewayAddress(BLUE));
        assertTrue(o.isLanAddress(GW_LAN));
        assertFalse(o.isLanAddress(GW_INSIDE), "the inside address is the gateway's, not on the LAN");
        assertFalse(o.isLanAddress(LAN), "the LAN's other hosts are not the gateway");
    }
}
