package io.nsgate.dataplane.nat;

import static io.nsgate.dataplane.nat.SeedLabRules.*;
import static io.nsgate.dataplane.testsupport.Frames.ACK;
import static io.nsgate.dataplane.testsupport.Frames.SYN;
import static org.junit.jupiter.api.Assertions.*;

import java.nio.ByteBuffer;

import org.agrona.concurrent.UnsafeBuffer;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import io.nsgate.dataplane.packet.Checksums;
import io.nsgate.dataplane.packet.IpProtocol;
import io.nsgate.dataplane.packet.ParsedFrame;
import io.nsgate.dataplane.packet.VirtioNetHeader;
import io.nsgate.dataplane.stats.Counter;
import io.nsgate.dataplane.stats.DropReason;
import io.nsgate.dataplane.testsupport.Frames;
import io.nsgate.linux.net.Ipv6Address;
import io.nsgate.linux.net.Ipv6Prefix;
import io.nsgate.linux.sys.Linux;

/** The IPv6 half of the translator on the seed lab's dual-stack rules: forwards, NAT66, router duties. */
class Translator6Test {
    private Harness h = new Harness(rules());

    @AfterEach
    void close() {
        h.close();
    }

    // ---------------------------------------------------------------- frames

    /** An IPv6 TCP segment with a correct checksum. */
    static byte[] tcp6(String src, int srcPort, String dst, int dstPort, int flags, int payload) {
        byte[] l4 = Frames.concat(Frames.tcpHeader(srcPort, dstPort, flags), new byte[payload]);
        return withChecksum(Frames.ipv6(IpProtocol.TCP, src, dst, l4), 16);
    }

    static byte[] udp6(String src, int srcPort, String dst, int dstPort, int payload) {
        byte[] l4 = ByteBuffer.allocate(8 + payload).putShort((short) srcPort).putShort((short) dstPort)
            .putShort((short) (8 + payload)).putShort((short) 0).array();
        return withChecksum(Frames.ipv6(IpProtocol.UDP, src, dst, l4), 6);
    }

    static byte[] echo6(String src, String dst, int type, int id) {
        byte[] l4 = Frames.icmp6(type, 0, ByteBuffer.allocate(12).putShort((short) id).putShort((short) 1).array());
        return withChecksum(Frames.ipv6(IpProtocol.ICMPV6, src, dst, l4), 2);
    }

    private static byte[] withChecksum(byte[] frame, int fieldOffset) {
        UnsafeBuffer b = new UnsafeBuffer(frame);
        int l4 = 14 + 40;
        Ipv6Address s = Ipv6Address.fromBytes(frame, 14 + 8);
        Ipv6Address d = Ipv6Address.fromBytes(frame, 14 + 24);
        int proto = frame[14 + 6] & 0xFF;
        int sum = Checksums.l4Checksum6(b, l4, frame.length - l4, s.high(), s.low(), d.high(), d.low(), proto);
        b.putShort(l4 + fieldOffset, (short) sum, java.nio.ByteOrder.BIG_ENDIAN);
        return frame;
    }

    private static Ipv6Address src(byte[] frame) {
        return Ipv6Address.fromBytes(frame, 14 + 8);
    }

    private static Ipv6Address dst(byte[] frame) {
        return Ipv6Address.fromBytes(frame, 14 + 24);
    }

    private static int port(byte[] frame, int at) {
        return ((frame[14 + 40 + at] & 0xFF) << 8) | (frame[14 + 40 + at + 1] & 0xFF);
    }

    private int process(byte[] frame, int ingress) {
        return h.process(frame, ingress);
    }

    private void assertForwarded(int ingress, byte[] frame, int egress, String nextHop) {
        int hopLimit = frame[14 + 7] & 0xFF;
        assertEquals(Verdict.FORWARD, process(frame, ingress), () -> "forwarded, got " + h.verdict);
        assertEquals(egress, h.verdict.egressInterface);
        assertTrue(h.verdict.ipv6);
        assertEquals(Ipv6Address.parse(nextHop), new Ipv6Address(h.verdict.nextHop6High, h.verdict.nextHop6Low));
        assertEquals(hopLimit - 1, frame[14 + 7] & 0xFF, "hop limit decremented");
        h.assertChecksumsValid6(frame);
    }

    private void assertDropped(int ingress, byte[] frame, DropReason reason) {
        assertEquals(Verdict.DROP, process(frame, ingress), () -> "dropped, got " + h.verdict);
        assertEquals(reason.id, h.verdict.dropReason, () -> "drop reason " + h.verdict);
    }

