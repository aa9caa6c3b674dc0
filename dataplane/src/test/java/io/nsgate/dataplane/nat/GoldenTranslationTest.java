// Frames captured from real kernel traffic, translated, and compared byte for byte with an independent expectation.
package io.nsgate.dataplane.nat;

import static org.junit.jupiter.api.Assertions.*;

import java.util.HashMap;
import java.util.Map;

import org.agrona.concurrent.UnsafeBuffer;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import io.nsgate.dataplane.conntrack.FlowTable;
import io.nsgate.dataplane.conntrack.FlowTimeouts;
import io.nsgate.dataplane.packet.Checksums;
import io.nsgate.dataplane.packet.FrameParser;
import io.nsgate.dataplane.packet.ParsedFrame;
import io.nsgate.dataplane.packet.VirtioNetHeader;
import io.nsgate.dataplane.testsupport.Frames;
import io.nsgate.dataplane.testsupport.PcapReader;
import io.nsgate.linux.net.Ipv4Address;
import io.nsgate.linux.net.Ipv4Prefix;

/**
 * The golden captures (golden/capture.sh: namespace a = 10.77.1.1 talks to b = 10.77.1.2, and through router b
 * to c = 10.77.2.x) are replayed through a gateway that masquerades a: in0 (inside, 10.77.1.254/24) and lan0
 * (198.51.100.1/24, with routes to b and to 10.77.2.0/24). For every frame a sent, the expected output is the
 * captured frame with the source rewritten to 198.51.100.1:port, TTL - 1, and every checksum recomputed in full
 * by the test's own reference code; the translator's incremental result must equal it byte for byte. Frames b
 * and c sent are first put into the NATed view (destination 198.51.100.1:port, checksums recomputed) and must
 * come out as exactly what was captured, but for TTL and the IPv4 checksum.
 */
class GoldenTranslationTest {
    private static final int A = Ipv4Address.parse("10.77.1.1");
    private static final int NAT = Ipv4Address.parse("198.51.100.1");
    private static final int LAN_IF = 0;
    private static final int INSIDE_IF = 1;

    private final SeedLabRules.Harness h = new SeedLabRules.Harness(RuleSet.builder()
        .iface("lan0", GatewayInterface.Role.LAN, Ipv4Prefix.parse("198.51.100.1/24"), 1500)
        .iface("in0", GatewayInterface.Role.INSIDE, Ipv4Prefix.parse("10.77.1.254/24"), 1500)
        .route(Ipv4Prefix.parse("10.77.1.2/32"), "lan0", 0)
        .route(Ipv4Prefix.parse("10.77.2.0/24"), "lan0", 0)
        .masquerade(MasqueradeRule.masquerade(Ipv4Prefix.parse("10.77.1.1/32"), "lan0"))
        .build(), new FlowTable(1024, FlowTimeouts.DEFAULTS, 0, 17));
    private final FrameParser parser = new FrameParser();

    @AfterEach
    void close() {
        h.close();
    }

    private ParsedFrame parse(byte[] frame) {
        ParsedFrame p = new ParsedFrame();
        assertEquals(0, parser.parse(new UnsafeBuffer(frame), 0, frame.length, p));
        return p;
    }

