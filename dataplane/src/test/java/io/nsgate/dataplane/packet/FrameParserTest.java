// FrameParser on hand-made frames: every parser drop reason, and the well-formed oddities it must accept.
package io.nsgate.dataplane.packet;

import io.nsgate.dataplane.stats.DropReason;
import io.nsgate.dataplane.testsupport.FencedBuffer;
import io.nsgate.dataplane.testsupport.Frames;
import org.junit.jupiter.api.Test;

import java.util.Arrays;

import static io.nsgate.dataplane.testsupport.Frames.ACK;
import static io.nsgate.dataplane.testsupport.Frames.FIN;
import static io.nsgate.dataplane.testsupport.Frames.SYN;
import static io.nsgate.dataplane.testsupport.Frames.truncate;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import io.nsgate.linux.net.Ipv4Address;
import io.nsgate.linux.net.Ipv6Address;

class FrameParserTest {
    /** Frames are parsed at this offset of a larger buffer, fenced to the frame: offsets must be absolute. */
    private static final int AT = 3;

    private final FrameParser parser = new FrameParser();
    private final ParsedFrame f = new ParsedFrame();

    private int parse(final byte[] frame) {
        final byte[] array = new byte[AT + frame.length + 64];
        Arrays.fill(array, (byte) 0xA5); // bytes around the frame that must never be read
        System.arraycopy(frame, 0, array, AT, frame.length);
        final FencedBuffer buffer = new FencedBuffer(array).fence(AT, AT + frame.length);
        return parser.parse(buffer, AT, frame.length, f);
    }

    private void assertDrops(final DropReason reason, final byte[] frame) {
        assertEquals(reason, DropReason.ofId(parse(frame)), Frames.hex(frame));
    }

    private void assertAccepts(final int kind, final byte[] frame) {
        assertEquals(null, DropReason.ofId(parse(frame)), Frames.hex(frame));
        assertEquals(kind, f.kind);
        assertEquals(AT, f.frameOffset);
        assertEquals(frame.length, f.frameLength);
    }

    // --- drop reasons, in the order a frame meets them ---

    @Test
    void dropsFramesShorterThanAnEthernetHeader() {
        assertDrops(DropReason.TRUNCATED_ETHERNET, new byte[0]);
        assertDrops(DropReason.TRUNCATED_ETHERNET, truncate(Frames.tcp().build(), 13));
    }

    @Test
    void dropsAVlanTagCutShort() {
        final byte[] tagged = Frames.tcp().vlan(42).build();
        for (int length = 14; length < 18; length++) {
            assertDrops(DropReason.TRUNCATED_VLAN, truncate(tagged, length));
        }
    }

    @Test
    void dropsArpCutShort() {
        final byte[] request = Frames.arpRequest("02:00:00:00:00:01", "192.168.15.1", "192.168.15.5");
        assertDrops(DropReason.TRUNCATED_ARP, truncate(request, 14 + 7));
        assertDrops(DropReason.TRUNCATED_ARP, truncate(request, 14 + 27));
        assertAccepts(ParsedFrame.KIND_ARP, truncate(request, 14 + 28));
    }

    @Test
    void dropsIpv4HeaderCutShort() {
        assertDrops(DropReason.TRUNCATED_IPV4, truncate(Frames.tcp().build(), 14 + 19));
        assertDrops(DropReason.TRUNCATED_IPV4, truncate(Frames.tcp().vlan(7).build(), 18 + 19));
        assertDrops(DropReason.TRUNCATED_IPV4, truncate(Frames.tcp().build(), 14));
    }

    @Test
    void dropsIpv4EthertypeWithAnotherVersion() {
        assertDrops(DropReason.BAD_IP_VERSION, Frames.tcp().ipVersion(6).build());
        assertDrops(DropReason.BAD_IP_VERSION, Frames.tcp().ipVersion(0).build());
    }

    @Test
    void dropsIhlBelowFiveOrBeyondTheFrame() {
        assertDrops(DropReason.BAD_IHL, Frames.tcp().ihl(4).build());
        assertDrops(DropReason.BAD_IHL, Frames.tcp().ihl(0).build());
        assertDrops(DropReason.BAD_IHL, Frames.ipv4(99).ihl(15).payloadLength(39).build()); // 59 bytes of IP
    }

