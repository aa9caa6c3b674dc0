// What every PacketPort promises, checked on each implementation: identity, batches, headers, TX order and capacity.
package io.nsgate.dataplane.io;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;

import org.agrona.concurrent.UnsafeBuffer;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import io.nsgate.dataplane.packet.VirtioNetHeader;
import io.nsgate.dataplane.stats.PortCounter;
import io.nsgate.dataplane.testsupport.Frames;
import io.nsgate.linux.net.MacAddress;

/**
 * The behaviour a worker relies on, whatever the port: it says which interface it is; frames arrive in batches of
 * at most {@link RxBatch#CAPACITY}, each just after its virtio-net header, with the header's checksum and GSO fields;
 * transmitted frames leave only on {@link PacketPort#flush}, in order, with the headers they were given; a full TX
 * queue refuses frames until a flush empties it; a closed port refuses use. A subclass supplies the port (opened
 * before each test, its TX queue holding {@link #TX_CAPACITY} frames) and the two sides of the wire around it: how
 * a frame is made to arrive ({@link #deliver}) and how frames that left are seen ({@link #left}).
 *
 * <p>Every frame here comes from {@link #SOURCE_MAC}, so that a real port's other traffic is told apart. Header
 * fields the kernel derives itself (hdr_len; DATA_VALID on a frame sent without a header) are not compared.
 */
abstract class PacketPortContract {
    /** Frames the port's TX queue holds. */
    static final int TX_CAPACITY = 4;
    static final String SOURCE_MAC = "02:00:00:c0:de:01";
    private static final long WAIT_NS = 3_000_000_000L;
    private static final int IPV4_TCP_CSUM_START = 34;
    private static final int TCP_CSUM_OFFSET = 16;
    private static final int GSO_SIZE = 1448;

    protected PacketPort port;

    /** Opens the port under test, its TX queue holding {@link #TX_CAPACITY} frames. */
    protected abstract PacketPort open();

    /** The interface name, ifindex and MAC the port must report. */
    protected abstract String expectedName();

    protected abstract int expectedIfindex();

    protected abstract long expectedMac();

    /** Whether the port has a descriptor to poll (AF_PACKET) or not (-1, in memory). */
    protected abstract boolean pollable();

    /** Makes {@code frame} arrive at the port with this 10-byte virtio-net header. */
    protected abstract void deliver(byte[] frame, byte[] vnetHeader);

    /**
     * The frames from {@link #SOURCE_MAC} that left the port since the last call, in the order they left, with
     * their virtio-net headers; waits until {@code count} have, or up to a few seconds (then returns those there).
     */
    protected abstract List<ReceivedFrame> left(int count);

    /** The frames that left the port within a short while: used to show that nothing leaves before a flush. */
    protected abstract List<ReceivedFrame> leftWithoutWaiting();

    @BeforeEach
    void openPort() {
        port = open();
    }

    @AfterEach
    void closePort() {
        port.close();
    }

    private static byte[] udp(int ipId) {
        return Frames.udp().srcMac(SOURCE_MAC).ipId(ipId).build();
    }

    /** A TCP frame with a partial checksum and, when {@code gso}, a GSO super-frame of 3000 bytes of payload. */
    private static byte[] tcp(boolean gso) {
        return Frames.tcp().srcMac(SOURCE_MAC).payloadLength(gso ? 3000 : 100).checksumPartial().build();
    }

    private static byte[] needsChecksum(boolean gso) {
        return RingFrame.vnetHeader(VirtioNetHeader.FLAG_NEEDS_CSUM, gso ? VirtioNetHeader.GSO_TCPV4 : VirtioNetHeader.GSO_NONE,
            gso ? 54 : 0, gso ? GSO_SIZE : 0, IPV4_TCP_CSUM_START, TCP_CSUM_OFFSET);
    }

