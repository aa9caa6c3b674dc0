// IcmpHeader against known bytes: echo, fragmentation needed, parameter problem, checksum helper.
package io.nsgate.dataplane.packet;

import io.nsgate.dataplane.testsupport.Frames;
import org.agrona.concurrent.UnsafeBuffer;
import org.junit.jupiter.api.Test;

import static io.nsgate.dataplane.testsupport.Frames.hex;
import static io.nsgate.dataplane.testsupport.Frames.unhex;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

class IcmpHeaderTest {
    private static final String ECHO_REQUEST = "0800 f7fd 0001 0001";
    private static final String FRAGMENTATION_NEEDED = "0304 0000 0000 0500";

    private final IcmpHeader icmp = new IcmpHeader();

    @Test
    void readsAnEchoRequest() {
        icmp.wrap(new UnsafeBuffer(unhex(ECHO_REQUEST)), 0, 8);
        assertEquals(IcmpHeader.TYPE_ECHO_REQUEST, icmp.type());
        assertEquals(0, icmp.code());
        assertEquals(0xF7FD, icmp.checksum());
        assertEquals(1, icmp.identifier());
        assertEquals(1, icmp.sequenceNumber());
        assertEquals(0x00010001, icmp.restOfHeader());
        assertFalse(icmp.isError());
        assertEquals(0, icmp.quotedDatagramLength());
        assertEquals(0xF7FD, Checksums.icmpChecksum(icmp.buffer(), 0, 8), "the known checksum of 08 00 .. 00 01 00 01");
    }

    @Test
    void readsTheNextHopMtuOfFragmentationNeeded() {
        icmp.wrap(new UnsafeBuffer(unhex("ffff" + FRAGMENTATION_NEEDED + "45")), 2, 9);
        assertEquals(IcmpHeader.TYPE_DESTINATION_UNREACHABLE, icmp.type());
        assertEquals(IcmpHeader.CODE_FRAGMENTATION_NEEDED, icmp.code());
        assertEquals(1280, icmp.nextHopMtu());
        assertTrue(icmp.isError());
        assertEquals(10, icmp.quotedDatagramOffset());
        assertEquals(1, icmp.quotedDatagramLength());
    }

    @Test
    void writesTheSameBytesItReads() {
        final UnsafeBuffer buf = new UnsafeBuffer(new byte[8]);
        icmp.wrap(buf, 0).type(3).code(4).checksum(0).restOfHeader(0).nextHopMtu(1280);
        assertEquals(hex(unhex(FRAGMENTATION_NEEDED)), hex(buf.byteArray()));
        icmp.type(8).code(0).identifier(1).sequenceNumber(1).checksum(0xF7FD);
        assertEquals(hex(unhex(ECHO_REQUEST)), hex(buf.byteArray()));
        icmp.type(12).pointer(9);
        assertEquals(9, icmp.pointer());
        assertEquals(0x09, buf.getByte(4));
    }

    @Test
    void classifiesErrorTypes() {
        assertTrue(IcmpHeader.isErrorType(3));
        assertTrue(IcmpHeader.isErrorType(11));
        assertTrue(IcmpHeader.isErrorType(12));
        assertFalse(IcmpHeader.isErrorType(0));
        assertFalse(IcmpHeader.isErrorType(5));
        assertFalse(IcmpHeader.isErrorType(8));
    }

    @Test
    void updatesItsChecksumOverTheWholeMessage() {
        final byte[] frame = Frames.icmpEchoRequest().icmpId(77).payloadLength(21).build();
        final UnsafeBuffer buf = new UnsafeBuffer(frame);
        final int good = icmp.wrap(buf, 34, frame.length - 34).checksum();
        icmp.checksum(0).updateChecksum();
        assertEquals(good, icmp.checksum());
    }
}