    @Test
    void dropsTotalLengthBelowTheHeaderOrBeyondTheFrame() {
        assertDrops(DropReason.BAD_TOTAL_LENGTH, Frames.tcp().ipTotalLength(19).build());
        assertDrops(DropReason.BAD_TOTAL_LENGTH, Frames.tcp().ipOptions(new byte[4]).ipTotalLength(23).build());
        final byte[] frame = Frames.tcp().payloadLength(10).build();
        assertDrops(DropReason.BAD_TOTAL_LENGTH, truncate(frame, frame.length - 1));
        assertDrops(DropReason.BAD_TOTAL_LENGTH, Frames.tcp().ipTotalLength(41).build());
    }

    @Test
    void dropsABadIpv4HeaderChecksum() {
        final byte[] good = Frames.udp().build();
        final int stored = ((good[24] & 0xFF) << 8) | (good[25] & 0xFF);
        assertDrops(DropReason.BAD_IP_CHECKSUM, Frames.udp().ipChecksum(stored ^ 1).build());
        final byte[] flipped = good.clone();
        flipped[14 + 12] ^= 0x10; // one bit of the source address
        assertDrops(DropReason.BAD_IP_CHECKSUM, flipped);
        final byte[] optionFlipped = Frames.udp().ipOptions(new byte[] {1, 1, 1, 0}).build();
        optionFlipped[14 + 21] ^= 0x01;
        assertDrops(DropReason.BAD_IP_CHECKSUM, optionFlipped);
    }

    @Test
    void dropsTcpHeaderCutShort() {
        assertDrops(DropReason.TRUNCATED_TCP, Frames.ipv4(6).payloadLength(19).build());
        assertDrops(DropReason.TRUNCATED_TCP, Frames.ipv4(6).build());
        // The datagram's length counts, not the frame's: padding does not make a header.
        assertDrops(DropReason.TRUNCATED_TCP, Frames.ipv4(6).payloadLength(8).padTo(80).build());
    }

    @Test
    void dropsTcpDataOffsetBelowFiveOrBeyondTheSegment() {
        assertDrops(DropReason.BAD_TCP_DATA_OFFSET, Frames.tcp().tcpDataOffset(4).build());
        assertDrops(DropReason.BAD_TCP_DATA_OFFSET, Frames.tcp().tcpDataOffset(0).build());
        assertDrops(DropReason.BAD_TCP_DATA_OFFSET, Frames.tcp().tcpDataOffset(6).build());
        assertDrops(DropReason.BAD_TCP_DATA_OFFSET, Frames.tcp().tcpDataOffset(15).payloadLength(39).build());
        assertAccepts(ParsedFrame.KIND_IPV4, Frames.tcp().tcpDataOffset(15).payloadLength(40).build());
    }

    @Test
    void dropsUdpHeaderCutShort() {
        assertDrops(DropReason.TRUNCATED_UDP, Frames.ipv4(17).payloadLength(7).build());
    }

    @Test
    void dropsUdpLengthBelowEightOrBeyondTheDatagram() {
        assertDrops(DropReason.BAD_UDP_LENGTH, Frames.udp().udpLength(7).build());
        assertDrops(DropReason.BAD_UDP_LENGTH, Frames.udp().udpLength(0).build());
        assertDrops(DropReason.BAD_UDP_LENGTH, Frames.udp().payloadLength(10).udpLength(19).build());
        // Padding beyond the IP total length does not count either.
        assertDrops(DropReason.BAD_UDP_LENGTH, Frames.udp().payloadLength(4).udpLength(13).padTo(60).build());
    }

    @Test
    void acceptsUdpLengthShorterThanTheDatagram() {
        assertAccepts(ParsedFrame.KIND_IPV4, Frames.udp().payloadLength(10).udpLength(12).build());
        assertEquals(18, f.l4Length, "l4Length is the IP datagram's, the UDP length field is the NAT's business");
    }

    @Test
    void dropsIcmpHeaderCutShort() {
        assertDrops(DropReason.TRUNCATED_ICMP, Frames.ipv4(1).payloadLength(7).build());
        assertDrops(DropReason.TRUNCATED_ICMP, Frames.ipv4(1).build());
    }