    /** Receives until {@code count} frames from SOURCE_MAC came (or time is up); records every batch's size. */
    private List<ReceivedFrame> receive(int count, List<Integer> batchSizes) throws InterruptedException {
        RxBatch batch = new RxBatch();
        List<ReceivedFrame> ours = new ArrayList<>();
        long deadline = System.nanoTime() + WAIT_NS;
        while (ours.size() < count && System.nanoTime() < deadline) {
            int n = port.receive(batch);
            if (n == 0) {
                Thread.sleep(1);
                continue;
            }
            batchSizes.add(n);
            for (int i = 0; i < n; i++) {
                assertEquals(batch.frameOffset[i] - VirtioNetHeader.LENGTH, batch.vnetOffset[i],
                    "the header sits just before its frame");
                ReceivedFrame f = ReceivedFrame.copy(batch, i);
                if (f.sourceMac() == MacAddress.parse(SOURCE_MAC)) {
                    ours.add(f);
                }
            }
        }
        return ours;
    }

    private static void assertHeader(ReceivedFrame f, boolean needsChecksum, int gsoType, int gsoSize) {
        assertEquals(needsChecksum, (f.vnetFlags() & VirtioNetHeader.FLAG_NEEDS_CSUM) != 0, "NEEDS_CSUM");
        assertEquals(gsoType, f.gsoType(), "gso_type");
        assertEquals(gsoSize, f.gsoSize(), "gso_size");
        if (needsChecksum) {
            assertEquals(IPV4_TCP_CSUM_START, f.vnetShort(VirtioNetHeader.CSUM_START_OFFSET), "csum_start");
            assertEquals(TCP_CSUM_OFFSET, f.vnetShort(VirtioNetHeader.CSUM_OFFSET_OFFSET), "csum_offset");
        }
    }

    @Test
    void itSaysWhichInterfaceItIs() {
        assertEquals(expectedName(), port.interfaceName());
        assertEquals(expectedIfindex(), port.ifindex());
        assertEquals(expectedMac(), port.mac());
        assertEquals(pollable(), port.fd() >= 0, "fd " + port.fd());
        port.refreshKernelCounters();
        assertEquals(0, port.counters().get(PortCounter.RX_RING_DROPS), "a quiet new port's ring dropped nothing");
    }

    @Test
    void framesArriveInBatchesWithTheirVirtioNetHeaders() throws InterruptedException {
        byte[] plain = udp(1);
        byte[] partial = tcp(false);
        byte[] superFrame = tcp(true);
        deliver(plain, new byte[VirtioNetHeader.LENGTH]);
        deliver(partial, needsChecksum(false));
        deliver(superFrame, needsChecksum(true));

        List<ReceivedFrame> got = receive(3, new ArrayList<>());
        assertEquals(3, got.size(), "all three arrived");
        assertArrayEquals(plain, got.get(0).bytes());
        assertHeader(got.get(0), false, VirtioNetHeader.GSO_NONE, 0);
        assertArrayEquals(partial, got.get(1).bytes());
        assertHeader(got.get(1), true, VirtioNetHeader.GSO_NONE, 0);
        assertArrayEquals(superFrame, got.get(2).bytes(), "a GSO super-frame arrives whole");
        assertHeader(got.get(2), true, VirtioNetHeader.GSO_TCPV4, GSO_SIZE);
    }

    @Test
    void aBatchHoldsAtMostCapacityFrames() throws InterruptedException {
        int count = RxBatch.CAPACITY + 5;
        for (int i = 0; i < count; i++) {
            deliver(udp(i), new byte[VirtioNetHeader.LENGTH]);
        }
        List<Integer> batchSizes = new ArrayList<>();
        List<ReceivedFrame> got = receive(count, batchSizes);
        assertEquals(count, got.size(), "every frame arrived");
        assertTrue(batchSizes.stream().allMatch(n -> n <= RxBatch.CAPACITY), "batch sizes " + batchSizes);
        for (int i = 0; i < count; i++) {
            assertArrayEquals(udp(i), got.get(i).bytes(), "frame " + i + " in order");
        }
    }

