// Rule sets are validated whole: conflicts and dangling names are refused with the offending value named.
package io.nsgate.dataplane.nat;

import static org.junit.jupiter.api.Assertions.*;

import java.util.List;

import org.junit.jupiter.api.Test;

import io.nsgate.linux.net.Ipv4Address;
import io.nsgate.linux.net.Ipv4Prefix;

class RuleSetTest {
    private static RuleSet.Builder lab() {
        return SeedLabRules.builder();
    }

    private static String refusal(RuleSet.Builder b) {
        return assertThrows(IllegalArgumentException.class, b::build).getMessage();
    }

    @Test
    void routesByLongestPrefixAndDerivesConnectedRoutes() {
        RuleSet rs = lab().route(Ipv4Prefix.ANY, "lan0", Ipv4Address.parse("192.168.1.1"))
            .route(Ipv4Prefix.parse("10.0.0.0/8"), "v-net-0", Ipv4Address.parse("192.168.15.254")).build();
        long toLan = rs.route(Ipv4Address.parse("192.168.1.3"));
        assertEquals(0, RuleSet.routeInterface(toLan));
        assertEquals(Ipv4Address.parse("192.168.1.3"), RuleSet.routeNextHop(toLan), "connected: the host itself");
        long toNet = rs.route(Ipv4Address.parse("8.8.8.8"));
        assertEquals(Ipv4Address.parse("192.168.1.1"), RuleSet.routeNextHop(toNet), "default route via the LAN router");
        assertEquals(1, RuleSet.routeInterface(rs.route(Ipv4Address.parse("10.1.2.3"))));
        assertEquals(-1, lab().build().route(Ipv4Address.parse("8.8.8.8")), "no default route, no route");
    }

    @Test
    void refusesDanglingInterfaceNames() {
        assertTrue(refusal(lab().masquerade(MasqueradeRule.masquerade(Ipv4Prefix.parse("10.0.0.0/8"), "eth9")))
            .contains("no interface \"eth9\""));
        assertTrue(refusal(lab().route(Ipv4Prefix.ANY, "wan", 1)).contains("no interface \"wan\""));
    }

    @Test
    void refusesAGatewayOffTheInterfacesSubnet() {
        assertTrue(refusal(lab().route(Ipv4Prefix.ANY, "lan0", Ipv4Address.parse("10.0.0.1")))
            .contains("10.0.0.1 is not on lan0's subnet"));
    }

    @Test
    void refusesOverlappingForwardsAndForwardsInsideTheNatRange() {
        ForwardRule again = new ForwardRule(6, 0, new PortRange(79, 81),
            List.of(new ForwardRule.Backend(SeedLabRules.RED, PortRange.single(80))));
        assertTrue(refusal(lab().forward(again)).contains("overlaps forward tcp:80=192.168.15.2:80"));
        ForwardRule inRange = new ForwardRule(17, 0, PortRange.single(62000),
            List.of(new ForwardRule.Backend(SeedLabRules.RED, PortRange.single(53))));
        assertTrue(refusal(lab().forward(inRange)).contains("overlap the NAT port range 61000-65535"));
        ForwardRule udp80 = new ForwardRule(17, 0, PortRange.single(80),
            List.of(new ForwardRule.Backend(SeedLabRules.RED, PortRange.single(80))));
        assertDoesNotThrow(() -> lab().forward(udp80).build(), "tcp:80 and udp:80 are different ports");
    }

    @Test
    void refusesAForwardToAnAddressTheGatewayDoesNotHave() {
        ForwardRule elsewhere = new ForwardRule(6, Ipv4Address.parse("192.168.1.50"), PortRange.single(8080),
            List.of(new ForwardRule.Backend(SeedLabRules.RED, PortRange.single(80))));
        assertTrue(refusal(lab().forward(elsewhere)).contains("192.168.1.50 is not an address of the gateway"));
    }

