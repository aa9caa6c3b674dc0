// Internet checksums (RFC 1071) and their incremental updates (RFC 1624) for IPv4, TCP, UDP and ICMP, allocation-free.
package io.nsgate.dataplane.packet;

import org.agrona.DirectBuffer;

import java.nio.ByteOrder;

/**
 * The one's-complement arithmetic behind every IPv4, TCP, UDP and ICMP checksum, and the RFC 1624 incremental
 * updates the NAT applies instead of recomputing.
 *
 * <h2>Theory of operation</h2>
 * The Internet checksum of some bytes is {@code ~fold(Σ words)}: the sum of their big-endian 16-bit words in
 * one's-complement arithmetic (a carry out of bit 15 is added back in at bit 0), complemented. Addition modulo
 * 0xFFFF is the same arithmetic, which is what makes the checksum cheap: words may be summed 32 bits at a time
 * and folded at the end, in any order.
 *
 * <p>When a NAT rewrites a 16-bit word from {@code m} to {@code m'}, RFC 1624 eqn 3 gives the new checksum
 * without reading the rest of the packet: {@code HC' = ~(~HC + ~m + m')}. The {@code ~m + m'} part depends only
 * on the rewrite, so a flow computes it once ({@link #delta16}, {@link #delta32}, combined with
 * {@link #addDeltas}) and applies it per packet ({@link #applyToChecksum}).
 *
 * <p>Frames handed over by veth with PACKET_VNET_HDR and {@code NEEDS_CSUM} (the kernel's CHECKSUM_PARTIAL) do
 * not carry a checksum in their TCP/UDP field but {@code fold(pseudo-header sum)}, un-complemented; whoever sends
 * the frame finishes it by adding the L4 bytes from {@code csum_start}. Only the pseudo-header (addresses,
 * protocol, length) is already in that field, so an address rewrite applies its delta there
 * ({@link #applyToPartial}, no complement on either side), a port rewrite leaves it alone. This is what Linux does
 * in {@code inet_proto_csum_replace4(..., pseudohdr=true)} for CHECKSUM_PARTIAL skbs.
 *
 * <h2>Conventions</h2>
 * All ints hold unsigned 16-bit values in their low bits, except {@link #sum}'s accumulator which is an unsigned
 * 32-bit value. "fold" means one's-complement reduction to 16 bits, never complemented; a folded non-zero sum is
 * in [1, 0xFFFF]. No method allocates, locks or throws for in-bounds arguments.
 */
public final class Checksums {
    private static final ByteOrder BIG = ByteOrder.BIG_ENDIAN;
    private static final long LOW_32_BITS = 0xFFFF_FFFFL;

    /** Offset of the checksum field in a TCP header. */
    public static final int TCP_CHECKSUM_OFFSET = 16;
    /** Offset of the checksum field in a UDP header. */
    public static final int UDP_CHECKSUM_OFFSET = 6;
    /** Offset of the checksum field in an ICMP header. */
    public static final int ICMP_CHECKSUM_OFFSET = 2;
    /** Offset of the checksum field in an IPv4 header. */
    public static final int IPV4_CHECKSUM_OFFSET = 10;

    private Checksums() {
    }

    /**
     * One's-complement accumulation of {@code length} bytes as big-endian 16-bit words, an odd trailing byte being
     * the high byte of a word whose low byte is zero: {@code initial + Σ words}, kept as an unsigned 32-bit
     * accumulator (carries out of bit 31 are added back in at bit 0, which preserves the value modulo 0xFFFF).
     * The result is unfolded: pass it on as {@code initial}, or {@link #fold} it.
     *
     * <p>The words are summed 8 bytes at a time; since 2^16 = 1 (mod 0xFFFF), summing 32-bit halves is the
     * same as summing 16-bit words.
     *
     * @param initial an unsigned 32-bit accumulator to continue (0 to start)
     * @return {@code initial + Σ words} as an unsigned 32-bit accumulator (an int to be read as unsigned)
     */
    public static int sum(final DirectBuffer buf, final int offset, final int length, final int initial) {
        long acc = initial & LOW_32_BITS;
        int i = offset;
        final int end = offset + length;
        // At most 2^13 longs per 64 KiB, each adding < 2^33: the long accumulator cannot overflow below 2^46 bytes.
        for (; i + 8 <= end; i += 8) {
            final long eight = buf.getLong(i, BIG);
            acc += (eight >>> 32) + (eight & LOW_32_BITS);
        }
        if (i + 4 <= end) {
            acc += buf.getInt(i, BIG) & LOW_32_BITS;
            i += 4;
        }
        if (i + 2 <= end) {
            acc += buf.getShort(i, BIG) & 0xFFFF;
            i += 2;
        }
        if (i < end) {
            acc += (buf.getByte(i) & 0xFF) << 8;
        }
        acc = (acc & LOW_32_BITS) + (acc >>> 32);
        acc = (acc & LOW_32_BITS) + (acc >>> 32);
        return (int) acc;
    }

