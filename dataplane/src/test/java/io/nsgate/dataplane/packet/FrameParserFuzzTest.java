// Seeded fuzzing: the parser never throws and never reads outside the frame, on over a million mangled frames.
package io.nsgate.dataplane.packet;

import io.nsgate.dataplane.stats.DropReason;
import io.nsgate.dataplane.testsupport.FencedBuffer;
import io.nsgate.dataplane.testsupport.Frames;
import io.nsgate.dataplane.testsupport.PcapReader;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;

import static io.nsgate.dataplane.testsupport.Frames.ACK;
import static io.nsgate.dataplane.testsupport.Frames.PSH;
import static io.nsgate.dataplane.testsupport.Frames.SYN;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * Takes every golden frame and a spread of synthesized ones (VLAN, options, fragments, ICMP errors of every kind,
 * ARP), mangles them (truncation, bit flips, random bytes at header positions, random length fields with the IPv4
 * checksum repaired so the deeper checks are reached, pure noise), places each at a random offset of a
 * {@link FencedBuffer} fenced to exactly the frame, and parses. Any exception, any read outside the frame, any
 * result that is neither 0 nor a parser drop reason, or any accepted frame whose offsets point outside it, fails
 * the test with the seed, iteration and frame. At the end every parser drop reason and every kind must have been
 * seen, so the mutations demonstrably reach every check.
 */
class FrameParserFuzzTest {
    private static final long SEED = Long.getLong("nsgate.seed", 0xF022_5EEDL);
    private static final int ITERATIONS = Integer.getInteger("nsgate.fuzz.iterations", 2_000_000);
    private static final int MAX_FRAME = 1600;
    private static final int MAX_OFFSET = 64;

    private static final DropReason[] PARSER_REASONS = {
        DropReason.TRUNCATED_ETHERNET, DropReason.TRUNCATED_VLAN, DropReason.TRUNCATED_ARP, DropReason.TRUNCATED_IPV4,
        DropReason.BAD_IP_VERSION, DropReason.BAD_IHL, DropReason.BAD_TOTAL_LENGTH, DropReason.BAD_IP_CHECKSUM,
        DropReason.TRUNCATED_TCP, DropReason.BAD_TCP_DATA_OFFSET, DropReason.TRUNCATED_UDP, DropReason.BAD_UDP_LENGTH,
        DropReason.TRUNCATED_ICMP, DropReason.ICMP_ERROR_TRUNCATED, DropReason.ICMP_ERROR_BAD_INNER,
        DropReason.TRUNCATED_IPV6, DropReason.IPV6_BAD_PAYLOAD_LENGTH, DropReason.IPV6_EXTENSION_TRUNCATED,
    };
    /** Parser reasons random mutations may or may not reach (a TCP fragment at offset 8 or 16 is rare). */
    private static final DropReason[] RARE_PARSER_REASONS = {
        DropReason.FRAGMENT_TOO_LONG, DropReason.FRAGMENT_OVERLAPS_HEADER, DropReason.IPV6_EXTENSION_CHAIN_TOO_LONG,
        DropReason.IPV6_HOP_BY_HOP_NOT_FIRST,
    };

