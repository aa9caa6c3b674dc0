// AF_PACKET rings end to end: real frames between namespaces this test builds, received and sent through the rings.
package io.nsgate.dataplane.io;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

import org.agrona.concurrent.UnsafeBuffer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import io.nsgate.dataplane.packet.VirtioNetHeader;
import io.nsgate.dataplane.testsupport.Frames;
import io.nsgate.dataplane.testsupport.NetnsLab;
import io.nsgate.dataplane.testsupport.RequiresAfPacket;

/**
 * The lab: namespace {@code gw} (where the ports are opened, on {@code xa}, 10.1.1.1/24) and namespace {@code a}
 * (10.1.1.2/24 on {@code eth0}), joined by a veth pair. {@code a}'s stack and tools are the peer the rings talk to.
 */
@RequiresAfPacket
class AfPacketPortTest {
    private static NetnsLab lab;
    private static String gw;
    private static String a;
    private static long xaMac;
    private static long aMac;

    @BeforeAll
    static void buildLab() {
        lab = NetnsLab.create();
        gw = lab.ns("gw");
        a = lab.ns("a");
        lab.veth(gw, "xa", a, "eth0");
        lab.address(gw, "xa", "10.1.1.1/24");
        lab.address(a, "eth0", "10.1.1.2/24");
        xaMac = lab.mac(gw, "xa");
        aMac = lab.mac(a, "eth0");
    }

    @AfterAll
    static void removeLab() {
        if (lab != null) {
            lab.close();
        }
    }

    private static AfPacketPort openOnXa(AfPacketOptions options) {
        return lab.inside(gw, () -> AfPacketPort.open("xa", options));
    }

    @Test
    void framesFromThePeerArriveWithTheirBytesAndOwnOutgoingFramesDoNot() {
        try (AfPacketPort port = openOnXa(AfPacketOptions.defaults())) {
            assertEquals(xaMac, port.mac());
            NetnsLab.ip("-n", a, "neigh", "flush", "dev", "eth0");
            String payload = "nsgate-rx-" + Long.toHexString(System.nanoTime());
            lab.exec(a, NetnsLab.python(), "-c", "import socket; s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM);"
                + " s.bind(('10.1.1.2', 40001)); s.sendto(b'" + payload + "', ('10.1.1.1', 9999))");
            lab.exec(a, "ping", "-c", "2", "-i", "0.2", "-W", "1", "10.1.1.1");

            List<ReceivedFrame> others = new ArrayList<>();
            List<ReceivedFrame> udp = PortDriver.collect(port, f -> f.ipProtocol() == 17
                && f.destinationPort() == 9999, 1, 3000, others);
            assertEquals(1, udp.size(), "the UDP datagram from a");
            ReceivedFrame d = udp.get(0);
            byte[] expected = Frames.udp().srcMac(text(aMac)).dstMac(text(xaMac)).src("10.1.1.2", 40001)
                .dst("10.1.1.1", 9999).payload(payload).build();
            assertEquals(expected.length, d.length());
            // IP id, DF and the checksum are a's choice: compare addresses, ports, length and payload
            assertArrayEquals(Arrays.copyOfRange(expected, 0, 14), Arrays.copyOfRange(d.bytes(), 0, 14));
            assertArrayEquals(Arrays.copyOfRange(expected, 26, 40), Arrays.copyOfRange(d.bytes(), 26, 40));
            assertEquals(payload, new String(d.bytes(), 42, d.length() - 42, StandardCharsets.US_ASCII));
            assertEquals(VirtioNetHeader.GSO_NONE, d.gsoType());

            List<ReceivedFrame> all = new ArrayList<>(others);
            all.addAll(PortDriver.collect(port, f -> false, 1, 300, all));
            assertTrue(all.stream().anyMatch(f -> f.etherType() == 0x0806 && f.sourceMac() == aMac
                && f.destinationMac() == 0xFFFF_FFFF_FFFFL), "a's ARP request, broadcast: " + describe(all));
            long echoRequests = all.stream().filter(f -> f.ipProtocol() == 1 && f.bytes()[34] == 8).count();
            assertEquals(2, echoRequests, "a's two echo requests: " + describe(all));
            assertTrue(all.stream().noneMatch(f -> f.sourceMac() == xaMac),
                "gw's own ARP and echo replies are outgoing: PACKET_IGNORE_OUTGOING keeps them out: " + describe(all));
            assertEquals(0, port.rxTruncated());
        }
    }

