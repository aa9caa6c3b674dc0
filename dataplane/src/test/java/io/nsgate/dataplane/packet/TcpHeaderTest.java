// TcpHeader against known bytes: ports, sequence numbers, data offset, flags, window, checksum, urgent pointer.
package io.nsgate.dataplane.packet;

import org.agrona.concurrent.UnsafeBuffer;
import org.junit.jupiter.api.Test;

import static io.nsgate.dataplane.testsupport.Frames.hex;
import static io.nsgate.dataplane.testsupport.Frames.unhex;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

class TcpHeaderTest {
    /** 40000 -> 80, seq 0xfedcba98, ack 0x01020304, data offset 6 (one MSS option), SYN|ACK|ECE, window 64240. */
    private static final String SYN_ACK = "9c40 0050 fedcba98 01020304 6052 faf0 1234 0007 020405b4";

    private final TcpHeader tcp = new TcpHeader();

    @Test
    void readsEveryField() {
        tcp.wrap(new UnsafeBuffer(unhex("aa" + SYN_ACK + "cafe")), 1, 26);
        assertEquals(40000, tcp.sourcePort());
        assertEquals(80, tcp.destinationPort());
        assertEquals(0xFEDCBA98, tcp.sequenceNumber());
        assertEquals(0x01020304, tcp.acknowledgmentNumber());
        assertEquals(6, tcp.dataOffset());
        assertEquals(24, tcp.headerLength());
        assertEquals(25, tcp.payloadOffset());
        assertEquals(2, tcp.payloadLength());
        assertEquals(26, tcp.segmentLength());
        assertEquals(TcpHeader.SYN | TcpHeader.ACK | TcpHeader.ECE, tcp.flags());
        assertTrue(tcp.hasFlags(TcpHeader.SYN | TcpHeader.ACK));
        assertFalse(tcp.hasFlags(TcpHeader.SYN | TcpHeader.FIN));
        assertEquals(64240, tcp.window());
        assertEquals(0x1234, tcp.checksum());
        assertEquals(7, tcp.urgentPointer());
    }

    @Test
    void writesTheSameBytesItReads() {
        final UnsafeBuffer buf = new UnsafeBuffer(new byte[24]);
        tcp.wrap(buf, 0).sourcePort(40000).destinationPort(80).sequenceNumber(0xFEDCBA98)
            .acknowledgmentNumber(0x01020304).dataOffset(6).flags(0x52).window(64240).checksum(0x1234)
            .urgentPointer(7);
        buf.putInt(20, 0x020405B4, java.nio.ByteOrder.BIG_ENDIAN);
        assertEquals(hex(unhex(SYN_ACK)), hex(buf.byteArray()));
    }

    @Test
    void keepsTheLowNibbleWhenTheDataOffsetChanges() {
        final UnsafeBuffer buf = new UnsafeBuffer(new byte[20]);
        buf.putByte(12, (byte) 0x51); // data offset 5, NS bit (RFC 3540) set
        tcp.wrap(buf, 0).dataOffset(8);
        assertEquals(0x81, buf.getByte(12) & 0xFF);
    }

    @Test
    void namesFlagBitsAsRfc9293() {
        assertEquals(0x01, TcpHeader.FIN);
        assertEquals(0x02, TcpHeader.SYN);
        assertEquals(0x04, TcpHeader.RST);
        assertEquals(0x08, TcpHeader.PSH);
        assertEquals(0x10, TcpHeader.ACK);
        assertEquals(0x20, TcpHeader.URG);
        assertEquals(0x40, TcpHeader.ECE);
        assertEquals(0x80, TcpHeader.CWR);
    }
}
