// The PacketPort contract on AF_PACKET: a veth pair between two namespaces, the port at one end, a peer at the other.
package io.nsgate.dataplane.io;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.function.Predicate;

import org.agrona.concurrent.UnsafeBuffer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;

import io.nsgate.dataplane.packet.VirtioNetHeader;
import io.nsgate.dataplane.testsupport.RequiresAfPacket;
import io.nsgate.linux.net.MacAddress;
import io.nsgate.testkit.Commands;
import io.nsgate.testkit.NetnsLab;

/**
 * The lab: {@code p0} in namespace {@code a}, where the port under test is opened (4 TX slots of 4 KiB), and its
 * veth peer {@code p1} in namespace {@code b}, where another AfPacketPort stands for the wire: frames are delivered
 * by transmitting them there, with their virtio-net headers, and what left the port under test is what that peer
 * receives. Both namespaces have no address and IPv6 off, so nothing else crosses the pair.
 */
@RequiresAfPacket
class AfPacketPortContractTest extends PacketPortContract {
    private static final Predicate<ReceivedFrame> OURS = f -> f.sourceMac() == MacAddress.parse(SOURCE_MAC);
    private static NetnsLab lab;
    private static String a;
    private static String b;
    private AfPacketPort peer;

    @BeforeAll
    static void buildLab() {
        lab = NetnsLab.create();
        a = lab.addNamespace("a");
        b = lab.addNamespace("b");
        lab.veth(a, "p0", b, "p1");
    }

    @AfterAll
    static void removeLab() {
        if (lab != null) {
            lab.close();
        }
    }

    @Override
    protected PacketPort open() {
        peer = lab.inside(b, () -> AfPacketPort.open("p1", AfPacketOptions.defaults()));
        AfPacketOptions small = AfPacketOptions.builder().txFrameSize(4096).txFrameCount(TX_CAPACITY).build();
        return lab.inside(a, () -> AfPacketPort.open("p0", small));
    }

    @AfterEach
    void closePeer() {
        if (peer != null) {
            peer.close();
        }
    }

    @Override
    protected String expectedName() {
        return "p0";
    }

    @Override
    protected int expectedIfindex() {
        return Commands.ipJson("-n", a, "link", "show", "dev", "p0").get(0).path("ifindex").asInt();
    }

    @Override
    protected long expectedMac() {
        return MacAddress.parse(lab.mac(a, "p0"));
    }

    @Override
    protected boolean pollable() {
        return true;
    }

    @Override
    protected void deliver(byte[] frame, byte[] vnetHeader) {
        UnsafeBuffer buffer = new UnsafeBuffer(new byte[VirtioNetHeader.LENGTH + frame.length]);
        buffer.putBytes(0, vnetHeader);
        buffer.putBytes(VirtioNetHeader.LENGTH, frame);
        assertTrue(peer.transmit(buffer, 0, VirtioNetHeader.LENGTH, frame.length), "the peer queued the frame");
        peer.flush();
        assertFalse(peer.flushOwed(), "the peer sent the frame");
    }

    @Override
    protected List<ReceivedFrame> left(int count) {
        return PortDriver.collect(peer, OURS, count, 3000);
    }

    @Override
    protected List<ReceivedFrame> leftWithoutWaiting() {
        return PortDriver.collect(peer, OURS, 1, 200);
    }
}
