// Seeded property tests: every RFC 1624 incremental update equals a full recomputation, on random NAT rewrites.
package io.nsgate.dataplane.packet;

import io.nsgate.dataplane.testsupport.Frames;
import org.agrona.concurrent.UnsafeBuffer;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Random TCP, UDP and ICMP frames (random addresses, ports, TTL, payload length odd and even, IP options, VLAN
 * tags) get random NAT rewrites applied the fast-path way, with deltas; the result must equal what a full
 * recomputation gives, for the IPv4 header, TCP, UDP (zero-checksum rules included) and ICMP, and for
 * CHECKSUM_PARTIAL frames the pseudo-header sum of the new addresses. The seed is printed; rerun one with
 * {@code -Dnsgate.seed=N}.
 */
class IncrementalChecksumPropertyTest {
    private static final long SEED = Long.getLong("nsgate.seed", 0x1624_5EEDL);
    private static final int ROUNDS = 20_000;

    private final FrameParser parser = new FrameParser();
    private final ParsedFrame f = new ParsedFrame();
    private final Ipv4Header ipv4 = new Ipv4Header();
    private final TcpHeader tcp = new TcpHeader();
    private final UdpHeader udp = new UdpHeader();
    private final IcmpHeader icmp = new IcmpHeader();
    private Random random;

    @BeforeEach
    void seed() {
        System.out.println("IncrementalChecksumPropertyTest seed " + SEED + " (-Dnsgate.seed=" + SEED + ")");
        random = new Random(SEED);
    }

    private String randomIp() {
        return (random.nextInt(256)) + "." + random.nextInt(256) + "." + random.nextInt(256) + "."
            + random.nextInt(256);
    }

    private Frames.Builder randomFrame(final int kind) {
        final Frames.Builder builder;
        switch (kind) {
            case 0:
                builder = Frames.tcp().flags(random.nextInt(256)).seq(random.nextInt()).ack(random.nextInt())
                    .window(random.nextInt(65536));
                break;
            case 1:
                builder = Frames.udp();
                break;
            default:
                builder = random.nextBoolean() ? Frames.icmpEchoRequest() : Frames.icmpEchoReply();
                builder.icmpId(random.nextInt(65536)).icmpSeq(random.nextInt(65536));
                break;
        }
        builder.src(randomIp(), random.nextInt(65536)).dst(randomIp(), random.nextInt(65536))
            .ttl(random.nextInt(256)).ipId(random.nextInt(65536)).tos(random.nextInt(256));
        final byte[] payload = new byte[random.nextInt(4) == 0 ? random.nextInt(1460) : random.nextInt(64)];
        random.nextBytes(payload);
        builder.payload(payload);
        if (random.nextInt(8) == 0) {
            builder.ipOptions(new byte[4 * (1 + random.nextInt(10))]);
        }
        if (random.nextInt(8) == 0) {
            builder.vlan(random.nextInt(4096));
        }
        if (random.nextBoolean()) {
            builder.df();
        }
        return builder;
    }

    private UnsafeBuffer parsed(final byte[] frame) {
        final UnsafeBuffer buf = new UnsafeBuffer(frame);
        assertEquals(0, parser.parse(buf, 0, frame.length, f), Frames.hex(frame));
        return buf;
    }

