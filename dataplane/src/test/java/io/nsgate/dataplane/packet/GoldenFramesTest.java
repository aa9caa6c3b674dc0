// Parses every frame captured from real kernel traffic (golden/*.pcap) field by field and verifies its checksums.
package io.nsgate.dataplane.packet;

import io.nsgate.dataplane.stats.DropReason;
import io.nsgate.dataplane.testsupport.FencedBuffer;
import io.nsgate.dataplane.testsupport.PcapReader;
import org.agrona.concurrent.UnsafeBuffer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import io.nsgate.linux.net.Ipv4Address;
import io.nsgate.linux.net.MacAddress;

/**
 * The fixtures come from {@code golden/capture.sh}: namespace a (10.77.1.1, 02:00:00:77:01:01) talks to b
 * (10.77.1.2, 02:00:00:77:01:02), which also routes to c (10.77.2.1 and 10.77.2.3) over a 1280-byte link. Values
 * the kernel picks at random (ephemeral ports, echo ids, sequence numbers) are read from the fixture itself, so a
 * re-capture keeps these tests valid. Each frame is parsed at offset 7 of a larger buffer fenced to the frame.
 */
class GoldenFramesTest {
    private static final int A = Ipv4Address.parse("10.77.1.1");
    private static final int B = Ipv4Address.parse("10.77.1.2");
    private static final int C = Ipv4Address.parse("10.77.2.1");
    private static final int C2 = Ipv4Address.parse("10.77.2.3");
    private static final long MAC_A = MacAddress.parse("02:00:00:77:01:01");
    private static final long MAC_B = MacAddress.parse("02:00:00:77:01:02");
    private static final int FRAME_OFFSET = 7;

    private final FrameParser parser = new FrameParser();
    private final EthernetHeader ethernet = new EthernetHeader();
    private final ArpPacket arp = new ArpPacket();
    private final Ipv4Header ipv4 = new Ipv4Header();
    private final TcpHeader tcp = new TcpHeader();
    private final UdpHeader udp = new UdpHeader();
    private final IcmpHeader icmp = new IcmpHeader();

    /** One parsed golden frame: its buffer (frame at FRAME_OFFSET) and what the parser said. */
    private record Parsed(byte[] frame, UnsafeBuffer buffer, ParsedFrame info) {
    }

    private List<Parsed> parseAll(final String fixture) {
        final List<Parsed> result = new ArrayList<>();
        final List<byte[]> frames = PcapReader.readResource("golden/" + fixture);
        assertFalse(frames.isEmpty(), fixture + " holds no frame");
        for (int i = 0; i < frames.size(); i++) {
            final byte[] frame = frames.get(i);
            final byte[] array = new byte[frame.length + FRAME_OFFSET + 9];
            Arrays.fill(array, (byte) 0x5A);
            System.arraycopy(frame, 0, array, FRAME_OFFSET, frame.length);
            final FencedBuffer buffer = new FencedBuffer(array).fence(FRAME_OFFSET, FRAME_OFFSET + frame.length);
            final ParsedFrame info = new ParsedFrame();
            final int reason = parser.parse(buffer, FRAME_OFFSET, frame.length, info);
            assertEquals(0, reason, fixture + " frame " + i + " dropped: " + DropReason.ofId(reason));
            assertEquals(FRAME_OFFSET, info.frameOffset);
            assertEquals(frame.length, info.frameLength);
            result.add(new Parsed(frame, buffer, info));
        }
        return result;
    }

    private static int payloadLength(final Parsed p) {
        return p.info.l4Length - p.info.tcpHeaderLength;
    }

    private static String tcpPayload(final Parsed p) {
        final int start = p.info.l4Offset + p.info.tcpHeaderLength - FRAME_OFFSET;
        return new String(p.frame, start, payloadLength(p), StandardCharsets.US_ASCII);
    }

    // --- every complete fixture: checksums ---