    // ---------------------------------------------------------------- forwards

    @Test
    void forwardKeepsTheClientAddressAndRepliesReturnFromTheGateway() {
        byte[] syn = tcp6("fd01::3", 40000, "fd01::2", 80, SYN, 0);
        assertForwarded(LAN_IF, syn, INSIDE_IF, "fd15::2");
        assertEquals(BLUE6, dst(syn));
        assertEquals(LAN6, src(syn), "the backend sees the client's real address");
        assertEquals(80, port(syn, 2));

        byte[] synAck = tcp6("fd15::2", 80, "fd01::3", 40000, SYN | ACK, 0);
        assertForwarded(INSIDE_IF, synAck, LAN_IF, "fd01::3");
        assertEquals(GW_LAN6, src(synAck), "the reply comes from the address the client connected to");
        assertEquals(LAN6, dst(synAck));
        assertEquals(1, h.counters.get(Counter.DNAT_FLOWS));
        assertEquals(1, h.table6.table().size());
    }

    @Test
    void forwardToAnotherPortMovesThePortAndTheChecksumFollows() {
        h.rules(builder().forward(ForwardRule.parse("tcp:[fd01::2]:8080=[fd15::2]:80")).build());
        byte[] syn = tcp6("fd01::3", 40000, "fd01::2", 8080, SYN, 100);
        assertForwarded(LAN_IF, syn, INSIDE_IF, "fd15::2");
        assertEquals(80, port(syn, 2));
    }

    @Test
    void anIpv6AllowListAdmitsItsPrefixAndDropsTheRest() {
        h.rules(base().forward(ForwardRule.parse("tcp:[fd01::2]:8080=[fd15::2]:80,from=fd01::/64")).build());
        assertForwarded(LAN_IF, tcp6("fd01::3", 40000, "fd01::2", 8080, SYN, 100), INSIDE_IF, "fd15::2");
        h.rules(base().forward(ForwardRule.parse("tcp:[fd01::2]:8080=[fd15::2]:80,from=2001:db8::/32")).build());
        assertEquals(Verdict.DROP, process(tcp6("fd01::3", 40001, "fd01::2", 8080, SYN, 100), LAN_IF));
        assertEquals(DropReason.FORWARD_SOURCE_DENIED.id, h.verdict.dropReason);
        assertEquals(1, h.counters.get(DropReason.FORWARD_SOURCE_DENIED));
    }

    @Test
    void anIpv4ForwardLeavesIpv6ClientsToTheHostAndTheIpv6OneIpv4Clients() {
        h.rules(base().forward(HTTP_TO_BLUE).build());
        assertEquals(Verdict.LOCAL, process(tcp6("fd01::3", 40000, "fd01::2", 80, SYN, 0), LAN_IF));
        h.rules(base().forward(HTTP6_TO_BLUE).build());
        byte[] v4 = Frames.tcp().src(LAN, 40000).dst(GW_LAN, 80).flags(SYN).build();
        assertEquals(Verdict.LOCAL, process(v4, LAN_IF));
    }

    @Test
    void hairpinThroughTheForwardTakesTheGatewaysInsideAddress() {
        byte[] syn = tcp6("fd15::1", 40000, "fd01::2", 80, SYN, 0);
        assertForwarded(INSIDE_IF, syn, INSIDE_IF, "fd15::2");
        assertEquals(GW_INSIDE6, src(syn), "the backend answers the gateway, not red directly");
        int natPort = port(syn, 0);
        byte[] synAck = tcp6("fd15::2", 80, "fd15::5", natPort, SYN | ACK, 0);
        assertForwarded(INSIDE_IF, synAck, INSIDE_IF, "fd15::1");
        assertEquals(GW_LAN6, src(synAck));
        assertEquals(RED6, dst(synAck));
        assertEquals(40000, port(synAck, 2));
        assertEquals(1, h.counters.get(Counter.HAIRPIN_FLOWS));
    }

    // ---------------------------------------------------------------- masquerade

