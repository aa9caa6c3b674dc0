// Checksums against RFC examples, a word-by-word reference, and the UDP zero rule.
package io.nsgate.dataplane.packet;

import io.nsgate.dataplane.testsupport.Frames;
import org.agrona.concurrent.UnsafeBuffer;
import org.junit.jupiter.api.Test;

import java.util.Random;

import static io.nsgate.dataplane.testsupport.Frames.unhex;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import io.nsgate.linux.net.Ipv4Address;

class ChecksumsTest {
    /** IPv4 header from the Wikipedia "IPv4 header checksum" example, checksum 0xB861 at bytes 10-11. */
    private static final String WIKIPEDIA_IPV4_HEADER = "4500 0073 0000 4000 4011 b861 c0a8 0001 c0a8 00c7";

    @Test
    void sumsTheRfc1071Example() {
        // RFC 1071 section 3: bytes 00 01 f2 03 f4 f5 f6 f7 sum to ddf2 (checksum 220d).
        final UnsafeBuffer buf = new UnsafeBuffer(unhex("0001 f203 f4f5 f6f7"));
        assertEquals(0xDDF2, Checksums.fold(Checksums.sum(buf, 0, 8, 0)));
    }

    @Test
    void padsAnOddTrailingByteWithZero() {
        final UnsafeBuffer buf = new UnsafeBuffer(unhex("0102 03"));
        assertEquals(0x0102 + 0x0300, Checksums.fold(Checksums.sum(buf, 0, 3, 0)));
    }

    @Test
    void continuesFromAnInitialAccumulator() {
        final UnsafeBuffer buf = new UnsafeBuffer(unhex("ffff ffff"));
        assertEquals(Checksums.fold(0xFFFF + 0xFFFF + 0x1234), Checksums.fold(Checksums.sum(buf, 0, 4, 0x1234)));
        assertEquals(0x1234, Checksums.sum(buf, 0, 0, 0x1234));
    }

    @Test
    void foldsWithEndAroundCarryWithoutComplementing() {
        assertEquals(0, Checksums.fold(0));
        assertEquals(1, Checksums.fold(0x1_0000));
        assertEquals(0xFFFF, Checksums.fold(0x1_FFFE));
        assertEquals(0xFFFF, Checksums.fold(0xFFFF_FFFF));
        assertEquals(0x0002, Checksums.fold(0x0001_0001));
    }

    @Test
    void sumMatchesWordByWordReferenceForEveryLengthOffsetAndInitial() {
        final Random random = new Random(1071);
        final byte[] bytes = new byte[2048];
        random.nextBytes(bytes);
        final UnsafeBuffer buf = new UnsafeBuffer(bytes);
        for (int offset = 0; offset < 9; offset++) {
            for (int length = 0; length < 1600; length += length < 80 ? 1 : 37) {
                final int initial = random.nextInt(4) == 0 ? random.nextInt() : random.nextInt(0x2_0000);
                final long reference = referenceSum(bytes, offset, length) + (initial & 0xFFFF_FFFFL);
                assertEquals(referenceFold(reference), Checksums.fold(Checksums.sum(buf, offset, length, initial)),
                    "offset " + offset + " length " + length + " initial " + Integer.toHexString(initial));
            }
        }
    }

    @Test
    void computesAndVerifiesTheWikipediaIpv4HeaderChecksum() {
        final byte[] header = unhex(WIKIPEDIA_IPV4_HEADER);
        final UnsafeBuffer buf = new UnsafeBuffer(header);
        assertEquals(0xB861, Checksums.ipv4HeaderChecksum(buf, 0, 20));
        assertTrue(Checksums.verifyIpv4Header(buf, 0, 20));

        buf.putShort(10, (short) 0x1234); // the field's content does not matter to the computation
        assertEquals(0xB861, Checksums.ipv4HeaderChecksum(buf, 0, 20));
        assertFalse(Checksums.verifyIpv4Header(buf, 0, 20));
    }

    @Test
    void computesTheIpv4HeaderChecksumOverOptions() {
        final byte[] frame = Frames.tcp().ipOptions(unhex("94040000 01010101")).build();
        final UnsafeBuffer buf = new UnsafeBuffer(frame);
        final int stored = buf.getShort(14 + 10, java.nio.ByteOrder.BIG_ENDIAN) & 0xFFFF;
        assertEquals(stored, Checksums.ipv4HeaderChecksum(buf, 14, 28));
        assertTrue(Checksums.verifyIpv4Header(buf, 14, 28));
        assertFalse(Checksums.verifyIpv4Header(buf, 14, 20), "the options are part of the sum");
    }

    @Test
    void pseudoHeaderSumIsFoldedAndUncomplemented() {
        final int src = Ipv4Address.parse("192.168.15.2");
        final int dst = Ipv4Address.parse("192.168.1.3");
        final int expected = Checksums.fold(0xC0A8 + 0x0F02 + 0xC0A8 + 0x0103 + 6 + 40);
        assertEquals(expected, Checksums.pseudoHeaderSum(src, dst, 6, 40));
        assertEquals(Frames.pseudoHeaderSum(src, dst, 6, 40), Checksums.pseudoHeaderSum(src, dst, 6, 40));
    }