    @Test
    void natRewritesUpdateEveryChecksumLikeAFullRecomputation() {
        for (int round = 0; round < ROUNDS; round++) {
            final int kind = random.nextInt(3);
            final Frames.Builder builder = randomFrame(kind);
            final boolean udpWithoutChecksum = kind == 1 && random.nextInt(4) == 0;
            if (udpWithoutChecksum) {
                builder.l4Checksum(0);
            }
            final byte[] frame = builder.build();
            final UnsafeBuffer buf = parsed(frame);
            final String context = "seed " + SEED + " round " + round + " frame " + Frames.hex(frame);

            // IPv4 header: source, destination and TTL.
            ipv4.wrap(buf, f.l3Offset);
            final int oldSrc = f.srcIp;
            final int oldDst = f.dstIp;
            final int newSrc = random.nextInt();
            final int newDst = random.nextBoolean() ? random.nextInt() : oldDst;
            final int oldTtlWord = ipv4.ttlProtocolWord();
            ipv4.sourceAddress(newSrc).destinationAddress(newDst).ttl(random.nextInt(256));
            final int addressDelta = Checksums.addDeltas(
                Checksums.delta32(oldSrc, newSrc), Checksums.delta32(oldDst, newDst));
            final int ttlDelta = Checksums.delta16(oldTtlWord, ipv4.ttlProtocolWord());
            final int ipDelta = Checksums.addDeltas(addressDelta, ttlDelta);
            ipv4.checksum(Checksums.applyToChecksum(ipv4.checksum(), ipDelta));
            assertEquals(Checksums.ipv4HeaderChecksum(buf, f.l3Offset, f.ipHeaderLength), ipv4.checksum(), context);
            assertTrue(ipv4.isChecksumValid(), context);

            // L4: ports (or echo identifier) and the pseudo-header's addresses.
            final int newSrcPort = random.nextInt(65536);
            final int newDstPort = random.nextInt(65536);
            if (kind == 0) {
                tcp.wrap(buf, f.l4Offset);
                final int portDelta = Checksums.addDeltas(Checksums.delta16(tcp.sourcePort(), newSrcPort),
                    Checksums.delta16(tcp.destinationPort(), newDstPort));
                final int delta = Checksums.addDeltas(addressDelta, portDelta);
                tcp.sourcePort(newSrcPort).destinationPort(newDstPort);
                tcp.checksum(Checksums.applyToChecksum(tcp.checksum(), delta));
                assertEquals(Checksums.l4Checksum(buf, f.l4Offset, f.l4Length, newSrc, newDst, 6), tcp.checksum(),
                    context);
                assertEquals(0, Frames.internetChecksum(frame, f.l4Offset, f.l4Length,
                    Frames.pseudoHeaderSum(newSrc, newDst, 6, f.l4Length)), "the segment verifies: " + context);
            } else if (kind == 1) {
                udp.wrap(buf, f.l4Offset);
                final int portDelta = Checksums.addDeltas(Checksums.delta16(udp.sourcePort(), newSrcPort),
                    Checksums.delta16(udp.destinationPort(), newDstPort));
                final int delta = Checksums.addDeltas(addressDelta, portDelta);
                udp.sourcePort(newSrcPort).destinationPort(newDstPort);
                udp.checksum(Checksums.applyToUdpChecksum(udp.checksum(), delta));
                final int expected = udpWithoutChecksum
                    ? 0 : Checksums.l4Checksum(buf, f.l4Offset, f.l4Length, newSrc, newDst, 17);
                assertEquals(expected, udp.checksum(), context);
            } else {
                icmp.wrap(buf, f.l4Offset, f.l4Length);
                final int newId = random.nextInt(65536);
                final int delta = Checksums.delta16(icmp.identifier(), newId); // no pseudo-header in ICMP
                icmp.identifier(newId);
                icmp.checksum(Checksums.applyToChecksum(icmp.checksum(), delta));
                assertEquals(Checksums.icmpChecksum(buf, f.l4Offset, f.l4Length), icmp.checksum(), context);
            }
        }
    }

    @Test
    void udpRewriteWhoseChecksumComesOutZeroStoresAllOnes() {
        for (int round = 0; round < ROUNDS / 10; round++) {
            final byte[] frame = randomFrame(1).build();
            final UnsafeBuffer buf = parsed(frame);
            udp.wrap(buf, f.l4Offset);
            final int oldPort = udp.sourcePort();
            final int checksum = udp.checksum();
            if (checksum == 0xFFFF) {
                continue; // already the "computed zero" case
            }
            // fold(sum without the field) = ~checksum; pick the port that brings the sum to 0xFFFF (checksum 0).
            final int foldedSum = ~checksum & 0xFFFF;
            final int zeroingPort = Math.floorMod(oldPort - foldedSum, 0xFFFF);
            udp.sourcePort(zeroingPort);
            udp.checksum(Checksums.applyToUdpChecksum(checksum, Checksums.delta16(oldPort, zeroingPort)));
            assertEquals(0xFFFF, udp.checksum(), "seed " + SEED + " round " + round);
            assertEquals(0xFFFF, Checksums.l4Checksum(buf, f.l4Offset, f.l4Length, f.srcIp, f.dstIp, 17));
        }
    }