    /**
     * Folds an unsigned 32-bit one's-complement accumulator to 16 bits with end-around carry:
     * {@code s = (s >>> 16) + (s & 0xFFFF)}, twice. Not complemented. 0 stays 0; any other value lands in
     * [1, 0xFFFF].
     */
    public static int fold(final int sum) {
        int s = (sum >>> 16) + (sum & 0xFFFF);
        s = (s >>> 16) + (s & 0xFFFF);
        return s;
    }

    /**
     * The IPv4 header checksum to store: {@code ~fold(Σ header words)} with the checksum field (bytes 10-11)
     * counted as 0, whatever it holds.
     *
     * @param headerLength IHL * 4, at least 20
     */
    public static int ipv4HeaderChecksum(final DirectBuffer buf, final int ipOffset, final int headerLength) {
        final int s = sum(buf, ipOffset + IPV4_CHECKSUM_OFFSET + 2, headerLength - IPV4_CHECKSUM_OFFSET - 2,
            sum(buf, ipOffset, IPV4_CHECKSUM_OFFSET, 0));
        return ~fold(s) & 0xFFFF;
    }

    /**
     * True when the IPv4 header's checksum field is consistent: {@code fold(Σ header words, field included)}
     * is 0xFFFF (negative zero), as in RFC 1071 and Linux's {@code ip_fast_csum() == 0}.
     */
    public static boolean verifyIpv4Header(final DirectBuffer buf, final int ipOffset, final int headerLength) {
        return fold(sum(buf, ipOffset, headerLength, 0)) == 0xFFFF;
    }

    /**
     * The TCP/UDP pseudo-header sum, folded and un-complemented:
     * {@code fold(srcHi + srcLo + dstHi + dstLo + proto + l4Length)}. This is what a CHECKSUM_PARTIAL frame
     * carries in its L4 checksum field.
     *
     * @param srcIp    source address, big-endian int (192.168.1.2 = 0xC0A80102)
     * @param dstIp    destination address, big-endian int
     * @param proto    IP protocol number (6, 17)
     * @param l4Length bytes of L4 header and payload (IPv4 total length - IHL * 4)
     */
    public static int pseudoHeaderSum(final int srcIp, final int dstIp, final int proto, final int l4Length) {
        final int s = (srcIp >>> 16) + (srcIp & 0xFFFF) + (dstIp >>> 16) + (dstIp & 0xFFFF) + proto + l4Length;
        return fold(s);
    }

    /**
     * The full TCP or UDP checksum to store: {@code ~fold(pseudoHeaderSum + Σ segment words)} with the checksum
     * field (TCP bytes 16-17, UDP bytes 6-7) counted as 0. For UDP a computed 0 is returned as 0xFFFF (RFC 768: 0
     * means "no checksum").
     *
     * @param l4Length bytes from {@code l4Offset} to the end of the IP datagram, at least the L4 header length
     * @param proto    {@link IpProtocol#TCP} or {@link IpProtocol#UDP}
     */
    public static int l4Checksum(
        final DirectBuffer buf, final int l4Offset, final int l4Length, final int srcIp, final int dstIp,
        final int proto) {
        final int fieldOffset = proto == IpProtocol.UDP ? UDP_CHECKSUM_OFFSET : TCP_CHECKSUM_OFFSET;
        return finish(buf, l4Offset, l4Length, fieldOffset, pseudoHeaderSum(srcIp, dstIp, proto, l4Length),
            proto == IpProtocol.UDP);
    }

    /**
     * The IPv6 pseudo-header sum (RFC 8200 8.1), folded and un-complemented: both addresses' sixteen words, the
     * upper-layer length (32 bits) and the next header. TCP, UDP and ICMPv6 all cover it.
     */
    public static int pseudoHeaderSum6(final long srcHigh, final long srcLow, final long dstHigh, final long dstLow,
                                       final int nextHeader, final int upperLength) {
        // at most 18 x 0xFFFF + 0xFF: far below 2^31
        return fold((int) (words(srcHigh) + words(srcLow) + words(dstHigh) + words(dstLow)) + (upperLength >>> 16)
            + (upperLength & 0xFFFF) + nextHeader);
    }

    /** The sum of a long's four 16-bit words (at most 4 x 0xFFFF: no overflow). */
    private static long words(final long v) {
        return ((v >>> 48) & 0xFFFF) + ((v >>> 32) & 0xFFFF) + ((v >>> 16) & 0xFFFF) + (v & 0xFFFF);
    }