    @Test
    void masqueradeTakesTheLanAddressAndANatPortAndTheReplyFindsItsWayBack() {
        byte[] syn = tcp6("fd15::1", 5000, "fd01::3", 443, SYN, 0);
        assertForwarded(INSIDE_IF, syn, LAN_IF, "fd01::3");
        assertEquals(GW_LAN6, src(syn));
        int natPort = port(syn, 0);
        assertTrue(natPort >= 61000, "a NAT port: " + natPort);

        byte[] synAck = tcp6("fd01::3", 443, "fd01::2", natPort, SYN | ACK, 0);
        assertForwarded(LAN_IF, synAck, INSIDE_IF, "fd15::1");
        assertEquals(RED6, dst(synAck));
        assertEquals(5000, port(synAck, 2));
        assertEquals(1, h.counters.get(Counter.SNAT_FLOWS));
    }

    @Test
    void udpMappingsAreEndpointIndependent() {
        byte[] a = udp6("fd15::1", 5000, "fd01::3", 53, 20);
        assertForwarded(INSIDE_IF, a, LAN_IF, "fd01::3");
        byte[] b = udp6("fd15::1", 5000, "fd01::9", 53, 20);
        assertForwarded(INSIDE_IF, b, LAN_IF, "fd01::9");
        assertEquals(port(a, 0), port(b, 0), "one mapping for one inside endpoint, whatever the destination");
        assertEquals(1, h.counters.get(Counter.MAPPINGS_CREATED));
    }

    @Test
    void pingsAreMasqueradedWithTheirIdentifier() {
        byte[] request = echo6("fd15::1", "fd01::3", 128, 7);
        assertForwarded(INSIDE_IF, request, LAN_IF, "fd01::3");
        assertEquals(GW_LAN6, src(request));
        int id = port(request, 4);
        byte[] reply = echo6("fd01::3", "fd01::2", 129, id);
        assertForwarded(LAN_IF, reply, INSIDE_IF, "fd15::1");
        assertEquals(RED6, dst(reply));
        assertEquals(7, port(reply, 4));
    }

    @Test
    void aRouteThroughARouterSendsToTheRouter() {
        h.rules(builder().route6(Ipv6Prefix.parse("::/0"), "lan0", Ipv6Address.parse("fe80::1")).build());
        byte[] syn = tcp6("fd15::1", 5000, "2001:db8::7", 443, SYN, 0);
        assertForwarded(INSIDE_IF, syn, LAN_IF, "fe80::1");
        byte[] synAck = tcp6("2001:db8::7", 443, "fd01::2", port(syn, 0), SYN | ACK, 0);
        assertForwarded(LAN_IF, synAck, INSIDE_IF, "fd15::1");
    }

    // ---------------------------------------------------------------- default deny and hostile traffic

    @Test
    void nothingEntersFromTheLanUnasked() {
        assertDropped(LAN_IF, tcp6("fd01::3", 40000, "fd15::2", 80, SYN, 0), DropReason.NO_RULE);
        assertDropped(LAN_IF, udp6("fd01::3", 40000, "fd15::2", 53, 8), DropReason.NO_RULE);
        assertDropped(LAN_IF, echo6("fd01::3", "fd15::2", 128, 1), DropReason.NO_RULE);
        assertEquals(0, h.table6.table().size());
    }

    @Test
    void aReplyToNoFlowIsDroppedNotGivenToTheHost() {
        assertDropped(LAN_IF, tcp6("fd01::3", 443, "fd01::2", 61234, SYN | ACK, 0), DropReason.TCP_NO_FLOW);
    }

    @Test
    void theHostsOwnTrafficIsTheKernels() {
        assertEquals(Verdict.LOCAL, process(tcp6("fd01::3", 40000, "fd01::2", 22, SYN, 0), LAN_IF), "ssh to the host");
        assertEquals(Verdict.LOCAL, process(echo6("fd01::3", "fd01::2", 128, 1), LAN_IF), "a ping to the host");
        assertEquals(Verdict.LOCAL, process(echo6("fe80::3", "ff02::1", 128, 1), LAN_IF), "multicast");
        byte[] behindExtension = Frames.ipv6(0, "fd01::3", "fd01::2", Frames.concat(Frames.ipv6Extension(6, 0),
            Frames.tcpHeader(40000, 80, SYN)));
        assertEquals(Verdict.LOCAL, process(behindExtension, LAN_IF),
            "TCP behind an extension header to the gateway is the host's, as the guard judges it");
    }

