package io.nsgate.dataplane.packet;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.ByteBuffer;

import org.agrona.concurrent.UnsafeBuffer;
import org.junit.jupiter.api.Test;

class TcpSegmentTest {
    private final TcpSegment seg = new TcpSegment();

    /** A TCP header with these flags and options (padded to a 4-byte multiple), seq 0xFFFFFFF0, ack 77. */
    private static UnsafeBuffer header(int flags, int... options) {
        int optionBytes = (options.length + 3) & ~3;
        ByteBuffer b = ByteBuffer.allocate(20 + optionBytes);
        b.putShort((short) 1234).putShort((short) 80).putInt(0xFFFF_FFF0).putInt(77);
        b.put((byte) (((20 + optionBytes) / 4) << 4)).put((byte) flags).putShort((short) 0xFFFF);
        b.putShort((short) 0).putShort((short) 0);
        for (int o : options) {
            b.put((byte) o);
        }
        return new UnsafeBuffer(b.array());
    }

    @Test
    void readsSequenceSpaceAcrossTheWrap() {
        UnsafeBuffer h = header(TcpHeader.SYN | TcpHeader.FIN);
        seg.read(h, 0, 20, 100);
        assertEquals(0xFFFF_FFF0, seg.seq);
        assertEquals(0xFFFF_FFF0 + 102, seg.end, "payload, SYN and FIN each take sequence space");
        assertEquals(0x56, seg.end);
        assertEquals(77, seg.ack);
        assertEquals(77, seg.sack);
        assertEquals(0xFFFF, seg.window);
        assertEquals(-1, seg.windowScale);
        assertTrue(TcpSegment.after(seg.end, seg.seq));
        assertTrue(TcpSegment.before(seg.seq, seg.end));
    }

    @Test
    void synOptionsGiveWindowScaleCappedAt14AndSackPermitted() {
        UnsafeBuffer h = header(TcpHeader.SYN, 2, 4, 0x05, 0xB4, 1, 3, 3, 15, 4, 2);
        seg.read(h, 0, h.capacity(), 0);
        assertEquals(14, seg.windowScale);
        assertTrue(seg.sackPermitted);

        UnsafeBuffer ack = header(TcpHeader.ACK, 1, 3, 3, 7, 4, 2);
        seg.read(ack, 0, ack.capacity(), 0);
        assertEquals(-1, seg.windowScale, "options only count on SYN segments");
        assertFalse(seg.sackPermitted);
    }

    @Test
    void sackTakesTheHighestRightEdgeAfterTheAcknowledgement() {
        UnsafeBuffer h = header(TcpHeader.ACK, 1, 1, 5, 18, 0, 0, 0, 100, 0, 0, 0, 200, 0, 0, 0, 90, 0, 0, 1, 44);
        seg.read(h, 0, h.capacity(), 0);
        assertEquals(300, seg.sack);
    }

    @Test
    void aBrokenOptionListStopsTheScanWithoutFailing() {
        UnsafeBuffer zeroLength = header(TcpHeader.SYN, 3, 0, 3, 3, 9);
        seg.read(zeroLength, 0, zeroLength.capacity(), 0);
        assertEquals(-1, seg.windowScale);
        UnsafeBuffer overrun = header(TcpHeader.SYN, 1, 1, 1, 3, 40);
        seg.read(overrun, 0, overrun.capacity(), 0);
        assertEquals(-1, seg.windowScale);
        assertEquals(0xFFFF_FFF1, seg.end);
    }
}
