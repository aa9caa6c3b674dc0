// AF_PACKET rings end to end: real frames between namespaces this test builds, received and sent through the rings.
package io.nsgate.dataplane.io;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.management.ManagementFactory;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

import org.agrona.concurrent.UnsafeBuffer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

import io.nsgate.dataplane.io.AfPacketOptions.RxVersion;
import io.nsgate.dataplane.packet.VirtioNetHeader;
import io.nsgate.dataplane.packet.EthernetHeader;
import io.nsgate.dataplane.stats.PortCounter;
import io.nsgate.dataplane.testsupport.Frames;
import io.nsgate.dataplane.testsupport.RequiresAfPacket;
import io.nsgate.linux.net.Ipv4Address;
import io.nsgate.linux.net.MacAddress;
import io.nsgate.linux.sys.Errno;
import io.nsgate.linux.sys.Linux;
import io.nsgate.linux.sys.SyscallException;
import io.nsgate.testkit.Commands;
import io.nsgate.testkit.NetnsLab;
import java.util.function.IntConsumer;

/**
 * The lab: namespace {@code gw} (where the ports are opened, on {@code xa}, 10.1.1.1/24, and {@code xb},
 * 10.2.2.1/24) and namespace {@code a} (10.1.1.2/24 on {@code eth0}, 10.2.2.2/24 on {@code eth1}), joined by two veth
 * pairs. {@code a}'s stack and tools are the peer the rings talk to; {@code xb} is the quiet link that tests take
 * down and up. Tests that do not depend on the ring version run with both (V2 and V3).
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
        gw = lab.addNamespace("gw");
        a = lab.addNamespace("a");
        lab.veth(gw, "xa", a, "eth0");
        lab.veth(gw, "xb", a, "eth1");
        lab.address(gw, "xa", "10.1.1.1/24");
        lab.address(a, "eth0", "10.1.1.2/24");
        lab.address(gw, "xb", "10.2.2.1/24");
        lab.address(a, "eth1", "10.2.2.2/24");
        xaMac = MacAddress.parse(lab.mac(gw, "xa"));
        aMac = MacAddress.parse(lab.mac(a, "eth0"));
    }

    @AfterAll
    static void removeLab() {
        if (lab != null) {
            lab.close();
        }
    }

    private static AfPacketOptions.Builder options(RxVersion version) {
        return AfPacketOptions.builder().rxVersion(version);
    }

    private static AfPacketPort openOnXa(RxVersion version) {
        return openOnXa(options(version).build());
    }

    private static AfPacketPort openOnXa(AfPacketOptions options) {
        return lab.inside(gw, () -> AfPacketPort.open("xa", options));
    }

    private static AfPacketPort openOnXb(AfPacketOptions options) {
        return lab.inside(gw, () -> AfPacketPort.open("xb", options));
    }

    /** Sends {@code count} UDP datagrams of {@code size} bytes from a to gw, from each of {@code flows} ports. */
    /**
     * Receives until a batch with frames comes (3 s at most), hands each frame's index in it to {@code check} and
     * returns how many there were (0: nothing arrived). The batch stays the caller's until its next receive.
     */
    private static int checkFirstBatch(AfPacketPort port, RxBatch batch, IntConsumer check) {
        PortPoller poller = new PortPoller(port);
        long deadline = System.nanoTime() + 3_000_000_000L;
        while (System.nanoTime() < deadline) {
            int n = port.receive(batch);
            if (n > 0) {
                for (int i = 0; i < n; i++) {
                    check.accept(i);
                }
                return n;
            }
            poller.poll(10);
        }
        return 0;
    }

    private static void udpFromA(int flows, int count, int size, int dstPort) {
        lab.exec(a, Commands.python(), "-c", String.join("\n",
            "import socket",
            "for port in range(41000, 41000 + " + flows + "):",
            "    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(('10.1.1.2', port))",
            "    for i in range(" + count + "): s.sendto(b'x' * " + size + ", ('10.1.1.1', " + dstPort + "))",
            "    s.close()"));
    }

    @ParameterizedTest
    @EnumSource(RxVersion.class)
    void framesFromThePeerArriveWithTheirBytesAndOwnOutgoingFramesDoNot(RxVersion version) {
        try (AfPacketPort port = openOnXa(version)) {
            assertEquals(xaMac, port.mac());
            Commands.ip("-n", a, "neigh", "flush", "dev", "eth0");
            String payload = "nsgate-rx-" + Long.toHexString(System.nanoTime());
            lab.exec(a, Commands.python(), "-c", "import socket; s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM);"
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
            assertEquals(0, port.counters().get(PortCounter.RX_TRUNCATED));
        }
    }

    @Test
    void v3RxFramesSitAtTpMac92WithTheVirtioHeaderJustBefore() {
        try (AfPacketPort port = openOnXa(RxVersion.V3)) {
            lab.exec(a, "ping", "-c", "1", "-W", "1", "10.1.1.1");
            RxBatch batch = new RxBatch();
            int checked = checkFirstBatch(port, batch, i -> {
                int frame = batch.frameOffset[i];
                int header = frame - 92;
                UnsafeBuffer ring = batch.buffer;
                assertEquals(92, ring.getShort(header + Tpacket3.MAC), "tp_mac");
                assertEquals(106, ring.getShort(header + Tpacket3.NET), "tp_net");
                assertEquals(batch.frameLength[i], ring.getInt(header + Tpacket3.SNAPLEN), "tp_snaplen");
                assertEquals(batch.frameLength[i], ring.getInt(header + Tpacket3.LEN), "tp_len");
                assertEquals(frame - VirtioNetHeader.LENGTH, batch.vnetOffset[i]);
                assertEquals(0, header % 8, "frames are 8-byte aligned in the block");
            });
            assertTrue(checked > 0, "a frame arrived");
        }
    }

    @Test
    void v2RxFramesSitAtTpMac76AtTheStartOfTheirOwnSlotWithTheVirtioHeaderJustBefore() {
        AfPacketOptions v2 = options(RxVersion.V2).build();
        try (AfPacketPort port = openOnXa(v2)) {
            lab.exec(a, "ping", "-c", "1", "-W", "1", "10.1.1.1");
            RxBatch batch = new RxBatch();
            long now = System.currentTimeMillis() / 1000;
            int checked = checkFirstBatch(port, batch, i -> {
                int frame = batch.frameOffset[i];
                int slot = frame - Tpacket2.ETHERNET_MAC;
                UnsafeBuffer ring = batch.buffer;
                int inBlock = slot % v2.rxFrameBlockSize();
                assertTrue(inBlock % v2.rxFrameSize() == 0 && inBlock / v2.rxFrameSize() < v2.rxFramesPerBlock(),
                    "the frame header starts one of the 15 slots of a 1 MiB block: " + slot);
                assertEquals(Linux.TP_STATUS_USER, ring.getIntVolatile(slot + Tpacket2.STATUS)
                    & Linux.TP_STATUS_USER, "tp_status is the first word, ours until the next receive");
                assertEquals(76, ring.getShort(slot + Tpacket2.MAC), "tp_mac");
                assertEquals(90, ring.getShort(slot + Tpacket2.NET), "tp_net");
                assertEquals(batch.frameLength[i], ring.getInt(slot + Tpacket2.SNAPLEN), "tp_snaplen");
                assertEquals(batch.frameLength[i], ring.getInt(slot + Tpacket2.LEN), "tp_len");
                assertTrue(Math.abs(ring.getInt(slot + 16) - now) < 60, "tp_sec at 16: now");
                assertEquals(frame - VirtioNetHeader.LENGTH, batch.vnetOffset[i], "virtio-net header at 66");
                // struct sockaddr_ll right after the 32-byte header
                assertEquals(Linux.AF_PACKET, ring.getShort(slot + Tpacket2.HEADER_LENGTH), "sll_family");
                assertEquals(port.ifindex(), ring.getInt(slot + Tpacket2.HEADER_LENGTH + 4), "sll_ifindex");
                assertEquals(ring.getShort(frame + 12), ring.getShort(slot + Tpacket2.HEADER_LENGTH + 2),
                    "sll_protocol: the EtherType, network order");
            });
            assertTrue(checked > 0, "a frame arrived");
            assertEquals(0, port.receive(batch));
            assertEquals(Linux.TP_STATUS_KERNEL, batch.buffer.getIntVolatile(0), "slot 0 handed back");
        }
    }

    @Test
    void aLoneFrameIsHandedOverAtOnceByV2WhileV3HoldsItUntilItsBlockTimerFires() {
        AfPacketOptions v3 = options(RxVersion.V3).rxBlockTimeoutMs(60_000).build();
        try (AfPacketPort blocks = openOnXb(v3); AfPacketPort slots = openOnXb(options(RxVersion.V2).build())) {
            PortDriver.drain(blocks);
            PortDriver.drain(slots);
            int port = 30_000 + (int) (System.nanoTime() & 0x3FFF);
            byte[] lone = Frames.udp().srcMac(lab.mac(a, "eth1")).dstMac(lab.mac(gw, "xb"))
                .src("10.2.2.2", 7).dst("10.2.2.1", port).payload("a lone frame").build();
            lab.exec(a, Commands.python(), "-c", "import socket, sys; s = socket.socket(socket.AF_PACKET,"
                + " socket.SOCK_RAW); s.bind(('eth1', 0)); s.send(bytes.fromhex(sys.argv[1]))", Frames.hex(lone));

            RxBatch batch = new RxBatch();
            int atOnce = 0;
            int n = slots.receive(batch);
            for (int i = 0; i < n; i++) {
                atOnce += ReceivedFrame.copy(batch, i).destinationPort() == port ? 1 : 0;
            }
            final boolean immediately = atOnce == 1;
            if (atOnce == 0) {
                atOnce = PortDriver.collect(slots, f -> f.ipProtocol() == 17 && f.destinationPort() == port, 1,
                    5000).size();
                assertEquals(1, atOnce, "V2 handed the frame over without any timer");
            }
            PortPoller poller = new PortPoller(blocks);
            assertEquals(0, poller.poll(300), "V3 hands over no block: not full, and its timer has 60 s to run");
            assertEquals(0, blocks.receive(batch));
            System.out.printf("lone frame: V2 had it %s the sender returned; V3 (60 s block timer) still held it 300"
                + " ms later%n", immediately ? "as soon as" : "after a poll() once");
        }
    }

    @ParameterizedTest
    @EnumSource(RxVersion.class)
    void aTransmittedPingReachesThePeersStackWhichAnswersIt(RxVersion version) {
        try (AfPacketPort port = openOnXa(version)) {
            Commands.ip("-n", a, "neigh", "replace", "10.1.1.1", "lladdr", text(xaMac), "dev", "eth0");
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
            assertEquals(1, port.counters().get(PortCounter.TX_FRAMES));
            assertEquals(1, port.counters().get(PortCounter.TX_KICKS));
        }
    }

    @ParameterizedTest
    @EnumSource(RxVersion.class)
    void aFanoutGroupKeepsEachFlowOnOnePortAndSpreadsFlowsOverItsMembers(RxVersion version) {
        AfPacketOptions grouped = options(version).fanoutGroup(0x4E47).build();
        try (AfPacketPort p0 = openOnXa(grouped); AfPacketPort p1 = openOnXa(grouped)) {
            udpFromA(64, 5, 16, 9998);
            AfPacketPort[] ports = {p0, p1};
            PortPoller poller = new PortPoller(p0, p1);
            RxBatch batch = new RxBatch();
            Map<Integer, Set<Integer>> portsOfFlow = new HashMap<>();
            int[] perPort = new int[2];
            List<ReceivedFrame> outgoing = new ArrayList<>();
            int datagrams = 0;
            long deadline = System.nanoTime() + 5_000_000_000L;
            while (datagrams < 320 && System.nanoTime() < deadline) {
                int got = 0;
                for (int p = 0; p < 2; p++) {
                    int n = ports[p].receive(batch);
                    got += n;
                    for (int i = 0; i < n; i++) {
                        ReceivedFrame f = ReceivedFrame.copy(batch, i);
                        if (f.sourceMac() == xaMac) {
                            outgoing.add(f);
                        } else if (f.ipProtocol() == 17 && f.destinationPort() == 9998) {
                            portsOfFlow.computeIfAbsent(f.sourcePort(), k -> new HashSet<>()).add(p);
                            perPort[p]++;
                            datagrams++;
                        }
                    }
                }
                if (got == 0) {
                    poller.poll(5);
                }
            }
            assertEquals(320, datagrams, "every datagram reached exactly one member");
            assertEquals(64, portsOfFlow.size());
            portsOfFlow.forEach((flow, members) -> assertEquals(1, members.size(), "flow from port " + flow
                + " landed on ports " + members));
            assertTrue(perPort[0] > 0 && perPort[1] > 0, "both members got flows: " + Arrays.toString(perPort));
            assertTrue(outgoing.isEmpty(), "gw's own ICMP port unreachables and ARP replies stay out of a fanout"
                + " group too (PACKET_FANOUT_FLAG_IGNORE_OUTGOING): " + describe(outgoing));
        }
    }

    @ParameterizedTest
    @EnumSource(RxVersion.class)
    void aSteeredGroupSendsBareSynsToTheFlowsWorkersOpeningPortAndTheRestToItsEstablishedPort(RxVersion version)
        throws Exception {
        int workers = 2;
        AfPacketOptions steered = options(version).steeredFanoutGroup(0x4E50 + version.ordinal(), workers).build();
        // joined in the order the program counts: worker 0 established, worker 0 opening, worker 1 ...
        AfPacketPort[] members = new AfPacketPort[2 * workers];
        try (AfPacketPort sender = lab.inside(a, () -> AfPacketPort.open("eth0", AfPacketOptions.defaults()))) {
            for (int m = 0; m < members.length; m++) {
                members[m] = openOnXa(steered);
            }
            List<byte[]> sent = new ArrayList<>();
            List<Integer> expected = new ArrayList<>();
            for (int i = 0; i < 48; i++) {
                int sport = 20000 + i * 7;
                int flags = i % 3 == 0 ? Frames.SYN : i % 3 == 1 ? Frames.ACK : Frames.SYN | Frames.ACK;
                sent.add(Frames.tcp().srcMac(text(aMac)).dstMac(text(xaMac)).src("10.1.1.2", sport)
                    .dst("10.1.1.1", 9).flags(flags).build());
                expected.add(FanoutSteering.member(workers, 6, Ipv4Address.parse("10.1.1.2"),
                    Ipv4Address.parse("10.1.1.1"), sport, 9, flags, false));
            }
            for (int i = 0; i < 8; i++) {
                int sport = 30000 + i;
                sent.add(Frames.udp().srcMac(text(aMac)).dstMac(text(xaMac)).src("10.1.1.2", sport)
                    .dst("10.1.1.1", 9).payload("u").build());
                expected.add(FanoutSteering.member(workers, 17, Ipv4Address.parse("10.1.1.2"),
                    Ipv4Address.parse("10.1.1.1"), sport, 9, 0, false));
            }
            sent.add(Frames.udp().srcMac(text(aMac)).dstMac(text(xaMac)).src("10.1.1.2", 40000)
                .dst("10.1.1.1", 9).moreFragments().payload("first piece").build());
            expected.add(FanoutSteering.member(workers, 17, Ipv4Address.parse("10.1.1.2"),
                Ipv4Address.parse("10.1.1.1"), 0, 0, 0, true));
            for (byte[] f : sent) {
                assertTrue(sender.transmit(new UnsafeBuffer(f), -1, 0, f.length));
                sender.flush();
            }
            Map<Integer, Integer> memberOfSport = new HashMap<>();
            PortPoller poller = new PortPoller(members);
            RxBatch batch = new RxBatch();
            long deadline = System.nanoTime() + 5_000_000_000L;
            while (memberOfSport.size() < sent.size() && System.nanoTime() < deadline) {
                int got = 0;
                for (int m = 0; m < members.length; m++) {
                    int n = members[m].receive(batch);
                    got += n;
                    for (int i = 0; i < n; i++) {
                        ReceivedFrame f = ReceivedFrame.copy(batch, i);
                        if (f.sourceMac() == aMac && f.destinationPort() == 9 || f.sourcePort() == 40000) {
                            memberOfSport.put(f.sourcePort(), m);
                        }
                    }
                }
                if (got == 0) {
                    poller.poll(5);
                }
            }
            int[] perMember = new int[members.length];
            for (int i = 0; i < sent.size(); i++) {
                int sport = i < 48 ? 20000 + i * 7 : i < 56 ? 30000 + i - 48 : 40000;
                assertEquals(expected.get(i), memberOfSport.get(sport), "frame " + i + " (source port " + sport + ")");
                // independent of the Java model of the program: bare SYNs (every third TCP frame) on an opening
                // socket (odd members), everything else on an established one
                boolean bareSyn = i < 48 && i % 3 == 0;
                assertEquals(bareSyn, memberOfSport.get(sport) % 2 == 1, "frame " + i + ": opening ring iff bare SYN");
                perMember[expected.get(i)]++;
            }
            assertTrue(perMember[1] > 0 && perMember[3] > 0 && perMember[0] > 0 && perMember[2] > 0,
                "every member had frames: " + Arrays.toString(perMember));
        } finally {
            for (AfPacketPort m : members) {
                if (m != null) {
                    m.close();
                }
            }
        }
    }

    @ParameterizedTest
    @EnumSource(RxVersion.class)
    void framesSentInPlaceFromTheReceiveRingReachThePeerWithoutTouchingTheTransmitRing(RxVersion version) {
        AfPacketOptions small = options(version).rxFrameCount(120).txFrameSize(4096).txFrameCount(4).build();
        try (AfPacketPort port = openOnXa(options(version).inPlaceSend(true).build());
             AfPacketPort watcher = lab.inside(a, () -> AfPacketPort.open("eth0", small))) {
            assertFalse(port.sendInPlace(new UnsafeBuffer(new byte[128]), 0, 10, 100), "a frame on the Java heap");
            udpFromA(1, 20, 200, 9997);
            PortPoller poller = new PortPoller(port);
            RxBatch batch = new RxBatch();
            int echoed = 0;
            long deadline = System.nanoTime() + 5_000_000_000L;
            while (echoed < 20 && System.nanoTime() < deadline) {
                int n = port.receive(batch);
                for (int i = 0; i < n; i++) {
                    int frame = batch.frameOffset[i];
                    ReceivedFrame f = ReceivedFrame.copy(batch, i);
                    if (f.ipProtocol() == 17 && f.destinationPort() == 9997) {
                        // back to a, from where it lies in the ring
                        EthernetHeader.putMac(batch.buffer, frame + EthernetHeader.DESTINATION_MAC_OFFSET, aMac);
                        EthernetHeader.putMac(batch.buffer, frame + EthernetHeader.SOURCE_MAC_OFFSET, xaMac);
                        assertTrue(port.sendInPlace(batch.buffer, batch.vnetOffset[i], frame, batch.frameLength[i]));
                        echoed++;
                    }
                }
                port.flushInPlace(); // before the next receive hands the slots back
                if (n == 0) {
                    poller.poll(5);
                }
            }
            assertEquals(20, echoed);
            assertEquals(0, port.inPlaceQueued());
            assertEquals(20, port.counters().get(PortCounter.TX_IN_PLACE));
            assertEquals(0, port.counters().get(PortCounter.TX_FRAMES), "nothing copied into the transmit ring");
            // on a's side, only the echoes come from gw's MAC with UDP to 9997 (gw's kernel answers a's datagrams
            // with ICMP port unreachables, which must not count)
            int arrived = 0;
            PortPoller watch = new PortPoller(watcher);
            RxBatch seen = new RxBatch();
            long until = System.nanoTime() + 3_000_000_000L;
            while (arrived < 20 && System.nanoTime() < until) {
                int n = watcher.receive(seen);
                for (int i = 0; i < n; i++) {
                    ReceivedFrame f = ReceivedFrame.copy(seen, i);
                    if (f.sourceMac() == xaMac && f.ipProtocol() == 17 && f.destinationPort() == 9997
                        && f.length() == 14 + 20 + 8 + 200) {
                        arrived++;
                    }
                }
                if (n == 0) {
                    watch.poll(5);
                }
            }
            assertEquals(20, arrived, "a received the 20 frames sent back in place, whole");
        }
    }

    @ParameterizedTest
    @EnumSource(RxVersion.class)
    void aFanoutGroupIsTiedToOneInterface(RxVersion version) {
        AfPacketOptions grouped = options(version).fanoutGroup(0x4E48 + version.ordinal()).build();
        try (AfPacketPort p0 = openOnXa(grouped)) {
            SyscallException e = assertThrows(SyscallException.class, () -> openOnXb(grouped));
            assertEquals("EINVAL", e.errnoName());
            assertTrue(e.getMessage().startsWith("setsockopt(PACKET_FANOUT group " + grouped.fanoutGroup()
                + ", xb): EINVAL"), e.getMessage());
            assertTrue(e.getMessage().contains("every member must open the same interface"), e.getMessage());
        }
    }

    @ParameterizedTest
    @EnumSource(RxVersion.class)
    void transmitSaysFullWhenEverySlotIsTakenAndRecoversAfterAFlush(RxVersion version) {
        AfPacketOptions tiny = options(version).txFrameSize(4096).txFrameCount(4).build();
        try (AfPacketPort port = openOnXa(tiny)) {
            byte[] f = Frames.udp().srcMac(text(xaMac)).dstMac(text(aMac)).src("10.1.1.1", 7).dst("10.1.1.2", 9)
                .payload("ring full").build();
            UnsafeBuffer frame = new UnsafeBuffer(f);
            for (int i = 0; i < 4; i++) {
                assertTrue(port.transmit(frame, -1, 0, f.length), "slot " + i);
            }
            assertFalse(port.transmit(frame, -1, 0, f.length), "all 4 slots hold send requests");
            assertEquals(1, port.counters().get(PortCounter.TX_RING_FULL));
            port.flush();
            long deadline = System.nanoTime() + 2_000_000_000L;
            boolean accepted = false;
            while (!accepted && System.nanoTime() < deadline) {
                accepted = port.transmit(frame, -1, 0, f.length);
            }
            assertTrue(accepted, "a slot came back once the kernel had sent its frame");
            assertFalse(port.flushOwed());
            assertEquals(1, port.counters().get(PortCounter.TX_KICKS));
            assertEquals(5, port.counters().get(PortCounter.TX_FRAMES));
            assertEquals(4096 - (version == RxVersion.V2 ? 42 : 58), port.maxTransmitLength());
            assertTrue(port.transmit(new UnsafeBuffer(new byte[4096]), -1, 0, port.maxTransmitLength() + 1),
                "too long: dropped");
            assertEquals(1, port.counters().get(PortCounter.TX_REJECTED));
        }
    }

    @ParameterizedTest
    @EnumSource(RxVersion.class)
    void whenTheRingIsNotReadTheKernelDropsAndCountsTheDrops(RxVersion version) {
        // V3: a block timer far longer than the test, so blocks are handed over only when full; with a short one the
        // kernel could retire a block after a few frames whenever the sender paused, and the count below would vary
        AfPacketOptions small = options(version).rxBlockSize(128 * 1024).rxBlockCount(2).rxBlockTimeoutMs(60_000)
            .rxFrameSize(512 * 1024).rxFrameCount(8).build();
        try (AfPacketPort port = openOnXa(small)) {
            udpFromA(1, 2000, 1000, 9997); // ~2 MB at the ring, which holds 256 KiB (V3) or 8 frames (V2)
            long drops = PortDriver.ringDrops(port);
            assertTrue(drops > 1000, "drops " + drops);
            int received = PortDriver.drain(port);
            if (version == RxVersion.V3) {
                assertTrue(PortDriver.ringFreezes(port) > 0, "the kernel froze the ring on the block we held");
                // a 1000-byte datagram takes about 1.1 KB of a block (headers, alignment): two full 128 KiB blocks
                // hold about 230 of them
                assertTrue(received >= 180 && received <= 260, "two full blocks' worth arrived: " + received);
            } else {
                assertEquals(0, PortDriver.ringFreezes(port), "V2 has no blocks to freeze on: it drops frame by frame");
                assertTrue(received >= 8 && received <= 16, "the 8 slots' worth arrived: " + received);
            }
            assertTrue(PortDriver.ringDrops(port) >= drops, "summed across reads, not reset");
            assertTrue(port.kernelPackets() >= 2000, "tp_packets counts the dropped ones too: "
                + port.kernelPackets());
        }
    }

    @Test
    void openingAMissingInterfaceNamesTheInterfaceAndTheErrno() {
        SyscallException e = assertThrows(SyscallException.class,
            () -> lab.inside(gw, () -> AfPacketPort.open("nosuch0", AfPacketOptions.defaults())));
        assertEquals("ioctl", e.syscall());
        assertEquals(Errno.ENODEV, e.errno());
        assertEquals("ioctl(SIOCGIFINDEX, nosuch0): ENODEV (No such device); no interface nosuch0 in this thread's"
            + " network namespace: open the port on a thread inside the interface's namespace", e.getMessage());
    }

    @Test
    void badNamesAndOptionsAreRefusedNamingWhatIsWrong() {
        IllegalArgumentException name = assertThrows(IllegalArgumentException.class,
            () -> lab.inside(gw, () -> AfPacketPort.open("a-much-too-long-name", AfPacketOptions.defaults())));
        assertEquals("interface name \"a-much-too-long-name\" is 20 characters long: Linux allows at most 15",
            name.getMessage());
        IllegalArgumentException option = assertThrows(IllegalArgumentException.class,
            () -> AfPacketOptions.builder().rxBlockSize(64 * 1024).build());
        assertTrue(option.getMessage().startsWith("rxBlockSize 65536: must be"), option.getMessage());
    }

    @ParameterizedTest
    @EnumSource(RxVersion.class)
    void closeReleasesTheSocketOnceAndAClosedPortRefusesUse(RxVersion version) {
        int before = lab.exec(gw, "cat", "/proc/net/packet").split("\n").length;
        AfPacketPort port = openOnXa(version);
        int sockets = port.options().inPlaceSend() ? 2 : 1; // the ring socket, and the one that sends in place
        assertEquals(before + sockets, lab.exec(gw, "cat", "/proc/net/packet").split("\n").length);
        port.close();
        port.close();
        assertTrue(port.isClosed());
        assertEquals(before, lab.exec(gw, "cat", "/proc/net/packet").split("\n").length);
        assertThrows(IllegalStateException.class, () -> port.receive(new RxBatch()));
        assertThrows(IllegalStateException.class, () -> port.transmit(new UnsafeBuffer(new byte[64]), -1, 0, 64));
        assertThrows(IllegalStateException.class, port::flush);
        assertThrows(IllegalStateException.class, () -> port.sendInPlace(new UnsafeBuffer(new byte[64]), 0, 10, 54));
        assertThrows(IllegalStateException.class, port::flushInPlace);
    }

    @ParameterizedTest
    @EnumSource(RxVersion.class)
    void taggedFramesArriveAsTheyWereSentThoughTheKernelTookTheirTagOut(RxVersion version) {
        // The receive path moves any 802.1Q/802.1ad tag into skb->vlan_tci before packet taps see the frame
        // (__netif_receive_skb_core calls skb_vlan_untag first), so every tagged frame reaches the ring untagged
        // with TP_STATUS_VLAN_VALID; the port puts the tag back.
        try (AfPacketPort port = openOnXa(version)) {
            byte[] q = Frames.udp().vlan(0x2005).srcMac(text(aMac)).dstMac(text(xaMac)).src("10.5.5.2", 5)
                .dst("10.5.5.1", 6).payload("tagged 802.1Q").build();
            byte[] ad = q.clone();
            ad[12] = (byte) 0x88;
            ad[13] = (byte) 0xA8;
            for (byte[] sent : List.of(q, ad)) {
                lab.exec(a, Commands.python(), "-c", "import socket, sys; s = socket.socket(socket.AF_PACKET,"
                    + " socket.SOCK_RAW); s.bind(('eth0', 0)); s.send(bytes.fromhex(sys.argv[1]))", Frames.hex(sent));
                List<ReceivedFrame> got = PortDriver.collect(port, f -> f.sourceMac() == aMac
                    && (f.etherType() == 0x8100 || f.etherType() == 0x88A8), 1, 3000);
                assertEquals(1, got.size(), "the tagged frame arrived");
                assertEquals(Frames.hex(sent), Frames.hex(got.get(0).bytes()), "byte for byte, tag included");
            }
            assertEquals(2, port.counters().get(PortCounter.RX_VLAN_RESTORED));
        }
    }

    @ParameterizedTest
    @EnumSource(RxVersion.class)
    void thePollerWaitsOutItsTimeoutWhenIdleAndWakesForTraffic(RxVersion version) {
        try (AfPacketPort port = openOnXb(options(version).build())) {
            PortDriver.drain(port);
            PortPoller poller = new PortPoller(port);
            long t0 = System.nanoTime();
            assertEquals(0, poller.poll(100));
            long idleMs = (System.nanoTime() - t0) / 1_000_000;
            assertTrue(idleMs >= 90, "waited " + idleMs + " ms");
            assertFalse(poller.readable(0));

            Process ping = lab.start(a, "ping", "-c", "1", "-W", "1", "10.2.2.1");
            t0 = System.nanoTime();
            assertEquals(1, poller.poll(3000));
            long wakeMs = (System.nanoTime() - t0) / 1_000_000;
            assertTrue(poller.readable(0));
            assertTrue(wakeMs < 1000, "woke after " + wakeMs + " ms");
            assertTrue(port.receive(new RxBatch()) > 0);
            lab.await(ping, Duration.ofSeconds(5));
        }
    }

    @ParameterizedTest
    @EnumSource(RxVersion.class)
    void anInterfaceGoingDownIsReportedOnceAndQueuedFramesWaitForItToComeBack(RxVersion version) {
        try (AfPacketPort port = openOnXb(options(version).build())) {
            PortPoller poller = new PortPoller(port);
            Commands.ip("-n", gw, "link", "set", "xb", "down");
            assertEquals(1, poller.poll(1000));
            assertEquals(Errno.ENETDOWN, poller.lastError(0));
            long t0 = System.nanoTime();
            assertEquals(0, poller.poll(100), "the error was read: poll() does not return at once again");
            assertTrue((System.nanoTime() - t0) / 1_000_000 >= 90);

            byte[] f = Frames.udp().srcMac(text(xaMac)).dstMac(text(aMac)).payload("after the outage").build();
            assertTrue(port.transmit(new UnsafeBuffer(f), -1, 0, f.length));
            port.flush();
            assertEquals(1, port.counters().get(PortCounter.TX_KICK_FAILURES));
            assertEquals(Errno.ENETDOWN, port.lastKickErrno());
            assertTrue(port.flushOwed(), "the frame is still queued");

            Commands.ip("-n", gw, "link", "set", "xb", "up");
            port.flush();
            assertFalse(port.flushOwed(), "sent once the link was back");
            assertEquals(2, port.counters().get(PortCounter.TX_KICKS));
        } finally {
            Commands.ip("-n", gw, "link", "set", "xb", "up");
        }
    }

    @ParameterizedTest
    @EnumSource(RxVersion.class)
    void receiveTransmitAndFlushAllocateNothingInASteadyLoop(RxVersion version) {
        com.sun.management.ThreadMXBean threads =
            (com.sun.management.ThreadMXBean) ManagementFactory.getThreadMXBean();
        try (AfPacketPort port = openOnXa(version)) {
            Process blaster = lab.start(a, Commands.python(), "-c", String.join("\n",
                "import socket, time",
                "s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); end = time.time() + 4",
                "while time.time() < end:",
                "    for i in range(1000): s.sendto(b'y' * 64, ('10.1.1.1', 9996))"));
            PortPoller poller = new PortPoller(port);
            RxBatch batch = new RxBatch();
            echo(port, poller, batch, 1_500_000_000L); // warm-up: the JIT compiles the loop
            long before = threads.getCurrentThreadAllocatedBytes();
            long start = System.nanoTime();
            long frames = echo(port, poller, batch, 1_500_000_000L);
            double seconds = (System.nanoTime() - start) / 1e9;
            long allocated = threads.getCurrentThreadAllocatedBytes() - before;
            System.out.printf("echo loop (" + version + "): %d frames received and transmitted in %.2f s"
                + " (%.0f frames/s), %d kicks, %d bytes allocated%n", frames, seconds, frames / seconds,
                port.counters().get(PortCounter.TX_KICKS),
                allocated);
            assertTrue(frames > 10_000, "frames " + frames);
            assertTrue(allocated < 1024, allocated + " bytes allocated over " + frames + " frames");
            lab.await(blaster, Duration.ofSeconds(10));
        }
    }

    /** Receives and transmits every frame back out of the same port (a drops them: wrong MAC), for a while. */
    private static long echo(AfPacketPort port, PortPoller poller, RxBatch batch, long durationNs) {
        long frames = 0;
        long end = System.nanoTime() + durationNs;
        while (System.nanoTime() < end) {
            int n = port.receive(batch);
            for (int i = 0; i < n; i++) {
                port.transmit(batch.buffer, batch.vnetOffset[i], batch.frameOffset[i], batch.frameLength[i]);
            }
            port.flush();
            frames += n;
            if (n == 0) {
                poller.poll(1);
            }
        }
        return frames;
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
