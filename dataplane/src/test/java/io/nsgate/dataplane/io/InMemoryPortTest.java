// What only the in-memory port does (the PacketPort contract itself is PacketPortContract): counters, test hooks.
package io.nsgate.dataplane.io;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.agrona.concurrent.UnsafeBuffer;
import org.junit.jupiter.api.Test;

import io.nsgate.dataplane.packet.VirtioNetHeader;
import io.nsgate.dataplane.stats.PortCounter;
import io.nsgate.dataplane.testsupport.Frames;
import io.nsgate.linux.net.MacAddress;

class InMemoryPortTest {
    private final InMemoryPort port = new InMemoryPort("lan0", 3, MacAddress.parse("02:00:00:00:00:03"));

    @Test
    void kernelDropsAreZeroUntilTheTestSetsThem() {
        assertEquals(0, port.counters().get(PortCounter.RX_RING_DROPS));
        assertEquals(5, port.kernelDrops(5).counters().get(PortCounter.RX_RING_DROPS));
    }

    @Test
    void queuedFramesComeOutInBatchesWithTheirHeaders() {
        byte[] syn = Frames.tcp().flags(Frames.SYN).build();
        byte[] bulk = Frames.tcp().payloadLength(30_000).checksumPartial().build();
        byte[] dns = Frames.udp().vlan(5).payload("query").checksumPartial().build();
        port.enqueue(syn)
            .enqueue(bulk, VirtioNetHeader.FLAG_NEEDS_CSUM, VirtioNetHeader.GSO_TCPV4 | VirtioNetHeader.GSO_ECN, 1448)
            .enqueue(dns, VirtioNetHeader.FLAG_NEEDS_CSUM, 0, 0);
        RxBatch batch = new RxBatch();
        assertEquals(3, port.receive(batch));
        for (int i = 0; i < 3; i++) {
            assertEquals(batch.frameOffset[i] - VirtioNetHeader.LENGTH, batch.vnetOffset[i]);
            assertEquals(4, batch.frameOffset[i] % 8, "4 past an 8-byte boundary, as in the ring");
        }
        byte[] out = new byte[batch.frameLength[1]];
        batch.buffer.getBytes(batch.frameOffset[1], out);
        assertArrayEquals(bulk, out);
        assertEquals(0, batch.vnetFlags[0]);
        assertEquals(VirtioNetHeader.GSO_TCPV4, batch.gsoType[1], "ECN bit masked, as AfPacketPort does");
        assertEquals(1448, batch.gsoSize[1]);
        VirtioNetHeader v = new VirtioNetHeader().wrap(batch.buffer, batch.vnetOffset[1]);
        assertEquals(34, v.csumStart());
        assertEquals(16, v.csumOffset());
        assertEquals(54, v.hdrLen(), "Ethernet + IPv4 + TCP headers");
        assertEquals(VirtioNetHeader.GSO_TCPV4 | VirtioNetHeader.GSO_ECN, v.gsoType(), "the header keeps ECN");
        VirtioNetHeader tagged = new VirtioNetHeader().wrap(batch.buffer, batch.vnetOffset[2]);
        assertEquals(38, tagged.csumStart(), "after the VLAN tag");
        assertEquals(6, tagged.csumOffset());
        assertEquals(0, tagged.hdrLen(), "not GSO");
        assertEquals(0, port.receive(batch));
        assertEquals(3, port.counters().get(PortCounter.RX_FRAMES));
    }

    @Test
    void aFullBatchIsExactlyCapacityFramesAndTheRestWait() {
        for (int i = 0; i < RxBatch.CAPACITY + 5; i++) {
            port.enqueue(Frames.udp().ipId(i).build());
        }
        RxBatch batch = new RxBatch();
        assertEquals(RxBatch.CAPACITY, port.receive(batch));
        assertEquals(5, port.pendingReceive());
        assertEquals(5, port.receive(batch));
    }

    @Test
    void sentFramesKeepTheirWholeVirtioNetHeader() {
        byte[] first = Frames.udp().ipId(1).build();
        byte[] second = Frames.tcp().payloadLength(3000).checksumPartial().build();
        UnsafeBuffer withHeader = new UnsafeBuffer(new byte[VirtioNetHeader.LENGTH + second.length]);
        new VirtioNetHeader().wrap(withHeader, 0).flags(VirtioNetHeader.FLAG_NEEDS_CSUM)
            .gsoType(VirtioNetHeader.GSO_TCPV4).hdrLen(54).gsoSize(1448).csumStart(34).csumOffset(16);
        withHeader.putBytes(VirtioNetHeader.LENGTH, second);
        assertTrue(port.transmit(new UnsafeBuffer(first), -1, 0, first.length));
        assertTrue(port.transmit(withHeader, 0, VirtioNetHeader.LENGTH, second.length));
        port.flush();
        InMemoryPort.Frame a = port.sent().get(0);
        InMemoryPort.Frame b = port.sent().get(1);
        assertArrayEquals(new byte[VirtioNetHeader.LENGTH], a.vnetHeader(), "no header given: zeroes");
        assertArrayEquals(second, b.bytes());
        assertEquals(VirtioNetHeader.FLAG_NEEDS_CSUM, b.vnetFlags());
        assertEquals(VirtioNetHeader.GSO_TCPV4, b.gsoType());
        assertEquals(54, b.hdrLen());
        assertEquals(1448, b.gsoSize());
        assertEquals(34, b.csumStart());
        assertEquals(16, b.csumOffset());
    }

    @Test
    void flushesKicksAndRefusalsAreCountedAndSentFramesCanBeTaken() {
        port.txCapacity(2);
        UnsafeBuffer f = new UnsafeBuffer(Frames.udp().build());
        assertTrue(port.transmit(f, -1, 0, f.capacity()));
        assertTrue(port.transmit(f, -1, 0, f.capacity()));
        assertFalse(port.transmit(f, -1, 0, f.capacity()));
        assertEquals(1, port.counters().get(PortCounter.TX_RING_FULL));
        assertEquals(2, port.queued().size());
        port.flush();
        port.flush();
        assertEquals(2, port.flushes());
        assertEquals(1, port.counters().get(PortCounter.TX_KICKS),
            "only the flush with frames queued counts as a kick");
        assertTrue(port.queued().isEmpty());
        assertEquals(2, port.counters().get(PortCounter.TX_FRAMES));
        assertEquals(2, port.takeSent().size());
        assertTrue(port.sent().isEmpty(), "taken");
    }

    @Test
    void countingOnlyKeepsNoCopies() {
        port.keepSent(false);
        UnsafeBuffer f = new UnsafeBuffer(Frames.udp().build());
        port.transmit(f, -1, 0, f.capacity());
        port.flush();
        assertTrue(port.sent().isEmpty());
        assertEquals(1, port.counters().get(PortCounter.TX_FRAMES));
        assertEquals(1, port.counters().get(PortCounter.TX_KICKS));
    }

    @Test
    void isClosedSaysWhetherItWasClosed() {
        assertFalse(port.isClosed());
        port.close();
        assertTrue(port.isClosed());
    }

    @Test
    void headersMustBeTenBytes() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
            () -> port.enqueueWithHeader(Frames.udp().build(), new byte[12]));
        assertEquals("a virtio-net header is 10 bytes, not 12", e.getMessage());
    }
}