    /** Replays a capture; returns how many frames were translated. */
    private int replay(String fixture) {
        int translated = 0;
        Map<Integer, Integer> natPortOf = new HashMap<>(); // (proto << 16 | a's port) -> NAT port
        for (byte[] captured : PcapReader.readResource("golden/" + fixture)) {
            ParsedFrame p = parse(captured);
            if (p.kind != ParsedFrame.KIND_IPV4) {
                continue; // ARP and the like
            }
            byte[] frame = captured.clone();
            if (p.srcIp == A && !p.icmpError) {
                assertEquals(Verdict.FORWARD, h.process(frame, INSIDE_IF), fixture + ": " + h.verdict);
                int natPort = parse(frame).srcPort;
                natPortOf.put((p.ipProto << 16) | p.srcPort, natPort);
                assertArrayEquals(rewritten(captured, NAT, p.dstIp, natPort, p.dstPort, false), frame,
                    fixture + ": a's frame, translated");
            } else if (p.dstIp == A) {
                Integer natPort = p.icmpError ? natPortOf.get((p.innerProto << 16) | p.innerSrcPort)
                    : natPortOf.get((p.ipProto << 16) | p.dstPort);
                assertNotNull(natPort, fixture + ": a's side of this exchange was seen first");
                byte[] natView = p.icmpError ? errorInNatView(captured, natPort)
                    : rewritten(captured, p.srcIp, NAT, p.srcPort, natPort, true);
                assertEquals(Verdict.FORWARD, h.process(natView, LAN_IF), fixture + ": " + h.verdict);
                byte[] expected = captured.clone();
                decrementTtl(expected, Frames.l3Offset(expected));
                assertArrayEquals(expected, natView, fixture + ": answer restored to what a received");
            } else {
                continue;
            }
            translated++;
        }
        return translated;
    }

    @Test
    void tcpConnectionFromHandshakeToFin() {
        assertTrue(replay("tcp.pcap") >= 8);
    }

    @Test
    void udpRequestAndReply() {
        assertEquals(2, replay("udp.pcap"));
    }

    @Test
    void pingRequestsAndReplies() {
        assertEquals(4, replay("icmp-echo.pcap"));
    }

    @Test
    void portUnreachableQuotingAMasqueradedDatagram() {
        assertEquals(2, replay("icmp-port-unreachable.pcap"));
    }

    @Test
    void fragmentationNeededFromARouter() {
        assertTrue(replay("icmp-frag-needed.pcap") >= 4);
    }

    @Test
    void partialChecksumFramesKeepThePseudoHeaderSumOfTheNewAddresses() {
        int n = 0;
        for (byte[] captured : PcapReader.readResource("golden/tcp-checksum-partial.pcap")) {
            ParsedFrame p = parse(captured);
            if (p.srcIp != A) {
                continue;
            }
            byte[] frame = captured.clone();
            assertEquals(Verdict.FORWARD, h.process(frame, INSIDE_IF, VirtioNetHeader.FLAG_NEEDS_CSUM, 0, 0));
            ParsedFrame out = parse(frame);
            int field = new UnsafeBuffer(frame).getShort(out.l4Offset + 16, java.nio.ByteOrder.BIG_ENDIAN) & 0xFFFF;
            assertEquals(Checksums.pseudoHeaderSum(NAT, out.dstIp, 6, out.l4Length), field);
            n++;
        }
        assertTrue(n > 0);
    }

    // ------------------------------------------------------------ reference rewriting (independent of the NAT)

    /** A copy of {@code frame} with new addresses/ports, TTL - 1 unless {@code keepTtl}, checksums recomputed. */
    private byte[] rewritten(byte[] frame, int src, int dst, int sport, int dport, boolean keepTtl) {
        byte[] out = frame.clone();
        ParsedFrame p = parse(frame);
        int l3 = p.l3Offset;
        putInt(out, l3 + 12, src);
        putInt(out, l3 + 16, dst);
        if (!keepTtl) {
            out[l3 + 8]--;
        }
        if (p.ipProto == 1) {
            // echo: the identifier is the port of the key (source for requests, destination for replies)
            putShort(out, p.l4Offset + 4, p.icmpType == 8 ? sport : dport);
        } else {
            putShort(out, p.l4Offset, sport);
            putShort(out, p.l4Offset + 2, dport);
        }
        refreshL4(out, p);
        Frames.refreshIpChecksum(out);
        return out;
    }

