// Flyweight over an IPv4 header (RFC 791), read and written in place.
package io.nsgate.dataplane.packet;

import org.agrona.MutableDirectBuffer;

/**
 * An IPv4 header in a buffer. Addresses are big-endian ints (192.168.1.2 = 0xC0A80102); every other field is an
 * unsigned value in an int. Setters do not touch the checksum: a NAT applies an RFC 1624 delta
 * ({@link Checksums#applyToChecksum}) or, off the fast path, calls {@link #updateChecksum()}.
 *
 * <pre>
 *  0                   1                   2                   3
 *  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |Version|  IHL  |      TOS      |          Total Length         |   0
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |         Identification        |0|D|M|     Fragment Offset     |   4
 * |                               | |F|F|     (units of 8 bytes)  |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |      TTL      |   Protocol    |        Header Checksum        |   8
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |                       Source Address                          |  12
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |                    Destination Address                        |  16
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |                    Options (IHL > 5) ...                      |  20
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * </pre>
 */
public final class Ipv4Header extends HeaderFlyweight {
    public static final int VERSION_IHL_OFFSET = 0;
    public static final int TOS_OFFSET = 1;
    public static final int TOTAL_LENGTH_OFFSET = 2;
    public static final int IDENTIFICATION_OFFSET = 4;
    public static final int FLAGS_FRAGMENT_OFFSET = 6;
    public static final int TTL_OFFSET = 8;
    public static final int PROTOCOL_OFFSET = 9;
    public static final int CHECKSUM_OFFSET = 10;
    public static final int SOURCE_OFFSET = 12;
    public static final int DESTINATION_OFFSET = 16;
    /** The largest IPv4 datagram (the total length field is 16 bits). */
    public static final int MAX_TOTAL_LENGTH = 65_535;
    public static final int OPTIONS_OFFSET = 20;
    /** Length in bytes of a header without options. */
    public static final int MIN_LENGTH = 20;
    /** Length in bytes of the longest header (IHL 15). */
    public static final int MAX_LENGTH = 60;

    /** The DF bit in the flags/fragment-offset word. */
    public static final int FLAG_DONT_FRAGMENT = 0x4000;
    /** The MF bit in the flags/fragment-offset word. */
    public static final int FLAG_MORE_FRAGMENTS = 0x2000;
    /** The fragment offset bits (in 8-byte units) of the flags/fragment-offset word. */
    public static final int FRAGMENT_OFFSET_MASK = 0x1FFF;

    public Ipv4Header wrap(final MutableDirectBuffer buffer, final int offset) {
        point(buffer, offset);
        return this;
    }

    public int version() {
        return (buffer.getByte(offset + VERSION_IHL_OFFSET) & 0xFF) >>> 4;
    }

    /** The IHL field, in 32-bit words. */
    public int ihl() {
        return buffer.getByte(offset + VERSION_IHL_OFFSET) & 0x0F;
    }

    /** Sets version and IHL (in 32-bit words) together, they share a byte. */
    public Ipv4Header versionAndIhl(final int version, final int ihl) {
        buffer.putByte(offset + VERSION_IHL_OFFSET, (byte) ((version << 4) | (ihl & 0x0F)));
        return this;
    }

    /** Header length in bytes, options included (IHL * 4). */
    public int headerLength() {
        return ihl() << 2;
    }

    /** Bytes of options (header length - 20). */
    public int optionsLength() {
        return headerLength() - MIN_LENGTH;
    }

    /** Absolute offset of the L4 header (or of the fragment's payload). */
    public int payloadOffset() {
        return offset + headerLength();
    }

    public int tos() {
        return buffer.getByte(offset + TOS_OFFSET) & 0xFF;
    }

    public Ipv4Header tos(final int value) {
        buffer.putByte(offset + TOS_OFFSET, (byte) value);
        return this;
    }

    /** Header and payload, in bytes. */
    public int totalLength() {
        return buffer.getShort(offset + TOTAL_LENGTH_OFFSET, BIG) & 0xFFFF;
    }

    public Ipv4Header totalLength(final int value) {
        buffer.putShort(offset + TOTAL_LENGTH_OFFSET, (short) value, BIG);
        return this;
    }

    public int identification() {
        return buffer.getShort(offset + IDENTIFICATION_OFFSET, BIG) & 0xFFFF;
    }