    @Test
    void addressRewriteOfAPartialChecksumGivesThePseudoHeaderSumOfTheNewAddresses() {
        for (int round = 0; round < ROUNDS; round++) {
            final int kind = random.nextInt(2);
            final byte[] frame = randomFrame(kind).checksumPartial().build();
            final UnsafeBuffer buf = parsed(frame);
            final int proto = f.ipProto;
            final int fieldOffset = f.l4Offset + (kind == 0 ? TcpHeader.CHECKSUM_OFFSET : UdpHeader.CHECKSUM_OFFSET);
            final int partial = buf.getShort(fieldOffset, java.nio.ByteOrder.BIG_ENDIAN) & 0xFFFF;
            assertEquals(Checksums.pseudoHeaderSum(f.srcIp, f.dstIp, proto, f.l4Length), partial);

            final int newSrc = random.nextInt();
            final int newDst = random.nextBoolean() ? random.nextInt() : f.dstIp;
            final int addressDelta = Checksums.addDeltas(
                Checksums.delta32(f.srcIp, newSrc), Checksums.delta32(f.dstIp, newDst));
            ipv4.wrap(buf, f.l3Offset).sourceAddress(newSrc).destinationAddress(newDst);
            // Ports are not in the pseudo-header: rewritten, and the partial field is left alone for them.
            buf.putShort(f.l4Offset, (short) random.nextInt(65536), java.nio.ByteOrder.BIG_ENDIAN);
            buf.putShort(f.l4Offset + 2, (short) random.nextInt(65536), java.nio.ByteOrder.BIG_ENDIAN);
            final int updated = Checksums.applyToPartial(partial, addressDelta);
            buf.putShort(fieldOffset, (short) updated, java.nio.ByteOrder.BIG_ENDIAN);
            final String context = "seed " + SEED + " round " + round + " frame " + Frames.hex(frame);
            assertEquals(Checksums.pseudoHeaderSum(newSrc, newDst, proto, f.l4Length), updated, context);

            // What the sender does with NEEDS_CSUM: sum from csum_start with the field as it is, complement.
            int completed = ~Checksums.fold(Checksums.sum(buf, f.l4Offset, f.l4Length, 0)) & 0xFFFF;
            if (kind == 1 && completed == 0) {
                completed = 0xFFFF;
            }
            assertEquals(Checksums.l4Checksum(buf, f.l4Offset, f.l4Length, newSrc, newDst, proto), completed, context);
        }
    }

    @Test
    void translatingAnIcmpErrorsQuotedDatagramUpdatesTheIcmpChecksumIncrementally() {
        final UdpHeader innerUdp = new UdpHeader();
        final Ipv4Header innerIp = new Ipv4Header();
        for (int round = 0; round < ROUNDS / 2; round++) {
            final int innerKind = random.nextInt(2);
            final byte[] offending = randomFrame(innerKind).build();
            final int[][] typeCodes = {{3, 3}, {3, 4}, {3, 1}, {11, 0}, {12, 0}};
            final int[] typeCode = typeCodes[random.nextInt(typeCodes.length)];
            final Frames.Builder error = Frames.icmpError(typeCode[0], typeCode[1], offending).src(randomIp())
                .icmpRestOfHeader(random.nextInt(65536));
            final int innerLength = Frames.ipDatagramOf(offending).length;
            final int innerHeaderLength = (Frames.ipDatagramOf(offending)[0] & 0x0F) * 4;
            if (random.nextBoolean()) {
                final int optional = Math.max(1, innerLength - innerHeaderLength - 7);
                error.quoteBytes(innerHeaderLength + 8 + random.nextInt(optional));
            }
            final byte[] frame = error.build();
            final UnsafeBuffer buf = parsed(frame);
            final String context = "seed " + SEED + " round " + round + " frame " + Frames.hex(frame);
            assertTrue(f.icmpError, context);

            // The reply direction of a masquerade: outer destination, quoted source address and port go back.
            final int privateIp = random.nextInt();
            final int privatePort = random.nextInt(65536);
            ipv4.wrap(buf, f.l3Offset);
            final int outerDelta = Checksums.delta32(f.dstIp, privateIp);
            ipv4.destinationAddress(privateIp).checksum(Checksums.applyToChecksum(ipv4.checksum(), outerDelta));

            innerIp.wrap(buf, f.innerL3Offset);
            final int innerAddressDelta = Checksums.delta32(f.innerSrcIp, privateIp);
            final int oldInnerChecksum = innerIp.checksum();
            innerIp.sourceAddress(privateIp).checksum(Checksums.applyToChecksum(oldInnerChecksum, innerAddressDelta));
            innerUdp.wrap(buf, f.innerL4Offset); // ports sit at the same place for TCP and UDP
            final int portDelta = Checksums.delta16(innerUdp.sourcePort(), privatePort);
            innerUdp.sourcePort(privatePort);

            icmp.wrap(buf, f.l4Offset, f.l4Length);
            final int icmpDelta = Checksums.addDeltas(Checksums.addDeltas(innerAddressDelta, portDelta),
                Checksums.delta16(oldInnerChecksum, innerIp.checksum()));
            icmp.checksum(Checksums.applyToChecksum(icmp.checksum(), icmpDelta));

            assertTrue(ipv4.isChecksumValid(), context);
            assertTrue(innerIp.isChecksumValid(), context);
            assertEquals(Checksums.icmpChecksum(buf, f.l4Offset, f.l4Length), icmp.checksum(), context);
        }
    }
}