    /** A captured ICMP error to a, as it would have reached the gateway had a's datagram been NATed. */
    private byte[] errorInNatView(byte[] captured, int natPort) {
        byte[] out = captured.clone();
        ParsedFrame p = parse(captured);
        putInt(out, p.l3Offset + 16, NAT);
        putInt(out, p.innerL3Offset + 12, NAT);
        putShort(out, p.innerL4Offset, natPort);
        // quoted IPv4 header checksum
        int ihl = p.innerIpHeaderLength;
        out[p.innerL3Offset + 10] = 0;
        out[p.innerL3Offset + 11] = 0;
        putShort(out, p.innerL3Offset + 10, Frames.internetChecksum(out, p.innerL3Offset, ihl, 0));
        // quoted L4 checksum, when the whole quoted datagram is there (the routers quote little data)
        int innerTotal = ((out[p.innerL3Offset + 2] & 0xFF) << 8) | (out[p.innerL3Offset + 3] & 0xFF);
        int innerL4Length = innerTotal - ihl;
        int csum = p.innerProto == 6 ? 16 : 6;
        if (innerL4Length <= p.innerL4Available && innerL4Length >= csum + 2) {
            out[p.innerL4Offset + csum] = 0;
            out[p.innerL4Offset + csum + 1] = 0;
            int sum = Frames.internetChecksum(out, p.innerL4Offset, innerL4Length,
                Frames.pseudoHeaderSum(NAT, p.innerDstIp, p.innerProto, innerL4Length));
            putShort(out, p.innerL4Offset + csum, sum);
        } else if (p.innerL4Available >= csum + 2) {
            // a truncated quote keeps a checksum the reference cannot recompute: carry it over incrementally
            int old = ((out[p.innerL4Offset + csum] & 0xFF) << 8) | (out[p.innerL4Offset + csum + 1] & 0xFF);
            int delta = Checksums.addDeltas(Checksums.delta32(p.innerSrcIp, NAT),
                Checksums.delta16(p.innerSrcPort, natPort));
            putShort(out, p.innerL4Offset + csum, p.innerProto == 6 ? Checksums.applyToChecksum(old, delta)
                : Checksums.applyToUdpChecksum(old, delta));
        }
        out[p.l4Offset + 2] = 0;
        out[p.l4Offset + 3] = 0;
        putShort(out, p.l4Offset + 2, Frames.internetChecksum(out, p.l4Offset, p.l4Length, 0));
        Frames.refreshIpChecksum(out);
        return out;
    }

    private static void refreshL4(byte[] out, ParsedFrame p) {
        int l4 = p.l4Offset;
        if (p.ipProto == 1) {
            out[l4 + 2] = 0;
            out[l4 + 3] = 0;
            putShort(out, l4 + 2, Frames.internetChecksum(out, l4, p.l4Length, 0));
            return;
        }
        int csum = p.ipProto == 6 ? l4 + 16 : l4 + 6;
        out[csum] = 0;
        out[csum + 1] = 0;
        int src = getInt(out, p.l3Offset + 12);
        int dst = getInt(out, p.l3Offset + 16);
        int sum = Frames.internetChecksum(out, l4, p.l4Length, Frames.pseudoHeaderSum(src, dst, p.ipProto, p.l4Length));
        putShort(out, csum, p.ipProto == 17 && sum == 0 ? 0xFFFF : sum);
    }

    private static void decrementTtl(byte[] frame, int l3) {
        frame[l3 + 8]--;
        Frames.refreshIpChecksum(frame);
    }

    private static void putInt(byte[] b, int at, int v) {
        b[at] = (byte) (v >>> 24);
        b[at + 1] = (byte) (v >>> 16);
        b[at + 2] = (byte) (v >>> 8);
        b[at + 3] = (byte) v;
    }

    private static int getInt(byte[] b, int at) {
        return ((b[at] & 0xFF) << 24) | ((b[at + 1] & 0xFF) << 16) | ((b[at + 2] & 0xFF) << 8) | (b[at + 3] & 0xFF);
    }

    private static void putShort(byte[] b, int at, int v) {
        b[at] = (byte) (v >>> 8);
        b[at + 1] = (byte) v;
    }
}