    private static List<byte[]> corpus() {
        final List<byte[]> corpus = new ArrayList<>();
        for (final String fixture : new String[] {"tcp.pcap", "udp.pcap", "icmp-echo.pcap",
            "icmp-port-unreachable.pcap", "icmp-frag-needed.pcap", "icmp-time-exceeded.pcap",
            "tcp-checksum-partial.pcap"}) {
            corpus.addAll(PcapReader.readResource("golden/" + fixture));
        }
        final byte[] udp = Frames.udp().payloadLength(30).build();
        final byte[] syn = Frames.tcp().flags(SYN).tcpOptions(new byte[] {2, 4, 5, (byte) 0xB4}).build();
        final byte[] echo = Frames.icmpEchoRequest().icmpId(9).payloadLength(16).build();
        final byte[] withOptions = Frames.udp().ipOptions(new byte[12]).payloadLength(9).build();
        final byte[] fragment = Frames.udp().fragmentOffset(1480).payloadLength(40).build();
        corpus.addAll(List.of(
            udp, syn, echo, withOptions, fragment,
            Frames.tcp().flags(PSH | ACK).payloadLength(101).vlan(12).build(),
            Frames.udp().vlan(0xE00F).padTo(64).build(),
            Frames.udp().moreFragments().udpLength(4000).payloadLength(64).build(),
            Frames.icmpEchoReply().vlan(1).build(),
            Frames.icmpPortUnreachable(udp).build(),
            Frames.icmpPortUnreachable(withOptions).vlan(3).build(),
            Frames.icmpFragmentationNeeded(syn, 1280).build(),
            Frames.icmpTimeExceeded(echo).build(),
            Frames.icmpTimeExceeded(fragment).quoteBytes(28).build(),
            Frames.icmpError(12, 0, Frames.icmpEchoReply().build()).ipOptions(new byte[4]).build(),
            Frames.ipv4(47).payloadLength(20).build(),
            Frames.ipv6(6, "fd01::3", "fd15::2", 20),
            Frames.ipv6(0, "fd01::3", "fd15::2", Frames.concat(Frames.ipv6Extension(43, 0), Frames.ipv6Extension(6, 1),
                Frames.tcpHeader(40000, 80, SYN), new byte[12])),
            Frames.ipv6(44, "fd01::3", "fd15::2", Frames.concat(Frames.ipv6Fragment(17, 1448, false, 9), new byte[40])),
            Frames.ipv6(58, "fd15::5", "fd15::2", Frames.icmp6(1, 4, Frames.concat(new byte[4],
                Arrays.copyOfRange(Frames.ipv6(17, "fd15::2", "fd01::3", Frames.concat(new byte[] {0, 53, 0, 53, 0, 8,
                    0, 0})), 14, 14 + 48)))),
            Frames.ipv6(58, "fe80::1", "ff02::1:ff00:2", 24),
            Frames.arpRequest("02:00:00:00:00:01", "10.0.0.1", "10.0.0.2"),
            Frames.arpReply("02:00:00:00:00:02", "10.0.0.2", "02:00:00:00:00:01", "10.0.0.1")));
        return corpus;
    }

    @Test
    void neverThrowsNorReadsOutsideTheFrame() {
        System.out.println("FrameParserFuzzTest seed " + SEED + ", " + ITERATIONS + " frames (-Dnsgate.seed=" + SEED
            + " -Dnsgate.fuzz.iterations=N)");
        final Random random = new Random(SEED);
        final List<byte[]> corpus = corpus();
        final byte[] arena = new byte[MAX_OFFSET + MAX_FRAME + 64];
        final FencedBuffer buffer = new FencedBuffer(arena);
        final FrameParser parser = new FrameParser();
        final ParsedFrame f = new ParsedFrame();
        final int[] reasonCounts = new int[DropReason.MAX_ID + 1];
        final int[] kindCounts = new int[6];
        final long start = System.nanoTime();

        for (int iteration = 0; iteration < ITERATIONS; iteration++) {
            final int offset = random.nextInt(MAX_OFFSET);
            final int length = mutate(random, corpus.get(random.nextInt(corpus.size())), arena, offset);
            buffer.fence(offset, offset + length);
            final int reason;
            try {
                reason = parser.parse(buffer, offset, length, f);
            } catch (final Throwable e) {
                throw new AssertionError("seed " + SEED + " iteration " + iteration + ": " + e + " on frame "
                    + Frames.hex(Arrays.copyOfRange(arena, offset, offset + length)), e);
            }
            if (reason != 0 && !isParserReason(reason)) {
                fail("seed " + SEED + " iteration " + iteration + ": returned " + reason);
            }
            reasonCounts[reason]++;
            if (reason == 0) {
                kindCounts[f.kind]++;
                checkAcceptedFrame(f, offset, length, iteration);
            }
        }

        final StringBuilder histogram = new StringBuilder("FrameParserFuzzTest: ")
            .append((System.nanoTime() - start) / 1_000_000).append(" ms; accepted ").append(reasonCounts[0])
            .append(" (other ").append(kindCounts[0]).append(", arp ").append(kindCounts[1]).append(", ipv4 ")
            .append(kindCounts[2]).append(", fragment ").append(kindCounts[3]).append(", ipv6 ").append(kindCounts[4])
            .append(", ipv6 fragment ").append(kindCounts[5]).append(')');
        for (final DropReason r : PARSER_REASONS) {
            histogram.append("; ").append(r.name()).append(' ').append(reasonCounts[r.id]);
        }
        System.out.println(histogram);
        for (final DropReason r : PARSER_REASONS) {
            assertTrue(reasonCounts[r.id] > 0, "the mutations never reached " + r + ": " + histogram);
        }
        for (int kind = 0; kind < kindCounts.length; kind++) {
            assertTrue(kindCounts[kind] > 0, "kind " + kind + " never accepted: " + histogram);
        }
    }

