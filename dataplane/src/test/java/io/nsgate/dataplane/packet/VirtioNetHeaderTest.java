// VirtioNetHeader against known bytes: little-endian u16 fields, flags and GSO types.
package io.nsgate.dataplane.packet;

import org.agrona.concurrent.UnsafeBuffer;
import org.junit.jupiter.api.Test;

import static io.nsgate.dataplane.testsupport.Frames.hex;
import static io.nsgate.dataplane.testsupport.Frames.unhex;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

class VirtioNetHeaderTest {
    /**
     * A TCP GSO super-frame as veth hands it over: NEEDS_CSUM, TCPV4, hdr_len 66, gso_size 1448, csum_start 34,
     * csum_offset 16, every u16 little-endian.
     */
    private static final String GSO_TCP = "01 01 4200 a805 2200 1000";

    private final VirtioNetHeader vnet = new VirtioNetHeader();

    @Test
    void readsLittleEndianFields() {
        vnet.wrap(new UnsafeBuffer(unhex("00" + GSO_TCP)), 1);
        assertEquals(VirtioNetHeader.FLAG_NEEDS_CSUM, vnet.flags());
        assertTrue(vnet.needsChecksum());
        assertFalse(vnet.dataValid());
        assertEquals(VirtioNetHeader.GSO_TCPV4, vnet.gsoType());
        assertTrue(vnet.isGso());
        assertEquals(66, vnet.hdrLen());
        assertEquals(1448, vnet.gsoSize());
        assertEquals(34, vnet.csumStart());
        assertEquals(16, vnet.csumOffset());
        assertEquals(11, vnet.frameOffset());
    }

    @Test
    void writesTheSameBytesItReads() {
        final UnsafeBuffer buf = new UnsafeBuffer(new byte[VirtioNetHeader.LENGTH]);
        vnet.wrap(buf, 0).flags(VirtioNetHeader.FLAG_NEEDS_CSUM).gsoType(VirtioNetHeader.GSO_TCPV4).hdrLen(66)
            .gsoSize(1448).csumStart(34).csumOffset(16);
        assertEquals(hex(unhex(GSO_TCP)), hex(buf.byteArray()));
    }

    @Test
    void treatsTheEcnBitAloneAsNoGso() {
        final UnsafeBuffer buf = new UnsafeBuffer(new byte[VirtioNetHeader.LENGTH]);
        vnet.wrap(buf, 0).gsoType(VirtioNetHeader.GSO_ECN);
        assertFalse(vnet.isGso());
        vnet.gsoType(VirtioNetHeader.GSO_TCPV4 | VirtioNetHeader.GSO_ECN).flags(VirtioNetHeader.FLAG_DATA_VALID);
        assertTrue(vnet.isGso());
        assertTrue(vnet.dataValid());
        assertFalse(vnet.needsChecksum());
    }
}
