// The V3 RX block walk over blocks written the way the kernel writes them: batches, hand-back timing, drops, VLAN tags.
package io.nsgate.dataplane.io;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;

import java.nio.ByteBuffer;
import java.util.Arrays;

import org.agrona.concurrent.UnsafeBuffer;
import org.junit.jupiter.api.Test;

import io.nsgate.dataplane.packet.VirtioNetHeader;
import io.nsgate.dataplane.stats.PortCounter;
import io.nsgate.dataplane.stats.PortCounters;
import io.nsgate.dataplane.testsupport.Frames;
import io.nsgate.linux.sys.Linux;

class RxRingV3Test {
    private static final int BLOCK = 128 * 1024;
    private final PortCounters counters = new PortCounters();
    private final RxBatch batch = new RxBatch();

    /** Writes blocks as tpacket_rcv and prb_close_block do: tp_mac 92, vnet header at 82, 8-aligned frames. */
    static final class FakeKernel {
        final UnsafeBuffer ring;
        final int blockSize;

        FakeKernel(int blocks, int blockSize) {
            this.ring = new UnsafeBuffer(ByteBuffer.allocateDirect(blocks * blockSize));
            this.blockSize = blockSize;
        }

        /** Fills block {@code b} with frames and hands it to user space. */
        void fill(int b, RingFrame... frames) {
            int base = b * blockSize;
            int at = base + Tpacket3.BLOCK_HEADER_LENGTH;
            for (RingFrame f : frames) {
                int mac = 92;
                int size = (mac + f.bytes.length + 7) & ~7;
                ring.putInt(at + Tpacket3.NEXT_OFFSET, size);
                ring.putInt(at + Tpacket3.SNAPLEN, f.snaplen >= 0 ? f.snaplen : f.bytes.length);
                ring.putInt(at + Tpacket3.LEN, f.bytes.length);
                ring.putInt(at + Tpacket3.STATUS, Linux.TP_STATUS_USER | f.status);
                ring.putShort(at + Tpacket3.MAC, (short) mac);
                ring.putShort(at + Tpacket3.NET, (short) (mac + 14));
                ring.putInt(at + Tpacket3.VLAN_TCI, f.tci);
                ring.putShort(at + Tpacket3.VLAN_TPID, (short) f.tpid);
                ring.putBytes(at + mac - VirtioNetHeader.LENGTH, f.vnet);
                ring.putBytes(at + mac, f.bytes, 0, f.snaplen >= 0 ? f.snaplen : f.bytes.length);
                at += size;
            }
            ring.putInt(base + Tpacket3.BLOCK_NUM_PKTS, frames.length);
            ring.putInt(base + Tpacket3.BLOCK_OFFSET_TO_FIRST_PKT, Tpacket3.BLOCK_HEADER_LENGTH);
            ring.putInt(base + Tpacket3.BLOCK_LENGTH, at - base);
            ring.putIntRelease(base + Tpacket3.BLOCK_STATUS, Linux.TP_STATUS_USER);
        }

        int status(int b) {
            return ring.getIntVolatile(b * blockSize + Tpacket3.BLOCK_STATUS);
        }
    }

    private static RingFrame[] udps(int first, int count) {
        RingFrame[] frames = new RingFrame[count];
        for (int i = 0; i < count; i++) {
            frames[i] = RingFrame.udp(first + i);
        }
        return frames;
    }

    @Test
    void framesComeOutInPlaceWithTheirVirtioHeaderFields() {
        FakeKernel kernel = new FakeKernel(4, BLOCK);
        RingFrame plain = RingFrame.udp(1);
        RingFrame gso = new RingFrame(Frames.tcp().payloadLength(20_000).checksumPartial().build())
            .vnet(VirtioNetHeader.FLAG_NEEDS_CSUM, VirtioNetHeader.GSO_TCPV4 | VirtioNetHeader.GSO_ECN, 54, 1448, 34,
                16);
        kernel.fill(0, plain, gso);
        RxRingV3 rx = new RxRingV3(kernel.ring, BLOCK, 4, counters);

        assertEquals(2, rx.receive(batch));
        assertSame(kernel.ring, batch.buffer, "frames are read in the ring itself");
        assertEquals(2, batch.count);
        assertArrayEquals(plain.bytes, RingFrame.bytes(batch, 0));
        assertArrayEquals(gso.bytes, RingFrame.bytes(batch, 1));
        assertEquals(Tpacket3.BLOCK_HEADER_LENGTH + 92, batch.frameOffset[0]);
        assertEquals(batch.frameOffset[1] - VirtioNetHeader.LENGTH, batch.vnetOffset[1]);
        assertEquals(0, batch.vnetFlags[0]);
        assertEquals(VirtioNetHeader.GSO_NONE, batch.gsoType[0]);
        assertEquals(VirtioNetHeader.FLAG_NEEDS_CSUM, batch.vnetFlags[1]);
        assertEquals(VirtioNetHeader.GSO_TCPV4, batch.gsoType[1], "ECN bit masked");
        assertEquals(1448, batch.gsoSize[1]);
        assertEquals(2, counters.get(PortCounter.RX_FRAMES));
    }