    private static boolean isParserReason(final int id) {
        for (final DropReason[] reasons : new DropReason[][] {PARSER_REASONS, RARE_PARSER_REASONS}) {
            for (final DropReason r : reasons) {
                if (r.id == id) {
                    return true;
                }
            }
        }
        return false;
    }

    private static void checkAcceptedFrame(
        final ParsedFrame f, final int offset, final int length, final int iteration) {
        final int end = offset + length;
        final String context = "iteration " + iteration;
        assertEquals(offset, f.frameOffset, context);
        switch (f.kind) {
            case ParsedFrame.KIND_ARP:
                assertTrue(f.l3Offset >= offset + 14 && f.l3Offset + 28 <= end, context);
                break;
            case ParsedFrame.KIND_IPV6:
            case ParsedFrame.KIND_IPV6_FRAGMENT:
                assertTrue(f.l3Offset >= offset + 14 && f.l3Offset + f.ipTotalLength <= end, context);
                assertTrue(f.ipHeaderLength >= 40 && f.ipHeaderLength <= f.ipTotalLength, context);
                if (f.l4Offset >= 0) {
                    assertEquals(f.l3Offset + f.ipHeaderLength, f.l4Offset, context);
                    assertEquals(f.ipTotalLength - f.ipHeaderLength, f.l4Length, context);
                }
                if (f.icmpError) {
                    assertTrue(f.innerL4Available >= 8, context);
                    assertEquals(f.l3Offset + f.ipTotalLength, f.innerL4Offset + f.innerL4Available, context);
                }
                break;
            case ParsedFrame.KIND_IPV4:
            case ParsedFrame.KIND_IPV4_FRAGMENT:
                assertTrue(f.l3Offset >= offset + 14, context);
                assertTrue(f.ipHeaderLength >= 20 && f.ipHeaderLength <= 60, context);
                assertTrue(f.ipTotalLength >= f.ipHeaderLength && f.l3Offset + f.ipTotalLength <= end, context);
                if (f.l4Offset >= 0) {
                    assertEquals(f.l3Offset + f.ipHeaderLength, f.l4Offset, context);
                    assertEquals(f.ipTotalLength - f.ipHeaderLength, f.l4Length, context);
                    assertTrue(f.tcpHeaderLength <= f.l4Length, context);
                }
                if (f.icmpError) {
                    assertEquals(f.l4Offset + 8, f.innerL3Offset, context);
                    assertTrue(f.innerL4Available >= 8, context);
                    assertEquals(f.l3Offset + f.ipTotalLength, f.innerL4Offset + f.innerL4Available, context);
                }
                break;
            default:
                assertEquals(ParsedFrame.KIND_OTHER, f.kind, context);
                break;
        }
    }

