// The TX slot writer against a ring whose statuses the test sets the way the kernel does.
package io.nsgate.dataplane.io;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.ByteBuffer;

import org.agrona.concurrent.UnsafeBuffer;
import org.junit.jupiter.api.Test;

import io.nsgate.dataplane.packet.VirtioNetHeader;
import io.nsgate.dataplane.stats.PortCounter;
import io.nsgate.dataplane.stats.PortCounters;
import io.nsgate.dataplane.testsupport.Frames;
import io.nsgate.linux.sys.Linux;

class TxRingTest {
    private static final int SLOT = 4096;

    private final UnsafeBuffer ring = new UnsafeBuffer(ByteBuffer.allocateDirect(3 * SLOT));
    private final PortCounters counters = new PortCounters();
    private final TxRing tx = TxRing.v3(ring, SLOT, 3, counters);

    private static UnsafeBuffer withHeader(byte[] frame, int flags, int gsoType, int hdrLen, int gsoSize,
        int csumStart, int csumOffset) {
        UnsafeBuffer b = new UnsafeBuffer(new byte[16 + frame.length]);
        new VirtioNetHeader().wrap(b, 6).flags(flags).gsoType(gsoType).hdrLen(hdrLen).gsoSize(gsoSize)
            .csumStart(csumStart).csumOffset(csumOffset);
        b.putBytes(16, frame);
        return b;
    }

    private int status(int slot) {
        return ring.getIntVolatile(slot * SLOT + Tpacket3.STATUS);
    }

    private void kernelSets(int slot, int status) {
        ring.putIntRelease(slot * SLOT + Tpacket3.STATUS, status);
    }

    @Test
    void aFrameGoesAfterTheFrameHeaderAndItsVirtioHeaderAt48WithTpLenCountingTheHeader() {
        byte[] frame = Frames.tcp().payloadLength(500).checksumPartial().build();
        UnsafeBuffer source = withHeader(frame, VirtioNetHeader.FLAG_NEEDS_CSUM, 0, 0, 0, 34, 16);
        assertTrue(tx.offer(source, 6, 16, frame.length));

        assertEquals(Linux.TP_STATUS_SEND_REQUEST, status(0));
        assertEquals(10 + frame.length, ring.getInt(Tpacket3.LEN));
        assertEquals(0, ring.getInt(Tpacket3.NEXT_OFFSET), "V3 TX refuses variable sized slots");
        byte[] header = new byte[10];
        ring.getBytes(48, header);
        byte[] expectedHeader = new byte[10];
        source.getBytes(6, expectedHeader);
        linear(expectedHeader, frame.length);
        assertArrayEquals(expectedHeader, header);
        byte[] copied = new byte[frame.length];
        ring.getBytes(58, copied);
        assertArrayEquals(frame, copied);
        assertEquals(1, tx.queued());
        assertEquals(Tpacket3.TX_FRAME, 58);
    }

    @Test
    void withoutAHeaderTheSlotGetsZeroes() {
        ring.setMemory(Tpacket3.TX_DATA, 10, (byte) 0x5A); // left over from an earlier frame
        byte[] frame = Frames.udp().build();
        assertTrue(tx.offer(new UnsafeBuffer(frame), -1, 0, frame.length));
        byte[] expected = new byte[10];
        linear(expected, frame.length);
        for (int i = 48; i < 58; i++) {
            assertEquals(expected[i - 48], ring.getByte(i), "header byte " + i);
        }
    }

    /**
     * With -Dnsgate.txLinear, a frame that is not a GSO super-frame goes with hdr_len = its length: the kernel copies it
     * whole into the skb rather than attaching the slot's pages, which veth would copy again when the skb enters the
     * peer's namespace. Without it, the header is copied as it came.
     */
    private void linear(byte[] header, int frameLength) {
        if (!TxRing.LINEAR) {
            return;
        }
        header[VirtioNetHeader.HDR_LEN_OFFSET] = (byte) frameLength;
        header[VirtioNetHeader.HDR_LEN_OFFSET + 1] = (byte) (frameLength >>> 8);
    }