    @Test
    void aBlockGoesBackOnlyWhenAllItsFramesWereTakenAndTheNextReceiveComes() {
        FakeKernel kernel = new FakeKernel(4, BLOCK);
        kernel.fill(0, udps(0, 40));
        RxRingV3 rx = new RxRingV3(kernel.ring, BLOCK, 4, counters);

        assertEquals(RxBatch.CAPACITY, rx.receive(batch));
        assertEquals(Linux.TP_STATUS_USER, kernel.status(0), "8 frames still unread");
        assertEquals(8, rx.receive(batch));
        assertEquals(Linux.TP_STATUS_USER, kernel.status(0), "the batch's frames are still in use");
        batch.buffer.putByte(batch.frameOffset[7], (byte) 0x42); // rewritten in place, still ours
        assertEquals(0, rx.receive(batch));
        assertEquals(Linux.TP_STATUS_KERNEL, kernel.status(0), "handed back by the receive after the last frame");
    }

    @Test
    void aBatchSpansBlocksAndTheCursorWrapsAroundTheRing() {
        FakeKernel kernel = new FakeKernel(3, BLOCK);
        RxRingV3 rx = new RxRingV3(kernel.ring, BLOCK, 3, counters);
        int kernelBlock = 0; // the kernel fills blocks in ring order too
        int next = 0;
        for (int round = 0; round < 7; round++) {
            int first = kernelBlock;
            int second = (kernelBlock + 1) % 3;
            kernel.fill(first, udps(next, 5));
            kernel.fill(second, udps(next + 5, 5));
            assertEquals(10, rx.receive(batch), "round " + round);
            for (int i = 0; i < 10; i++) {
                assertArrayEquals(RingFrame.udp(next + i).bytes, RingFrame.bytes(batch, i), "round " + round + " frame "
                    + i);
            }
            assertEquals(Linux.TP_STATUS_USER, kernel.status(first));
            assertEquals(Linux.TP_STATUS_USER, kernel.status(second));
            assertEquals(0, rx.receive(batch));
            assertEquals(Linux.TP_STATUS_KERNEL, kernel.status(first));
            assertEquals(Linux.TP_STATUS_KERNEL, kernel.status(second));
            kernelBlock = (kernelBlock + 2) % 3;
            next += 10;
        }
    }

    @Test
    void readingStopsAtTheFirstBlockStillOwnedByTheKernel() {
        FakeKernel kernel = new FakeKernel(4, BLOCK);
        kernel.fill(1, udps(0, 3)); // out of order: block 0 is still the kernel's
        RxRingV3 rx = new RxRingV3(kernel.ring, BLOCK, 4, counters);
        assertEquals(0, rx.receive(new RxBatch()));
    }

    @Test
    void aRingWhoseEveryBlockIsInTheBatchDoesNotReadItsOldestBlockTwice() {
        FakeKernel kernel = new FakeKernel(2, BLOCK);
        kernel.fill(0, RingFrame.udp(0));
        kernel.fill(1, RingFrame.udp(1));
        RxRingV3 rx = new RxRingV3(kernel.ring, BLOCK, 2, counters);
        assertEquals(2, rx.receive(batch), "block 0 is still TP_STATUS_USER but was read already");
        assertEquals(0, rx.receive(batch));
        assertEquals(Linux.TP_STATUS_KERNEL, kernel.status(0));
        assertEquals(Linux.TP_STATUS_KERNEL, kernel.status(1));
        kernel.fill(0, RingFrame.udp(2));
        assertEquals(1, rx.receive(batch));
        RingFrame.assertUdps(batch, 2);
    }