    @ParameterizedTest
    @ValueSource(strings = {"tcp.pcap", "udp.pcap", "icmp-echo.pcap", "icmp-port-unreachable.pcap",
        "icmp-frag-needed.pcap", "icmp-time-exceeded.pcap"})
    void everyCapturedChecksumVerifies(final String fixture) {
        for (final Parsed p : parseAll(fixture)) {
            final ParsedFrame f = p.info;
            if (f.kind == ParsedFrame.KIND_ARP) {
                continue;
            }
            assertEquals(ParsedFrame.KIND_IPV4, f.kind);
            final UnsafeBuffer buf = p.buffer;
            ipv4.wrap(buf, f.l3Offset);
            assertTrue(Checksums.verifyIpv4Header(buf, f.l3Offset, f.ipHeaderLength));
            assertEquals(ipv4.checksum(), Checksums.ipv4HeaderChecksum(buf, f.l3Offset, f.ipHeaderLength));
            switch (f.ipProto) {
                case IpProtocol.TCP:
                    assertEquals(tcp.wrap(buf, f.l4Offset).checksum(),
                        Checksums.l4Checksum(buf, f.l4Offset, f.l4Length, f.srcIp, f.dstIp, f.ipProto), fixture);
                    break;
                case IpProtocol.UDP:
                    assertNotEquals(0, udp.wrap(buf, f.l4Offset).checksum(), "Linux always sends UDP checksums");
                    assertEquals(udp.checksum(),
                        Checksums.l4Checksum(buf, f.l4Offset, f.l4Length, f.srcIp, f.dstIp, f.ipProto), fixture);
                    break;
                case IpProtocol.ICMP:
                    assertEquals(icmp.wrap(buf, f.l4Offset).checksum(),
                        Checksums.icmpChecksum(buf, f.l4Offset, f.l4Length), fixture);
                    break;
                default:
                    throw new AssertionError(fixture + ": unexpected protocol " + f.ipProto);
            }
        }
    }

    // --- tcp.pcap ---

    @Test
    void arpExchangeOfTheFirstContactParsesAsArp() {
        final List<Parsed> frames = parseAll("tcp.pcap");
        final Parsed request = frames.get(0);
        final Parsed reply = frames.get(1);
        assertEquals(ParsedFrame.KIND_ARP, request.info.kind);
        assertEquals(EthernetHeader.ETHERTYPE_ARP, request.info.etherType);
        assertEquals(-1, request.info.vlanTci);
        assertEquals(FRAME_OFFSET + 14, request.info.l3Offset);
        assertEquals(A, request.info.srcIp);
        assertEquals(B, request.info.dstIp);
        ethernet.wrap(request.buffer, FRAME_OFFSET);
        assertEquals(EthernetHeader.BROADCAST_MAC, ethernet.destinationMac());
        assertEquals(MAC_A, ethernet.sourceMac());
        arp.wrap(request.buffer, request.info.l3Offset);
        assertTrue(arp.isEthernetIpv4());
        assertEquals(ArpPacket.OP_REQUEST, arp.operation());
        assertEquals(MAC_A, arp.senderMac());
        assertEquals(A, arp.senderIp());
        assertEquals(B, arp.targetIp());

        assertEquals(ParsedFrame.KIND_ARP, reply.info.kind);
        arp.wrap(reply.buffer, reply.info.l3Offset);
        assertEquals(ArpPacket.OP_REPLY, arp.operation());
        assertEquals(MAC_B, arp.senderMac());
        assertEquals(B, arp.senderIp());
        assertEquals(MAC_A, arp.targetMac());
        assertEquals(A, arp.targetIp());
    }