    @Test
    void spoofedAndMartianSourcesAreRefused() {
        assertDropped(LAN_IF, tcp6("fd15::1", 40000, "fd01::2", 80, SYN, 0), DropReason.SPOOFED_SOURCE);
        assertDropped(LAN_IF, tcp6("::1", 40000, "fd01::2", 80, SYN, 0), DropReason.BAD_SOURCE_ADDRESS);
        assertDropped(LAN_IF, tcp6("fe80::3", 40000, "fd01::2", 80, SYN, 0), DropReason.BAD_SOURCE_ADDRESS);
        assertDropped(LAN_IF, tcp6("::ffff:192.168.1.3", 40000, "fd01::2", 80, SYN, 0),
            DropReason.BAD_SOURCE_ADDRESS);
        assertDropped(LAN_IF, tcp6("fd01::2", 40000, "fd01::2", 80, SYN, 0), DropReason.GATEWAY_SOURCE);
        assertDropped(INSIDE_IF, tcp6("fd01::3", 40000, "fd01::9", 80, SYN, 0), DropReason.SPOOFED_SOURCE);
    }

    @Test
    void anEstablishedFlowFromTheWrongSideIsSpoofed() {
        assertForwarded(LAN_IF, tcp6("fd01::3", 40000, "fd01::2", 80, SYN, 0), INSIDE_IF, "fd15::2");
        assertDropped(INSIDE_IF, tcp6("fd01::3", 40000, "fd01::2", 80, ACK, 0), DropReason.SPOOFED_SOURCE);
    }

    @Test
    void udpWithoutAChecksumIsDiscarded() {
        byte[] frame = udp6("fd15::1", 5000, "fd01::3", 53, 8);
        frame[14 + 40 + 6] = 0;
        frame[14 + 40 + 7] = 0;
        assertDropped(INSIDE_IF, frame, DropReason.IPV6_UDP_ZERO_CHECKSUM);
    }

    @Test
    void otherHostsFramesAndLinkMulticastAreNeverRouted() {
        byte[] frame = tcp6("fd01::3", 40000, "fd01::2", 80, SYN, 0);
        assertEquals(Verdict.DROP, h.translator.process(new UnsafeBuffer(frame), 0, frame.length, LAN_IF,
            Linux.PACKET_MULTICAST, 0, 0, 0, h.now, h.verdict));
        assertEquals(DropReason.LINK_BROADCAST.id, h.verdict.dropReason);
    }

    // ---------------------------------------------------------------- router duties

    @Test
    void hopLimitOneIsAnsweredWithTimeExceeded() {
        byte[] syn = tcp6("fd01::3", 40000, "fd01::2", 80, SYN, 0);
        syn[14 + 7] = 1;
        assertEquals(Verdict.EMIT, process(syn, LAN_IF));
        assertEquals(DropReason.TTL_EXCEEDED.id, h.verdict.dropReason);
        byte[] error = emitted();
        ParsedFrame p = h.parse(error);
        assertEquals(ParsedFrame.KIND_IPV6, p.kind);
        assertEquals(IpProtocol.ICMPV6, p.ipProto);
        assertEquals(Translator6.TIME_EXCEEDED, p.icmpType);
        assertEquals(GW_LAN6, src(error), "from the interface it came in on");
        assertEquals(LAN6, dst(error));
        assertEquals(new Ipv6Address(p.innerSrc6High, p.innerSrc6Low), LAN6, "quotes the datagram");
        h.assertChecksumsValid6(error);
        assertEquals(0, h.table6.table().size(), "no flow for a packet that went nowhere");
    }

    @Test
    void tooBigForTheEgressIsAnsweredWithPacketTooBig() {
        h.rules(builder().mtu("v-net-0", 1280).build());
        byte[] syn = tcp6("fd01::3", 40000, "fd01::2", 80, SYN, 1300);
        assertEquals(Verdict.EMIT, process(syn, LAN_IF));
        byte[] error = emitted();
        ParsedFrame p = h.parse(error);
        assertEquals(Translator6.PACKET_TOO_BIG, p.icmpType);
        assertEquals(1280, ByteBuffer.wrap(error, 14 + 40 + 4, 4).getInt(), "the MTU the client must use");
        assertTrue(error.length - 14 <= 1280, "an ICMPv6 error fits the minimum MTU: " + (error.length - 14));
        h.assertChecksumsValid6(error);
    }

    @Test
    void gsoSuperFramesAreJudgedBySegmentAndOnlyTcpv6Passes() {
        byte[] syn = tcp6("fd01::3", 40000, "fd01::2", 80, SYN, 0);
        assertEquals(Verdict.DROP, h.translator.process(new UnsafeBuffer(syn), 0, syn.length, LAN_IF,
            Linux.PACKET_HOST, 0, VirtioNetHeader.GSO_TCPV4, 1000, h.now, h.verdict));
        assertEquals(DropReason.GSO_UNSUPPORTED.id, h.verdict.dropReason);
    }