    @Test
    void dropsIcmpErrorsQuotingLessThanAHeaderAndEightBytes() {
        final byte[] udp = Frames.udp().payloadLength(20).build();
        assertDrops(DropReason.ICMP_ERROR_TRUNCATED, Frames.icmpPortUnreachable(udp).quoteBytes(0).build());
        assertDrops(DropReason.ICMP_ERROR_TRUNCATED, Frames.icmpPortUnreachable(udp).quoteBytes(19).build());
        assertDrops(DropReason.ICMP_ERROR_TRUNCATED, Frames.icmpPortUnreachable(udp).quoteBytes(27).build());
        assertAccepts(ParsedFrame.KIND_IPV4, Frames.icmpPortUnreachable(udp).quoteBytes(28).build());
        // With options in the quoted header, 8 bytes beyond the options.
        final byte[] withOptions = Frames.udp().ipOptions(new byte[8]).payloadLength(20).build();
        assertDrops(DropReason.ICMP_ERROR_TRUNCATED, Frames.icmpTimeExceeded(withOptions).quoteBytes(35).build());
        assertAccepts(ParsedFrame.KIND_IPV4, Frames.icmpTimeExceeded(withOptions).quoteBytes(36).build());
        assertEquals(28, f.innerIpHeaderLength);
        assertEquals(8, f.innerL4Available);
    }

    @Test
    void dropsIcmpErrorsQuotingAMalformedHeader() {
        assertDrops(DropReason.ICMP_ERROR_BAD_INNER,
            Frames.icmpPortUnreachable(Frames.udp().ipVersion(6).build()).build());
        assertDrops(DropReason.ICMP_ERROR_BAD_INNER,
            Frames.icmpPortUnreachable(Frames.udp().ihl(4).build()).build());
        assertDrops(DropReason.ICMP_ERROR_BAD_INNER,
            Frames.icmpPortUnreachable(Frames.udp().ihl(0).build()).build());
    }

    @Test
    void dropReasonsKeepTheirIds() {
        assertEquals(18, DropReason.TRUNCATED_ARP.id);
        assertEquals(1, DropReason.TRUNCATED_ETHERNET.id);
        assertEquals(14, DropReason.ICMP_ERROR_BAD_INNER.id);
    }

    // --- well-formed frames ---

    @Test
    void parsesATcpSynWithItsFlowKey() {
        assertAccepts(ParsedFrame.KIND_IPV4, Frames.tcp().src("192.168.15.2", 40000).dst("192.168.1.3", 80)
            .flags(SYN).ttl(63).ipId(0x1234).df().tos(0x10).build());
        assertEquals(0x0800, f.etherType);
        assertEquals(-1, f.vlanTci);
        assertEquals(AT + 14, f.l3Offset);
        assertEquals(20, f.ipHeaderLength);
        assertEquals(40, f.ipTotalLength);
        assertEquals(IpProtocol.TCP, f.ipProto);
        assertEquals(0xC0A80F02, f.srcIp);
        assertEquals(0xC0A80103, f.dstIp);
        assertEquals(63, f.ttl);
        assertEquals(0x1234, f.ipId);
        assertTrue(f.dontFragment);
        assertFalse(f.moreFragments);
        assertEquals(0, f.fragmentOffset);
        assertFalse(f.isFirstFragment());
        assertEquals(AT + 34, f.l4Offset);
        assertEquals(20, f.l4Length);
        assertEquals(40000, f.srcPort);
        assertEquals(80, f.dstPort);
        assertEquals(SYN, f.tcpFlags);
        assertEquals(20, f.tcpHeaderLength);
        assertEquals(-1, f.icmpType);
        assertFalse(f.icmpError);
        assertEquals(-1, f.innerL3Offset);
    }

    @Test
    void acceptsEthernetPaddingBeyondTheTotalLength() {
        assertAccepts(ParsedFrame.KIND_IPV4, Frames.tcp().flags(ACK).padTo(60).build());
        assertEquals(60, f.frameLength);
        assertEquals(40, f.ipTotalLength);
        assertEquals(20, f.l4Length);
        assertAccepts(ParsedFrame.KIND_IPV4, Frames.udp().payload("hi").padTo(60).build());
        assertEquals(10, f.l4Length);
        assertAccepts(ParsedFrame.KIND_ARP,
            Arrays.copyOf(Frames.arpRequest("02:00:00:00:00:01", "10.0.0.1", "10.0.0.2"), 60));
    }

