// Rewrites a frame from IPv6 to IPv4 or back in place (RFC 7915's header translation) for translated flows.
package io.nsgate.dataplane.nat;

import java.nio.ByteOrder;

import org.agrona.MutableDirectBuffer;

import io.nsgate.dataplane.conntrack.FlowView;
import io.nsgate.dataplane.packet.Checksums;
import io.nsgate.dataplane.packet.EthernetHeader;
import io.nsgate.dataplane.packet.IpProtocol;
import io.nsgate.dataplane.packet.ParsedFrame;
import io.nsgate.dataplane.packet.TcpHeader;
import io.nsgate.dataplane.packet.UdpHeader;
import io.nsgate.dataplane.packet.VirtioNetHeader;

/**
 * The header translation of a flow between an IPv6 client and an IPv4 backend ({@code FlowRecord.NAT_64}), in place:
 * the upper-layer header and payload never move; the IP header (with an IPv6 packet's extension headers) is
 * replaced by the other family's, and the Ethernet header moves with it, so the frame starts {@code shift} bytes later
 * (IPv6 to IPv4: the frame shrinks) or earlier (IPv4 to IPv6: it grows by 20, into the slot's headroom).
 *
 * <ul>
 *   <li>IPv6 → IPv4 (RFC 7915 5.1): TOS from the traffic class, identification 0 with DF set when the packet is
 *       larger than 1260 bytes (else DF clear and a per-worker identification), TTL from the hop limit less one,
 *       protocol from the upper-layer header, the header checksum computed;</li>
 *   <li>IPv4 → IPv6 (RFC 7915 4.1): traffic class from TOS, flow label 0, payload length, next header, hop limit from
 *       the TTL less one;</li>
 *   <li>ports and the TCP/UDP checksum as for any flow: the flow's delta is the pseudo headers' change from one
 *       family's address pair to the other's (lengths and protocol weigh the same in both), plus the ports';</li>
 *   <li>a fresh virtio-net header is written in front of the moved frame: the same flags and GSO size, the GSO type
 *       of the new family (TCPV4 ↔ TCPV6), checksum start and header length measured from the new frame start.</li>
 * </ul>
 * IPv4 options, fragments and ICMP are not translated (the callers refuse them). One per worker; allocates nothing.
 */
final class FamilyTranslation {
    /** Bytes an IPv4 frame may grow by: the frame start moves back this far. */
    static final int GROWTH = 20;
    /** What must be free before a frame that grows: the growth and a virtio-net header in front of it. */
    static final int HEADROOM = GROWTH + VirtioNetHeader.LENGTH;
    private static final ByteOrder BIG = ByteOrder.BIG_ENDIAN;
    private static final int IPV4_HEADER = 20;
    private static final int IPV6_HEADER = 40;
    private static final int DF_LIMIT = 1260;

    private final VirtioNetHeader vnet = new VirtioNetHeader();
    private int nextId;

    /**
     * Replaces the IPv6 header chain of {@code frame} by an IPv4 header from {@code view.newSrcIp} to
     * {@code view.newDstIp}; returns the shift of the frame's start (positive: it starts later).
     */
    int toIpv4(MutableDirectBuffer buf, ParsedFrame frame, FlowView view, boolean partial, int vnetFlags, int gsoType,
               int gsoSize) {
        final int l4 = frame.l4Offset;
        final int l4Length = frame.ipTotalLength - frame.ipHeaderLength;
        final int l3 = l4 - IPV4_HEADER;
        final int total = IPV4_HEADER + l4Length;
        final int trafficClass = (buf.getInt(frame.l3Offset, BIG) >>> 20) & 0xFF;
        final boolean dontFragment = total > DF_LIMIT || gsoSize > 0;
        buf.putInt(l3, (0x45 << 24) | (trafficClass << 16) | total, BIG);
        buf.putInt(l3 + 4, dontFragment ? 0x4000 : (nextId++ & 0xFFFF) << 16, BIG);
        buf.putInt(l3 + 8, ((frame.ttl - 1) << 24) | (frame.ipProto << 16), BIG); // checksum 0 for now
        buf.putInt(l3 + 12, view.newSrcIp, BIG);
        buf.putInt(l3 + 16, view.newDstIp, BIG);
        buf.putShort(l3 + 10, (short) Checksums.ipv4HeaderChecksum(buf, l3, IPV4_HEADER), BIG);
        return finish(buf, frame, view, l3, EthernetHeader.ETHERTYPE_IPV4, partial, vnetFlags,
            gsoType(gsoType, VirtioNetHeader.GSO_TCPV6, VirtioNetHeader.GSO_TCPV4), gsoSize);
    }

