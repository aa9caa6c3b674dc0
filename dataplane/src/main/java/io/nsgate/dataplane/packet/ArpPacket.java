// Flyweight over an ARP packet for IPv4 over Ethernet (RFC 826), read and written in place.
package io.nsgate.dataplane.packet;

import org.agrona.MutableDirectBuffer;

/**
 * An Ethernet/IPv4 ARP packet (28 bytes) in a buffer. MACs are 48-bit longs (first byte most significant),
 * IPv4 addresses big-endian ints. Answering an ARP request in place is: {@code operation(OP_REPLY)}, target :=
 * sender, sender := our MAC and the asked-for IP.
 *
 * <pre>
 *  0                   1                   2                   3
 *  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |   hardware type (1 = Ethernet)|  protocol type (0x0800)       |   0
 * +---------------+---------------+-------------------------------+
 * |hw len (6)     |proto len (4)  |  operation (1 req, 2 reply)   |   4
 * +---------------+---------------+-------------------------------+
 * |                 sender MAC (6 bytes)                          |   8
 * +                               +-------------------------------+
 * |                               |  sender IP (4 bytes)          |  12..
 * +-------------------------------+-------------------------------+
 * |  sender IP (cont.)            |  target MAC (6 bytes)         |  16..
 * +-------------------------------+                               +
 * |                                                               |
 * +-------------------------------+-------------------------------+
 * |                       target IP (4 bytes)                     |  24
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * </pre>
 */
public final class ArpPacket extends HeaderFlyweight {
    public static final int HARDWARE_TYPE_OFFSET = 0;
    public static final int PROTOCOL_TYPE_OFFSET = 2;
    public static final int HARDWARE_LENGTH_OFFSET = 4;
    public static final int PROTOCOL_LENGTH_OFFSET = 5;
    public static final int OPERATION_OFFSET = 6;
    public static final int SENDER_MAC_OFFSET = 8;
    public static final int SENDER_IP_OFFSET = 14;
    public static final int TARGET_MAC_OFFSET = 18;
    public static final int TARGET_IP_OFFSET = 24;
    /** Length in bytes of an Ethernet/IPv4 ARP packet. */
    public static final int LENGTH = 28;
    /** Length in bytes of the part every ARP packet has, whatever its address sizes. */
    public static final int FIXED_LENGTH = 8;

    public static final int HARDWARE_TYPE_ETHERNET = 1;
    public static final int HARDWARE_LENGTH_ETHERNET = 6;
    public static final int PROTOCOL_LENGTH_IPV4 = 4;
    public static final int OP_REQUEST = 1;
    public static final int OP_REPLY = 2;

    public ArpPacket wrap(final MutableDirectBuffer buffer, final int offset) {
        point(buffer, offset);
        return this;
    }

    /** True for hardware type Ethernet, protocol IPv4, address lengths 6 and 4: the layout this class reads. */
    public boolean isEthernetIpv4() {
        return buffer.getLong(offset, BIG) >>> 16 == 0x0001_0800_0604L;
    }

    public int hardwareType() {
        return buffer.getShort(offset + HARDWARE_TYPE_OFFSET, BIG) & 0xFFFF;
    }

    public ArpPacket hardwareType(final int value) {
        buffer.putShort(offset + HARDWARE_TYPE_OFFSET, (short) value, BIG);
        return this;
    }

    public int protocolType() {
        return buffer.getShort(offset + PROTOCOL_TYPE_OFFSET, BIG) & 0xFFFF;
    }

    public ArpPacket protocolType(final int value) {
        buffer.putShort(offset + PROTOCOL_TYPE_OFFSET, (short) value, BIG);
        return this;
    }

    public int hardwareLength() {
        return buffer.getByte(offset + HARDWARE_LENGTH_OFFSET) & 0xFF;
    }

    public ArpPacket hardwareLength(final int value) {
        buffer.putByte(offset + HARDWARE_LENGTH_OFFSET, (byte) value);
        return this;
    }

    public int protocolLength() {
        return buffer.getByte(offset + PROTOCOL_LENGTH_OFFSET) & 0xFF;
    }

    public ArpPacket protocolLength(final int value) {
        buffer.putByte(offset + PROTOCOL_LENGTH_OFFSET, (byte) value);
        return this;
    }

    /** {@link #OP_REQUEST} or {@link #OP_REPLY}. */
    public int operation() {
        return buffer.getShort(offset + OPERATION_OFFSET, BIG) & 0xFFFF;
    }

    public ArpPacket operation(final int value) {
        buffer.putShort(offset + OPERATION_OFFSET, (short) value, BIG);
        return this;
    }

    public long senderMac() {
        return EthernetHeader.getMac(buffer, offset + SENDER_MAC_OFFSET);
    }

    public ArpPacket senderMac(final long mac) {
        EthernetHeader.putMac(buffer, offset + SENDER_MAC_OFFSET, mac);
        return this;
    }

    public int senderIp() {
        return buffer.getInt(offset + SENDER_IP_OFFSET, BIG);
    }

    public ArpPacket senderIp(final int ip) {
        buffer.putInt(offset + SENDER_IP_OFFSET, ip, BIG);
        return this;
    }

    public long targetMac() {
        return EthernetHeader.getMac(buffer, offset + TARGET_MAC_OFFSET);
    }

    public ArpPacket targetMac(final long mac) {
        EthernetHeader.putMac(buffer, offset + TARGET_MAC_OFFSET, mac);
        return this;
    }

    public int targetIp() {
        return buffer.getInt(offset + TARGET_IP_OFFSET, BIG);
    }

    public ArpPacket targetIp(final int ip) {
        buffer.putInt(offset + TARGET_IP_OFFSET, ip, BIG);
        return this;
    }
}
