// Ipv4Address: dotted quads to big-endian ints and back, and the one wording of a refusal.
package io.nsgate.linux.net;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

class Ipv4AddressTest {
    @Test
    void convertsAddressesToAndFromText() {
        assertEquals(0xC0A80102, Ipv4Address.parse("192.168.1.2"));
        assertEquals(0xFFFFFFFF, Ipv4Address.parse("255.255.255.255"));
        assertEquals(0, Ipv4Address.parse("0.0.0.0"));
        assertEquals("192.168.1.2", Ipv4Address.format(0xC0A80102));
        assertEquals("255.255.255.255", Ipv4Address.format(-1));
        for (final String bad : new String[] {"192.168.15.300", "1.2.3", "1.2.3.4.5", "1.2.3.-4", "a.b.c.d", "1..2.3",
            "1.2.3.+4"}) {
            final IllegalArgumentException e =
                assertThrows(IllegalArgumentException.class, () -> Ipv4Address.parse(bad));
            assertTrue(e.getMessage().startsWith(bad + " is not an IPv4 address"), e.getMessage());
        }
    }
}
