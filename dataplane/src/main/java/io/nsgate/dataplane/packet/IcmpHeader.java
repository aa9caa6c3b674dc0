// Flyweight over an ICMPv4 header (RFC 792, RFC 1191), read and written in place.
package io.nsgate.dataplane.packet;

import org.agrona.MutableDirectBuffer;

/**
 * An ICMPv4 message header in a buffer. The second word depends on the type: identifier and sequence number for
 * echo, next-hop MTU for "fragmentation needed" (RFC 1191), a pointer for "parameter problem", unused otherwise.
 * Error messages (types 3, 11, 12) quote the offending datagram's IPv4 header and at least 8 bytes of its
 * payload from byte 8 on ({@link #quotedDatagramOffset()}). The ICMP checksum covers the whole message, quoted
 * datagram included, without a pseudo-header. Setters do not touch the checksum.
 *
 * <pre>
 *  0                   1                   2                   3
 *  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |     Type      |     Code      |          Checksum             |   0
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |   echo: Identifier            |   echo: Sequence Number       |   4
 * |   type 3 code 4: unused (0)   |   type 3 code 4: Next-Hop MTU |
 * |   type 12: Pointer | unused                                   |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |   echo: data ...  /  errors: quoted IPv4 header + >= 8 bytes  |   8
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * </pre>
 */
public final class IcmpHeader extends HeaderFlyweight {
    public static final int TYPE_OFFSET = 0;
    public static final int CODE_OFFSET = 1;
    public static final int CHECKSUM_OFFSET = 2;
    public static final int IDENTIFIER_OFFSET = 4;
    public static final int SEQUENCE_OFFSET = 6;
    public static final int POINTER_OFFSET = 4;
    public static final int NEXT_HOP_MTU_OFFSET = 6;
    /** Offset of the echo data or of the quoted datagram. */
    public static final int DATA_OFFSET = 8;
    /** Header length in bytes. */
    public static final int LENGTH = 8;

    public static final int TYPE_ECHO_REPLY = 0;
    public static final int TYPE_DESTINATION_UNREACHABLE = 3;
    public static final int TYPE_REDIRECT = 5;
    public static final int TYPE_ECHO_REQUEST = 8;
    public static final int TYPE_TIME_EXCEEDED = 11;
    public static final int TYPE_PARAMETER_PROBLEM = 12;

    /** Destination unreachable codes. */
    public static final int CODE_NET_UNREACHABLE = 0;
    public static final int CODE_HOST_UNREACHABLE = 1;
    public static final int CODE_PROTOCOL_UNREACHABLE = 2;
    public static final int CODE_PORT_UNREACHABLE = 3;
    public static final int CODE_FRAGMENTATION_NEEDED = 4;
    public static final int CODE_ADMINISTRATIVELY_PROHIBITED = 13;
    /** Time exceeded codes. */
    public static final int CODE_TTL_EXCEEDED_IN_TRANSIT = 0;
    public static final int CODE_FRAGMENT_REASSEMBLY_TIME_EXCEEDED = 1;

    private int length;

    /** Wraps a header whose message length is unknown ({@link #quotedDatagramLength()} is then meaningless). */
    public IcmpHeader wrap(final MutableDirectBuffer buffer, final int offset) {
        return wrap(buffer, offset, 0);
    }

    /** Wraps a message of {@code length} bytes (IP total length - IP header length), header included. */
    public IcmpHeader wrap(final MutableDirectBuffer buffer, final int offset, final int length) {
        point(buffer, offset);
        this.length = length;
        return this;
    }

    /** Message length given to {@link #wrap(MutableDirectBuffer, int, int)}. */
    public int length() {
        return length;
    }

    /** True for the types that quote a datagram: destination unreachable, time exceeded, parameter problem. */
    public static boolean isErrorType(final int type) {
        return type == TYPE_DESTINATION_UNREACHABLE || type == TYPE_TIME_EXCEEDED || type == TYPE_PARAMETER_PROBLEM;
    }

    public boolean isError() {
        return isErrorType(type());
    }

    public int type() {
        return buffer.getByte(offset + TYPE_OFFSET) & 0xFF;
    }

    public IcmpHeader type(final int value) {
        buffer.putByte(offset + TYPE_OFFSET, (byte) value);
        return this;
    }

    public int code() {
        return buffer.getByte(offset + CODE_OFFSET) & 0xFF;
    }

    public IcmpHeader code(final int value) {
        buffer.putByte(offset + CODE_OFFSET, (byte) value);
        return this;
    }

    public int checksum() {
        return buffer.getShort(offset + CHECKSUM_OFFSET, BIG) & 0xFFFF;
    }

    public IcmpHeader checksum(final int value) {
        buffer.putShort(offset + CHECKSUM_OFFSET, (short) value, BIG);
        return this;
    }

    /** Echo identifier (types 0 and 8). */
    public int identifier() {
        return buffer.getShort(offset + IDENTIFIER_OFFSET, BIG) & 0xFFFF;
    }

    public IcmpHeader identifier(final int value) {
        buffer.putShort(offset + IDENTIFIER_OFFSET, (short) value, BIG);
        return this;
    }

    /** Echo sequence number (types 0 and 8). */
    public int sequenceNumber() {
        return buffer.getShort(offset + SEQUENCE_OFFSET, BIG) & 0xFFFF;
    }

    public IcmpHeader sequenceNumber(final int value) {
        buffer.putShort(offset + SEQUENCE_OFFSET, (short) value, BIG);
        return this;
    }

    /** Next-hop MTU of a "fragmentation needed" message (type 3 code 4), RFC 1191; 0 from pre-1191 routers. */
    public int nextHopMtu() {
        return buffer.getShort(offset + NEXT_HOP_MTU_OFFSET, BIG) & 0xFFFF;
    }

    public IcmpHeader nextHopMtu(final int value) {
        buffer.putShort(offset + NEXT_HOP_MTU_OFFSET, (short) value, BIG);
        return this;
    }

    /** The byte a "parameter problem" message (type 12) points at. */
    public int pointer() {
        return buffer.getByte(offset + POINTER_OFFSET) & 0xFF;
    }

    public IcmpHeader pointer(final int value) {
        buffer.putByte(offset + POINTER_OFFSET, (byte) value);
        return this;
    }

    /** The second word whole (bytes 4-7), whatever the type makes of it. */
    public int restOfHeader() {
        return buffer.getInt(offset + IDENTIFIER_OFFSET, BIG);
    }

    public IcmpHeader restOfHeader(final int value) {
        buffer.putInt(offset + IDENTIFIER_OFFSET, value, BIG);
        return this;
    }

    /** Absolute offset of the quoted datagram (errors) or echo data: the header's offset + 8. */
    public int quotedDatagramOffset() {
        return offset + DATA_OFFSET;
    }

    /** Bytes after the 8-byte header (needs the 3-argument wrap). */
    public int quotedDatagramLength() {
        return length - LENGTH;
    }

    /** Recomputes and stores the checksum over the whole message (needs the 3-argument wrap; slow path). */
    public IcmpHeader updateChecksum() {
        return checksum(Checksums.icmpChecksum(buffer, offset, length));
    }
}