    @Test
    void stepsOverOneVlanTag() {
        assertAccepts(ParsedFrame.KIND_IPV4, Frames.udp().vlan(0xA02A).src("10.0.0.1", 53).dst("10.0.0.2", 5353)
            .build());
        assertEquals(0xA02A, f.vlanTci);
        assertEquals(0x0800, f.etherType);
        assertEquals(AT + 18, f.l3Offset);
        assertEquals(AT + 38, f.l4Offset);
        assertEquals(53, f.srcPort);
        assertEquals(5353, f.dstPort);

        final byte[] arp = Frames.arpRequest("02:00:00:00:00:01", "10.0.0.1", "10.0.0.2");
        final byte[] taggedArp = new byte[arp.length + 4];
        System.arraycopy(arp, 0, taggedArp, 0, 12);
        taggedArp[12] = (byte) 0x81;
        taggedArp[15] = 5;
        System.arraycopy(arp, 12, taggedArp, 16, arp.length - 12);
        assertAccepts(ParsedFrame.KIND_ARP, taggedArp);
        assertEquals(5, f.vlanTci);
        assertEquals(AT + 18, f.l3Offset);
        assertEquals(Ipv4Address.parse("10.0.0.1"), f.srcIp);
        assertEquals(Ipv4Address.parse("10.0.0.2"), f.dstIp);
    }

    @Test
    void readsTheIpv6FixedHeaderAndRefusesItCutShortOrOfAnotherVersion() {
        assertAccepts(ParsedFrame.KIND_IPV6, Frames.ipv6(6, "fd01::3", "fd15::2", Frames.tcpHeader(1, 2, SYN)));
        assertEquals(0x86DD, f.etherType);
        assertEquals(14, f.l3Offset - f.frameOffset);
        assertEquals(Ipv6Address.parse("fd01::3"), new Ipv6Address(f.src6High, f.src6Low));
        assertEquals(Ipv6Address.parse("fd15::2"), new Ipv6Address(f.dst6High, f.dst6Low));
        assertDrops(DropReason.TRUNCATED_IPV6, Frames.truncate(Frames.ipv6(6, "fd01::3", "fd15::2", 20), 14 + 39));
        final byte[] ipv4Inside = Frames.tcp().build();
        ipv4Inside[12] = (byte) 0x86;
        ipv4Inside[13] = (byte) 0xDD;
        assertDrops(DropReason.BAD_IP_VERSION, ipv4Inside);
    }

    private static final String A6 = "fd01::3";
    private static final String B6 = "fd15::2";

    @Test
    void readsTcpOverIpv6() {
        assertAccepts(ParsedFrame.KIND_IPV6, Frames.ipv6(6, A6, B6, Frames.tcpHeader(40000, 80, SYN)));
        assertEquals(6, f.ipProto);
        assertEquals(40, f.ipHeaderLength);
        assertEquals(60, f.ipTotalLength);
        assertEquals(64, f.ttl);
        assertEquals(f.l3Offset + 40, f.l4Offset);
        assertEquals(20, f.l4Length);
        assertEquals(40000, f.srcPort);
        assertEquals(80, f.dstPort);
        assertEquals(SYN, f.tcpFlags);
        final byte[] padded = Arrays.copyOf(Frames.ipv6(6, A6, B6, Frames.tcpHeader(1, 2, ACK)), 14 + 60 + 6);
        assertAccepts(ParsedFrame.KIND_IPV6, padded); // Ethernet padding past the payload length is fine
        assertEquals(20, f.l4Length);
    }

