// UdpHeader against known bytes.
package io.nsgate.dataplane.packet;

import org.agrona.concurrent.UnsafeBuffer;
import org.junit.jupiter.api.Test;

import static io.nsgate.dataplane.testsupport.Frames.hex;
import static io.nsgate.dataplane.testsupport.Frames.unhex;
import static org.junit.jupiter.api.Assertions.assertEquals;

class UdpHeaderTest {
    /** 40001 -> 53, length 26, checksum 0xbeef. */
    private static final String HEADER = "9c41 0035 001a beef";

    private final UdpHeader udp = new UdpHeader();

    @Test
    void readsEveryField() {
        udp.wrap(new UnsafeBuffer(unhex("00000000" + HEADER)), 4);
        assertEquals(40001, udp.sourcePort());
        assertEquals(53, udp.destinationPort());
        assertEquals(26, udp.length());
        assertEquals(18, udp.payloadLength());
        assertEquals(12, udp.payloadOffset());
        assertEquals(0xBEEF, udp.checksum());
    }

    @Test
    void writesTheSameBytesItReads() {
        final UnsafeBuffer buf = new UnsafeBuffer(new byte[8]);
        udp.wrap(buf, 0).sourcePort(40001).destinationPort(53).length(26).checksum(0xBEEF);
        assertEquals(hex(unhex(HEADER)), hex(buf.byteArray()));
    }
}
