// Flyweight over a TCP header (RFC 9293), read and written in place.
package io.nsgate.dataplane.packet;

import org.agrona.MutableDirectBuffer;

/**
 * A TCP header in a buffer. Sequence and acknowledgment numbers are returned as raw ints: compare them with
 * wrap-around arithmetic ({@code (a - b) < 0}), never as magnitudes. Setters do not touch the checksum.
 *
 * <pre>
 *  0                   1                   2                   3
 *  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |          Source Port          |       Destination Port        |   0
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |                        Sequence Number                        |   4
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |                    Acknowledgment Number                      |   8
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |  Data |       |C|E|U|A|P|R|S|F|                               |  12
 * | Offset| Rsrvd |W|C|R|C|S|S|Y|I|            Window             |
 * |(words)|       |R|E|G|K|H|T|N|N|                               |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |           Checksum            |         Urgent Pointer        |  16
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |                    Options (data offset > 5) ...              |  20
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * </pre>
 */
public final class TcpHeader extends HeaderFlyweight {
    public static final int SOURCE_PORT_OFFSET = 0;
    public static final int DESTINATION_PORT_OFFSET = 2;
    public static final int SEQUENCE_OFFSET = 4;
    public static final int ACKNOWLEDGMENT_OFFSET = 8;
    public static final int DATA_OFFSET_OFFSET = 12;
    public static final int FLAGS_OFFSET = 13;
    public static final int WINDOW_OFFSET = 14;
    public static final int CHECKSUM_OFFSET = 16;
    public static final int URGENT_POINTER_OFFSET = 18;
    public static final int OPTIONS_OFFSET = 20;
    /** Length in bytes of a header without options. */
    public static final int MIN_LENGTH = 20;

    public static final int FIN = 0x01;
    public static final int SYN = 0x02;
    public static final int RST = 0x04;
    public static final int PSH = 0x08;
    public static final int ACK = 0x10;
    public static final int URG = 0x20;
    public static final int ECE = 0x40;
    public static final int CWR = 0x80;

    private int segmentLength;

    /** Wraps a header whose segment length is unknown ({@link #payloadLength()} is then meaningless). */
    public TcpHeader wrap(final MutableDirectBuffer buffer, final int offset) {
        return wrap(buffer, offset, 0);
    }

    /**
     * Wraps a header at the start of a segment of {@code segmentLength} bytes (IP total length - IP header
     * length), so that {@link #payloadLength()} can be answered.
     */
    public TcpHeader wrap(final MutableDirectBuffer buffer, final int offset, final int segmentLength) {
        point(buffer, offset);
        this.segmentLength = segmentLength;
        return this;
    }

    /** Segment length given to {@link #wrap(MutableDirectBuffer, int, int)}, header included. */
    public int segmentLength() {
        return segmentLength;
    }

    public int sourcePort() {
        return buffer.getShort(offset + SOURCE_PORT_OFFSET, BIG) & 0xFFFF;
    }

    public TcpHeader sourcePort(final int port) {
        buffer.putShort(offset + SOURCE_PORT_OFFSET, (short) port, BIG);
        return this;
    }

    public int destinationPort() {
        return buffer.getShort(offset + DESTINATION_PORT_OFFSET, BIG) & 0xFFFF;
    }

    public TcpHeader destinationPort(final int port) {
        buffer.putShort(offset + DESTINATION_PORT_OFFSET, (short) port, BIG);
        return this;
    }

    public int sequenceNumber() {
        return buffer.getInt(offset + SEQUENCE_OFFSET, BIG);
    }

    public TcpHeader sequenceNumber(final int value) {
        buffer.putInt(offset + SEQUENCE_OFFSET, value, BIG);
        return this;
    }

    public int acknowledgmentNumber() {
        return buffer.getInt(offset + ACKNOWLEDGMENT_OFFSET, BIG);
    }

    public TcpHeader acknowledgmentNumber(final int value) {
        buffer.putInt(offset + ACKNOWLEDGMENT_OFFSET, value, BIG);
        return this;
    }

    /** The data offset field, in 32-bit words. */
    public int dataOffset() {
        return (buffer.getByte(offset + DATA_OFFSET_OFFSET) & 0xFF) >>> 4;
    }

    /** Sets the data offset (in 32-bit words), keeping the low 4 bits of the byte. */
    public TcpHeader dataOffset(final int words) {
        final int low = buffer.getByte(offset + DATA_OFFSET_OFFSET) & 0x0F;
        buffer.putByte(offset + DATA_OFFSET_OFFSET, (byte) ((words << 4) | low));
        return this;
    }

    /** Header length in bytes, options included (data offset * 4). */
    public int headerLength() {
        return dataOffset() << 2;
    }

    /** Absolute offset of the payload. */
    public int payloadOffset() {
        return offset + headerLength();
    }

    /** Payload bytes: segment length - header length (needs the 3-argument wrap). */
    public int payloadLength() {
        return segmentLength - headerLength();
    }

    /** The flags byte: {@link #FIN} {@link #SYN} {@link #RST} {@link #PSH} {@link #ACK} {@link #URG} ... */
    public int flags() {
        return buffer.getByte(offset + FLAGS_OFFSET) & 0xFF;
    }

    public TcpHeader flags(final int value) {
        buffer.putByte(offset + FLAGS_OFFSET, (byte) value);
        return this;
    }

    /** True when every flag of {@code mask} is set. */
    public boolean hasFlags(final int mask) {
        return (flags() & mask) == mask;
    }

    public int window() {
        return buffer.getShort(offset + WINDOW_OFFSET, BIG) & 0xFFFF;
    }

    public TcpHeader window(final int value) {
        buffer.putShort(offset + WINDOW_OFFSET, (short) value, BIG);
        return this;
    }

    public int checksum() {
        return buffer.getShort(offset + CHECKSUM_OFFSET, BIG) & 0xFFFF;
    }

    public TcpHeader checksum(final int value) {
        buffer.putShort(offset + CHECKSUM_OFFSET, (short) value, BIG);
        return this;
    }

    public int urgentPointer() {
        return buffer.getShort(offset + URGENT_POINTER_OFFSET, BIG) & 0xFFFF;
    }

    public TcpHeader urgentPointer(final int value) {
        buffer.putShort(offset + URGENT_POINTER_OFFSET, (short) value, BIG);
        return this;
    }
}
