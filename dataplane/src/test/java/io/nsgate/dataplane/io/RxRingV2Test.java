// The V2 RX slot walk over slots written the way the kernel writes them: hand-back timing, wrap-around, drops, VLAN.
package io.nsgate.dataplane.io;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;

import java.nio.ByteBuffer;

import org.agrona.concurrent.UnsafeBuffer;
import org.junit.jupiter.api.Test;

import io.nsgate.dataplane.packet.VirtioNetHeader;
import io.nsgate.dataplane.stats.PortCounter;
import io.nsgate.dataplane.stats.PortCounters;
import io.nsgate.dataplane.testsupport.Frames;
import io.nsgate.linux.sys.Linux;

class RxRingV2Test {
    private static final int SLOT = 8192;
    private final PortCounters counters = new PortCounters();
    private final RxBatch batch = new RxBatch();

    /**
     * Writes slots as tpacket_rcv does for TPACKET_V2 with PACKET_VNET_HDR: the frame at tp_mac 76, its virtio-net
     * header at 66, the slot at the kernel's head, then TP_STATUS_USER last; a frame longer than the slot is clamped.
     */
    static final class FakeKernel {
        final UnsafeBuffer ring;
        final int slots;
        final int blockSize;
        final int perBlock;
        int head;

        /** One slot per block. */
        FakeKernel(int slots) {
            this(slots, SLOT);
        }

        /** Slots packed {@code blockSize / SLOT} to a block, as packet_lookup_frame finds them. */
        FakeKernel(int slots, int blockSize) {
            this.perBlock = blockSize / SLOT;
            this.ring = new UnsafeBuffer(ByteBuffer.allocateDirect(slots / perBlock * blockSize));
            this.slots = slots;
            this.blockSize = blockSize;
        }

        int offset(int slot) {
            return slot / perBlock * blockSize + slot % perBlock * SLOT;
        }

        /** Writes {@code f} at the head and hands it over; false (a drop) when the head slot is still the user's. */
        boolean receive(RingFrame f) {
            int at = offset(head);
            if (status(head) != Linux.TP_STATUS_KERNEL) {
                return false;
            }
            int mac = Tpacket2.ETHERNET_MAC;
            int snaplen = Math.min(f.bytes.length, SLOT - mac);
            ring.putInt(at + Tpacket2.LEN, f.bytes.length);
            ring.putInt(at + Tpacket2.SNAPLEN, snaplen);
            ring.putShort(at + Tpacket2.MAC, (short) mac);
            ring.putShort(at + Tpacket2.NET, (short) (mac + 14));
            ring.putShort(at + Tpacket2.VLAN_TCI, (short) f.tci);
            ring.putShort(at + Tpacket2.VLAN_TPID, (short) f.tpid);
            ring.putBytes(at + mac - VirtioNetHeader.LENGTH, f.vnet);
            ring.putBytes(at + mac, f.bytes, 0, snaplen);
            ring.putIntRelease(at + Tpacket2.STATUS, Linux.TP_STATUS_USER | f.status);
            head = (head + 1) % slots;
            return true;
        }

        int status(int slot) {
            return ring.getIntVolatile(offset(slot) + Tpacket2.STATUS);
        }

        /** The ring reading this kernel's slots. */
        RxRingV2 rx(PortCounters counters) {
            return new RxRingV2(ring, blockSize, SLOT, slots, counters);
        }
    }