    @Test
    void l4ChecksumMatchesTheReferenceForTcpAndUdpWhateverTheFieldHolds() {
        for (final byte[] frame : new byte[][] {
            Frames.tcp().flags(Frames.SYN).payloadLength(33).build(),
            Frames.udp().payload("odd-length payload").build(),
        }) {
            final UnsafeBuffer buf = new UnsafeBuffer(frame);
            final int proto = frame[14 + 9];
            final int l4Length = frame.length - 34;
            final int fieldOffset = 34 + (proto == 6 ? 16 : 6);
            final int stored = buf.getShort(fieldOffset, java.nio.ByteOrder.BIG_ENDIAN) & 0xFFFF;
            final int src = buf.getInt(26, java.nio.ByteOrder.BIG_ENDIAN);
            final int dst = buf.getInt(30, java.nio.ByteOrder.BIG_ENDIAN);
            assertEquals(stored, Checksums.l4Checksum(buf, 34, l4Length, src, dst, proto));
            buf.putShort(fieldOffset, (short) 0xBEEF, java.nio.ByteOrder.BIG_ENDIAN);
            assertEquals(stored, Checksums.l4Checksum(buf, 34, l4Length, src, dst, proto));
        }
    }

    @Test
    void udpChecksumThatComputesToZeroIsSentAsAllOnes() {
        // Choose the first payload word so that the one's-complement sum is 0xFFFF, i.e. the checksum 0.
        final byte[] probe = Frames.udp().payload(new byte[] {0, 0, 1, 2, 3}).build();
        final UnsafeBuffer buf = new UnsafeBuffer(probe);
        final int src = buf.getInt(26, java.nio.ByteOrder.BIG_ENDIAN);
        final int dst = buf.getInt(30, java.nio.ByteOrder.BIG_ENDIAN);
        buf.putShort(40, (short) 0); // the checksum field, so that the reference sum below leaves it out
        final int withZeroWord = Checksums.l4Checksum(buf, 34, probe.length - 34, src, dst, 17);
        buf.putShort(42, (short) withZeroWord, java.nio.ByteOrder.BIG_ENDIAN);
        assertEquals(0, Frames.internetChecksum(probe, 34, probe.length - 34,
            Frames.pseudoHeaderSum(src, dst, 17, probe.length - 34)), "the sum now complements to zero");
        assertEquals(0xFFFF, Checksums.l4Checksum(buf, 34, probe.length - 34, src, dst, 17));
    }

    @Test
    void icmpChecksumCoversTheWholeMessageWithoutPseudoHeader() {
        final byte[] frame = Frames.icmpEchoRequest().icmpId(0x1234).icmpSeq(7).payloadLength(57).build();
        final UnsafeBuffer buf = new UnsafeBuffer(frame);
        final int stored = buf.getShort(36, java.nio.ByteOrder.BIG_ENDIAN) & 0xFFFF;
        assertEquals(stored, Checksums.icmpChecksum(buf, 34, frame.length - 34));
    }

    @Test
    void appliesADeltaToAChecksumLikeRfc1624Eqn3() {
        final byte[] header = unhex(WIKIPEDIA_IPV4_HEADER);
        final UnsafeBuffer buf = new UnsafeBuffer(header);
        final int oldSrc = buf.getInt(12, java.nio.ByteOrder.BIG_ENDIAN);
        final int newSrc = Ipv4Address.parse("10.1.2.3");
        buf.putInt(12, newSrc, java.nio.ByteOrder.BIG_ENDIAN);
        assertEquals(Checksums.ipv4HeaderChecksum(buf, 0, 20),
            Checksums.applyToChecksum(0xB861, Checksums.delta32(oldSrc, newSrc)));
    }

    @Test
    void delta32IsTwoDelta16s() {
        final Random random = new Random(32);
        for (int i = 0; i < 10_000; i++) {
            final int a = random.nextInt();
            final int b = random.nextInt();
            final int viaWords = Checksums.addDeltas(
                Checksums.delta16(a >>> 16, b >>> 16), Checksums.delta16(a & 0xFFFF, b & 0xFFFF));
            assertEquals(Checksums.fold(viaWords) % 0xFFFF, Checksums.delta32(a, b) % 0xFFFF);
        }
    }

    @Test
    void negatedDeltaUndoesTheRewrite() {
        final Random random = new Random(7);
        for (int i = 0; i < 10_000; i++) {
            final int checksum = random.nextInt(0xFFFF); // [0, 0xFFFE]: what ~fold(non-zero) can produce
            final int delta = Checksums.delta32(random.nextInt(), random.nextInt());
            final int there = Checksums.applyToChecksum(checksum, delta);
            assertEquals(checksum, Checksums.applyToChecksum(there, Checksums.negateDelta(delta)));
        }
    }

