package io.nsgate.linux.net;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.net.InetAddress;
import java.util.Random;

import org.junit.jupiter.api.Test;

class Ipv6AddressTest {
    @Test
    void parsesEveryTextForm() throws Exception {
        assertEquals(new Ipv6Address(0xfd15_0000_0000_0000L, 2), Ipv6Address.parse("fd15::2"));
        assertEquals(new Ipv6Address(0, 0), Ipv6Address.parse("::"));
        assertEquals(new Ipv6Address(0, 1), Ipv6Address.parse("::1"));
        assertEquals(new Ipv6Address(0x2001_0db8_0000_0000L, 0x0000_0000_0000_0001L),
            Ipv6Address.parse("2001:DB8:0:0:0:0:0:1"));
        assertEquals(new Ipv6Address(0, 0x0000_ffff_c0a8_0102L), Ipv6Address.parse("::ffff:192.168.1.2"));
        assertEquals(new Ipv6Address(0x0001_0002_0003_0004L, 0x0005_0006_0102_0304L),
            Ipv6Address.parse("1:2:3:4:5:6:1.2.3.4"));
        assertEquals(new Ipv6Address(0xfe80_0000_0000_0000L, 0), Ipv6Address.parse("fe80::"));
    }

    @Test
    void refusesWhatIsNotAnAddressNamingIt() {
        for (String bad : new String[] {"", ":", ":::", "1::2::3", "1:2:3:4:5:6:7", "1:2:3:4:5:6:7:8:9",
            "12345::", "g::", "1:2:3:4:5:6:7::8:9", "::1.2.3", "::256.1.1.1", "1:2:3:4:5:6:7:1.2.3.4", "fe80::1%eth0",
            "[::1]", "192.168.1.2"}) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> Ipv6Address.parse(bad),
                bad);
            assertTrue(e.getMessage().startsWith(bad + " is not an IPv6 address"), e.getMessage());
        }
    }

    @Test
    void formatsCanonicallyAndRoundTripsAgainstTheJdk() throws Exception {
        assertEquals("2001:db8::1", Ipv6Address.parse("2001:0db8:0000:0000:0000:0000:0000:0001").toString());
        assertEquals("2001:db8:0:1:1:1:1:1", Ipv6Address.parse("2001:db8:0:1:1:1:1:1").toString()); // one 0: no ::
        assertEquals("2001:0:0:1::1", Ipv6Address.parse("2001:0:0:1:0:0:0:1").toString()); // the longest run
        assertEquals("2001:db8::1:0:0:1", Ipv6Address.parse("2001:db8:0:0:1:0:0:1").toString()); // the first of equals
        assertEquals("::", Ipv6Address.UNSPECIFIED.toString());
        Random random = new Random(7);
        for (int i = 0; i < 2000; i++) {
            byte[] b = new byte[16];
            random.nextBytes(b);
            for (int j = 0; j < 16; j++) {
                if (random.nextInt(3) == 0) {
                    b[j] = 0; // runs of zero groups
                }
            }
            Ipv6Address a = Ipv6Address.fromBytes(b, 0);
            assertEquals(a, Ipv6Address.parse(a.toString()));
            assertEquals(a, Ipv6Address.parse(InetAddress.getByAddress(b).getHostAddress()));
            assertTrue(java.util.Arrays.equals(b, a.toBytes()));
        }
    }

    @Test
    void classifies() {
        assertTrue(Ipv6Address.parse("ff02::1").isMulticast());
        assertFalse(Ipv6Address.parse("fe80::1").isMulticast());
        assertTrue(Ipv6Address.parse("fe80::1").isLinkLocal());
        assertTrue(Ipv6Address.parse("febf::1").isLinkLocal());
        assertFalse(Ipv6Address.parse("fec0::1").isLinkLocal());
        assertFalse(Ipv6Address.parse("fd15::1").isLinkLocal());
        assertTrue(Ipv6Address.parse("::").isUnspecified());
        assertTrue(Ipv6Address.parse("::1").isLoopback());
    }

    @Test
    void prefixes() {
        Ipv6Prefix p = Ipv6Prefix.parse("fd15::1/64");
        assertEquals(Ipv6Address.parse("fd15::"), p.network());
        assertFalse(p.isNetwork());
        assertTrue(p.contains(Ipv6Address.parse("fd15::ffff:1")));
        assertFalse(p.contains(Ipv6Address.parse("fd15:0:0:1::1")));
        assertTrue(Ipv6Prefix.parse("::/0").contains(Ipv6Address.parse("2001:db8::1")));
        assertTrue(Ipv6Prefix.parse("fd15::1/127").contains(Ipv6Address.parse("fd15::")));
        assertFalse(Ipv6Prefix.parse("fd15::1/128").contains(Ipv6Address.parse("fd15::")));
        assertEquals(128, Ipv6Prefix.parse("fd15::1").length());
        assertEquals("prefix length 129 is not in 0..128",
            assertThrows(IllegalArgumentException.class, () -> Ipv6Prefix.parse("fd15::/129")).getMessage());
    }
}