    @Test
    void refusesBackendRangesOfTheWrongSize() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> new ForwardRule(6, 0,
            new PortRange(8000, 8010), List.of(new ForwardRule.Backend(1, new PortRange(9000, 9004)))));
        assertTrue(e.getMessage().contains("as large as the external range (11 ports)"), e.getMessage());
    }

    @Test
    void refusesDuplicateInterfaces() {
        assertTrue(refusal(lab().iface("lan0", GatewayInterface.Role.LAN, Ipv4Prefix.parse("10.0.0.1/24"), 1500))
            .contains("\"lan0\" listed twice"));
        assertTrue(refusal(lab().iface("lan1", GatewayInterface.Role.LAN, Ipv4Prefix.parse("192.168.1.2/24"), 1500))
            .contains("already on \"lan0\""));
    }

    @Test
    void parsesPrefixesAndRangesWithClearErrors() {
        assertEquals("192.168.15.0/24", Ipv4Prefix.parse("192.168.15.0/24").toString());
        assertTrue(Ipv4Prefix.parse("192.168.15.0/24").contains(Ipv4Address.parse("192.168.15.200")));
        assertFalse(Ipv4Prefix.parse("192.168.15.0/24").contains(Ipv4Address.parse("192.168.16.1")));
        assertTrue(Ipv4Prefix.ANY.contains(Ipv4Address.parse("1.2.3.4")));
        assertThrows(IllegalArgumentException.class, () -> Ipv4Prefix.parse("192.168.15.0/33"));
        assertThrows(IllegalArgumentException.class, () -> Ipv4Prefix.parse("192.168.15.300/24"));
        assertEquals(new PortRange(8000, 8010), PortRange.parse("8000-8010"));
        assertEquals(PortRange.single(80), PortRange.parse("80"));
        assertThrows(IllegalArgumentException.class, () -> PortRange.parse("90-80"));
        assertThrows(IllegalArgumentException.class, () -> PortRange.parse("http"));
        assertThrows(IllegalArgumentException.class, () -> PortRange.parse("0"));
    }

    @Test
    void aDerivedRuleSetKeepsEverythingElse() {
        RuleSet rs = lab().route(Ipv4Prefix.ANY, "lan0", Ipv4Address.parse("192.168.1.1"))
            .route6(io.nsgate.linux.net.Ipv6Prefix.parse("::/0"), "lan0", io.nsgate.linux.net.Ipv6Address.parse("fe80::1"))
            .build();
        RuleSet.Builder b = rs.toBuilder();
        assertTrue(b.removeForward(rs.forwards().get(0)));
        assertTrue(b.removeForward(rs.forwards().get(1)));
        RuleSet derived = b.build();
        assertTrue(derived.forwards().isEmpty());
        assertEquals(rs.masquerade(), derived.masquerade());
        assertEquals(rs.staticRoutes(), derived.staticRoutes());
        assertEquals(rs.toString().replaceAll("(?m)^(forward|lingering).*\n", ""),
            derived.toString().replaceAll("(?m)^(forward|lingering).*\n", ""), "IPv6 routes kept too");
        assertEquals(rs.interfaces(), derived.interfaces());
    }

    @Test
    void anAllowListReadsBackAsWrittenAndNamesWhatIsWrong() {
        ForwardRule f = ForwardRule.parse("tcp:22=192.168.15.2:22,from=10.0.0.0/8+192.168.1.0/24");
        assertEquals("tcp:22=192.168.15.2:22,from=10.0.0.0/8+192.168.1.0/24", f.toString());
        assertEquals(f, ForwardRule.parse(f.toString()));
        assertTrue(f.admits(io.nsgate.linux.net.Ipv4Address.parse("10.1.2.3")));
        assertFalse(f.admits(io.nsgate.linux.net.Ipv4Address.parse("172.16.0.1")));
        assertTrue(ForwardRule.parse("tcp:22=192.168.15.2:22").admits(0x01020304), "no list: everyone");
        ForwardRule six = ForwardRule.parse("tcp:80=[fd15::2]:80,from=fd01::/64+[2001:db8::/32]");
        assertEquals("tcp:80=[fd15::2]:80,from=fd01::/64+2001:db8::/32", six.toString());
        assertTrue(six.admits6(0xfd01_0000_0000_0000L, 3));
        assertFalse(six.admits6(0xfd02_0000_0000_0000L, 3));
        assertTrue(refusalOf("tcp:22=192.168.15.2:22,from=10.0.0.1/8").contains("host bits set (the network is "
            + "10.0.0.0/8)"));
        assertTrue(refusalOf("tcp:22=192.168.15.2:22,from=fd01::/64").contains("is not of its clients' family"));
        assertTrue(refusalOf("tcp:22=192.168.15.2:22,from=10.0.0.0/8,192.168.15.3:22")
            .contains("from=... comes last"));
        assertTrue(refusalOf("tcp:22=192.168.15.2:22,from=10.0.0.0/8,from=10.1.0.0/16").contains("given twice"));
        assertTrue(refusalOf("tcp:22=192.168.15.2:22,from=").startsWith("forward \"tcp:22=192.168.15.2:22,from=\""));
    }

    @Test
    void ipv6ForwardsNameWhatIsWrong() {
        assertTrue(refusalOf("tcp:80=fd15::2:80").contains("write an IPv6 address in brackets"));
        assertTrue(refusalOf("tcp:80=[fd15::2]:80,192.168.15.2:80").contains("backends of both families"));
        assertTrue(refusalOf("tcp:192.168.1.2:80=[fd15::2]:80").contains("an IPv4 address for IPv6 backends"));
        assertEquals("tcp:80=[fd15::2]:80", ForwardRule.parse("tcp:[::]:80=[fd15::2]:80").toString(),
            "[::] is every LAN IPv6 address, as Docker writes it");
        assertTrue(ForwardRule.parse("tcp:[fd01::2]:80=192.168.15.2:80").translates());
        assertEquals("tcp:[::]:80=192.168.15.2:80", ForwardRule.parse("tcp:[::]:80=192.168.15.2:80").toString(),
            "an IPv6 forward to IPv4 backends keeps its [::]");
        assertTrue(refusalOf("tcp:80=[fe80::2]:80").contains("not a routable unicast IPv6 address"));
        assertTrue(refusalOf("tcp:80=[fd15::2:80").contains("is not [IPV6]:PORT"));
        assertTrue(refusal(lab().forward(ForwardRule.parse("tcp:[fd01::9]:81=[fd15::2]:80")))
            .contains("fd01::9 is not an IPv6 address of the gateway"));
        assertTrue(refusal(lab().forward(ForwardRule.parse("tcp:[fd01::2]:80=[fd15::3]:80")))
            .contains("overlaps forward"), "the IPv6 forward on every LAN address serves fd01::2:80 already");
        lab().forward(ForwardRule.parse("tcp:[fd15::5]:81=[fd15::3]:80")).build(); // another port: fine
    }

    private static String refusalOf(String forward) {
        return assertThrows(IllegalArgumentException.class, () -> ForwardRule.parse(forward)).getMessage();
    }

    @Test
    void forwardRulesParseFromTextAndBack() {
        for (String text : List.of("tcp:80=192.168.15.2:80", "tcp:192.168.1.2:8000-8010=192.168.15.2:9000-9010",
            "udp:53=192.168.15.2:53,192.168.15.3:53", "tcp:80=[fd15::2]:80", "tcp:[fd01::2]:8080=[fd15::2]:80",
            "udp:5000-5010=[fd15::2]:6000-6010,[fd15::3]:6000-6010")) {
            assertEquals(text, ForwardRule.parse(text).toString());
        }
        assertEquals(6, ForwardRule.parse("TCP:80=10.0.0.1:8080").proto());
    }

    @Test
    void badForwardTextNamesTheTextAndTheProblem() {
        assertEquals("forward \"tcp:80=192.168.15.300:80\": 192.168.15.300 is not an IPv4 address (300 is not an octet "
            + "0-255)", assertThrows(IllegalArgumentException.class,
                () -> ForwardRule.parse("tcp:80=192.168.15.300:80")).getMessage());
        assertTrue(assertThrows(IllegalArgumentException.class, () -> ForwardRule.parse("sctp:80=1.2.3.4:80"))
            .getMessage().contains("protocol \"sctp\" is not tcp or udp"));
        assertTrue(assertThrows(IllegalArgumentException.class, () -> ForwardRule.parse("tcp:80"))
            .getMessage().contains("missing \"=BACKEND\""));
        assertTrue(assertThrows(IllegalArgumentException.class, () -> ForwardRule.parse("tcp:80=1.2.3.4"))
            .getMessage().contains("backend \"1.2.3.4\" is not IP:PORT"));
        assertTrue(assertThrows(IllegalArgumentException.class, () -> ForwardRule.parse("tcp:80-70=1.2.3.4:80"))
            .getMessage().contains("reversed"));
    }
}
