// Flyweight over a UDP header (RFC 768), read and written in place.
package io.nsgate.dataplane.packet;

import org.agrona.MutableDirectBuffer;

/**
 * A UDP header in a buffer. A checksum of 0 means "none" (RFC 768); a computed 0 is sent as 0xFFFF, which is why
 * UDP has its own incremental update ({@link Checksums#applyToUdpChecksum}). Setters do not touch the checksum.
 *
 * <pre>
 *  0                   1                   2                   3
 *  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |          Source Port          |       Destination Port        |   0
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |   Length (header + payload)   |           Checksum            |   4
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * </pre>
 */
public final class UdpHeader extends HeaderFlyweight {
    public static final int SOURCE_PORT_OFFSET = 0;
    public static final int DESTINATION_PORT_OFFSET = 2;
    public static final int LENGTH_OFFSET = 4;
    public static final int CHECKSUM_OFFSET = 6;
    /** Header length in bytes. */
    public static final int LENGTH = 8;

    public UdpHeader wrap(final MutableDirectBuffer buffer, final int offset) {
        point(buffer, offset);
        return this;
    }

    public int sourcePort() {
        return buffer.getShort(offset + SOURCE_PORT_OFFSET, BIG) & 0xFFFF;
    }

    public UdpHeader sourcePort(final int port) {
        buffer.putShort(offset + SOURCE_PORT_OFFSET, (short) port, BIG);
        return this;
    }

    public int destinationPort() {
        return buffer.getShort(offset + DESTINATION_PORT_OFFSET, BIG) & 0xFFFF;
    }

    public UdpHeader destinationPort(final int port) {
        buffer.putShort(offset + DESTINATION_PORT_OFFSET, (short) port, BIG);
        return this;
    }

    /** The length field: header and payload, in bytes. */
    public int length() {
        return buffer.getShort(offset + LENGTH_OFFSET, BIG) & 0xFFFF;
    }

    public UdpHeader length(final int value) {
        buffer.putShort(offset + LENGTH_OFFSET, (short) value, BIG);
        return this;
    }

    /** Payload bytes according to the length field. */
    public int payloadLength() {
        return length() - LENGTH;
    }

    /** Absolute offset of the payload. */
    public int payloadOffset() {
        return offset + LENGTH;
    }

    public int checksum() {
        return buffer.getShort(offset + CHECKSUM_OFFSET, BIG) & 0xFFFF;
    }

    public UdpHeader checksum(final int value) {
        buffer.putShort(offset + CHECKSUM_OFFSET, (short) value, BIG);
        return this;
    }
}