    @Test
    void walksExtensionHeadersToTheUpperLayer() {
        assertAccepts(ParsedFrame.KIND_IPV6, Frames.ipv6(0, A6, B6, Frames.concat(Frames.ipv6Extension(60, 0),
            Frames.ipv6Extension(43, 1), Frames.ipv6Extension(17, 0),
            new byte[] {0x13, (byte) 0x88, 0, 53, 0, 8, 0, 0})));
        assertEquals(17, f.ipProto);
        assertEquals(40 + 8 + 16 + 8, f.ipHeaderLength);
        assertEquals(5000, f.srcPort);
        assertEquals(53, f.dstPort);

        assertDrops(DropReason.IPV6_HOP_BY_HOP_NOT_FIRST, Frames.ipv6(60, A6, B6, Frames.concat(
            Frames.ipv6Extension(0, 0), Frames.ipv6Extension(6, 0), Frames.tcpHeader(1, 2, SYN))));
        byte[] cut = Frames.ipv6(60, A6, B6, Frames.concat(Frames.ipv6Extension(6, 0), Frames.tcpHeader(1, 2, SYN)));
        cut[14 + 40 + 1] = 3; // claims 32 bytes: past the payload
        assertDrops(DropReason.IPV6_EXTENSION_TRUNCATED, cut);
        assertDrops(DropReason.IPV6_EXTENSION_TRUNCATED, Frames.ipv6(60, A6, B6, new byte[4]));

        byte[][] eight = new byte[9][];
        for (int i = 0; i < 8; i++) {
            eight[i] = Frames.ipv6Extension(i < 7 ? 60 : 6, 0);
        }
        eight[8] = Frames.tcpHeader(1, 2, SYN);
        assertAccepts(ParsedFrame.KIND_IPV6, Frames.ipv6(60, A6, B6, Frames.concat(eight)));
        assertEquals(2, f.dstPort);
        byte[][] nine = new byte[10][];
        for (int i = 0; i < 9; i++) {
            nine[i] = Frames.ipv6Extension(i < 8 ? 60 : 6, 0);
        }
        nine[9] = Frames.tcpHeader(1, 2, SYN);
        assertDrops(DropReason.IPV6_EXTENSION_CHAIN_TOO_LONG, Frames.ipv6(60, A6, B6, Frames.concat(nine)));

        assertAccepts(ParsedFrame.KIND_IPV6, Frames.ipv6(50, A6, B6, new byte[24])); // ESP: opaque
        assertEquals(50, f.ipProto);
        assertEquals(-1, f.l4Offset);
        assertAccepts(ParsedFrame.KIND_IPV6, Frames.ipv6(59, A6, B6, 0)); // no next header, no payload
    }

    @Test
    void refusesAPayloadLengthPastTheFrame() {
        byte[] frame = Frames.ipv6(6, A6, B6, Frames.tcpHeader(1, 2, SYN));
        frame[14 + 5] = 21;
        assertDrops(DropReason.IPV6_BAD_PAYLOAD_LENGTH, frame);
        frame[14 + 5] = 19;
        assertDrops(DropReason.TRUNCATED_TCP, frame); // 19 bytes of payload: less than a TCP header
    }

    @Test
    void readsFragments() {
        assertAccepts(ParsedFrame.KIND_IPV6, Frames.ipv6(44, A6, B6, Frames.concat(
            Frames.ipv6Fragment(6, 0, true, 0x01020304), Frames.tcpHeader(40000, 80, ACK), new byte[16])));
        assertTrue(f.moreFragments);
        assertEquals(0x01020304, f.ipId);
        assertEquals(80, f.dstPort);
        assertAccepts(ParsedFrame.KIND_IPV6_FRAGMENT, Frames.ipv6(44, A6, B6, Frames.concat(
            Frames.ipv6Fragment(6, 1448, false, 0x01020304), new byte[32])));
        assertEquals(1448, f.fragmentOffset);
        assertEquals(6, f.ipProto);
        assertEquals(0x01020304, f.ipId);
        assertEquals(0, f.dstPort);
        assertDrops(DropReason.FRAGMENT_TOO_LONG, Frames.ipv6(44, A6, B6, Frames.concat(
            Frames.ipv6Fragment(17, 65528, false, 7), new byte[16])));
        assertDrops(DropReason.IPV6_EXTENSION_TRUNCATED, Frames.ipv6(44, A6, B6, Frames.concat(
            Frames.ipv6Fragment(60, 0, true, 7), new byte[4]))); // a first fragment without its whole chain
    }