    @Test
    void tcpExchangeHasHandshakeDataAndFinsWithMirroredFlowKeys() {
        final List<Parsed> all = parseAll("tcp.pcap");
        final List<Parsed> segments = all.subList(2, all.size());
        final Parsed syn = segments.get(0);
        final int clientPort = syn.info.srcPort;
        assertTrue(clientPort >= 1024, "ephemeral client port " + clientPort);
        assertEquals(TcpHeader.SYN, syn.info.tcpFlags);
        assertEquals(TcpHeader.SYN | TcpHeader.ACK, segments.get(1).info.tcpFlags);
        assertEquals(TcpHeader.ACK, segments.get(2).info.tcpFlags);
        assertEquals(40, syn.info.tcpHeaderLength, "MSS, SACK-permitted, timestamps, window scale");
        tcp.wrap(syn.buffer, syn.info.l4Offset, syn.info.l4Length);
        assertEquals(tcp.sequenceNumber() + 1, tcp.wrap(segments.get(1).buffer, segments.get(1).info.l4Offset)
            .acknowledgmentNumber());

        int finFromClient = 0;
        int finFromServer = 0;
        boolean sawRequest = false;
        boolean sawResponse = false;
        for (final Parsed p : segments) {
            final ParsedFrame f = p.info;
            assertEquals(ParsedFrame.KIND_IPV4, f.kind);
            assertEquals(IpProtocol.TCP, f.ipProto);
            assertEquals(FRAME_OFFSET + 14, f.l3Offset);
            assertEquals(20, f.ipHeaderLength);
            assertEquals(f.l3Offset + 20, f.l4Offset);
            assertEquals(f.ipTotalLength - 20, f.l4Length);
            assertEquals(p.frame.length - 14, f.ipTotalLength, "no padding on veth");
            assertEquals(64, f.ttl);
            assertFalse(f.moreFragments);
            assertEquals(0, f.fragmentOffset);
            final boolean fromClient = f.srcIp == A;
            if (fromClient) {
                assertEquals(B, f.dstIp);
                assertEquals(clientPort, f.srcPort);
                assertEquals(8080, f.dstPort);
                assertTrue(f.dontFragment);
            } else {
                assertEquals(B, f.srcIp);
                assertEquals(A, f.dstIp);
                assertEquals(8080, f.srcPort);
                assertEquals(clientPort, f.dstPort);
            }
            ethernet.wrap(p.buffer, FRAME_OFFSET);
            assertEquals(fromClient ? MAC_A : MAC_B, ethernet.sourceMac());
            assertEquals(fromClient ? MAC_B : MAC_A, ethernet.destinationMac());
            if ((f.tcpFlags & TcpHeader.FIN) != 0) {
                if (fromClient) {
                    finFromClient++;
                } else {
                    finFromServer++;
                }
            }
            if (payloadLength(p) > 0) {
                assertEquals(TcpHeader.PSH | TcpHeader.ACK, f.tcpFlags);
                if (fromClient) {
                    assertTrue(tcpPayload(p).startsWith("GET /golden HTTP/1.1\r\n"), tcpPayload(p));
                    sawRequest = true;
                } else {
                    assertTrue(tcpPayload(p).endsWith("hello from nsgate golden\n"), tcpPayload(p));
                    sawResponse = true;
                }
            }
        }
        assertTrue(sawRequest && sawResponse);
        assertEquals(1, finFromClient);
        assertEquals(1, finFromServer);
        assertEquals(TcpHeader.ACK, segments.get(segments.size() - 1).info.tcpFlags, "the last ACK of the FIN");
    }

    // --- udp.pcap ---

    @Test
    void udpRequestAndReplyHaveSwappedPortsAndTheirPayloads() {
        final List<Parsed> frames = parseAll("udp.pcap");
        assertEquals(2, frames.size());
        final ParsedFrame request = frames.get(0).info;
        final ParsedFrame reply = frames.get(1).info;
        assertEquals(IpProtocol.UDP, request.ipProto);
        assertEquals(A, request.srcIp);
        assertEquals(B, request.dstIp);
        assertEquals(40001, request.srcPort);
        assertEquals(5353, request.dstPort);
        assertEquals(request.srcIp, reply.dstIp);
        assertEquals(request.dstIp, reply.srcIp);
        assertEquals(request.srcPort, reply.dstPort);
        assertEquals(request.dstPort, reply.srcPort);

        udp.wrap(frames.get(0).buffer, request.l4Offset);
        assertEquals(8 + "golden udp request".length(), udp.length());
        assertEquals(request.l4Length, udp.length());
        assertEquals("golden udp request", new String(frames.get(0).frame, udp.payloadOffset() - FRAME_OFFSET,
            udp.payloadLength(), StandardCharsets.US_ASCII));
        udp.wrap(frames.get(1).buffer, reply.l4Offset);
        assertEquals("echo:golden udp request", new String(frames.get(1).frame, udp.payloadOffset() - FRAME_OFFSET,
            udp.payloadLength(), StandardCharsets.US_ASCII));
    }

    // --- icmp-echo.pcap ---

    @Test
    void echoRequestAndReplyCarryTheIdentifierOnOppositeSidesOfTheKey() {
        final List<Parsed> frames = parseAll("icmp-echo.pcap");
        assertEquals(4, frames.size());
        final int id = icmp.wrap(frames.get(0).buffer, frames.get(0).info.l4Offset).identifier();
        for (int i = 0; i < 4; i++) {
            final ParsedFrame f = frames.get(i).info;
            icmp.wrap(frames.get(i).buffer, f.l4Offset, f.l4Length);
            assertEquals(IpProtocol.ICMP, f.ipProto);
            assertFalse(f.icmpError);
            assertEquals(0, f.icmpCode);
            assertEquals(64, f.l4Length, "ping's default 56 data bytes + 8");
            assertEquals(id, icmp.identifier());
            assertEquals(1 + i / 2, icmp.sequenceNumber());
            if (i % 2 == 0) {
                assertEquals(IcmpHeader.TYPE_ECHO_REQUEST, f.icmpType);
                assertEquals(A, f.srcIp);
                assertEquals(B, f.dstIp);
                assertEquals(id, f.srcPort);
                assertEquals(0, f.dstPort);
            } else {
                final ParsedFrame request = frames.get(i - 1).info;
                assertEquals(IcmpHeader.TYPE_ECHO_REPLY, f.icmpType);
                assertEquals(request.dstIp, f.srcIp);
                assertEquals(request.srcIp, f.dstIp);
                assertEquals(request.dstPort, f.srcPort);
                assertEquals(request.srcPort, f.dstPort);
            }
        }
    }