    /** Copies a mangled version of {@code base} into {@code arena} at {@code offset}; returns its length. */
    private static int mutate(final Random random, final byte[] base, final byte[] arena, final int offset) {
        int length = Math.min(base.length, MAX_FRAME);
        System.arraycopy(base, 0, arena, offset, length);
        final int l3 = l3Offset(arena, offset, length);
        switch (random.nextInt(7)) {
            case 0: // truncation anywhere
                length = random.nextInt(length + 1);
                break;
            case 1: // a few bit flips, mostly in the headers
                for (int flips = 1 + random.nextInt(4); flips > 0; flips--) {
                    final int span = random.nextInt(4) == 0 ? length : Math.min(length, 80);
                    arena[offset + random.nextInt(span)] ^= (byte) (1 << random.nextInt(8));
                }
                break;
            case 2: // random bytes at header positions, IPv4 checksum repaired
                for (int bytes = 1 + random.nextInt(3); bytes > 0; bytes--) {
                    arena[offset + random.nextInt(Math.min(length, 90))] = interestingByte(random);
                }
                repairIpChecksum(arena, offset, length, l3);
                break;
            case 3: // length-bearing fields set to random or boundary values, IPv4 checksum repaired
                mangleLengthField(random, arena, offset, length, l3);
                repairIpChecksum(arena, offset, length, l3);
                break;
            case 4: // pure noise behind a plausible ethertype
                length = random.nextInt(200);
                for (int i = 0; i < length; i++) {
                    arena[offset + i] = (byte) random.nextInt(256);
                }
                if (length >= 14 && random.nextInt(4) != 0) {
                    final int[] types = {0x0800, 0x0806, 0x8100};
                    final int type = types[random.nextInt(types.length)];
                    arena[offset + 12] = (byte) (type >>> 8);
                    arena[offset + 13] = (byte) type;
                    if (length > 14) {
                        arena[offset + 14] = (byte) (0x45 + random.nextInt(3));
                    }
                }
                repairIpChecksum(arena, offset, length, l3Offset(arena, offset, length));
                break;
            case 5: // field mangling and truncation together
                mangleLengthField(random, arena, offset, length, l3);
                repairIpChecksum(arena, offset, length, l3);
                length = random.nextInt(length + 1);
                break;
            default: // untouched, at a random offset, sometimes with trailing garbage counted in the frame
                if (random.nextBoolean()) {
                    final int extra = random.nextInt(Math.min(40, MAX_FRAME - length + 1));
                    for (int i = 0; i < extra; i++) {
                        arena[offset + length + i] = (byte) random.nextInt(256);
                    }
                    length += extra;
                }
                break;
        }
        return length;
    }

    private static byte interestingByte(final Random random) {
        final int[] values = {0x00, 0xFF, 0x45, 0x46, 0x4F, 0x44, 0x40, 0x50, 0xF0, 0x08, 0x06, 0x11, 0x01, 0x03};
        return (byte) (random.nextBoolean() ? values[random.nextInt(values.length)] : random.nextInt(256));
    }

    private static void mangleLengthField(
        final Random random, final byte[] arena, final int offset, final int length, final int l3) {
        if (l3 < 0 || l3 + 20 > length) {
            return;
        }
        final int at = offset + l3;
        final int headerLength = (arena[at] & 0x0F) * 4;
        final int l4 = at + Math.max(headerLength, 20);
        final int quoted = l4 + 8;
        final int[] positions = {
            at, // version/IHL
            at + 2, // total length (high byte)
            at + 3, // total length (low byte)
            at + 6, // flags / fragment offset
            at + 9, // protocol
            l4 + 4, // UDP length high / ICMP id
            l4 + 5, // UDP length low
            l4 + 12, // TCP data offset
            l4, // ICMP type / port
            quoted, // quoted version/IHL
            quoted + 6, // quoted fragment offset
            quoted + 9, // quoted protocol
        };
        final int position = positions[random.nextInt(positions.length)];
        if (position < offset + length) {
            arena[position] = interestingByte(random);
        }
    }

    /** Offset of the IPv4 header from the frame start when the ethertype says IPv4, else -1. */
    private static int l3Offset(final byte[] arena, final int offset, final int length) {
        if (length < 14) {
            return -1;
        }
        final int etherType = ((arena[offset + 12] & 0xFF) << 8) | (arena[offset + 13] & 0xFF);
        if (etherType == 0x0800) {
            return 14;
        }
        if (etherType == 0x8100 && length >= 18
            && (((arena[offset + 16] & 0xFF) << 8) | (arena[offset + 17] & 0xFF)) == 0x0800) {
            return 18;
        }
        return -1;
    }

    private static void repairIpChecksum(final byte[] arena, final int offset, final int length, final int l3) {
        if (l3 < 0 || l3 + 20 > length) {
            return;
        }
        final int at = offset + l3;
        final int headerLength = (arena[at] & 0x0F) * 4;
        if (headerLength < 20 || l3 + headerLength > length) {
            return;
        }
        arena[at + 10] = 0;
        arena[at + 11] = 0;
        final int checksum = Frames.internetChecksum(arena, at, headerLength, 0);
        arena[at + 10] = (byte) (checksum >>> 8);
        arena[at + 11] = (byte) checksum;
    }
}