    @Test
    void readsIcmpv6EchoAndErrors() {
        assertAccepts(ParsedFrame.KIND_IPV6, Frames.ipv6(58, A6, B6, Frames.icmp6(128, 0,
            new byte[] {0x12, 0x34, 0, 1})));
        assertEquals(128, f.icmpType);
        assertEquals(0x1234, f.srcPort);
        assertFalse(f.icmpError);

        byte[] offending = Frames.ipv6(6, B6, "2001:db8::1", Frames.tcpHeader(40000, 443, SYN));
        byte[] quote = Arrays.copyOfRange(offending, 14, offending.length);
        assertAccepts(ParsedFrame.KIND_IPV6, Frames.ipv6(58, "fd15::5", B6, Frames.icmp6(1, 4,
            Frames.concat(new byte[4], quote))));
        assertTrue(f.icmpError);
        assertEquals(6, f.innerProto);
        assertEquals(Ipv6Address.parse(B6), new Ipv6Address(f.innerSrc6High, f.innerSrc6Low));
        assertEquals(Ipv6Address.parse("2001:db8::1"), new Ipv6Address(f.innerDst6High, f.innerDst6Low));
        assertEquals(40000, f.innerSrcPort);
        assertEquals(443, f.innerDstPort);
        assertEquals(40, f.innerIpHeaderLength);

        assertDrops(DropReason.ICMP_ERROR_TRUNCATED, Frames.ipv6(58, "fd15::5", B6, Frames.icmp6(2, 0,
            Frames.concat(new byte[] {0, 0, 5, (byte) 0xDC}, Arrays.copyOf(quote, 44)))));
        byte[] badInner = quote.clone();
        badInner[0] = 0x45;
        assertDrops(DropReason.ICMP_ERROR_BAD_INNER, Frames.ipv6(58, "fd15::5", B6, Frames.icmp6(3, 0,
            Frames.concat(new byte[4], badInner))));
    }

    @Test
    void leavesOtherEthertypesToTheKernel() {
        final byte[] lldp = Frames.tcp().build();
        lldp[12] = (byte) 0x88;
        lldp[13] = (byte) 0xCC;
        assertAccepts(ParsedFrame.KIND_OTHER, lldp);
        assertEquals(0x88CC, f.etherType);
        assertEquals(-1, f.l3Offset);

        final byte[] qinq = Frames.tcp().vlan(3).build();
        qinq[16] = (byte) 0x81; // a second tag: not stepped over
        qinq[17] = 0x00;
        assertAccepts(ParsedFrame.KIND_OTHER, qinq);
        assertEquals(0x8100, f.etherType);
        assertEquals(3, f.vlanTci);

        assertAccepts(ParsedFrame.KIND_OTHER, truncate(lldp, 14)); // nothing beyond Ethernet is read
    }

    @Test
    void leavesArpForOtherHardwareToTheKernel() {
        final byte[] arp = Frames.arpRequest("02:00:00:00:00:01", "10.0.0.1", "10.0.0.2");
        arp[15] = 6; // hardware type IEEE 802
        assertAccepts(ParsedFrame.KIND_OTHER, arp);
        assertAccepts(ParsedFrame.KIND_OTHER, truncate(arp, 14 + 8));
    }

    @Test
    void findsTheL4HeaderAfterIpOptions() {
        assertAccepts(ParsedFrame.KIND_IPV4, Frames.tcp().ipOptions(new byte[] {(byte) 0x94, 4, 0, 0}).build());
        assertEquals(24, f.ipHeaderLength);
        assertEquals(AT + 14 + 24, f.l4Offset);
        assertEquals(20, f.l4Length);
        assertEquals(40000, f.srcPort);
        assertAccepts(ParsedFrame.KIND_IPV4, Frames.udp().ipOptions(new byte[40]).build());
        assertEquals(60, f.ipHeaderLength);
        assertEquals(AT + 74, f.l4Offset);
    }

    @Test
    void leavesNonFirstFragmentsWithoutL4() {
        assertAccepts(ParsedFrame.KIND_IPV4_FRAGMENT, Frames.udp().ipId(77).fragmentOffset(1480).moreFragments()
            .payloadLength(100).build());
        assertEquals(1480, f.fragmentOffset);
        assertTrue(f.moreFragments);
        assertEquals(77, f.ipId);
        assertEquals(IpProtocol.UDP, f.ipProto);
        assertEquals(Ipv4Address.parse(Frames.DEFAULT_SRC_IP), f.srcIp);
        assertEquals(-1, f.l4Offset);
        assertEquals(0, f.srcPort);
        assertFalse(f.isFirstFragment());
        // Even a last fragment too short to hold any L4 header is fine.
        assertAccepts(ParsedFrame.KIND_IPV4_FRAGMENT, Frames.tcp().fragmentOffset(24).payloadLength(1).build());
    }

