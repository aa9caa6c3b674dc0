// Flyweight over an Ethernet II header, with helpers to step over one 802.1Q VLAN tag.
package io.nsgate.dataplane.packet;

import org.agrona.DirectBuffer;
import org.agrona.MutableDirectBuffer;

/**
 * An Ethernet II header in a buffer, read and written in place (Aeron-style flyweight: wrap, read, re-wrap; one
 * instance per worker). MAC addresses are 48-bit values in the low bits of a long, first byte on the wire most
 * significant ({@code 02:00:00:00:00:01} is {@code 0x0200_0000_0001L}).
 *
 * <pre>
 *  0                   1                   2                   3
 *  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |                    destination MAC (6 bytes)                  |
 * +                               +-------------------------------+
 * |                               |                               |
 * +-------------------------------+                               +
 * |                      source MAC (6 bytes)                     |
 * +-------------------------------+-------------------------------+
 * |  ethertype (0x0800 IPv4,      |  payload (no tag), or with    |
 * |  0x0806 ARP, 0x8100 802.1Q)   |  0x8100: TCI = PCP:3 DEI:1    |
 * +-------------------------------+  VID:12, then inner ethertype |
 * </pre>
 *
 * No method checks bounds beyond what the buffer itself does: wrap frames the parser accepted.
 */
public final class EthernetHeader extends HeaderFlyweight {
    public static final int DESTINATION_MAC_OFFSET = 0;
    public static final int SOURCE_MAC_OFFSET = 6;
    public static final int ETHERTYPE_OFFSET = 12;
    /** Offset of the TCI when the frame carries an 802.1Q tag. */
    public static final int VLAN_TCI_OFFSET = 14;
    /** Offset of the inner ethertype when the frame carries an 802.1Q tag. */
    public static final int VLAN_ETHERTYPE_OFFSET = 16;
    /** Untagged header length in bytes. */
    public static final int LENGTH = 14;
    /** Header length in bytes with one 802.1Q tag. */
    public static final int VLAN_LENGTH = 18;

    public static final int ETHERTYPE_IPV4 = 0x0800;
    public static final int ETHERTYPE_ARP = 0x0806;
    public static final int ETHERTYPE_VLAN = 0x8100;
    public static final int ETHERTYPE_IPV6 = 0x86DD;

    public static final long BROADCAST_MAC = 0xFFFF_FFFF_FFFFL;

    public EthernetHeader wrap(final MutableDirectBuffer buffer, final int offset) {
        point(buffer, offset);
        return this;
    }

    public long destinationMac() {
        return getMac(buffer, offset + DESTINATION_MAC_OFFSET);
    }

    public EthernetHeader destinationMac(final long mac) {
        putMac(buffer, offset + DESTINATION_MAC_OFFSET, mac);
        return this;
    }

    public long sourceMac() {
        return getMac(buffer, offset + SOURCE_MAC_OFFSET);
    }

    public EthernetHeader sourceMac(final long mac) {
        putMac(buffer, offset + SOURCE_MAC_OFFSET, mac);
        return this;
    }

    /** The ethertype field at byte 12 (0x8100 for a tagged frame). */
    public int etherType() {
        return buffer.getShort(offset + ETHERTYPE_OFFSET, BIG) & 0xFFFF;
    }

    public EthernetHeader etherType(final int etherType) {
        buffer.putShort(offset + ETHERTYPE_OFFSET, (short) etherType, BIG);
        return this;
    }

    /** True when the frame carries an 802.1Q tag (ethertype 0x8100). */
    public boolean hasVlanTag() {
        return etherType() == ETHERTYPE_VLAN;
    }

    /** The 802.1Q TCI (PCP, DEI, VLAN id); only meaningful when {@link #hasVlanTag()}. */
    public int vlanTci() {
        return buffer.getShort(offset + VLAN_TCI_OFFSET, BIG) & 0xFFFF;
    }

    public EthernetHeader vlanTci(final int tci) {
        buffer.putShort(offset + VLAN_TCI_OFFSET, (short) tci, BIG);
        return this;
    }

    /** The VLAN id (low 12 bits of the TCI); only meaningful when {@link #hasVlanTag()}. */
    public int vlanId() {
        return vlanTci() & 0x0FFF;
    }

    /** The ethertype of the payload, after stepping over at most one 802.1Q tag. */
    public int payloadEtherType() {
        final int etherType = etherType();
        return etherType == ETHERTYPE_VLAN ? buffer.getShort(offset + VLAN_ETHERTYPE_OFFSET, BIG) & 0xFFFF : etherType;
    }

    /** Sets the ethertype of the payload: the inner one when the frame is tagged, else the one at byte 12. */
    public EthernetHeader payloadEtherType(final int etherType) {
        final int at = hasVlanTag() ? VLAN_ETHERTYPE_OFFSET : ETHERTYPE_OFFSET;
        buffer.putShort(offset + at, (short) etherType, BIG);
        return this;
    }

    /** 14, or 18 with one 802.1Q tag. */
    public int headerLength() {
        return hasVlanTag() ? VLAN_LENGTH : LENGTH;
    }

    /** Absolute offset of the payload (ARP or IP header) in the buffer. */
    public int payloadOffset() {
        return offset + headerLength();
    }

    /** Reads a 48-bit MAC address at {@code index}, first byte most significant. */
    public static long getMac(final DirectBuffer buffer, final int index) {
        return ((buffer.getInt(index, BIG) & 0xFFFF_FFFFL) << 16) | (buffer.getShort(index + 4, BIG) & 0xFFFF);
    }

    /** Writes a 48-bit MAC address at {@code index}, first byte most significant. */
    public static void putMac(final MutableDirectBuffer buffer, final int index, final long mac) {
        buffer.putInt(index, (int) (mac >>> 16), BIG);
        buffer.putShort(index + 4, (short) mac, BIG);
    }
}