    @Test
    void udpChecksumZeroMeansNoneAndStaysNone() {
        assertEquals(0, Checksums.applyToUdpChecksum(0, Checksums.delta32(1, 2)));
        assertEquals(0, Checksums.applyToUdpChecksum(0, 0));
    }

    @Test
    void udpIncrementalResultOfZeroBecomesAllOnes() {
        // checksum 0x0001 with a delta of +1 ... ~fold(~1 + 1) = ~0xFFFF = 0: must be sent as 0xFFFF.
        assertEquals(0, Checksums.applyToChecksum(0x0001, 0x0001));
        assertEquals(0xFFFF, Checksums.applyToUdpChecksum(0x0001, 0x0001));
    }

    @Test
    void partialFieldTakesAddressDeltasUncomplemented() {
        final int src = Ipv4Address.parse("192.168.15.2");
        final int dst = Ipv4Address.parse("192.168.1.3");
        final int masqueraded = Ipv4Address.parse("192.168.1.2");
        final int partial = Checksums.pseudoHeaderSum(src, dst, 6, 1480);
        assertEquals(Checksums.pseudoHeaderSum(masqueraded, dst, 6, 1480),
            Checksums.applyToPartial(partial, Checksums.delta32(src, masqueraded)));
    }

    private static long referenceSum(final byte[] bytes, final int offset, final int length) {
        long sum = 0;
        for (int i = 0; i < length; i += 2) {
            final int high = bytes[offset + i] & 0xFF;
            final int low = i + 1 < length ? bytes[offset + i + 1] & 0xFF : 0;
            sum += (high << 8) | low;
        }
        return sum;
    }

    private static int referenceFold(final long sum) {
        long s = sum;
        while ((s >>> 16) != 0) {
            s = (s & 0xFFFF) + (s >>> 16);
        }
        return (int) s;
    }

    /** The checksum of an IPv6 upper-layer packet computed the plain way: pseudo-header bytes, then the segment. */
    private static int referenceChecksum6(final byte[] src, final byte[] dst, final int proto, final byte[] segment,
                                          final int fieldOffset) {
        final java.nio.ByteBuffer b = java.nio.ByteBuffer.allocate(40 + segment.length);
        b.put(src).put(dst).putInt(segment.length).put(new byte[3]).put((byte) proto).put(segment);
        final byte[] all = b.array();
        all[40 + fieldOffset] = 0;
        all[40 + fieldOffset + 1] = 0;
        return io.nsgate.dataplane.testsupport.Frames.internetChecksum(all, 0, all.length, 0);
    }

    @Test
    void ipv6ChecksumsMatchAPlainComputationAndTheirDeltasARecomputation() {
        final java.util.Random random = new java.util.Random(6);
        final int[] protos = {IpProtocol.TCP, IpProtocol.UDP, IpProtocol.ICMPV6};
        final int[] fields = {16, 6, 2};
        for (int i = 0; i < 3000; i++) {
            final int p = i % 3;
            final byte[] segment = new byte[20 + random.nextInt(200)]; // odd lengths too
            random.nextBytes(segment);
            final byte[] src = new byte[16];
            final byte[] dst = new byte[16];
            random.nextBytes(src);
            random.nextBytes(dst);
            final io.nsgate.linux.net.Ipv6Address s6 = io.nsgate.linux.net.Ipv6Address.fromBytes(src, 0);
            final io.nsgate.linux.net.Ipv6Address d6 = io.nsgate.linux.net.Ipv6Address.fromBytes(dst, 0);
            int expected = referenceChecksum6(src, dst, protos[p], segment, fields[p]);
            if (expected == 0 && protos[p] == IpProtocol.UDP) {
                expected = 0xFFFF;
            }
            final int got = Checksums.l4Checksum6(new UnsafeBuffer(segment), 0, segment.length, s6.high(), s6.low(),
                d6.high(), d6.low(), protos[p]);
            assertEquals(expected, got, "packet " + i);

            // rewrite the destination (NAT66): the delta applied to the old checksum verifies like a recomputation
            final byte[] newDst = new byte[16];
            random.nextBytes(newDst);
            final io.nsgate.linux.net.Ipv6Address n6 = io.nsgate.linux.net.Ipv6Address.fromBytes(newDst, 0);
            final int patched = Checksums.applyToChecksum(got, Checksums.delta128(d6.high(), d6.low(), n6.high(),
                n6.low()));
            final int recomputed = Checksums.l4Checksum6(new UnsafeBuffer(segment), 0, segment.length, s6.high(),
                s6.low(), n6.high(), n6.low(), protos[p]);
            assertEquals(Checksums.fold(recomputed) % 0xFFFF, Checksums.fold(patched) % 0xFFFF,
                "packet " + i + ": 0x0000 and 0xFFFF are the same checksum");
        }
    }
}