    @Test
    void dropsTcpFragmentsThatWouldOverwriteTheTcpHeaderAndFragmentsPast65535() {
        assertDrops(DropReason.FRAGMENT_OVERLAPS_HEADER, Frames.ipv4(6).fragmentOffset(8).payloadLength(40).build());
        assertDrops(DropReason.FRAGMENT_OVERLAPS_HEADER, Frames.ipv4(6).fragmentOffset(16).moreFragments()
            .payloadLength(8).build());
        assertAccepts(ParsedFrame.KIND_IPV4_FRAGMENT, Frames.ipv4(17).fragmentOffset(8).payloadLength(40).build());
        assertAccepts(ParsedFrame.KIND_IPV4_FRAGMENT, Frames.ipv4(17).fragmentOffset(65_480).payloadLength(55)
            .build());
        assertDrops(DropReason.FRAGMENT_TOO_LONG, Frames.ipv4(17).fragmentOffset(65_480).payloadLength(56).build());
        assertDrops(DropReason.FRAGMENT_TOO_LONG, Frames.ipv4(6).fragmentOffset(65_528).moreFragments()
            .payloadLength(1000).build());
    }

    @Test
    void acceptsAFirstFragmentWhoseUdpLengthCountsTheWholeDatagram() {
        assertAccepts(ParsedFrame.KIND_IPV4, Frames.udp().moreFragments().payloadLength(100).udpLength(3000)
            .build());
        assertTrue(f.isFirstFragment());
        assertEquals(108, f.l4Length);
        assertDrops(DropReason.BAD_UDP_LENGTH, Frames.udp().moreFragments().udpLength(7).build());
    }

    @Test
    void dropsAFirstFragmentTooShortForItsTcpHeader() {
        assertDrops(DropReason.TRUNCATED_TCP, Frames.ipv4(6).moreFragments().payloadLength(16).build());
    }

    @Test
    void leavesOtherIpProtocolsWithoutL4() {
        assertAccepts(ParsedFrame.KIND_IPV4, Frames.ipv4(47).payloadLength(24).build()); // GRE
        assertEquals(47, f.ipProto);
        assertEquals(-1, f.l4Offset);
        assertEquals(0, f.srcPort);
        assertEquals(0, f.dstPort);
    }

    @Test
    void keysEchoRequestsByIdentifierAsSourcePortAndRepliesAsDestinationPort() {
        assertAccepts(ParsedFrame.KIND_IPV4, Frames.icmpEchoRequest().icmpId(0xBEEF).icmpSeq(3).build());
        assertEquals(IcmpHeader.TYPE_ECHO_REQUEST, f.icmpType);
        assertEquals(0xBEEF, f.srcPort);
        assertEquals(0, f.dstPort);
        assertFalse(f.icmpError);
        assertAccepts(ParsedFrame.KIND_IPV4, Frames.icmpEchoReply().icmpId(0xBEEF).icmpSeq(3).build());
        assertEquals(IcmpHeader.TYPE_ECHO_REPLY, f.icmpType);
        assertEquals(0, f.srcPort);
        assertEquals(0xBEEF, f.dstPort);
    }

    @Test
    void leavesOtherIcmpTypesWithoutKeyOrQuote() {
        assertAccepts(ParsedFrame.KIND_IPV4, Frames.ipv4(1).payload(new byte[] {13, 0, 0, 0, 1, 2, 3, 4}).build());
        assertEquals(13, f.icmpType); // timestamp
        assertFalse(f.icmpError);
        assertEquals(0, f.srcPort);
        assertEquals(-1, f.innerL3Offset);
        final byte[] udp = Frames.udp().build();
        assertAccepts(ParsedFrame.KIND_IPV4, Frames.icmpError(5, 1, udp).build()); // redirect: not an error here
        assertFalse(f.icmpError);
        assertEquals(-1, f.innerL3Offset);
    }

