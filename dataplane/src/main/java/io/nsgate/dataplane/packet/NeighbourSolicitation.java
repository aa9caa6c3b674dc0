// The one IPv6 neighbour-discovery message the data plane writes: a solicitation for a next hop's MAC.
package io.nsgate.dataplane.packet;

import java.nio.ByteOrder;

import org.agrona.MutableDirectBuffer;

/**
 * A neighbour solicitation (RFC 4861 4.3, 7.2.2) as a complete Ethernet frame: to the target's solicited-node
 * multicast group (ff02::1:ffXX:XXXX, MAC 33:33:ff:XX:XX:XX), hop limit 255, with the source link-layer address
 * option so the answer can come straight back. The advertisement that answers is read by the translator.
 */
public final class NeighbourSolicitation {
    /** Ethernet 14 + IPv6 40 + ICMPv6 NS 24 + source link-layer address option 8. */
    public static final int LENGTH = 14 + 40 + 24 + 8;
    public static final int TYPE = 135;
    private static final ByteOrder BIG = ByteOrder.BIG_ENDIAN;
    private static final long SOLICITED_NODE_HIGH = 0xFF02_0000_0000_0000L;
    private static final long SOLICITED_NODE_LOW = 0x0000_0001_FF00_0000L;

    private NeighbourSolicitation() {
    }

    /**
     * Writes the solicitation for {@code (targetHigh, targetLow)} from {@code sourceMac} and the source address into
     * {@code out} at 0.
     *
     * @return the frame length, {@link #LENGTH}
     */
    public static int write(MutableDirectBuffer out, long sourceMac, long srcHigh, long srcLow, long targetHigh,
                            long targetLow) {
        final long groupLow = SOLICITED_NODE_LOW | (targetLow & 0xFF_FFFFL);
        EthernetHeader.putMac(out, EthernetHeader.DESTINATION_MAC_OFFSET, 0x3333_FF00_0000L | (targetLow & 0xFF_FFFFL));
        EthernetHeader.putMac(out, EthernetHeader.SOURCE_MAC_OFFSET, sourceMac);
        out.putShort(12, (short) EthernetHeader.ETHERTYPE_IPV6, BIG);
        final int l3 = EthernetHeader.LENGTH;
        final int l4 = l3 + 40;
        final int payload = 32;
        out.putInt(l3, 0x6000_0000, BIG);
        out.putInt(l3 + 4, (payload << 16) | (IpProtocol.ICMPV6 << 8) | 255, BIG);
        out.putLong(l3 + 8, srcHigh, BIG);
        out.putLong(l3 + 16, srcLow, BIG);
        out.putLong(l3 + 24, SOLICITED_NODE_HIGH, BIG);
        out.putLong(l3 + 32, groupLow, BIG);
        out.putByte(l4, (byte) TYPE);
        out.putByte(l4 + 1, (byte) 0);
        out.putShort(l4 + 2, (short) 0);
        out.putInt(l4 + 4, 0);
        out.putLong(l4 + 8, targetHigh, BIG);
        out.putLong(l4 + 16, targetLow, BIG);
        out.putByte(l4 + 24, (byte) 1); // source link-layer address
        out.putByte(l4 + 25, (byte) 1); // length in units of 8 bytes
        EthernetHeader.putMac(out, l4 + 26, sourceMac);
        out.putShort(l4 + 2, (short) Checksums.l4Checksum6(out, l4, payload, srcHigh, srcLow, SOLICITED_NODE_HIGH,
            groupLow, IpProtocol.ICMPV6), BIG);
        return LENGTH;
    }
}