    @Test
    void linearFramesAreCopiedWholeIntoTheSkbButGsoSuperFramesKeepTheirHeaderLength() {
        tx.linear(true);
        byte[] small = Frames.udp().build();
        assertTrue(tx.offer(withHeader(small, 0, 0, 0, 0, 0, 0), 6, 16, small.length));
        assertEquals(small.length, ring.getShort(48 + VirtioNetHeader.HDR_LEN_OFFSET, java.nio.ByteOrder.LITTLE_ENDIAN),
            "hdr_len: the whole frame, so the kernel attaches none of the slot's pages");
        byte[] big = Frames.tcp().payloadLength(3000).build();
        UnsafeBuffer source = withHeader(big, VirtioNetHeader.FLAG_NEEDS_CSUM, VirtioNetHeader.GSO_TCPV4, 54, 1448, 34,
            16);
        assertTrue(tx.offer(source, 6, 16, big.length));
        assertEquals(54, ring.getShort(SLOT + 48 + VirtioNetHeader.HDR_LEN_OFFSET, java.nio.ByteOrder.LITTLE_ENDIAN),
            "a super-frame's hdr_len is what the kernel segments by: kept");
    }

    @Test
    void aGsoSuperFrameKeepsItsHeaderLength() {
        byte[] frame = Frames.tcp().payloadLength(3000).build();
        UnsafeBuffer source = withHeader(frame, VirtioNetHeader.FLAG_NEEDS_CSUM, VirtioNetHeader.GSO_TCPV4, 54, 1448,
            34, 16);
        assertTrue(tx.offer(source, 6, 16, frame.length));
        byte[] header = new byte[10];
        ring.getBytes(48, header);
        byte[] expected = new byte[10];
        source.getBytes(6, expected);
        assertArrayEquals(expected, header, "the kernel segments it by these fields");
    }

    @Test
    void theRingIsFullUntilTheKernelHasFreedTheNextSlot() {
        UnsafeBuffer f = new UnsafeBuffer(Frames.udp().build());
        assertTrue(tx.offer(f, -1, 0, f.capacity()));
        assertTrue(tx.offer(f, -1, 0, f.capacity()));
        assertTrue(tx.offer(f, -1, 0, f.capacity()));
        assertFalse(tx.offer(f, -1, 0, f.capacity()), "slot 0 still has a send request");
        kernelSets(0, Linux.TP_STATUS_SENDING);
        assertFalse(tx.offer(f, -1, 0, f.capacity()), "slot 0's skb is alive");
        kernelSets(0, Linux.TP_STATUS_AVAILABLE | 1 << 29); // with TX timestamps on, TP_STATUS_TS_SOFTWARE comes along
        assertTrue(tx.offer(f, -1, 0, f.capacity()));
        assertEquals(Linux.TP_STATUS_SEND_REQUEST, status(0));
        assertEquals(2, counters.get(PortCounter.TX_RING_FULL));
        assertEquals(4, counters.get(PortCounter.TX_FRAMES));
    }

    @Test
    void aSlotTheKernelMarkedWrongFormatIsCountedAndReused() {
        UnsafeBuffer f = new UnsafeBuffer(Frames.udp().build());
        kernelSets(0, Linux.TP_STATUS_WRONG_FORMAT);
        assertTrue(tx.offer(f, -1, 0, f.capacity()));
        assertEquals(Linux.TP_STATUS_SEND_REQUEST, status(0));
        assertEquals(1, counters.get(PortCounter.TX_WRONG_FORMAT));
    }