    public Ipv4Header identification(final int value) {
        buffer.putShort(offset + IDENTIFICATION_OFFSET, (short) value, BIG);
        return this;
    }

    /** The whole flags/fragment-offset word (flags in the top 3 bits). */
    public int flagsAndFragmentOffset() {
        return buffer.getShort(offset + FLAGS_FRAGMENT_OFFSET, BIG) & 0xFFFF;
    }

    public Ipv4Header flagsAndFragmentOffset(final int value) {
        buffer.putShort(offset + FLAGS_FRAGMENT_OFFSET, (short) value, BIG);
        return this;
    }

    public boolean dontFragment() {
        return (flagsAndFragmentOffset() & FLAG_DONT_FRAGMENT) != 0;
    }

    public Ipv4Header dontFragment(final boolean value) {
        final int word = flagsAndFragmentOffset();
        return flagsAndFragmentOffset(value ? word | FLAG_DONT_FRAGMENT : word & ~FLAG_DONT_FRAGMENT);
    }

    public boolean moreFragments() {
        return (flagsAndFragmentOffset() & FLAG_MORE_FRAGMENTS) != 0;
    }

    public Ipv4Header moreFragments(final boolean value) {
        final int word = flagsAndFragmentOffset();
        return flagsAndFragmentOffset(value ? word | FLAG_MORE_FRAGMENTS : word & ~FLAG_MORE_FRAGMENTS);
    }

    /** Fragment offset in bytes (the field times 8). */
    public int fragmentOffsetBytes() {
        return (flagsAndFragmentOffset() & FRAGMENT_OFFSET_MASK) << 3;
    }

    /** Sets the fragment offset, in bytes (a multiple of 8), keeping the flags. */
    public Ipv4Header fragmentOffsetBytes(final int bytes) {
        final int word = flagsAndFragmentOffset();
        return flagsAndFragmentOffset((word & ~FRAGMENT_OFFSET_MASK) | ((bytes >>> 3) & FRAGMENT_OFFSET_MASK));
    }

    /** True for any fragment: MF set or a non-zero offset. */
    public boolean isFragment() {
        return (flagsAndFragmentOffset() & (FLAG_MORE_FRAGMENTS | FRAGMENT_OFFSET_MASK)) != 0;
    }

    public int ttl() {
        return buffer.getByte(offset + TTL_OFFSET) & 0xFF;
    }

    public Ipv4Header ttl(final int value) {
        buffer.putByte(offset + TTL_OFFSET, (byte) value);
        return this;
    }

    /** The 16-bit word holding TTL (high byte) and protocol, as a checksum delta of a TTL change needs it. */
    public int ttlProtocolWord() {
        return buffer.getShort(offset + TTL_OFFSET, BIG) & 0xFFFF;
    }

    public int protocol() {
        return buffer.getByte(offset + PROTOCOL_OFFSET) & 0xFF;
    }

    public Ipv4Header protocol(final int value) {
        buffer.putByte(offset + PROTOCOL_OFFSET, (byte) value);
        return this;
    }

    public int checksum() {
        return buffer.getShort(offset + CHECKSUM_OFFSET, BIG) & 0xFFFF;
    }

    public Ipv4Header checksum(final int value) {
        buffer.putShort(offset + CHECKSUM_OFFSET, (short) value, BIG);
        return this;
    }

    public int sourceAddress() {
        return buffer.getInt(offset + SOURCE_OFFSET, BIG);
    }

    public Ipv4Header sourceAddress(final int address) {
        buffer.putInt(offset + SOURCE_OFFSET, address, BIG);
        return this;
    }

    public int destinationAddress() {
        return buffer.getInt(offset + DESTINATION_OFFSET, BIG);
    }

    public Ipv4Header destinationAddress(final int address) {
        buffer.putInt(offset + DESTINATION_OFFSET, address, BIG);
        return this;
    }

    /** Recomputes and stores the header checksum from scratch (slow path: generated packets, tests). */
    public Ipv4Header updateChecksum() {
        return checksum(Checksums.ipv4HeaderChecksum(buffer, offset, headerLength()));
    }

    /** True when the stored header checksum verifies. */
    public boolean isChecksumValid() {
        return Checksums.verifyIpv4Header(buffer, offset, headerLength());
    }
}