    /**
     * The TCP, UDP or ICMPv6 checksum to store in an IPv6 packet: {@code ~fold(pseudoHeaderSum6 + Σ words)} with the
     * checksum field (TCP 16, UDP 6, ICMPv6 2) counted as 0. A computed 0 for UDP is stored as 0xFFFF (over IPv6 the
     * UDP checksum is mandatory, RFC 8200 8.1).
     *
     * @param proto {@link IpProtocol#TCP}, {@link IpProtocol#UDP} or {@link IpProtocol#ICMPV6}
     */
    public static int l4Checksum6(final DirectBuffer buf, final int l4Offset, final int l4Length, final long srcHigh,
                                  final long srcLow, final long dstHigh, final long dstLow, final int proto) {
        final int fieldOffset = proto == IpProtocol.UDP ? UDP_CHECKSUM_OFFSET
            : proto == IpProtocol.ICMPV6 ? ICMP_CHECKSUM_OFFSET : TCP_CHECKSUM_OFFSET;
        return finish(buf, l4Offset, l4Length, fieldOffset,
            pseudoHeaderSum6(srcHigh, srcLow, dstHigh, dstLow, proto, l4Length), proto == IpProtocol.UDP);
    }

    /**
     * {@code ~fold(initial + Σ words)} over {@code length} bytes at {@code offset}, the checksum field at
     * {@code fieldOffset} counted as 0; for UDP a computed 0 is returned as 0xFFFF (0 means "no checksum").
     */
    private static int finish(final DirectBuffer buf, final int offset, final int length, final int fieldOffset,
                              final int initial, final boolean udp) {
        int s = sum(buf, offset, fieldOffset, initial);
        s = sum(buf, offset + fieldOffset + 2, length - fieldOffset - 2, s);
        final int checksum = ~fold(s) & 0xFFFF;
        return checksum == 0 && udp ? 0xFFFF : checksum;
    }

    /**
     * The RFC 1624 delta of rewriting a 128-bit IPv6 address from {@code (oldHigh, oldLow)} to {@code (newHigh,
     * newLow)}: the one's-complement sum of the new words and the complemented old ones.
     */
    public static int delta128(final long oldHigh, final long oldLow, final long newHigh, final long newLow) {
        return fold((int) (words(~oldHigh) + words(~oldLow) + words(newHigh) + words(newLow))); // < 16 x 0xFFFF
    }

    /**
     * The ICMP checksum to store: {@code ~fold(Σ message words)} over the whole ICMP message (no pseudo-header),
     * with the checksum field (bytes 2-3) counted as 0.
     *
     * @param length bytes of the ICMP message (header and data), at least 4
     */
    public static int icmpChecksum(final DirectBuffer buf, final int offset, final int length) {
        return finish(buf, offset, length, ICMP_CHECKSUM_OFFSET, 0, false);
    }

    /**
     * The RFC 1624 delta of rewriting one 16-bit word from {@code oldWord} to {@code newWord}:
     * {@code fold(~oldWord + newWord)}.
     */
    public static int delta16(final int oldWord, final int newWord) {
        return fold((~oldWord & 0xFFFF) + (newWord & 0xFFFF));
    }

    /**
     * The RFC 1624 delta of rewriting a 32-bit value (an address, a sequence number), i.e. two adjacent words:
     * {@code fold(~oldHi + ~oldLo + newHi + newLo)}.
     */
    public static int delta32(final int oldValue, final int newValue) {
        final int notOld = ~oldValue;
        return fold((notOld >>> 16) + (notOld & 0xFFFF) + (newValue >>> 16) + (newValue & 0xFFFF));
    }

    /** Combines two deltas (e.g. address and port) into one: {@code fold(a + b)}. */
    public static int addDeltas(final int a, final int b) {
        return fold(a + b);
    }

    /**
     * The delta that undoes {@code d} (the reverse rewrite): its one's-complement negation {@code ~d & 0xFFFF}.
     * {@code negateDelta(delta32(a, b))} is congruent to {@code delta32(b, a)}.
     */
    public static int negateDelta(final int d) {
        return ~d & 0xFFFF;
    }

    /**
     * Applies a delta to a complete checksum (IPv4 header, TCP, ICMP), RFC 1624 eqn 3:
     * {@code ~fold(~HC + delta)}. Equals a full recomputation whenever the old checksum did.
     */
    public static int applyToChecksum(final int checksum, final int delta) {
        return ~fold((~checksum & 0xFFFF) + delta) & 0xFFFF;
    }

    /**
     * Applies a delta to a complete UDP checksum: 0 ("no checksum") stays 0; otherwise
     * {@link #applyToChecksum}, with a result of 0 stored as 0xFFFF.
     */
    public static int applyToUdpChecksum(final int checksum, final int delta) {
        if (checksum == 0) {
            return 0;
        }
        final int updated = applyToChecksum(checksum, delta);
        return updated == 0 ? 0xFFFF : updated;
    }

    /**
     * Applies a pseudo-header delta (an address rewrite) to the L4 field of a CHECKSUM_PARTIAL (NEEDS_CSUM)
     * frame, which holds the folded, un-complemented pseudo-header sum: {@code fold(P + delta)}. The result is
     * {@code pseudoHeaderSum} of the new addresses. Do not apply port deltas here: ports are not in the
     * pseudo-header, the sender's checksum completion will sum them.
     */
    public static int applyToPartial(final int partial, final int delta) {
        return fold((partial & 0xFFFF) + delta);
    }
}