    // --- ICMP errors ---

    @Test
    void portUnreachableQuotesTheWholeUdpDatagram() {
        final List<Parsed> frames = parseAll("icmp-port-unreachable.pcap");
        assertEquals(2, frames.size());
        final Parsed probe = frames.get(0);
        final Parsed error = frames.get(1);
        final ParsedFrame f = error.info;
        assertEquals(B, f.srcIp);
        assertEquals(A, f.dstIp);
        assertEquals(IcmpHeader.TYPE_DESTINATION_UNREACHABLE, f.icmpType);
        assertEquals(IcmpHeader.CODE_PORT_UNREACHABLE, f.icmpCode);
        assertTrue(f.icmpError);
        assertEquals(0, f.srcPort, "an error's outer key is not a flow");
        assertEquals(0, f.dstPort);
        assertEquals(0xC0, ipv4.wrap(error.buffer, f.l3Offset).tos(), "Linux sends ICMP errors with TOS 0xC0 (CS6)");
        assertInnerIs(f, IpProtocol.UDP, A, B, 40002, 9);
        assertEquals(f.l4Offset + 8, f.innerL3Offset);
        assertEquals(20, f.innerIpHeaderLength);
        assertEquals(8 + "anyone on port 9?".length(), f.innerL4Available);
        // The quote is the probe's datagram, byte for byte.
        final byte[] quoted = Arrays.copyOfRange(error.frame, f.innerL3Offset - FRAME_OFFSET,
            f.innerL3Offset - FRAME_OFFSET + 20 + f.innerL4Available);
        assertArrayEquals(Arrays.copyOfRange(probe.frame, 14, probe.frame.length), quoted);
    }

    @Test
    void fragmentationNeededCarriesTheNextHopMtuAndQuotesUdpAndTcp() {
        final List<Parsed> frames = parseAll("icmp-frag-needed.pcap");
        final Parsed bigUdp = frames.get(0);
        assertEquals(IpProtocol.UDP, bigUdp.info.ipProto);
        assertTrue(bigUdp.info.dontFragment);
        assertEquals(1428, bigUdp.info.ipTotalLength);
        assertEquals(C2, bigUdp.info.dstIp);

        int udpQuotes = 0;
        int tcpQuotes = 0;
        int tcpClientPort = -1;
        for (final Parsed p : frames) {
            final ParsedFrame f = p.info;
            if (f.ipProto == IpProtocol.TCP && f.srcIp == A) {
                tcpClientPort = f.srcPort;
            }
            if (f.ipProto != IpProtocol.ICMP) {
                continue;
            }
            assertEquals(IcmpHeader.TYPE_DESTINATION_UNREACHABLE, f.icmpType);
            assertEquals(IcmpHeader.CODE_FRAGMENTATION_NEEDED, f.icmpCode);
            assertTrue(f.icmpError);
            assertEquals(B, f.srcIp, "the router sends it");
            assertEquals(A, f.dstIp);
            assertEquals(576, f.ipTotalLength, "Linux caps an ICMP error at 576 bytes");
            assertEquals(548 - 20, f.innerL4Available);
            icmp.wrap(p.buffer, f.l4Offset, f.l4Length);
            assertEquals(1280, icmp.nextHopMtu());
            assertEquals(f.innerL3Offset, icmp.quotedDatagramOffset());
            assertTrue(Checksums.verifyIpv4Header(p.buffer, f.innerL3Offset, f.innerIpHeaderLength),
                "the router quotes the header as it arrived");
            final Ipv4Header inner = new Ipv4Header().wrap(p.buffer, f.innerL3Offset);
            assertTrue(inner.dontFragment());
            assertEquals(64, inner.ttl(), "quoted before the TTL decrement");
            if (f.innerProto == IpProtocol.UDP) {
                assertInnerIs(f, IpProtocol.UDP, A, C2, 40003, 7777);
                assertEquals(1428, inner.totalLength());
                udpQuotes++;
            } else {
                assertInnerIs(f, IpProtocol.TCP, A, C, tcpClientPort, 8080);
                assertEquals(1500, inner.totalLength());
                tcpQuotes++;
            }
        }
        assertEquals(1, udpQuotes);
        assertTrue(tcpQuotes >= 1, "TCP segments of 1500 bytes met the 1280-byte link");
    }

