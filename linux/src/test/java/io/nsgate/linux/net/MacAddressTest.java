// MacAddress: the text form of 48-bit hardware addresses, both ways, and the refusals.
package io.nsgate.linux.net;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

class MacAddressTest {
    @Test
    void convertsMacAddressesToAndFromText() {
        assertEquals(0x0200_0077_0101L, MacAddress.parse("02:00:00:77:01:01"));
        assertEquals(0xFFFF_FFFF_FFFFL, MacAddress.parse("FF:ff:ff:ff:ff:ff"));
        assertEquals("02:00:00:77:01:0a", MacAddress.format(0x0200_0077_010AL));
        assertEquals("ff:ff:ff:ff:ff:ff", MacAddress.format(0xFFFF_FFFF_FFFFL));
        for (final String bad : new String[] {"02:00:00:77:01", "02:00:00:77:01:01:01", "02:00:00:77:01:zz",
            "02:00:00:77:01:", "020:00:00:77:01:01"}) {
            final IllegalArgumentException e = assertThrows(
                IllegalArgumentException.class, () -> MacAddress.parse(bad));
            assertTrue(e.getMessage().startsWith(bad + " is not a MAC address"), e.getMessage());
        }
    }
}
