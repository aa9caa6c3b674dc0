// Translates an ICMP error about a tracked flow (RFC 5508): the quoted datagram and the outer header, in place.
package io.nsgate.dataplane.nat;

import static io.nsgate.dataplane.packet.IpProtocol.ICMP;
import static io.nsgate.dataplane.packet.IpProtocol.TCP;
import static io.nsgate.dataplane.packet.IpProtocol.UDP;

import org.agrona.MutableDirectBuffer;

import io.nsgate.dataplane.conntrack.FlowView;
import io.nsgate.dataplane.packet.Checksums;
import io.nsgate.dataplane.packet.IcmpHeader;
import io.nsgate.dataplane.packet.Ipv4Header;
import io.nsgate.dataplane.packet.ParsedFrame;
import io.nsgate.dataplane.packet.TcpHeader;
import io.nsgate.dataplane.packet.UdpHeader;

/**
 * An ICMP error (destination unreachable, time exceeded, ...) quotes the IP header and at least 8 bytes of the
 * datagram that caused it. When that datagram belongs to a translated flow, the error travels against the flow and
 * must reach the flow's inside end looking as if nothing had been translated (RFC 5508, section 4):
 * <ul>
 *   <li>the quoted datagram goes back to what its sender sent: its addresses and ports (an echo request's
 *       identifier) are the reverse of the rewrite for the error's direction, its IPv4 header checksum and, when the
 *       quote reaches it, its TCP or UDP checksum are updated incrementally (a quoted echo's ICMP checksum too);</li>
 *   <li>the outer header goes to the flow's inside end, from the flow's outside end when that end sent the error
 *       itself (else from the router that did), TTL decremented, checksum updated;</li>
 *   <li>the error's own ICMP checksum covers the whole quote: it is computed again (errors are rare and at most 576
 *       bytes).</li>
 * </ul>
 * The Translator finds the flow (the reverse of the quoted tuple) and makes the router checks; this class only
 * rewrites. One per worker (it holds flyweights); allocates nothing.
 */
final class IcmpErrorTranslator {
    private final Ipv4Header ip = new Ipv4Header();
    private final TcpHeader tcp = new TcpHeader();
    private final UdpHeader udp = new UdpHeader();
    private final IcmpHeader icmp = new IcmpHeader();

    /**
     * Rewrites the ICMP error {@code frame} in place.
     *
     * @param view the rewrite of the flow the quoted datagram belongs to, for the direction the error travels in
     */
    void translate(MutableDirectBuffer buf, ParsedFrame frame, FlowView view) {
        final int innerAddressDelta = rewriteQuotedHeader(buf, frame, view);
        final int innerL4 = frame.innerL4Offset;
        switch (frame.innerProto) {
            case TCP:
                tcp.wrap(buf, innerL4);
                tcp.sourcePort(view.newDstPort);
                tcp.destinationPort(view.newSrcPort);
                if (TcpHeader.CHECKSUM_OFFSET + 2 <= frame.innerL4Available) {
                    tcp.checksum(Checksums.applyToChecksum(tcp.checksum(), quotedPortsDelta(frame, view,
                        innerAddressDelta)));
                }
                break;
            case UDP:
                udp.wrap(buf, innerL4);
                udp.sourcePort(view.newDstPort);
                udp.destinationPort(view.newSrcPort);
                udp.checksum(Checksums.applyToUdpChecksum(udp.checksum(), quotedPortsDelta(frame, view,
                    innerAddressDelta))); // the 8 quoted bytes always hold it
                break;
            case ICMP: {
                // a quoted echo request: its identifier is the key's source port
                icmp.wrap(buf, innerL4);
                final int oldId = icmp.identifier();
                icmp.identifier(view.newDstPort);
                icmp.checksum(Checksums.applyToChecksum(icmp.checksum(), Checksums.delta16(oldId, view.newDstPort)));
                break;
            }
            default:
                break;
        }
        rewriteOuterHeader(buf, frame, view);
        icmp.wrap(buf, frame.l4Offset);
        icmp.checksum(0);
        icmp.checksum(Checksums.icmpChecksum(buf, frame.l4Offset, frame.l4Length));
    }

    /** The quoted IPv4 header back to its sender's addresses; returns the address part of the checksum delta. */
    private int rewriteQuotedHeader(MutableDirectBuffer buf, ParsedFrame frame, FlowView view) {
        final int newSrc = view.newDstIp;
        final int newDst = view.newSrcIp;
        final int delta = Checksums.addDeltas(Checksums.delta32(frame.innerSrcIp, newSrc),
            Checksums.delta32(frame.innerDstIp, newDst));
        ip.wrap(buf, frame.innerL3Offset);
        ip.sourceAddress(newSrc);
        ip.destinationAddress(newDst);
        ip.checksum(Checksums.applyToChecksum(ip.checksum(), delta));
        return delta;
    }

    /** The quoted TCP or UDP checksum's delta: the addresses (pseudo-header) and both ports. */
    private static int quotedPortsDelta(ParsedFrame frame, FlowView view, int addressDelta) {
        return Checksums.addDeltas(addressDelta, Checksums.addDeltas(
            Checksums.delta16(frame.innerSrcPort, view.newDstPort), Checksums.delta16(frame.innerDstPort,
                view.newSrcPort)));
    }

    /** To the flow's inside end; from its outside end when that end sent the error; TTL decremented. */
    private void rewriteOuterHeader(MutableDirectBuffer buf, ParsedFrame frame, FlowView view) {
        final int newSrc = frame.srcIp == frame.innerDstIp ? view.newSrcIp : frame.srcIp;
        final int newDst = view.newDstIp;
        final int ttl = frame.ttl;
        final int delta = Checksums.addDeltas(
            Checksums.addDeltas(Checksums.delta32(frame.srcIp, newSrc), Checksums.delta32(frame.dstIp, newDst)),
            Checksums.delta16((ttl << 8) | ICMP, ((ttl - 1) << 8) | ICMP));
        ip.wrap(buf, frame.l3Offset);
        ip.ttl(ttl - 1);
        ip.sourceAddress(newSrc);
        ip.destinationAddress(newDst);
        ip.checksum(Checksums.applyToChecksum(ip.checksum(), delta));
    }
}
