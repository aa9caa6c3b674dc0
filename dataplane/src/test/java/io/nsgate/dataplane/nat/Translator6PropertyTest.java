package io.nsgate.dataplane.nat;

import static io.nsgate.dataplane.nat.SeedLabRules.*;
import static org.junit.jupiter.api.Assertions.*;

import java.nio.ByteBuffer;
import java.util.SplittableRandom;

import org.agrona.concurrent.UnsafeBuffer;
import org.junit.jupiter.api.Test;

import io.nsgate.dataplane.packet.Checksums;
import io.nsgate.dataplane.packet.IpProtocol;
import io.nsgate.dataplane.packet.ParsedFrame;
import io.nsgate.dataplane.testsupport.Frames;
import io.nsgate.linux.net.Ipv6Address;

/**
 * Random IPv6 conversations through the translator, both ways: inside hosts of fd15::/64 to random LAN hosts
 * (masqueraded) and LAN hosts to the forward (DNAT66), TCP and UDP, random ports and payloads, some behind extension
 * headers, some cut short. Every forwarded frame must carry a checksum that verifies in full (the incremental update
 * is right for every address and port), and every answer must come back to exactly what the other side sent from.
 */
class Translator6PropertyTest {
    private static final int CONVERSATIONS = 1500;

    @Test
    void everyTranslationKeepsChecksumsAndEveryAnswerFindsItsWayBack() {
        SplittableRandom r = new SplittableRandom(6146);
        int truncatedDropped = 0;
        try (Harness h = new Harness(rules())) {
            for (int i = 0; i < CONVERSATIONS; i++) {
                boolean outbound = r.nextBoolean();
                boolean tcp = r.nextBoolean();
                String inside = "fd15::" + Integer.toHexString(0x10 + r.nextInt(0xFF00)); // not the gateway's ::5
                String outside = "fd01::" + Integer.toHexString(0x10 + r.nextInt(0xFF00));
                int clientPort = 1024 + r.nextInt(60000);
                int payload = r.nextInt(64) == 0 ? 0 : r.nextInt(1200);
                String src = outbound ? inside : outside;
                String dst = outbound ? outside : "fd01::2";
                int dstPort = outbound ? 1 + r.nextInt(65535) : 80;
                if (!tcp && !outbound) {
                    continue; // the forward is TCP: UDP in is default deny, covered elsewhere
                }
                // transit may come behind extension headers; to the gateway's own address that is the host's
                byte[] frame = frame(r, tcp, outbound, src, clientPort, dst, dstPort, tcp ? Frames.SYN : 0, payload);
                boolean truncated = r.nextInt(20) == 0;
                if (truncated) {
                    frame = java.util.Arrays.copyOf(frame, 14 + 40 + r.nextInt(frame.length - 54));
                    int action = h.process(frame, outbound ? INSIDE_IF : LAN_IF);
                    assertNotEquals(Verdict.FORWARD, action, "a frame cut short is never forwarded");
                    truncatedDropped++;
                    continue;
                }
                assertEquals(Verdict.FORWARD, h.process(frame, outbound ? INSIDE_IF : LAN_IF),
                    () -> "conversation from " + src + " to " + dst + ": " + h.verdict);
                ParsedFrame p = h.parse(frame);
                assertFullChecksum(frame, p);
                Ipv6Address seenSrc = new Ipv6Address(p.src6High, p.src6Low);
                Ipv6Address seenDst = new Ipv6Address(p.dst6High, p.dst6Low);
                int seenSrcPort = p.srcPort;
                int seenDstPort = p.dstPort;
                assertEquals(outbound ? GW_LAN6 : Ipv6Address.parse(src), seenSrc,
                    "masquerade shows the gateway, a forward the client");
                assertEquals(outbound ? Ipv6Address.parse(dst) : BLUE6, seenDst);

                // the answer, from where the translated frame went to where it seemed to come from
                byte[] answer = frame(r, tcp, false, seenDst.toString(), seenDstPort, seenSrc.toString(), seenSrcPort,
                    tcp ? Frames.SYN | Frames.ACK : 0, r.nextInt(600));
                assertEquals(Verdict.FORWARD, h.process(answer, outbound ? LAN_IF : INSIDE_IF),
                    () -> "answer of " + src + " -> " + dst + ": " + h.verdict);
                ParsedFrame q = h.parse(answer);
                assertFullChecksum(answer, q);
                assertEquals(Ipv6Address.parse(src), new Ipv6Address(q.dst6High, q.dst6Low));
                assertEquals(clientPort, q.dstPort);
                assertEquals(Ipv6Address.parse(dst), new Ipv6Address(q.src6High, q.src6Low));
                assertEquals(dstPort, q.srcPort);
            }
        }
        assertTrue(truncatedDropped > CONVERSATIONS / 40, "cut-short frames generated: " + truncatedDropped);
    }

    /** TCP or UDP over IPv6 with a correct checksum; when {@code mayExtend}, sometimes behind destination options. */
    private static byte[] frame(SplittableRandom r, boolean tcp, boolean mayExtend, String src, int srcPort, String dst,
                                int dstPort, int flags, int payload) {
        byte[] l4 = tcp ? Frames.concat(Frames.tcpHeader(srcPort, dstPort, flags), new byte[payload])
            : ByteBuffer.allocate(8 + payload).putShort((short) srcPort).putShort((short) dstPort)
                .putShort((short) (8 + payload)).putShort((short) 0).array();
        for (int i = tcp ? 20 : 8; i < l4.length; i++) {
            l4[i] = (byte) r.nextInt(256);
        }
        int proto = tcp ? IpProtocol.TCP : IpProtocol.UDP;
        boolean extension = mayExtend && r.nextInt(4) == 0;
        byte[] payloadWithHeaders = extension ? Frames.concat(Frames.ipv6Extension(proto, r.nextInt(3)), l4) : l4;
        byte[] frame = Frames.ipv6(extension ? 60 : proto, src, dst, payloadWithHeaders);
        int l4Offset = frame.length - l4.length;
        UnsafeBuffer b = new UnsafeBuffer(frame);
        Ipv6Address s = Ipv6Address.parse(src);
        Ipv6Address d = Ipv6Address.parse(dst);
        int sum = Checksums.l4Checksum6(b, l4Offset, l4.length, s.high(), s.low(), d.high(), d.low(), proto);
        b.putShort(l4Offset + (tcp ? 16 : 6), (short) sum, java.nio.ByteOrder.BIG_ENDIAN);
        return frame;
    }

    private static void assertFullChecksum(byte[] frame, ParsedFrame p) {
        UnsafeBuffer b = new UnsafeBuffer(frame);
        int sum = Checksums.fold(Checksums.sum(b, p.l4Offset, p.l4Length, Checksums.pseudoHeaderSum6(p.src6High,
            p.src6Low, p.dst6High, p.dst6Low, p.ipProto, p.l4Length)));
        assertEquals(0xFFFF, sum, "checksum verifies after translation");
    }
}