    @Test
    void transmittedFramesLeaveInOrderOnFlushWithTheirHeaders() {
        byte[] first = udp(7);
        byte[] second = tcp(true);
        UnsafeBuffer withHeader = new UnsafeBuffer(new byte[VirtioNetHeader.LENGTH + second.length]);
        withHeader.putBytes(0, needsChecksum(true));
        withHeader.putBytes(VirtioNetHeader.LENGTH, second);

        assertTrue(port.transmit(new UnsafeBuffer(first), -1, 0, first.length));
        assertTrue(port.transmit(withHeader, 0, VirtioNetHeader.LENGTH, second.length));
        assertEquals(List.of(), leftWithoutWaiting(), "nothing leaves before flush");
        port.flush();
        assertFalse(port.flushOwed());

        List<ReceivedFrame> sent = left(2);
        assertEquals(2, sent.size(), "both left");
        assertArrayEquals(first, sent.get(0).bytes());
        assertHeader(sent.get(0), false, VirtioNetHeader.GSO_NONE, 0);
        assertArrayEquals(second, sent.get(1).bytes(), "the super-frame leaves whole, after the first");
        assertHeader(sent.get(1), true, VirtioNetHeader.GSO_TCPV4, GSO_SIZE);
    }

    @Test
    void aFullTxQueueRefusesUntilFlushed() {
        byte[] frame = udp(9);
        UnsafeBuffer f = new UnsafeBuffer(frame);
        for (int i = 0; i < TX_CAPACITY; i++) {
            assertTrue(port.transmit(f, -1, 0, frame.length), "frame " + i + " queued");
        }
        assertFalse(port.transmit(f, -1, 0, frame.length), "the queue is full");
        port.flush();
        boolean accepted = false;
        long deadline = System.nanoTime() + WAIT_NS;
        while (!accepted && System.nanoTime() < deadline) {
            accepted = port.transmit(f, -1, 0, frame.length); // a ring slot comes back once the kernel sent it
        }
        assertTrue(accepted, "the flush made room");
        port.flush();
        assertEquals(TX_CAPACITY + 1, left(TX_CAPACITY + 1).size(), "all that was accepted left");
        assertEquals(List.of(), leftWithoutWaiting(), "nothing else");
    }

    @Test
    void countsWhatItReceivesQueuesRefusesAndKicks() throws InterruptedException {
        deliver(udp(11), new byte[VirtioNetHeader.LENGTH]);
        deliver(udp(12), new byte[VirtioNetHeader.LENGTH]);
        assertEquals(2, receive(2, new ArrayList<>()).size());
        assertTrue(port.counters().get(PortCounter.RX_FRAMES) >= 2, "received frames counted (other traffic too)");
        byte[] frame = udp(13);
        UnsafeBuffer f = new UnsafeBuffer(frame);
        for (int i = 0; i < TX_CAPACITY; i++) {
            assertTrue(port.transmit(f, -1, 0, frame.length));
        }
        assertFalse(port.transmit(f, -1, 0, frame.length));
        assertEquals(TX_CAPACITY, port.counters().get(PortCounter.TX_FRAMES));
        assertEquals(1, port.counters().get(PortCounter.TX_RING_FULL));
        assertEquals(0, port.counters().get(PortCounter.TX_KICKS), "nothing kicked before the flush");
        port.flush();
        assertEquals(1, port.counters().get(PortCounter.TX_KICKS), "one kick for the whole batch");
        assertEquals(TX_CAPACITY, left(TX_CAPACITY).size());
    }

    @Test
    void aClosedPortRefusesUse() {
        port.close();
        port.close();
        assertThrows(IllegalStateException.class, () -> port.receive(new RxBatch()));
        assertThrows(IllegalStateException.class, () -> port.transmit(new UnsafeBuffer(new byte[64]), -1, 0, 64));
        assertThrows(IllegalStateException.class, port::flush);
    }
}
