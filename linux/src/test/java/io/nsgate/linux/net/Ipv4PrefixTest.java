// Ipv4Prefix: parsing (with and without a length), the subnet arithmetic, and refusals that name the problem.
package io.nsgate.linux.net;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

class Ipv4PrefixTest {
    @Test
    void keepsTheHostBitsAndDerivesTheSubnet() {
        Ipv4Prefix p = Ipv4Prefix.parse("192.168.15.5/24");
        assertEquals(Ipv4Address.parse("192.168.15.5"), p.address());
        assertEquals(24, p.length());
        assertEquals(0xFFFF_FF00, p.mask());
        assertEquals(Ipv4Address.parse("192.168.15.0"), p.network());
        assertEquals(Ipv4Address.parse("192.168.15.255"), p.broadcast());
        assertEquals("192.168.15.0/24", p.networkPrefix().toString());
        assertEquals("192.168.15.5/24", p.toString());
        assertFalse(p.isNetwork());
        assertTrue(p.networkPrefix().isNetwork());
        assertTrue(p.sameNetwork(Ipv4Prefix.parse("192.168.15.0/24")));
        assertFalse(p.sameNetwork(Ipv4Prefix.parse("192.168.15.0/25")));
        assertTrue(p.contains(Ipv4Address.parse("192.168.15.200")));
        assertFalse(p.contains(Ipv4Address.parse("192.168.16.1")));
        assertEquals(IpFamily.IPV4, p.family());
    }

    @Test
    void aBareAddressIsASingleHostAndSlashZeroIsEverything() {
        assertEquals(32, Ipv4Prefix.parse("10.0.0.1").length());
        assertTrue(Ipv4Prefix.ANY.contains(Ipv4Address.parse("1.2.3.4")));
        assertTrue(Ipv4Prefix.parse("0.0.0.0/0").contains(-1));
        assertTrue(Ipv4Prefix.parse("10.99.0.0/30").hasBroadcast());
        assertFalse(Ipv4Prefix.parse("10.99.0.0/31").hasBroadcast());
    }

    @Test
    void refusalsNameTheProblemNotTheWholeText() {
        assertEquals("prefix length 33 is not in 0..32",
            assertThrows(IllegalArgumentException.class, () -> Ipv4Prefix.parse("192.168.15.0/33")).getMessage());
        assertEquals("prefix length \"x\" is not a number",
            assertThrows(IllegalArgumentException.class, () -> Ipv4Prefix.parse("192.168.15.0/x")).getMessage());
        assertEquals("prefix length \"\" is not a number",
            assertThrows(IllegalArgumentException.class, () -> Ipv4Prefix.parse("192.168.15.0/")).getMessage());
        assertEquals("192.168.15.300 is not an IPv4 address (300 is not an octet 0-255)",
            assertThrows(IllegalArgumentException.class, () -> Ipv4Prefix.parse("192.168.15.300/24")).getMessage());
        assertThrows(IllegalArgumentException.class, () -> new Ipv4Prefix(0, -1));
        assertThrows(IllegalArgumentException.class, () -> Ipv4Prefix.parse(null));
    }
}