    @Test
    void neighbourAdvertisementsAnsweringUsAreLearnt() {
        byte[] na = neighbourAdvertisement("fd01::3", "fd01::2", "fd01::3", true, 0x02_00_00_00_00_03L);
        assertEquals(Verdict.ARP, process(na, LAN_IF));
        assertTrue(h.verdict.neighbour6);
        assertTrue(h.verdict.neighbourCreate, "solicited, to our address");
        assertEquals(LAN6, new Ipv6Address(h.verdict.neighbour6High, h.verdict.neighbour6Low));
        assertEquals(0x02_00_00_00_00_03L, h.verdict.neighbourMac);

        byte[] unsolicited = neighbourAdvertisement("fd01::3", "ff02::1", "fd01::3", false, 0x02_00_00_00_00_03L);
        assertEquals(Verdict.ARP, process(unsolicited, LAN_IF));
        assertTrue(h.verdict.neighbour6);
        assertFalse(h.verdict.neighbourCreate, "unsolicited: refreshes only");

        byte[] offLink = neighbourAdvertisement("fd01::3", "fd01::2", "fd15::1", true, 0x02_00_00_00_00_03L);
        assertEquals(Verdict.ARP, process(offLink, LAN_IF));
        assertFalse(h.verdict.neighbour6, "an inside address claimed from the LAN");

        byte[] router = neighbourAdvertisement("fe80::1", "fd01::2", "fe80::1", true, 0x02_00_00_00_00_01L);
        assertEquals(Verdict.ARP, process(router, LAN_IF));
        assertTrue(h.verdict.neighbour6, "a router answering for its link-local address (default routes use them)");
        assertEquals(Ipv6Address.parse("fe80::1"), new Ipv6Address(h.verdict.neighbour6High, h.verdict.neighbour6Low));

        byte[] routed = neighbourAdvertisement("fd01::3", "fd01::2", "fd01::3", true, 0x02_00_00_00_00_03L);
        routed[14 + 7] = 64;
        assertEquals(Verdict.ARP, process(routed, LAN_IF));
        assertFalse(h.verdict.neighbour6, "hop limit below 255: it was routed, RFC 4861 7.1.2");
    }

    static byte[] neighbourAdvertisement(String src, String dst, String target, boolean solicited, long mac) {
        ByteBuffer body = ByteBuffer.allocate(20 + 8);
        body.putInt(solicited ? 0x6000_0000 : 0x2000_0000).put(Ipv6Address.parse(target).toBytes());
        body.put((byte) 2).put((byte) 1).putShort((short) (mac >>> 32)).putInt((int) mac);
        byte[] frame = withChecksum(Frames.ipv6(IpProtocol.ICMPV6, src, dst,
            Frames.icmp6(136, 0, body.array())), 2);
        frame[14 + 7] = (byte) 255;
        return frame;
    }

    @Test
    void anIcmpv6ErrorAboutAMasqueradedFlowReachesTheInsideHostTranslated() {
        byte[] datagram = udp6("fd15::1", 5000, "fd01::3", 9, 12);
        assertForwarded(INSIDE_IF, datagram, LAN_IF, "fd01::3");
        int natPort = port(datagram, 0);
        // lan answers what it received (from fd01::2:natPort) with port unreachable
        byte[] quote = java.util.Arrays.copyOfRange(datagram, 14, datagram.length);
        byte[] error = withChecksum(Frames.ipv6(IpProtocol.ICMPV6, "fd01::3", "fd01::2",
            Frames.icmp6(1, 4, Frames.concat(new byte[4], quote))), 2);
        assertForwarded(LAN_IF, error, INSIDE_IF, "fd15::1");
        assertEquals(LAN6, src(error), "from lan, which sent it");
        assertEquals(RED6, dst(error));
        ParsedFrame p = h.parse(error);
        assertTrue(p.icmpError);
        assertEquals(RED6, new Ipv6Address(p.innerSrc6High, p.innerSrc6Low), "the quote is what red sent");
        assertEquals(LAN6, new Ipv6Address(p.innerDst6High, p.innerDst6Low));
        assertEquals(5000, p.innerSrcPort);
        assertEquals(9, p.innerDstPort);
        UnsafeBuffer b = new UnsafeBuffer(error);
        int quotedUdp = Checksums.fold(Checksums.sum(b, p.innerL4Offset, 8 + 12, Checksums.pseudoHeaderSum6(
            p.innerSrc6High, p.innerSrc6Low, p.innerDst6High, p.innerDst6Low, IpProtocol.UDP, 8 + 12)));
        assertEquals(0xFFFF, quotedUdp, "the quoted UDP checksum is red's again");
        assertEquals(1, h.counters.get(Counter.ICMP_ERRORS_TRANSLATED));
        assertTrue(natPort >= 61000);

        byte[] stray = withChecksum(Frames.ipv6(IpProtocol.ICMPV6, "fd01::3", "fd01::2",
            Frames.icmp6(1, 4, Frames.concat(new byte[4], java.util.Arrays.copyOfRange(
                udp6("fd01::2", 61999, "fd01::3", 9, 12), 14, 14 + 60)))), 2);
        assertEquals(Verdict.LOCAL, process(stray, LAN_IF), "about no flow: the host's own business");
    }

