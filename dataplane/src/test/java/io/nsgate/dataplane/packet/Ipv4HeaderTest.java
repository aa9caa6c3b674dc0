// Ipv4Header against known bytes: every field, flags and fragment offset, options, checksum helpers.
package io.nsgate.dataplane.packet;

import org.agrona.concurrent.UnsafeBuffer;
import org.junit.jupiter.api.Test;

import static io.nsgate.dataplane.testsupport.Frames.hex;
import static io.nsgate.dataplane.testsupport.Frames.unhex;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import io.nsgate.linux.net.Ipv4Address;

class Ipv4HeaderTest {
    /** The Wikipedia checksum example: UDP 192.168.0.1 -> 192.168.0.199, DF, TTL 64, total length 115. */
    private static final String HEADER = "4500 0073 0000 4000 4011 b861 c0a8 0001 c0a8 00c7";
    /** IHL 6 with a router-alert option, TOS 0x10, id 0xabcd, MF + offset 185*8, TTL 1, TCP. */
    private static final String WITH_OPTIONS = "4610 0030 abcd 20b9 0106 0000 0a000001 0a000002 94040000";

    private final Ipv4Header ipv4 = new Ipv4Header();

    @Test
    void readsEveryField() {
        ipv4.wrap(new UnsafeBuffer(unhex("0000" + HEADER)), 2);
        assertEquals(4, ipv4.version());
        assertEquals(5, ipv4.ihl());
        assertEquals(20, ipv4.headerLength());
        assertEquals(0, ipv4.optionsLength());
        assertEquals(22, ipv4.payloadOffset());
        assertEquals(0, ipv4.tos());
        assertEquals(115, ipv4.totalLength());
        assertEquals(0, ipv4.identification());
        assertTrue(ipv4.dontFragment());
        assertFalse(ipv4.moreFragments());
        assertEquals(0, ipv4.fragmentOffsetBytes());
        assertFalse(ipv4.isFragment());
        assertEquals(64, ipv4.ttl());
        assertEquals(17, ipv4.protocol());
        assertEquals(0x4011, ipv4.ttlProtocolWord());
        assertEquals(0xB861, ipv4.checksum());
        assertEquals(Ipv4Address.parse("192.168.0.1"), ipv4.sourceAddress());
        assertEquals(Ipv4Address.parse("192.168.0.199"), ipv4.destinationAddress());
        assertTrue(ipv4.isChecksumValid());
    }

    @Test
    void readsOptionsAndFragmentFields() {
        ipv4.wrap(new UnsafeBuffer(unhex(WITH_OPTIONS)), 0);
        assertEquals(6, ipv4.ihl());
        assertEquals(24, ipv4.headerLength());
        assertEquals(4, ipv4.optionsLength());
        assertEquals(0x10, ipv4.tos());
        assertEquals(0xABCD, ipv4.identification());
        assertFalse(ipv4.dontFragment());
        assertTrue(ipv4.moreFragments());
        assertEquals(185 * 8, ipv4.fragmentOffsetBytes());
        assertTrue(ipv4.isFragment());
        assertEquals(1, ipv4.ttl());
        assertEquals(6, ipv4.protocol());
    }

    @Test
    void writesTheSameBytesItReads() {
        final UnsafeBuffer buf = new UnsafeBuffer(new byte[24]);
        ipv4.wrap(buf, 0).versionAndIhl(4, 6).tos(0x10).totalLength(0x30).identification(0xABCD)
            .moreFragments(true).fragmentOffsetBytes(185 * 8).ttl(1).protocol(6)
            .sourceAddress(Ipv4Address.parse("10.0.0.1")).destinationAddress(Ipv4Address.parse("10.0.0.2"));
        buf.putInt(20, 0x94040000, java.nio.ByteOrder.BIG_ENDIAN);
        assertEquals(hex(unhex(WITH_OPTIONS)), hex(buf.byteArray()));
        ipv4.dontFragment(true).moreFragments(false);
        assertEquals(0x4000 | 185, ipv4.flagsAndFragmentOffset());
        ipv4.fragmentOffsetBytes(0).dontFragment(false);
        assertEquals(0, ipv4.flagsAndFragmentOffset());
    }

    @Test
    void updatesItsChecksum() {
        final UnsafeBuffer buf = new UnsafeBuffer(unhex(HEADER));
        ipv4.wrap(buf, 0).checksum(0);
        assertFalse(ipv4.isChecksumValid());
        ipv4.updateChecksum();
        assertEquals(0xB861, ipv4.checksum());
        assertTrue(ipv4.isChecksumValid());
        final UnsafeBuffer withOptions = new UnsafeBuffer(unhex(WITH_OPTIONS));
        assertTrue(ipv4.wrap(withOptions, 0).updateChecksum().isChecksumValid());
    }
}