    @Test
    void framesTheKernelWouldRefuseAreDroppedAndCountedWithoutTakingASlot() {
        UnsafeBuffer big = new UnsafeBuffer(new byte[SLOT]);
        assertTrue(tx.offer(big, -1, 0, SLOT - 58 + 1), "one byte too long for the slot");
        assertTrue(tx.offer(big, -1, 0, 13), "shorter than an Ethernet header");
        byte[] frame = Frames.tcp().build();
        assertTrue(tx.offer(withHeader(frame, VirtioNetHeader.FLAG_NEEDS_CSUM, 0, 0, 0, 50, 16), 6, 16,
            frame.length), "checksum field beyond the 54-byte frame");
        assertTrue(tx.offer(withHeader(frame, 0, VirtioNetHeader.GSO_TCPV4, 100, 1448, 0, 0), 6, 16, frame.length),
            "hdr_len beyond the frame");
        assertEquals(4, counters.get(PortCounter.TX_REJECTED));
        assertEquals(0, tx.queued());
        assertEquals(Linux.TP_STATUS_AVAILABLE, status(0));
        assertTrue(tx.offer(big, -1, 0, SLOT - 58), "exactly a slot's worth fits");
        assertEquals(SLOT - 58, tx.maxFrameLength());
    }

    @Test
    void drainedOnceTheKernelTookTheLastQueuedFrame() {
        UnsafeBuffer f = new UnsafeBuffer(Frames.udp().build());
        assertTrue(tx.drained(), "nothing queued");
        tx.offer(f, -1, 0, f.capacity());
        tx.offer(f, -1, 0, f.capacity());
        tx.kicked();
        assertEquals(0, tx.queued());
        kernelSets(0, Linux.TP_STATUS_SENDING);
        assertFalse(tx.drained(), "slot 1 still waits: a kick is owed");
        kernelSets(1, Linux.TP_STATUS_AVAILABLE);
        assertTrue(tx.drained());
    }

    @Test
    void aV2SlotHasItsStatusFirstAndTheVirtioHeaderAt32() {
        UnsafeBuffer v2ring = new UnsafeBuffer(ByteBuffer.allocateDirect(2 * SLOT));
        TxRing v2 = TxRing.v2(v2ring, SLOT, 2, counters);
        byte[] frame = Frames.tcp().payloadLength(300).checksumPartial().build();
        UnsafeBuffer source = withHeader(frame, VirtioNetHeader.FLAG_NEEDS_CSUM, 0, 0, 0, 34, 16);
        v2ring.setMemory(0, 32, (byte) 0x77); // whatever the kernel left: V2 has no tp_next_offset to clear
        v2ring.putInt(Tpacket2.STATUS, Linux.TP_STATUS_AVAILABLE);
        assertTrue(v2.offer(source, 6, 16, frame.length));

        assertEquals(Linux.TP_STATUS_SEND_REQUEST, v2ring.getIntVolatile(0), "tp_status is the first word");
        assertEquals(10 + frame.length, v2ring.getInt(4), "tp_len at 4 counts the virtio-net header");
        byte[] header = new byte[10];
        v2ring.getBytes(32, header);
        byte[] expectedHeader = new byte[10];
        source.getBytes(6, expectedHeader);
        linear(expectedHeader, frame.length);
        assertArrayEquals(expectedHeader, header);
        byte[] copied = new byte[frame.length];
        v2ring.getBytes(42, copied);
        assertArrayEquals(frame, copied);
        assertEquals(0x77777777, v2ring.getInt(8), "nothing else in the header is written");
        assertEquals(SLOT - 42, v2.maxFrameLength());
        assertEquals(Tpacket2.TX_FRAME, 42);

        assertTrue(v2.offer(source, 6, 16, frame.length));
        assertFalse(v2.offer(source, 6, 16, frame.length), "both slots hold send requests");
        v2ring.putIntRelease(0, Linux.TP_STATUS_AVAILABLE);
        assertTrue(v2.offer(source, 6, 16, frame.length), "slot 0 is back");
        assertFalse(v2.drained());
    }
}