    @Test
    void laterFragmentsFollowTheirFirstFragmentsFlow() {
        byte[] first = Frames.ipv6(44, "fd15::1", "fd01::3", Frames.concat(Frames.ipv6Fragment(17, 0, true, 77),
            ByteBuffer.allocate(16).putShort((short) 5000).putShort((short) 53).putShort((short) 40)
                .putShort((short) 0x1234).array()));
        assertEquals(Verdict.FORWARD, process(first, INSIDE_IF), () -> "first fragment: " + h.verdict);
        byte[] second = Frames.ipv6(44, "fd15::1", "fd01::3", Frames.concat(Frames.ipv6Fragment(17, 16, false, 77),
            new byte[24]));
        assertEquals(Verdict.FORWARD, process(second, INSIDE_IF), () -> "second fragment: " + h.verdict);
        assertEquals(GW_LAN6, src(second));
        assertEquals(1, h.counters.get(Counter.FRAGMENTS_FORWARDED));
        byte[] stray = Frames.ipv6(44, "fd15::1", "fd01::3", Frames.concat(Frames.ipv6Fragment(17, 16, false, 78),
            new byte[24]));
        assertDropped(INSIDE_IF, stray, DropReason.FRAGMENT_NO_FLOW);
    }

    private byte[] emitted() {
        byte[] out = new byte[h.verdict.emitLength];
        h.verdict.emitBuffer.getBytes(0, out);
        return out;
    }

    // ---------------------------------------------------------------- IPv6 clients of IPv4 backends

    /** Room in front of a frame, as an RX ring slot has: a translated frame may grow into it. */
    private static final int HEADROOM = 64;

    /** Processes {@code frame} placed after {@link #HEADROOM} bytes; returns the buffer (the frame moves in it). */
    private byte[] processWithHeadroom(byte[] frame, int ingress, int vnetFlags, int gsoType, int gsoSize) {
        byte[] slot = new byte[HEADROOM + frame.length];
        System.arraycopy(frame, 0, slot, HEADROOM, frame.length);
        h.translator.process(new UnsafeBuffer(slot), HEADROOM, frame.length, ingress, Linux.PACKET_HOST, vnetFlags,
            gsoType, gsoSize, h.now, h.verdict);
        return slot;
    }

    /** The frame after a FORWARD verdict, from where it starts now. */
    private byte[] moved(byte[] slot, int originalLength) {
        int start = HEADROOM + h.verdict.frameShift;
        return java.util.Arrays.copyOfRange(slot, start, start + originalLength - h.verdict.frameShift);
    }

    private static final ForwardRule PUBLISH_BLUE_TO_IPV6 = ForwardRule.parse("tcp:[::]:8080=192.168.15.2:80");