    @Test
    void timeExceededQuotesTheExpiredDatagramWithItsTtlOfOne() {
        final List<Parsed> frames = parseAll("icmp-time-exceeded.pcap");
        assertEquals(2, frames.size());
        assertEquals(1, frames.get(0).info.ttl);
        final ParsedFrame f = frames.get(1).info;
        assertEquals(IcmpHeader.TYPE_TIME_EXCEEDED, f.icmpType);
        assertEquals(IcmpHeader.CODE_TTL_EXCEEDED_IN_TRANSIT, f.icmpCode);
        assertTrue(f.icmpError);
        assertEquals(B, f.srcIp);
        assertEquals(A, f.dstIp);
        assertInnerIs(f, IpProtocol.UDP, A, C, 40004, 33434);
        assertEquals(1, new Ipv4Header().wrap(frames.get(1).buffer, f.innerL3Offset).ttl());
    }

    // --- tcp-checksum-partial.pcap ---

    @Test
    void offloadedFramesCarryThePseudoHeaderSumNotAChecksum() {
        for (final Parsed p : parseAll("tcp-checksum-partial.pcap")) {
            final ParsedFrame f = p.info;
            final UnsafeBuffer buf = p.buffer;
            assertEquals(IpProtocol.TCP, f.ipProto);
            assertTrue(Checksums.verifyIpv4Header(buf, f.l3Offset, f.ipHeaderLength), "IP is always complete");
            final int field = tcp.wrap(buf, f.l4Offset).checksum();
            assertEquals(Checksums.pseudoHeaderSum(f.srcIp, f.dstIp, f.ipProto, f.l4Length), field);
            final int complete = Checksums.l4Checksum(buf, f.l4Offset, f.l4Length, f.srcIp, f.dstIp, f.ipProto);
            assertNotEquals(complete, field);
            // What the sender (or the NIC) does to finish it: sum from csum_start with the field as it is.
            assertEquals(complete, ~Checksums.fold(Checksums.sum(buf, f.l4Offset, f.l4Length, 0)) & 0xFFFF);
        }
    }

    private static void assertInnerIs(
        final ParsedFrame f, final int proto, final int src, final int dst, final int srcPort, final int dstPort) {
        assertEquals(proto, f.innerProto);
        assertEquals(src, f.innerSrcIp);
        assertEquals(dst, f.innerDstIp);
        assertEquals(srcPort, f.innerSrcPort);
        assertEquals(dstPort, f.innerDstPort);
        assertEquals(f.innerL3Offset + f.innerIpHeaderLength, f.innerL4Offset);
        assertTrue(f.innerL4Available >= 8);
        assertEquals(f.l3Offset + f.ipTotalLength, f.innerL4Offset + f.innerL4Available);
    }

    @Test
    void parsedOffsetsReadTheSameBytesAsTheFlyweights() {
        for (final Parsed p : parseAll("tcp.pcap")) {
            final ParsedFrame f = p.info;
            if (f.kind != ParsedFrame.KIND_IPV4) {
                continue;
            }
            ipv4.wrap(p.buffer, f.l3Offset);
            assertEquals(f.srcIp, ipv4.sourceAddress());
            assertEquals(f.dstIp, ipv4.destinationAddress());
            assertEquals(f.ipTotalLength, ipv4.totalLength());
            assertEquals(f.ipId, ipv4.identification());
            assertEquals(f.ttl, ipv4.ttl());
            assertEquals(f.l4Offset, ipv4.payloadOffset());
            tcp.wrap(p.buffer, f.l4Offset, f.l4Length);
            assertEquals(f.srcPort, tcp.sourcePort());
            assertEquals(f.dstPort, tcp.destinationPort());
            assertEquals(f.tcpFlags, tcp.flags());
            assertEquals(f.tcpHeaderLength, tcp.headerLength());
            assertEquals(p.buffer.getShort(f.l4Offset + 14, ByteOrder.BIG_ENDIAN) & 0xFFFF, tcp.window());
        }
    }
}