    @Test
    void rxFramesSitAtTpMacWithTheVirtioHeaderJustBefore() {
        try (AfPacketPort port = openOnXa(AfPacketOptions.defaults())) {
            lab.exec(a, "ping", "-c", "1", "-W", "1", "10.1.1.1");
            RxBatch batch = new RxBatch();
            PortPoller poller = new PortPoller(port);
            long deadline = System.nanoTime() + 3_000_000_000L;
            int checked = 0;
            while (checked == 0 && System.nanoTime() < deadline) {
                int n = port.receive(batch);
                if (n == 0) {
                    poller.poll(10);
                }
                for (int i = 0; i < n; i++) {
                    int frame = batch.frameOffset[i];
                    int header = frame - 92;
                    UnsafeBuffer ring = batch.buffer;
                    assertEquals(92, ring.getShort(header + Tpacket3.MAC), "tp_mac");
                    assertEquals(106, ring.getShort(header + Tpacket3.NET), "tp_net");
                    assertEquals(batch.frameLength[i], ring.getInt(header + Tpacket3.SNAPLEN), "tp_snaplen");
                    assertEquals(batch.frameLength[i], ring.getInt(header + Tpacket3.LEN), "tp_len");
                    assertEquals(frame - VirtioNetHeader.LENGTH, batch.vnetOffset[i]);
                    assertEquals(0, header % 8, "frames are 8-byte aligned in the block");
                    checked++;
                }
            }
            assertTrue(checked > 0, "a frame arrived");
        }
    }

    @Test
    void aTransmittedPingReachesThePeersStackWhichAnswersIt() {
        try (AfPacketPort port = openOnXa(AfPacketOptions.defaults())) {
            NetnsLab.ip("-n", a, "neigh", "replace", "10.1.1.1", "lladdr", text(xaMac), "dev", "eth0");
            int id = 0x4E00 | (int) (System.nanoTime() & 0xFF);
            byte[] ping = Frames.icmpEchoRequest().srcMac(text(xaMac)).dstMac(text(aMac)).src("10.1.1.1")
                .dst("10.1.1.2").icmpId(id).icmpSeq(7).payload("through the TX ring").build();
            assertTrue(port.transmit(new UnsafeBuffer(ping), -1, 0, ping.length));
            port.flush();
            assertFalse(port.flushOwed());
            List<ReceivedFrame> replies = PortDriver.collect(port, f -> f.ipProtocol() == 1
                && f.bytes()[34] == 0 && ((f.bytes()[38] & 0xFF) << 8 | f.bytes()[39] & 0xFF) == id, 1, 3000);
            assertEquals(1, replies.size(), "a answered the echo request sent through the TX ring");
            assertEquals("through the TX ring", new String(replies.get(0).bytes(), 42, 19, StandardCharsets.US_ASCII));
            assertEquals(1, port.txFrames());
            assertEquals(1, port.kicks());
        }
    }

    static String text(long mac) {
        StringBuilder s = new StringBuilder();
        for (int shift = 40; shift >= 0; shift -= 8) {
            if (s.length() > 0) {
                s.append(':');
            }
            s.append(String.format("%02x", (mac >>> shift) & 0xFF));
        }
        return s.toString();
    }

    static String describe(List<ReceivedFrame> frames) {
        StringBuilder s = new StringBuilder(frames.size() + " frames:");
        for (ReceivedFrame f : frames) {
            s.append(String.format(" [%012x>%012x type %04x len %d]", f.sourceMac(), f.destinationMac(),
                f.etherType(), f.length()));
        }
        return s.toString();
    }
}