    @Test
    void aLoneFrameIsReadableAsSoonAsItsSlotSaysUserAndComesOutInPlace() {
        FakeKernel kernel = new FakeKernel(4);
        RxRingV2 rx = kernel.rx(counters);
        assertEquals(0, rx.receive(batch), "nothing handed over yet");

        RingFrame gso = new RingFrame(Frames.tcp().payloadLength(3000).checksumPartial().build())
            .vnet(VirtioNetHeader.FLAG_NEEDS_CSUM, VirtioNetHeader.GSO_TCPV4 | VirtioNetHeader.GSO_ECN, 54, 1448, 34,
                16);
        kernel.receive(gso);
        assertEquals(1, rx.receive(batch), "one frame, one status word: no block to fill, no timer");
        assertSame(kernel.ring, batch.buffer, "frames are read in the ring itself");
        assertArrayEquals(gso.bytes, RingFrame.bytes(batch, 0));
        assertEquals(Tpacket2.ETHERNET_MAC, batch.frameOffset[0]);
        assertEquals(Tpacket2.ETHERNET_MAC - 10, batch.vnetOffset[0]);
        assertEquals(VirtioNetHeader.FLAG_NEEDS_CSUM, batch.vnetFlags[0]);
        assertEquals(VirtioNetHeader.GSO_TCPV4, batch.gsoType[0], "ECN bit masked");
        assertEquals(1448, batch.gsoSize[0]);
        assertEquals(1, counters.get(PortCounter.RX_FRAMES));
    }

    @Test
    void slotsGoBackOnlyAtTheNextReceiveSoTheBatchStaysValid() {
        FakeKernel kernel = new FakeKernel(4);
        RxRingV2 rx = kernel.rx(counters);
        kernel.receive(RingFrame.udp(0));
        kernel.receive(RingFrame.udp(1));
        assertEquals(2, rx.receive(batch));
        assertEquals(Linux.TP_STATUS_USER, kernel.status(0) & Linux.TP_STATUS_USER, "still in the batch");
        assertEquals(Linux.TP_STATUS_USER, kernel.status(1) & Linux.TP_STATUS_USER);
        batch.buffer.putByte(batch.frameOffset[1], (byte) 0x42); // rewritten in place, still ours
        kernel.receive(RingFrame.udp(2));
        assertEquals(1, rx.receive(batch));
        assertEquals(Linux.TP_STATUS_KERNEL, kernel.status(0), "handed back by the next receive");
        assertEquals(Linux.TP_STATUS_KERNEL, kernel.status(1));
        RingFrame.assertUdps(batch, 2);
        assertEquals(0, rx.receive(batch));
        assertEquals(Linux.TP_STATUS_KERNEL, kernel.status(2));
    }

    @Test
    void aBatchTakesAtMost32FramesFromSlotsPackedInBlocksAndTheCursorWrapsAroundTheRing() {
        FakeKernel kernel = new FakeKernel(40, 5 * SLOT + 1000); // 5 slots per block, 1000 bytes unused after them
        RxRingV2 rx = kernel.rx(counters);
        int sent = 0;
        int received = 0;
        for (int round = 0; round < 6; round++) {
            for (int i = 0; i < 25; i++) {
                assertEquals(true, kernel.receive(RingFrame.udp(sent)), "round " + round
                    + ": the slot was handed back");
                sent++;
            }
            int n;
            while ((n = rx.receive(batch)) > 0) {
                assertEquals(true, n <= RxBatch.CAPACITY);
                for (int i = 0; i < n; i++) {
                    assertArrayEquals(RingFrame.udp(received).bytes, RingFrame.bytes(batch, i), "frame " + received);
                    received++;
                }
            }
        }
        assertEquals(150, received);
        assertEquals(150, counters.get(PortCounter.RX_FRAMES));
        assertEquals(5 * SLOT + 1000 + Tpacket2.ETHERNET_MAC, kernel.offset(5) + Tpacket2.ETHERNET_MAC,
            "slot 5 starts the second block");
    }

    @Test
    void readingStopsAtTheFirstSlotStillBeingWritten() {
        FakeKernel kernel = new FakeKernel(4);
        RxRingV2 rx = kernel.rx(counters);
        // two CPUs took slots 0 and 1; the one writing slot 1 finished first
        kernel.head = 1;
        kernel.receive(RingFrame.udp(1));
        assertEquals(0, rx.receive(batch), "slot 0 is not handed over yet: slot 1 waits for it");
        kernel.head = 0;
        kernel.receive(RingFrame.udp(0));
        assertEquals(2, rx.receive(batch));
        RingFrame.assertUdps(batch, 0, 1);
    }

