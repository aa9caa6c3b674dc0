// Flyweight over the virtio-net header AF_PACKET puts before every frame when PACKET_VNET_HDR is on.
package io.nsgate.dataplane.packet;

import org.agrona.MutableDirectBuffer;

import java.nio.ByteOrder;

/**
 * The 10-byte {@code struct virtio_net_hdr} (linux/virtio_net.h, without {@code num_buffers}) that precedes each
 * frame in an AF_PACKET ring slot, and that a sender puts before each frame it transmits, once PACKET_VNET_HDR
 * is set on the socket. Unlike the network headers its 16-bit fields are in <b>host order, little-endian</b> on
 * x86 and arm64 (the kernel uses {@code virtio16} with little-endian virtio semantics for AF_PACKET).
 *
 * <p>With {@link #FLAG_NEEDS_CSUM} (the kernel's CHECKSUM_PARTIAL) the frame's L4 checksum field, at
 * {@code csumStart + csumOffset} from the start of the frame, holds the folded, un-complemented pseudo-header sum,
 * and the checksum of the bytes from {@code csumStart} on is still to be added (see {@link Checksums}).
 * With {@code gsoType != GSO_NONE} the frame is a super-frame to be cut into {@code gsoSize}-byte segments
 * after {@code hdrLen} bytes of headers.
 *
 * <pre>
 *  0               1               2               3
 *  0 1 2 3 4 5 6 7 0 1 2 3 4 5 6 7 0 1 2 3 4 5 6 7 0 1 2 3 4 5 6 7
 * +---------------+---------------+-------------------------------+
 * |     flags     |   gso_type    |     hdr_len (u16 LE)          |   0
 * +---------------+---------------+-------------------------------+
 * |       gso_size (u16 LE)       |     csum_start (u16 LE)       |   4
 * +-------------------------------+-------------------------------+
 * |      csum_offset (u16 LE)     |  frame (Ethernet header) ...      8
 * +-------------------------------+
 * flags: bit 0 NEEDS_CSUM, bit 1 DATA_VALID
 * gso_type: 0 NONE, 1 TCPV4, 3 UDP, 4 TCPV6, | 0x80 ECN
 * </pre>
 */
public final class VirtioNetHeader extends HeaderFlyweight {
    public static final int FLAGS_OFFSET = 0;
    public static final int GSO_TYPE_OFFSET = 1;
    public static final int HDR_LEN_OFFSET = 2;
    public static final int GSO_SIZE_OFFSET = 4;
    public static final int CSUM_START_OFFSET = 6;
    public static final int CSUM_OFFSET_OFFSET = 8;
    /** Header length in bytes (PACKET_VNET_HDR_SZ). */
    public static final int LENGTH = 10;

    /** The L4 checksum is partial: only the pseudo-header sum is in the field (CHECKSUM_PARTIAL). */
    public static final int FLAG_NEEDS_CSUM = 1;
    /** The checksum was verified already (CHECKSUM_UNNECESSARY), on receive only. */
    public static final int FLAG_DATA_VALID = 2;

    public static final int GSO_NONE = 0;
    public static final int GSO_TCPV4 = 1;
    public static final int GSO_UDP = 3;
    /** UDP segmentation offload (USO): each segment a UDP datagram of gso_size payload bytes. */
    public static final int GSO_UDP_L4 = 5;
    public static final int GSO_TCPV6 = 4;
    /** Or-ed into gso_type: the TCP segments carry ECN (CWR must be set on the first only). */
    public static final int GSO_ECN = 0x80;

    private static final ByteOrder LITTLE = ByteOrder.LITTLE_ENDIAN;

    public VirtioNetHeader wrap(final MutableDirectBuffer buffer, final int offset) {
        point(buffer, offset);
        return this;
    }

    /** Absolute offset of the frame that follows the header. */
    public int frameOffset() {
        return offset + LENGTH;
    }

    public int flags() {
        return buffer.getByte(offset + FLAGS_OFFSET) & 0xFF;
    }

    public VirtioNetHeader flags(final int value) {
        buffer.putByte(offset + FLAGS_OFFSET, (byte) value);
        return this;
    }

    public boolean needsChecksum() {
        return (flags() & FLAG_NEEDS_CSUM) != 0;
    }

    public boolean dataValid() {
        return (flags() & FLAG_DATA_VALID) != 0;
    }

    /** GSO type, ECN bit included. */
    public int gsoType() {
        return buffer.getByte(offset + GSO_TYPE_OFFSET) & 0xFF;
    }

    public VirtioNetHeader gsoType(final int value) {
        buffer.putByte(offset + GSO_TYPE_OFFSET, (byte) value);
        return this;
    }

    /** True when the frame is a GSO super-frame (gso_type other than NONE, ECN bit aside). */
    public boolean isGso() {
        return (gsoType() & ~GSO_ECN) != GSO_NONE;
    }

    /** Bytes of headers (Ethernet to the end of L4) each GSO segment repeats. */
    public int hdrLen() {
        return buffer.getShort(offset + HDR_LEN_OFFSET, LITTLE) & 0xFFFF;
    }

    public VirtioNetHeader hdrLen(final int value) {
        buffer.putShort(offset + HDR_LEN_OFFSET, (short) value, LITTLE);
        return this;
    }

    /** Payload bytes per GSO segment (the MSS for TCP). */
    public int gsoSize() {
        return buffer.getShort(offset + GSO_SIZE_OFFSET, LITTLE) & 0xFFFF;
    }

    public VirtioNetHeader gsoSize(final int value) {
        buffer.putShort(offset + GSO_SIZE_OFFSET, (short) value, LITTLE);
        return this;
    }

    /** Offset from the start of the frame (the Ethernet header) where checksumming starts: the L4 header. */
    public int csumStart() {
        return buffer.getShort(offset + CSUM_START_OFFSET, LITTLE) & 0xFFFF;
    }

    public VirtioNetHeader csumStart(final int value) {
        buffer.putShort(offset + CSUM_START_OFFSET, (short) value, LITTLE);
        return this;
    }

    /** Offset of the checksum field from csumStart (16 for TCP, 6 for UDP). */
    public int csumOffset() {
        return buffer.getShort(offset + CSUM_OFFSET_OFFSET, LITTLE) & 0xFFFF;
    }

    public VirtioNetHeader csumOffset(final int value) {
        buffer.putShort(offset + CSUM_OFFSET_OFFSET, (short) value, LITTLE);
        return this;
    }
}