    @Test
    void framesTheKernelClampedAreDroppedAndCounted() {
        FakeKernel kernel = new FakeKernel(2, BLOCK);
        RingFrame clamped = RingFrame.udp(1);
        clamped.snaplen = 30;
        kernel.fill(0, RingFrame.udp(0), clamped, RingFrame.udp(2));
        RxRingV3 rx = new RxRingV3(kernel.ring, BLOCK, 2, counters);
        assertEquals(2, rx.receive(batch));
        RingFrame.assertUdps(batch, 0, 2);
        assertEquals(1, counters.get(PortCounter.RX_TRUNCATED));
    }

    @Test
    void anEmptyBlockIsHandedBack() {
        FakeKernel kernel = new FakeKernel(2, BLOCK);
        kernel.fill(0);
        kernel.fill(1, RingFrame.udp(5));
        RxRingV3 rx = new RxRingV3(kernel.ring, BLOCK, 2, counters);
        assertEquals(1, rx.receive(batch));
        assertEquals(0, rx.receive(batch));
        assertEquals(Linux.TP_STATUS_KERNEL, kernel.status(0));
    }

    @Test
    void aBlockWithImpossibleOffsetsIsSkippedNotFollowed() {
        FakeKernel kernel = new FakeKernel(2, BLOCK);
        kernel.fill(0, udps(0, 3));
        kernel.ring.putInt(Tpacket3.BLOCK_HEADER_LENGTH + Tpacket3.NEXT_OFFSET, BLOCK * 4); // second frame "far away"
        kernel.fill(1, RingFrame.udp(9));
        RxRingV3 rx = new RxRingV3(kernel.ring, BLOCK, 2, counters);
        assertEquals(2, rx.receive(batch), "frame 0 of block 0, then block 1");
        assertArrayEquals(RingFrame.udp(9).bytes, RingFrame.bytes(batch, 1));
        assertEquals(1, counters.get(PortCounter.RX_MALFORMED));
    }

    @Test
    void anOffloadedVlanTagIsPutBackBetweenTheAddressesAndTheEtherType() {
        FakeKernel kernel = new FakeKernel(2, BLOCK);
        byte[] untagged = Frames.tcp().payloadLength(3000).checksumPartial().build();
        RingFrame f = new RingFrame(untagged).vnet(VirtioNetHeader.FLAG_NEEDS_CSUM, VirtioNetHeader.GSO_TCPV4, 54, 1448,
            34,
            16);
        f.status = Linux.TP_STATUS_VLAN_VALID | Linux.TP_STATUS_VLAN_TPID_VALID;
        f.tci = 0x2005;
        f.tpid = 0x88A8;
        RingFrame plainTagged = new RingFrame(untagged.clone());
        plainTagged.status = Linux.TP_STATUS_VLAN_VALID;
        plainTagged.tci = 7;
        kernel.fill(0, f, plainTagged);
        RxRingV3 rx = new RxRingV3(kernel.ring, BLOCK, 2, counters);
        assertEquals(2, rx.receive(batch));

        byte[] expected = Frames.tcp().vlan(0x2005).payloadLength(3000).checksumPartial().build();
        expected[12] = (byte) 0x88;
        expected[13] = (byte) 0xA8;
        assertEquals(untagged.length + 4, batch.frameLength[0]);
        assertArrayEquals(expected, RingFrame.bytes(batch, 0));
        VirtioNetHeader vnet = new VirtioNetHeader().wrap(batch.buffer, batch.vnetOffset[0]);
        assertEquals(batch.frameOffset[0] - 10, batch.vnetOffset[0]);
        assertEquals(VirtioNetHeader.FLAG_NEEDS_CSUM, vnet.flags());
        assertEquals(38, vnet.csumStart(), "the TCP header is 4 bytes further from the frame start");
        assertEquals(16, vnet.csumOffset());
        assertEquals(58, vnet.hdrLen());
        assertEquals(1448, vnet.gsoSize());
        assertEquals(1448, batch.gsoSize[0]);

        byte[] tagged7 = RingFrame.bytes(batch, 1);
        assertEquals(0x81, tagged7[12] & 0xFF, "802.1Q when the kernel gave no TPID");
        assertEquals(0x00, tagged7[13] & 0xFF);
        assertEquals(7, tagged7[15]);
        assertArrayEquals(Arrays.copyOfRange(untagged, 12, untagged.length),
            Arrays.copyOfRange(tagged7, 16, tagged7.length));
        assertEquals(2, counters.get(PortCounter.RX_VLAN_RESTORED));
    }
}