    /**
     * Replaces the IPv4 header of {@code frame} (no options, not a fragment; {@link #HEADROOM} bytes free before the
     * frame) by an IPv6 header with the addresses in {@code rewrite}; returns the shift (-{@link #GROWTH}).
     */
    int toIpv6(MutableDirectBuffer buf, ParsedFrame frame, FlowView view, io.nsgate.dataplane.conntrack.FlowTable6
        .Rewrite rewrite, boolean partial, int vnetFlags, int gsoType, int gsoSize) {
        final int l4 = frame.l4Offset;
        final int l4Length = frame.ipTotalLength - frame.ipHeaderLength;
        final int l3 = l4 - IPV6_HEADER;
        final int tos = buf.getByte(frame.l3Offset + 1) & 0xFF;
        buf.putInt(l3, 0x6000_0000 | (tos << 20), BIG);
        buf.putInt(l3 + 4, (l4Length << 16) | (frame.ipProto << 8) | (frame.ttl - 1), BIG);
        buf.putLong(l3 + 8, rewrite.newSrcHigh, BIG);
        buf.putLong(l3 + 16, rewrite.newSrcLow, BIG);
        buf.putLong(l3 + 24, rewrite.newDstHigh, BIG);
        buf.putLong(l3 + 32, rewrite.newDstLow, BIG);
        return finish(buf, frame, view, l3, EthernetHeader.ETHERTYPE_IPV6, partial, vnetFlags,
            gsoType(gsoType, VirtioNetHeader.GSO_TCPV4, VirtioNetHeader.GSO_TCPV6), gsoSize);
    }

    /** The GSO type {@code from} of one family becomes {@code to}, the ECN bit kept; others stay. */
    private static int gsoType(int gsoType, int from, int to) {
        return (gsoType & ~VirtioNetHeader.GSO_ECN) == from ? (gsoType & VirtioNetHeader.GSO_ECN) | to : gsoType;
    }

    /**
     * After the new IP header at {@code l3}: the Ethernet type in front of it, the ports and checksum, the virtio-net
     * header in front of the new frame start; returns the shift of the start.
     */
    private int finish(MutableDirectBuffer buf, ParsedFrame frame, FlowView view, int l3, int etherType,
                       boolean partial, int vnetFlags, int gsoType, int gsoSize) {
        final int start = l3 - EthernetHeader.LENGTH;
        buf.putShort(start + 12, (short) etherType, BIG);
        ports(buf, frame, view, partial);
        virtioHeader(buf, frame, start, vnetFlags, gsoType, gsoSize);
        return start - frame.frameOffset;
    }

    /** The flow's ports and the TCP/UDP checksum updated by the flow's delta (a partial one by the addresses'). */
    private static void ports(MutableDirectBuffer buf, ParsedFrame frame, FlowView view, boolean partial) {
        final int l4 = frame.l4Offset;
        buf.putShort(l4, (short) view.newSrcPort, BIG);
        buf.putShort(l4 + 2, (short) view.newDstPort, BIG);
        final boolean tcp = frame.ipProto == IpProtocol.TCP;
        final int field = l4 + (tcp ? TcpHeader.CHECKSUM_OFFSET : UdpHeader.CHECKSUM_OFFSET);
        final int checksum = buf.getShort(field, BIG) & 0xFFFF;
        final int updated = partial ? Checksums.applyToPartial(checksum, view.ipDelta)
            : tcp ? Checksums.applyToChecksum(checksum, view.l4Delta)
            : checksum == 0 ? udpChecksumFromScratch(buf, frame) : Checksums.applyToUdpChecksum(checksum, view.l4Delta);
        buf.putShort(field, (short) updated, BIG);
    }

    /**
     * A UDP datagram without a checksum (allowed over IPv4) gets one going to IPv6, where it is mandatory: summed in
     * full once its addresses are written (RFC 7915 4.5 lets a translator do so). The IPv6 header is already in place.
     */
    private static int udpChecksumFromScratch(MutableDirectBuffer buf, ParsedFrame frame) {
        final int l4 = frame.l4Offset;
        final int l3 = l4 - IPV6_HEADER;
        return Checksums.l4Checksum6(buf, l4, frame.ipTotalLength - frame.ipHeaderLength, buf.getLong(l3 + 8, BIG),
            buf.getLong(l3 + 16, BIG), buf.getLong(l3 + 24, BIG), buf.getLong(l3 + 32, BIG), IpProtocol.UDP);
    }

    /** A virtio-net header in front of the frame now starting at {@code start}. */
    private void virtioHeader(MutableDirectBuffer buf, ParsedFrame frame, int start, int flags, int gsoType,
                              int gsoSize) {
        final int l4FromStart = frame.l4Offset - start;
        final boolean tcp = frame.ipProto == IpProtocol.TCP;
        vnet.wrap(buf, start - VirtioNetHeader.LENGTH);
        vnet.flags(flags);
        vnet.gsoType(gsoType);
        vnet.hdrLen(gsoSize > 0 ? l4FromStart + (tcp ? frame.tcpHeaderLength : UdpHeader.LENGTH) : 0);
        vnet.gsoSize(gsoSize);
        final boolean needsChecksum = (flags & VirtioNetHeader.FLAG_NEEDS_CSUM) != 0;
        vnet.csumStart(needsChecksum ? l4FromStart : 0);
        vnet.csumOffset(needsChecksum ? (tcp ? TcpHeader.CHECKSUM_OFFSET : UdpHeader.CHECKSUM_OFFSET) : 0);
    }
}