    @Test
    void aRingWhoseEverySlotIsInTheBatchDoesNotReadItsOldestSlotTwice() {
        FakeKernel kernel = new FakeKernel(2);
        RxRingV2 rx = kernel.rx(counters);
        kernel.receive(RingFrame.udp(0));
        kernel.receive(RingFrame.udp(1));
        assertEquals(false, kernel.receive(RingFrame.udp(9)), "the kernel drops: its head slot is still ours");
        assertEquals(2, rx.receive(batch), "slot 0 is still TP_STATUS_USER but was read already");
        assertEquals(0, rx.receive(batch));
        kernel.receive(RingFrame.udp(2));
        assertEquals(1, rx.receive(batch));
        RingFrame.assertUdps(batch, 2);
    }

    @Test
    void framesTheKernelClampedAreDroppedCountedAndTheirSlotsHandedBack() {
        FakeKernel kernel = new FakeKernel(4);
        RxRingV2 rx = kernel.rx(counters);
        kernel.receive(RingFrame.udp(0));
        kernel.receive(new RingFrame(Frames.udp().payload(new byte[SLOT]).build())); // longer than the slot
        kernel.receive(RingFrame.udp(2));
        assertEquals(2, rx.receive(batch));
        RingFrame.assertUdps(batch, 0, 2);
        assertEquals(1, counters.get(PortCounter.RX_TRUNCATED));
        assertEquals(0, rx.receive(batch));
        assertEquals(Linux.TP_STATUS_KERNEL, kernel.status(1), "the clamped frame's slot went back too");
    }

    @Test
    void aSlotWithImpossibleOffsetsIsSkippedNotFollowed() {
        FakeKernel kernel = new FakeKernel(4);
        RxRingV2 rx = kernel.rx(counters);
        kernel.receive(RingFrame.udp(0));
        kernel.receive(RingFrame.udp(1));
        kernel.ring.putInt(Tpacket2.SNAPLEN, SLOT); // slot 0's frame "runs past the slot"
        assertEquals(1, rx.receive(batch));
        RingFrame.assertUdps(batch, 1);
        assertEquals(1, counters.get(PortCounter.RX_MALFORMED));
    }

    @Test
    void anOffloadedVlanTagIsPutBackFromTheV2HeadersTciAndTpid() {
        FakeKernel kernel = new FakeKernel(4);
        RxRingV2 rx = kernel.rx(counters);
        byte[] untagged = Frames.tcp().payloadLength(3000).checksumPartial().build();
        RingFrame f = new RingFrame(untagged).vnet(VirtioNetHeader.FLAG_NEEDS_CSUM, VirtioNetHeader.GSO_TCPV4, 54, 1448,
            34,
            16);
        f.status = Linux.TP_STATUS_VLAN_VALID | Linux.TP_STATUS_VLAN_TPID_VALID; // V2 always sets both
        f.tci = 0x2005;
        f.tpid = 0x88A8;
        kernel.receive(f);
        assertEquals(1, rx.receive(batch));

        byte[] expected = Frames.tcp().vlan(0x2005).payloadLength(3000).checksumPartial().build();
        expected[12] = (byte) 0x88;
        expected[13] = (byte) 0xA8;
        assertArrayEquals(expected, RingFrame.bytes(batch, 0));
        assertEquals(Tpacket2.ETHERNET_MAC - 4, batch.frameOffset[0]);
        VirtioNetHeader vnet = new VirtioNetHeader().wrap(batch.buffer, batch.vnetOffset[0]);
        assertEquals(batch.frameOffset[0] - 10, batch.vnetOffset[0]);
        assertEquals(38, vnet.csumStart(), "the TCP header is 4 bytes further from the frame start");
        assertEquals(58, vnet.hdrLen());
        assertEquals(1448, batch.gsoSize[0]);
        assertEquals(1, counters.get(PortCounter.RX_VLAN_RESTORED));
    }
}