    @Test
    void anIpv6ClientReachesAnIpv4BackendWhichSeesTheGatewayAndTheAnswerGoesBackAsIpv6() {
        h.rules(builder().forward(PUBLISH_BLUE_TO_IPV6).forward(ForwardRule.parse("udp:[::]:5353=192.168.15.2:53"))
            .build());
        byte[] syn = tcp6("fd01::3", 40000, "fd01::2", 8080, SYN, 10);
        byte[] slot = processWithHeadroom(syn, LAN_IF, 0, 0, 0);
        assertEquals(Verdict.FORWARD, h.verdict.action, h.verdict::toString);
        assertFalse(h.verdict.ipv6);
        assertEquals(INSIDE_IF, h.verdict.egressInterface);
        assertEquals(BLUE, h.verdict.nextHopIp);
        assertEquals(20, h.verdict.frameShift, "40 bytes of IPv6 header became 20 of IPv4");
        byte[] v4 = moved(slot, syn.length);
        ParsedFrame p = h.parse(v4);
        assertEquals(ParsedFrame.KIND_IPV4, p.kind);
        assertEquals(GW_LAN, p.srcIp, "the backend sees the gateway's IPv4 LAN address");
        assertEquals(BLUE, p.dstIp);
        assertEquals(80, p.dstPort);
        assertTrue(p.srcPort >= 61000, "a NAT port: " + p.srcPort);
        assertEquals(63, p.ttl);
        assertTrue(p.dontFragment || p.ipTotalLength <= 1260);
        h.assertChecksumsValid(v4);
        assertEquals(1, h.counters.get(Counter.TRANSLATED_FLOWS));

        byte[] synAck = Frames.tcp().src(BLUE, 80).dst(GW_LAN, p.srcPort).flags(SYN | ACK).payloadLength(30).build();
        byte[] back = processWithHeadroom(synAck, INSIDE_IF, 0, 0, 0);
        assertEquals(Verdict.FORWARD, h.verdict.action, h.verdict::toString);
        assertTrue(h.verdict.ipv6);
        assertEquals(LAN_IF, h.verdict.egressInterface);
        assertEquals(-20, h.verdict.frameShift);
        assertEquals(LAN6, new Ipv6Address(h.verdict.nextHop6High, h.verdict.nextHop6Low));
        byte[] v6 = moved(back, synAck.length);
        assertEquals(GW_LAN6, src(v6), "from the address the client connected to");
        assertEquals(LAN6, dst(v6));
        assertEquals(8080, port(v6, 0));
        assertEquals(40000, port(v6, 2));
        assertEquals(63, v6[14 + 7] & 0xFF);
        h.assertChecksumsValid6(v6);

        // a UDP answer without checksum (allowed over IPv4) gets one over IPv6, where it is mandatory
        byte[] query = udp6("fd01::3", 5000, "fd01::2", 5353, 12);
        byte[] querySlot = processWithHeadroom(query, LAN_IF, 0, 0, 0);
        ParsedFrame q = h.parse(moved(querySlot, query.length));
        byte[] answer = Frames.udp().src(BLUE, 53).dst(GW_LAN, q.srcPort).payloadLength(20).l4Checksum(0).build();
        byte[] answerSlot = processWithHeadroom(answer, INSIDE_IF, 0, 0, 0);
        assertEquals(Verdict.FORWARD, h.verdict.action, h.verdict::toString);
        h.assertChecksumsValid6(moved(answerSlot, answer.length));
    }

    @Test
    void aTranslatingForwardSpreadsClientsOverSeveralIpv4Backends() {
        h.rules(builder().forward(ForwardRule.parse("tcp:[::]:8080=192.168.15.2:80,192.168.15.3:80")).build());
        java.util.Set<Integer> backends = new java.util.HashSet<>();
        for (int i = 0; i < 16; i++) {
            byte[] syn = tcp6("fd01::" + Integer.toHexString(0x10 + i), 40000, "fd01::2", 8080, SYN, 0);
            byte[] slot = processWithHeadroom(syn, LAN_IF, 0, 0, 0);
            assertEquals(Verdict.FORWARD, h.verdict.action, h.verdict::toString);
            backends.add(h.parse(moved(slot, syn.length)).dstIp);
        }
        assertEquals(2, backends.size(), "both backends get clients");
    }

