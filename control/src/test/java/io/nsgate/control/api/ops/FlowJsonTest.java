package io.nsgate.control.api.ops;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.nio.charset.StandardCharsets;
import java.util.SplittableRandom;

import org.junit.jupiter.api.Test;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.nsgate.linux.net.Ipv6Address;

/** FlowJson's allocation-free IPv6 formatting against the address type's own (RFC 5952) form. */
class FlowJsonTest {
    private static String written(long high, long low) {
        ByteBuf out = Unpooled.buffer();
        FlowJson.writeIp6(out, high, low);
        return out.toString(StandardCharsets.US_ASCII);
    }

    @Test
    void writesTheShortForm() {
        for (String a : new String[] {"::", "::1", "fd15::2", "fd15::", "1:0:0:2::3", "2001:db8::1:0:0:1",
            "fe80::1:2:3:4", "1:2:3:4:5:6:7:8", "1:0:2:3:4:5:6:7", "::fffe:c0a8:103"}) {
            Ipv6Address x = Ipv6Address.parse(a);
            assertEquals(a, written(x.high(), x.low()), a);
        }
    }

    @Test
    void agreesWithTheAddressTypeOnRandomAddressesWithZeroRuns() {
        SplittableRandom r = new SplittableRandom(5952);
        for (int i = 0; i < 20_000; i++) {
            long high = 0;
            long low = 0;
            for (int g = 0; g < 8; g++) {
                long value = r.nextInt(3) == 0 ? r.nextInt(0x10000) : 0; // mostly zero groups: runs of every length
                if (g < 4) {
                    high |= value << (48 - 16 * g);
                } else {
                    low |= value << (48 - 16 * (g - 4));
                }
            }
            if (high == 0 && (low >>> 32) == 0xFFFFL) {
                continue; // IPv4-mapped: written as IPv4 (below)
            }
            assertEquals(new Ipv6Address(high, low).toString(), written(high, low));
        }
    }

    @Test
    void writesAnIpv4MappedAddressAsTheIpv4AddressItStandsFor() {
        assertEquals("192.168.1.3", written(0, 0xFFFF_C0A8_0103L));
    }
}