    @Test
    void readsTheQuotedTcpTupleOfAnIcmpError() {
        final byte[] syn = Frames.tcp().src("192.168.1.2", 61000).dst("203.0.113.9", 443).flags(SYN).build();
        assertAccepts(ParsedFrame.KIND_IPV4, Frames.icmpFragmentationNeeded(syn, 1400).src("198.51.100.1").build());
        assertTrue(f.icmpError);
        assertEquals(IcmpHeader.TYPE_DESTINATION_UNREACHABLE, f.icmpType);
        assertEquals(IcmpHeader.CODE_FRAGMENTATION_NEEDED, f.icmpCode);
        assertEquals(Ipv4Address.parse("198.51.100.1"), f.srcIp);
        assertEquals(Ipv4Address.parse("192.168.1.2"), f.dstIp);
        assertEquals(0, f.srcPort);
        assertEquals(0, f.dstPort);
        assertEquals(AT + 34 + 8, f.innerL3Offset);
        assertEquals(20, f.innerIpHeaderLength);
        assertEquals(IpProtocol.TCP, f.innerProto);
        assertEquals(Ipv4Address.parse("192.168.1.2"), f.innerSrcIp);
        assertEquals(Ipv4Address.parse("203.0.113.9"), f.innerDstIp);
        assertEquals(61000, f.innerSrcPort);
        assertEquals(443, f.innerDstPort);
        assertEquals(f.innerL3Offset + 20, f.innerL4Offset);
        assertEquals(20, f.innerL4Available);
    }

    @Test
    void keysAQuotedEchoLikeTheEchoItself() {
        final byte[] request = Frames.icmpEchoRequest().icmpId(4242).build();
        assertAccepts(ParsedFrame.KIND_IPV4, Frames.icmpTimeExceeded(request).src("10.0.0.254").build());
        assertEquals(IpProtocol.ICMP, f.innerProto);
        assertEquals(4242, f.innerSrcPort);
        assertEquals(0, f.innerDstPort);
        final byte[] reply = Frames.icmpEchoReply().icmpId(4242).build();
        assertAccepts(ParsedFrame.KIND_IPV4, Frames.icmpError(12, 0, reply).build()); // parameter problem
        assertTrue(f.icmpError);
        assertEquals(0, f.innerSrcPort);
        assertEquals(4242, f.innerDstPort);
    }

    @Test
    void leavesPortsOfAQuotedNonFirstFragmentAtZero() {
        final byte[] fragment = Frames.udp().fragmentOffset(1480).payloadLength(64).build();
        assertAccepts(ParsedFrame.KIND_IPV4, Frames.icmpTimeExceeded(fragment).build());
        assertEquals(IpProtocol.UDP, f.innerProto);
        assertEquals(0, f.innerSrcPort);
        assertEquals(0, f.innerDstPort);
        final byte[] quotedError = Frames.icmpPortUnreachable(Frames.udp().build()).build();
        assertAccepts(ParsedFrame.KIND_IPV4, Frames.icmpTimeExceeded(quotedError).build());
        assertEquals(IpProtocol.ICMP, f.innerProto);
        assertEquals(0, f.innerSrcPort);
        assertEquals(0, f.innerDstPort);
    }

    @Test
    void leavesPortsAddressesFlagsAndL4ChecksumsToConntrack() {
        assertAccepts(ParsedFrame.KIND_IPV4, Frames.tcp().src("0.0.0.0", 0).dst("255.255.255.255", 0)
            .flags(SYN | FIN).l4Checksum(0xDEAD).build());
        assertEquals(0, f.srcPort);
        assertEquals(SYN | FIN, f.tcpFlags);
        assertAccepts(ParsedFrame.KIND_IPV4, Frames.udp().checksumPartial().build());
        assertAccepts(ParsedFrame.KIND_IPV4, Frames.udp().l4Checksum(0).build());
    }

    @Test
    void honoursTheLengthItIsGivenNotTheBuffer() {
        final byte[] frame = Frames.tcp().payloadLength(100).build();
        final FencedBuffer buffer = new FencedBuffer(frame);
        assertEquals(DropReason.BAD_TOTAL_LENGTH.id, parser.parse(buffer, 0, frame.length - 1, f));
        assertEquals(0, parser.parse(buffer, 0, frame.length, f));
    }

    @Test
    void clearsEverythingFromTheFrameBefore() {
        assertAccepts(ParsedFrame.KIND_IPV4, Frames.icmpPortUnreachable(Frames.udp().build()).vlan(9).build());
        assertAccepts(ParsedFrame.KIND_ARP, Frames.arpRequest("02:00:00:00:00:01", "10.0.0.1", "10.0.0.2"));
        assertEquals(-1, f.vlanTci);
        assertFalse(f.icmpError);
        assertEquals(-1, f.icmpType);
        assertEquals(-1, f.innerL3Offset);
        assertEquals(0, f.innerSrcPort);
        assertEquals(-1, f.l4Offset);
        assertEquals(0, f.ipProto);
    }
}