    @Test
    void aTranslatedSuperFrameCarriesAVirtioHeaderForItsNewFamily() {
        h.rules(builder().forward(PUBLISH_BLUE_TO_IPV6).build());
        byte[] syn = tcp6("fd01::3", 40000, "fd01::2", 8080, SYN, 0);
        int natPort = h.parse(moved(processWithHeadroom(syn, LAN_IF, 0, 0, 0), syn.length)).srcPort;
        byte[] synAck = Frames.tcp().src(BLUE, 80).dst(GW_LAN, natPort).flags(SYN | ACK).build();
        processWithHeadroom(synAck, INSIDE_IF, 0, 0, 0);
        assertEquals(Verdict.FORWARD, h.verdict.action, h.verdict::toString);
        byte[] data = tcp6("fd01::3", 40000, "fd01::2", 8080, ACK, 3000);
        byte[] slot = processWithHeadroom(data, LAN_IF, VirtioNetHeader.FLAG_NEEDS_CSUM, VirtioNetHeader.GSO_TCPV6,
            1440);
        assertEquals(Verdict.FORWARD, h.verdict.action, h.verdict::toString);
        VirtioNetHeader vnet = new VirtioNetHeader().wrap(new UnsafeBuffer(slot),
            HEADROOM + h.verdict.frameShift - VirtioNetHeader.LENGTH);
        assertEquals(VirtioNetHeader.GSO_TCPV4, vnet.gsoType());
        assertEquals(1440, vnet.gsoSize());
        assertEquals(14 + 20, vnet.csumStart(), "the TCP header right after the new IPv4 header");
        assertEquals(16, vnet.csumOffset());
        assertEquals(14 + 20 + 20, vnet.hdrLen());
        assertEquals(natPort, h.parse(moved(slot, data.length)).srcPort);

        byte[] ack = Frames.tcp().src(BLUE, 80).dst(GW_LAN, natPort).flags(ACK).payloadLength(3000).build();
        byte[] back = processWithHeadroom(ack, INSIDE_IF, VirtioNetHeader.FLAG_NEEDS_CSUM, VirtioNetHeader.GSO_TCPV4,
            1400);
        assertEquals(Verdict.FORWARD, h.verdict.action, h.verdict::toString);
        vnet.wrap(new UnsafeBuffer(back), HEADROOM + h.verdict.frameShift - VirtioNetHeader.LENGTH);
        assertEquals(VirtioNetHeader.GSO_TCPV6, vnet.gsoType());
        assertEquals(14 + 40, vnet.csumStart());
    }

    @Test
    void anAnswerTooBigForTheLanOnceTranslatedGetsFragmentationNeededWithRoomForTheIpv6Header() {
        h.rules(builder().forward(PUBLISH_BLUE_TO_IPV6).build());
        byte[] syn = tcp6("fd01::3", 40000, "fd01::2", 8080, SYN, 0);
        int natPort = h.parse(moved(processWithHeadroom(syn, LAN_IF, 0, 0, 0), syn.length)).srcPort;
        byte[] big = Frames.tcp().src(BLUE, 80).dst(GW_LAN, natPort).flags(SYN | ACK).dontFragment(true)
            .payloadLength(1500 - 40).build();
        processWithHeadroom(big, INSIDE_IF, 0, 0, 0);
        assertEquals(Verdict.EMIT, h.verdict.action, h.verdict::toString);
        assertEquals(DropReason.FRAGMENTATION_NEEDED.id, h.verdict.dropReason);
        byte[] error = new byte[h.verdict.emitLength];
        h.verdict.emitBuffer.getBytes(0, error);
        assertEquals(1480, ByteBuffer.wrap(error, 14 + 20 + 6, 2).getShort() & 0xFFFF, "1500 less the 20 it grows by");
    }

    @Test
    void aTranslatingForwardServesLanClientsOfInsideBackendsOnly() {
        h.rules(builder().forward(PUBLISH_BLUE_TO_IPV6).build());
        byte[] fromInside = tcp6("fd15::1", 40000, "fd01::2", 8080, SYN, 0);
        processWithHeadroom(fromInside, INSIDE_IF, 0, 0, 0);
        assertEquals(DropReason.TRANSLATION_UNSUPPORTED.id, h.verdict.dropReason,
            "a hairpinned translation could share an IPv4 flow's reply tuple");
        assertEquals(0, h.table6.table().size());
    }

    @Test
    void withoutHeadroomOrWithIpv4OptionsAnAnswerIsNotTranslated() {
        h.rules(builder().forward(PUBLISH_BLUE_TO_IPV6).build());
        byte[] syn = tcp6("fd01::3", 40000, "fd01::2", 8080, SYN, 0);
        int natPort = h.parse(moved(processWithHeadroom(syn, LAN_IF, 0, 0, 0), syn.length)).srcPort;
        assertDropped(INSIDE_IF, Frames.tcp().src(BLUE, 80).dst(GW_LAN, natPort).flags(SYN | ACK).build(),
            DropReason.TRANSLATION_UNSUPPORTED); // at offset 0: nowhere to grow
        processWithHeadroom(Frames.tcp().src(BLUE, 80).dst(GW_LAN, natPort).flags(SYN | ACK).ipOptions(new byte[4])
            .build(), INSIDE_IF, 0, 0, 0);
        assertEquals(DropReason.TRANSLATION_UNSUPPORTED.id, h.verdict.dropReason);
    }
}
