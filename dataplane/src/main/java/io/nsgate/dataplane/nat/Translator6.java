// The IPv6 half of the per-frame NAT decision: forwards (DNAT66), masquerade (NAT66) and a router's IPv6 duties.
package io.nsgate.dataplane.nat;

import static io.nsgate.dataplane.packet.IpProtocol.ICMPV6;
import static io.nsgate.dataplane.packet.IpProtocol.TCP;
import static io.nsgate.dataplane.packet.IpProtocol.UDP;

import java.nio.ByteOrder;

import org.agrona.MutableDirectBuffer;
import org.agrona.concurrent.UnsafeBuffer;

import io.nsgate.dataplane.conntrack.FlowRecord;
import io.nsgate.dataplane.conntrack.FlowTable;
import io.nsgate.dataplane.conntrack.FlowTable6;
import io.nsgate.dataplane.conntrack.FlowView;
import io.nsgate.dataplane.conntrack.TcpState;
import io.nsgate.dataplane.packet.Checksums;
import io.nsgate.dataplane.packet.ParsedFrame;
import io.nsgate.dataplane.packet.TcpHeader;
import io.nsgate.dataplane.packet.UdpHeader;
import io.nsgate.dataplane.packet.VirtioNetHeader;
import io.nsgate.dataplane.stats.Counter;
import io.nsgate.dataplane.stats.DropReason;
import io.nsgate.dataplane.stats.WorkerCounters;
import io.nsgate.linux.sys.Linux;

/**
 * What {@link Translator} does for IPv4, for IPv6 frames, in the {@link FlowTable6}. One instance per worker, owned by
 * its Translator; not thread-safe.
 *
 * <h2>Theory of operation</h2>
 * <ol>
 *   <li><b>Neighbour advertisements</b> (ICMPv6 136, hop limit 255, RFC 4861 7.1.2) answering the data plane's own
 *       solicitations teach the worker next hops' MACs; the kernel keeps its copy.</li>
 *   <li><b>Fast path</b>: the flow's digests and sidecar give the packet's rewrite ({@link FlowTable6#lookup});
 *       reverse-path check, hop limit (ICMPv6 time exceeded) and size (packet too big: routers never fragment
 *       IPv6), TCP state and window as for IPv4, then addresses, ports or echo identifier and the upper-layer checksum
 *       rewritten incrementally (the IPv6 header has no checksum of its own).</li>
 *   <li><b>Slow path</b>: what {@link Ownership#ownsIpv6} leaves to the host is the kernel's. Sources are checked as a
 *       router checks them (martians, the gateway's own addresses, the reverse path). To a gateway address: an IPv6
 *       forward (DNAT66; hairpin and masquerade apply as for IPv4) or nothing. From an inside interface: masquerade
 *       (NAT66) to the egress interface's first IPv6 address, with the IPv4 port allocation and endpoint-independent
 *       mappings. Everything else is denied.</li>
 *   <li><b>Fragments</b>: a non-first fragment follows its first fragment's flow through the {@link FragmentTable},
 *       keyed by the addresses' digests and the 32-bit fragment id.</li>
 * </ol>
 * A flow's next hop is kept as 0 (on the link: the packet's new destination) or a router id of the table
 * ({@link FlowTable6#routerId}).
 */
final class Translator6 {
    private static final ByteOrder BIG = ByteOrder.BIG_ENDIAN;
    private static final int HOP_LIMIT_OFFSET = 7;
    private static final int SOURCE_OFFSET = 8;
    private static final int DESTINATION_OFFSET = 24;
    private static final int NEXT_HEADER_OFFSET = 6;
    static final int ECHO_REQUEST = 128;
    static final int ECHO_REPLY = 129;
    static final int TIME_EXCEEDED = 3;
    static final int PACKET_TOO_BIG = 2;
    static final int NEIGHBOUR_ADVERTISEMENT = 136;
    private static final int NA_SOLICITED = 0x4000_0000;

    private final Translator v4;
    private final FlowTable6 table6;
    private final FragmentTable fragments;
    private final WorkerCounters counters;
    private final PortAllocator ports;
    private final ParsedFrame frame;
    private final FlowView view;
    private final FlowTable6.Draft draft;
    private final FlowTable6.Rewrite rewrite = new FlowTable6.Rewrite();
    private final IcmpErrorWriter errors;
    private final FamilyTranslation families = new FamilyTranslation();
    private final UnsafeBuffer emitBuffer;

    Translator6(Translator v4, FlowTable6 table6, FragmentTable fragments, WorkerCounters counters, PortAllocator ports,
                ParsedFrame frame, FlowView view, IcmpErrorWriter errors, UnsafeBuffer emitBuffer) {
        this.v4 = v4;
        this.table6 = table6;
        this.fragments = fragments;
        this.counters = counters;
        this.ports = ports;
        this.frame = frame;
        this.view = view;
        this.draft = table6 == null ? null : table6.newDraft();
        this.errors = errors;
        this.emitBuffer = emitBuffer;
    }

    int process(MutableDirectBuffer buf, RuleSet rs, int ingress, int packetType, int vnetFlags, int gsoType,
                int gsoSize, long nowNs, Verdict out) {
        if (frame.vlanTci >= 0) {
            return v4.local(out);
        }
        if (rs.iface(ingress) == null) {
            return v4.drop(out, DropReason.UNKNOWN_INTERFACE.id);
        }
        if (frame.ipProto == ICMPV6 && frame.icmpType == NEIGHBOUR_ADVERTISEMENT && frame.kind == ParsedFrame.KIND_IPV6) {
            return neighbourAdvertisement(buf, rs, ingress, out);
        }
        final Ownership ownership = rs.ownership();
        final boolean nonFirst = frame.kind == ParsedFrame.KIND_IPV6_FRAGMENT;
        if (packetType != Linux.PACKET_HOST) {
            return owned(buf, ownership, nonFirst) ? v4.drop(out, DropReason.LINK_BROADCAST.id) : v4.local(out);
        }
        if (table6 == null) {
            return owned(buf, ownership, nonFirst) ? v4.drop(out, DropReason.NO_RULE.id) : v4.local(out);
        }
        if (gsoSize > 0 && !gsoMatches(gsoType)) {
            return v4.drop(out, DropReason.GSO_UNSUPPORTED.id);
        }
        if (nonFirst) {
            return fragment(buf, rs, ingress, nowNs, out);
        }
        if (frame.icmpError) {
            return icmpError(buf, rs, ingress, out);
        }
        if (frame.ipProto == UDP && udpChecksum(buf) == 0) {
            // over IPv6 the UDP checksum is mandatory (RFC 8200 8.1): a zero one is discarded
            return owned(buf, ownership, false) ? v4.drop(out, DropReason.IPV6_UDP_ZERO_CHECKSUM.id) : v4.local(out);
        }
        final boolean partial = (vnetFlags & VirtioNetHeader.FLAG_NEEDS_CSUM) != 0;
        final long handle = table6.lookup(frame.ipProto, frame.src6High, frame.src6Low, frame.dst6High,
            frame.dst6Low, frame.srcPort, frame.dstPort, view, rewrite);
        if (handle != FlowTable.NOT_FOUND) {
            return existingFlow(buf, rs, ingress, partial, vnetFlags, gsoType, gsoSize, nowNs, out);
        }
        return newFlow(buf, rs, ingress, partial, vnetFlags, gsoType, gsoSize, nowNs, out);
    }

    /** Ownership as the guard judges it: by the protocol right after the fixed header. */
    private boolean owned(MutableDirectBuffer buf, Ownership ownership, boolean nonFirst) {
        final int firstProto = buf.getByte(frame.l3Offset + NEXT_HEADER_OFFSET) & 0xFF;
        return ownership.ownsIpv6(firstProto, frame.dst6High, frame.dst6Low, frame.dstPort, nonFirst);
    }

    private int udpChecksum(MutableDirectBuffer buf) {
        return buf.getShort(frame.l4Offset + UdpHeader.CHECKSUM_OFFSET, BIG) & 0xFFFF;
    }

    // ================================================================ fast path

    private int existingFlow(MutableDirectBuffer buf, RuleSet rs, int ingress, boolean partial, int vnetFlags,
                             int gsoType, int gsoSize, long nowNs, Verdict out) {
        final int refused = v4.trackedFlowChecks(rs, ingress, out);
        if (refused != 0) {
            return refused;
        }
        final GatewayInterface egress = rs.iface(view.egressInterface);
        final int checked = routerChecks(buf, rs, ingress, egress, gsoType, gsoSize, nowNs, out);
        if (checked != 0) {
            return checked;
        }
        if ((view.natFlags & FlowRecord.NAT_64) != 0) {
            return toIpv4(buf, partial, vnetFlags, gsoType, gsoSize, nowNs, out);
        }
        return translateAndForward(buf, partial, gsoSize, nowNs, out);
    }

    private int translateAndForward(MutableDirectBuffer buf, boolean partial, int gsoSize, long nowNs, Verdict out) {
        final int verdict = v4.account(table6.table(), buf, nowNs, out);
        if (verdict != 0) {
            return verdict;
        }
        rewrite(buf, partial);
        if (frame.isFirstFragment()) {
            fragments.remember(table6.digest(frame.src6High, frame.src6Low), fragmentKey(), 0, frame.ipId,
                (view.flowId << 1) | view.direction, view.generation, nowNs);
        }
        v4.countOffloads(partial, gsoSize);
        return forward(out);
    }

    /** Hop limit, addresses, then ports (or echo identifier) and the upper-layer checksum, all in place. */
    private void rewrite(MutableDirectBuffer buf, boolean partial) {
        rewriteHeader(buf);
        final int l4 = frame.l4Offset;
        switch (frame.ipProto) {
            case TCP:
            case UDP: {
                // both carry their ports first
                buf.putShort(l4, (short) view.newSrcPort, BIG);
                buf.putShort(l4 + 2, (short) view.newDstPort, BIG);
                final boolean tcpSegment = frame.ipProto == TCP;
                final int field = l4 + (tcpSegment ? TcpHeader.CHECKSUM_OFFSET : UdpHeader.CHECKSUM_OFFSET);
                final int checksum = buf.getShort(field, BIG) & 0xFFFF;
                // a partial checksum holds only the pseudo-header sum: ports are not in it, addresses are; a UDP
                // checksum that comes out 0 is sent as 0xFFFF (0 would say "none", which IPv6 refuses)
                buf.putShort(field, (short) (partial ? Checksums.applyToPartial(checksum, view.ipDelta)
                    : updated(tcpSegment, checksum, view.l4Delta)), BIG);
                break;
            }
            case ICMPV6:
                // echo request: the identifier is the key's source port; echo reply: its destination port. The
                // ICMPv6 checksum covers the pseudo header: the L4 delta has the addresses' share.
                buf.putShort(l4 + 4, (short) (frame.icmpType == ECHO_REQUEST ? view.newSrcPort : view.newDstPort), BIG);
                buf.putShort(l4 + 2, (short) Checksums.applyToChecksum(buf.getShort(l4 + 2, BIG) & 0xFFFF,
                    view.l4Delta), BIG);
                break;
            default:
                break;
        }
    }

    /** The fixed header's hop limit (less one) and addresses (the IPv6 header has no checksum to update). */
    private void rewriteHeader(MutableDirectBuffer buf) {
        final int l3 = frame.l3Offset;
        buf.putByte(l3 + HOP_LIMIT_OFFSET, (byte) (frame.ttl - 1));
        buf.putLong(l3 + SOURCE_OFFSET, rewrite.newSrcHigh, BIG);
        buf.putLong(l3 + SOURCE_OFFSET + 8, rewrite.newSrcLow, BIG);
        buf.putLong(l3 + DESTINATION_OFFSET, rewrite.newDstHigh, BIG);
        buf.putLong(l3 + DESTINATION_OFFSET + 8, rewrite.newDstLow, BIG);
    }

    /** A TCP or UDP checksum after a rewrite of {@code delta}; a UDP one never becomes 0 ("none"). */
    private static int updated(boolean tcpSegment, int checksum, int delta) {
        return tcpSegment ? Checksums.applyToChecksum(checksum, delta) : Checksums.applyToUdpChecksum(checksum, delta);
    }

    private int forward(Verdict out) {
        final int nextHop = view.nextHopIp;
        v4.forward(out, view.egressInterface, 0);
        out.ipv6 = true;
        if (nextHop == 0) {
            out.nextHop6High = rewrite.newDstHigh;
            out.nextHop6Low = rewrite.newDstLow;
        } else {
            out.nextHop6High = table6.routerHigh(nextHop);
            out.nextHop6Low = table6.routerLow(nextHop);
        }
        return Verdict.FORWARD;
    }

    /**
     * Hop limit, then size against the egress MTU (a GSO super-frame by its segment size): a router sends time exceeded
     * and packet too big (RFC 4443 3.3, 3.2; IPv6 is never fragmented on the way). Returns 0 to go on.
     */
    private int routerChecks(MutableDirectBuffer buf, RuleSet rs, int ingress, GatewayInterface egress, int gsoType,
                             int gsoSize, long nowNs, Verdict out) {
        if (frame.ttl <= 1) {
            return emitError(buf, rs, ingress, TIME_EXCEEDED, 0, 0, DropReason.TTL_EXCEEDED, nowNs, out);
        }
        final int size = gsoSize > 0 ? v4.segmentSize(gsoType, gsoSize) : frame.ipTotalLength;
        if (size > egress.mtu()) {
            return emitError(buf, rs, ingress, PACKET_TOO_BIG, 0, egress.mtu(), DropReason.FRAGMENTATION_NEEDED, nowNs,
                out);
        }
        return 0;
    }

    private boolean gsoMatches(int gsoType) {
        switch (gsoType) {
            case VirtioNetHeader.GSO_TCPV6:
                return frame.ipProto == TCP;
            case VirtioNetHeader.GSO_UDP_L4:
                return frame.ipProto == UDP;
            default:
                return false;
        }
    }

    /**
     * Drops the frame and, rate limit permitting, writes an ICMPv6 error back to its sender from the ingress
     * interface's IPv6 address; never about an ICMPv6 error, a multicast destination or an unspecified source
     * (RFC 4443 2.4 (e)).
     */
    private int emitError(MutableDirectBuffer buf, RuleSet rs, int ingress, int type, int code, int mtu,
                          DropReason reason, long nowNs, Verdict out) {
        final GatewayInterface in = rs.iface(ingress);
        if (in.ipv6().isEmpty() || RuleSet.isMartianSource6(frame.src6High, frame.src6Low)
            || (frame.ipProto == ICMPV6 && frame.icmpType < 128)) {
            return v4.drop(out, reason.id);
        }
        if (!errors.allow(nowNs)) {
            counters.increment(Counter.ICMP_RATE_LIMITED);
            return v4.drop(out, reason.id);
        }
        final io.nsgate.linux.net.Ipv6Address from = in.ipv6Address();
        out.emitLength = errors.write6(buf, frame, type, code, mtu, from.high(), from.low(), emitBuffer);
        return v4.emitted(out, emitBuffer, ingress, reason);
    }

    // ================================================================ slow path: new flows

    private int newFlow(MutableDirectBuffer buf, RuleSet rs, int ingress, boolean partial, int vnetFlags, int gsoType,
                        int gsoSize, long nowNs, Verdict out) {
        final Ownership ownership = rs.ownership();
        if (!owned(buf, ownership, false)) {
            return v4.local(out); // the host's: its services, pings to it, neighbour discovery...
        }
        final int refusedSource = admitSource(rs, ingress);
        if (refusedSource != 0) {
            return v4.drop(out, refusedSource);
        }
        final int proto = frame.ipProto;
        if (ownership.isGatewayIpv6(frame.dst6High, frame.dst6Low)) {
            final ForwardRule forward = rs.matchForward6(proto, frame.dst6High, frame.dst6Low, frame.dstPort);
            if (forward == null) {
                return v4.drop(out, rs.natPorts().contains(frame.dstPort) && proto == TCP
                    ? DropReason.TCP_NO_FLOW.id : DropReason.NO_RULE.id);
            }
            final int refused = v4.refuseAsFirstPacket();
            if (refused != 0) {
                return v4.drop(out, refused);
            }
            if (!forward.admits6(frame.src6High, frame.src6Low)) {
                return v4.drop(out, DropReason.FORWARD_SOURCE_DENIED.id);
            }
            if (forward.translates()) {
                return newTranslatedFlow(buf, rs, forward, ingress, partial, vnetFlags, gsoType, gsoSize, nowNs, out);
            }
            return newForwardFlow(buf, rs, forward, ingress, partial, gsoType, gsoSize, nowNs, out);
        }

        // passing through the gateway
        if (proto != TCP && proto != UDP && proto != ICMPV6) {
            return v4.drop(out, DropReason.NO_RULE.id);
        }
        if (rs.iface(ingress).role() != GatewayInterface.Role.INSIDE) {
            return v4.drop(out, DropReason.NO_RULE.id); // default deny: nothing enters from the LAN side unasked
        }
        if (proto == ICMPV6 && frame.icmpType != ECHO_REQUEST) {
            return v4.drop(out, frame.icmpType == ECHO_REPLY ? DropReason.NO_RULE.id : DropReason.ICMP_UNSUPPORTED.id);
        }
        final Route6 route = rs.route6(frame.dst6High, frame.dst6Low);
        if (route == null) {
            return v4.drop(out, DropReason.NO_ROUTE.id);
        }
        final int egressIndex = route.interfaceIndex();
        final GatewayInterface egress = rs.iface(egressIndex);
        final MasqueradeRule masquerade = rs.matchMasquerade6(frame.src6High, frame.src6Low, egressIndex);
        if (masquerade == null || egress.ipv6().isEmpty()) {
            return v4.drop(out, DropReason.NO_RULE.id);
        }
        final int refused = v4.refuseAsFirstPacket();
        if (refused != 0) {
            return v4.drop(out, refused);
        }
        final int checked = routerChecks(buf, rs, ingress, egress, gsoType, gsoSize, nowNs, out);
        if (checked != 0) {
            return checked;
        }
        if (!original(route, rs, ingress)) {
            return v4.drop(out, DropReason.NO_ROUTE.id);
        }
        draft.flow.reply(0, 0, frame.dstPort, 0);
        draft.replySrcHigh = frame.dst6High;
        draft.replySrcLow = frame.dst6Low;
        draft.flow.natFlags = FlowRecord.NAT_SNAT;
        v4.firstTcpState(draft.flow);
        final io.nsgate.linux.net.Ipv6Address nat = egress.ipv6Address();
        final long handle = ports.insertWithPort6(draft, nat.high(), nat.low(), rs.natPorts(), proto != TCP, nowNs,
            view);
        return created(handle, buf, Counter.SNAT_FLOWS, partial, gsoSize, nowNs, out);
    }

    private int newForwardFlow(MutableDirectBuffer buf, RuleSet rs, ForwardRule forward, int ingress, boolean partial,
                               int gsoType, int gsoSize, long nowNs, Verdict out) {
        final ForwardRule.Backend backend = forward.backendFor6(frame.src6High, frame.src6Low);
        final int backendPort = forward.backendPort(backend, frame.dstPort);
        final long bHigh = backend.address6().high();
        final long bLow = backend.address6().low();
        final Route6 route = rs.route6(bHigh, bLow);
        if (route == null) {
            return v4.drop(out, DropReason.NO_ROUTE.id);
        }
        final int egressIndex = route.interfaceIndex();
        final int checked = routerChecks(buf, rs, ingress, rs.iface(egressIndex), gsoType, gsoSize, nowNs, out);
        if (checked != 0) {
            return checked;
        }
        if (!original(route, rs, ingress)) {
            return v4.drop(out, DropReason.NO_ROUTE.id);
        }
        final int proto = frame.ipProto;
        draft.replySrcHigh = bHigh;
        draft.replySrcLow = bLow;
        v4.firstTcpState(draft.flow);

        // Hairpin: client and backend behind the same interface; masquerade when a rule says so (see Translator)
        final boolean hairpin = egressIndex == ingress;
        final MasqueradeRule masquerade = hairpin ? null
            : rs.matchMasquerade6(frame.src6High, frame.src6Low, egressIndex);
        final GatewayInterface egress = rs.iface(egressIndex);
        if ((hairpin || masquerade != null) && !egress.ipv6().isEmpty()) {
            final io.nsgate.linux.net.Ipv6Address nat = egress.ipv6Address();
            draft.flow.reply(0, 0, backendPort, 0);
            draft.flow.natFlags = FlowRecord.NAT_DNAT | FlowRecord.NAT_SNAT | (hairpin ? FlowRecord.NAT_HAIRPIN : 0);
            final long handle = ports.insertWithPort6(draft, nat.high(), nat.low(), rs.natPorts(), proto == UDP, nowNs,
                view);
            return created(handle, buf, hairpin ? Counter.HAIRPIN_FLOWS : Counter.DNAT_FLOWS, partial, gsoSize, nowNs,
                out);
        }
        if (hairpin) {
            return v4.drop(out, DropReason.NO_RULE.id); // no IPv6 address of its own to hairpin through
        }
        // The backend sees the real client address.
        draft.flow.reply(0, 0, backendPort, frame.srcPort);
        draft.replyDstHigh = frame.src6High;
        draft.replyDstLow = frame.src6Low;
        draft.flow.natFlags = FlowRecord.NAT_DNAT;
        long handle = table6.insert(draft, nowNs, view);
        if (handle == FlowTable.REPLY_TAKEN) {
            // the backend already talks to this client port through another forward: keep the client address, move
            // its port (netfilter's unique-tuple search); the table needs no flag for a changed port
            handle = ports.insertWithPort6(draft, frame.src6High, frame.src6Low, rs.natPorts(), false, nowNs, view);
        }
        return created(handle, buf, Counter.DNAT_FLOWS, partial, gsoSize, nowNs, out);
    }

    // ================================================================ IPv6 clients of IPv4 backends

    /**
     * A new flow of a forward publishing IPv4 backends to IPv6 clients: the client's IPv6 packet becomes an IPv4
     * packet from the gateway's IPv4 address on the interface the client came in by, at a port of the NAT range
     * (RFC 6146's session: one per client address and port), to the backend.
     */
    private int newTranslatedFlow(MutableDirectBuffer buf, RuleSet rs, ForwardRule forward, int ingress,
                                  boolean partial, int vnetFlags, int gsoType, int gsoSize, long nowNs, Verdict out) {
        if (frame.moreFragments) {
            return v4.drop(out, DropReason.TRANSLATION_UNSUPPORTED.id);
        }
        final ForwardRule.Backend backend = forward.backendFor6(frame.src6High, frame.src6Low);
        final long route = rs.route(backend.address());
        if (route < 0) {
            return v4.drop(out, DropReason.NO_ROUTE.id);
        }
        final int egressIndex = RuleSet.routeInterface(route);
        if (rs.iface(ingress).role() != GatewayInterface.Role.LAN
            || rs.iface(egressIndex).role() != GatewayInterface.Role.INSIDE) {
            // the session's IPv4 side is (inside backend, the gateway's LAN address): no IPv4 flow ever has that
            // reply tuple (masquerade and LAN hairpin answer from the LAN side), so the two tables cannot disagree
            // on a port. Clients from inside or backends on the LAN would break that: refused.
            return v4.drop(out, DropReason.TRANSLATION_UNSUPPORTED.id);
        }
        final int checked = routerChecks(buf, rs, ingress, rs.iface(egressIndex), gsoType, gsoSize, nowNs, out);
        if (checked != 0) {
            return checked;
        }
        final Route6 back = rs.route6(frame.src6High, frame.src6Low);
        final int backNextHop = back == null ? 0 : nextHopId(back);
        if (backNextHop < 0) {
            return v4.drop(out, DropReason.NO_ROUTE.id);
        }
        draft.flow.original(frame.ipProto, 0, 0, frame.srcPort, frame.dstPort);
        draft.origSrcHigh = frame.src6High;
        draft.origSrcLow = frame.src6Low;
        draft.origDstHigh = frame.dst6High;
        draft.origDstLow = frame.dst6Low;
        draft.flow.reply(backend.address(), 0, forward.backendPort(backend, frame.dstPort), 0);
        draft.flow.route(egressIndex, RuleSet.routeNextHop(route), back == null ? ingress : back.interfaceIndex(),
            backNextHop);
        v4.firstTcpState(draft.flow);
        final long handle = ports.insertWithPort64(draft, rs.iface(ingress).ip(), rs.natPorts(), nowNs, view);
        if (handle >= 0) {
            counters.increment(Counter.FLOWS_CREATED);
            counters.increment(Counter.DNAT_FLOWS);
            counters.increment(Counter.TRANSLATED_FLOWS);
            return toIpv4(buf, partial, vnetFlags, gsoType, gsoSize, nowNs, out);
        }
        if (handle == FlowTable.ORIG_EXISTS && table6.lookup(frame.ipProto, frame.src6High, frame.src6Low,
            frame.dst6High, frame.dst6Low, frame.srcPort, frame.dstPort, view, rewrite) != FlowTable.NOT_FOUND) {
            return toIpv4(buf, partial, vnetFlags, gsoType, gsoSize, nowNs, out);
        }
        return v4.drop(out, handle == PortAllocator.PORTS_EXHAUSTED ? DropReason.PORTS_EXHAUSTED.id
            : DropReason.TABLE_FULL.id);
    }

    /** An IPv6 packet of a translated flow (in {@link #view}), out as IPv4. */
    private int toIpv4(MutableDirectBuffer buf, boolean partial, int vnetFlags, int gsoType, int gsoSize, long nowNs,
                       Verdict out) {
        if (frame.moreFragments) {
            return v4.drop(out, DropReason.TRANSLATION_UNSUPPORTED.id); // a first fragment: its others cannot follow
        }
        final int verdict = v4.account(table6.table(), buf, nowNs, out);
        if (verdict != 0) {
            return verdict;
        }
        final int shift = families.toIpv4(buf, frame, view, partial, vnetFlags, gsoType, gsoSize);
        v4.countOffloads(partial, gsoSize);
        v4.forward(out, view.egressInterface, view.nextHopIp);
        out.frameShift = shift;
        return Verdict.FORWARD;
    }

    /**
     * An IPv4 packet the IPv4 table has no flow for, to a NAT port of one of the gateway's addresses: the answer of
     * a translated flow's backend, out as IPv6 to the client. Returns 0 when it is none (the caller goes on).
     */
    int fromIpv4(MutableDirectBuffer buf, RuleSet rs, int ingress, int vnetFlags, int gsoType, int gsoSize,
                 long nowNs, Verdict out) {
        if (table6 == null || table6.lookup4(frame.ipProto, frame.srcIp, frame.dstIp, frame.srcPort, frame.dstPort,
            view, rewrite) == FlowTable.NOT_FOUND) {
            return 0;
        }
        final int refused = v4.trackedFlowChecks(rs, ingress, out);
        if (refused != 0) {
            return refused;
        }
        final GatewayInterface egress = rs.iface(view.egressInterface);
        if (frame.ipHeaderLength != 20 || frame.moreFragments || frame.fragmentOffset != 0
            || frame.frameOffset < FamilyTranslation.HEADROOM) {
            return v4.drop(out, DropReason.TRANSLATION_UNSUPPORTED.id);
        }
        // a router's checks, for the IPv6 packet it becomes (20 bytes longer)
        final int checked = v4.routerChecks(buf, rs, ingress, egress, gsoType, gsoSize, FamilyTranslation.GROWTH,
            nowNs, out);
        if (checked != 0) {
            return checked;
        }
        final int verdict = v4.account(table6.table(), buf, nowNs, out);
        if (verdict != 0) {
            return verdict;
        }
        final boolean partial = (vnetFlags & VirtioNetHeader.FLAG_NEEDS_CSUM) != 0;
        final int nextHop = view.nextHopIp;
        final int shift = families.toIpv6(buf, frame, view, rewrite, partial, vnetFlags, gsoType, gsoSize);
        v4.countOffloads(partial, gsoSize);
        v4.forward(out, view.egressInterface, 0);
        out.ipv6 = true;
        out.frameShift = shift;
        out.nextHop6High = nextHop == 0 ? rewrite.newDstHigh : table6.routerHigh(nextHop);
        out.nextHop6Low = nextHop == 0 ? rewrite.newDstLow : table6.routerLow(nextHop);
        return Verdict.FORWARD;
    }

    /**
     * Fills the draft's original tuple and both directions' routes: out by {@code route}, back by the source's route.
     * False when a router address cannot get an id (the table's list of routers is full).
     */
    private boolean original(Route6 route, RuleSet rs, int ingress) {
        draft.flow.original(frame.ipProto, 0, 0, frame.srcPort, frame.dstPort);
        draft.origSrcHigh = frame.src6High;
        draft.origSrcLow = frame.src6Low;
        draft.origDstHigh = frame.dst6High;
        draft.origDstLow = frame.dst6Low;
        final int nextHop = nextHopId(route);
        final Route6 back = rs.route6(frame.src6High, frame.src6Low);
        final int backNextHop = back == null ? 0 : nextHopId(back);
        if (nextHop < 0 || backNextHop < 0) {
            return false;
        }
        draft.flow.route(route.interfaceIndex(), nextHop, back == null ? ingress : back.interfaceIndex(), backNextHop);
        return true;
    }

    private int nextHopId(Route6 route) {
        return route.gateway() == null ? 0 : table6.routerId(route.gateway().high(), route.gateway().low());
    }

    /** Source checks of a new flow, as {@code Translator.admitSource} for IPv4. Returns 0 or the drop reason. */
    private int admitSource(RuleSet rs, int ingress) {
        if (RuleSet.isMartianSource6(frame.src6High, frame.src6Low)) {
            return DropReason.BAD_SOURCE_ADDRESS.id;
        }
        if (rs.ownership().isGatewayIpv6(frame.src6High, frame.src6Low)) {
            return DropReason.GATEWAY_SOURCE.id;
        }
        final ReversePathFilter filter = rs.reversePathFilter();
        if (filter != ReversePathFilter.OFF) {
            final Route6 back = rs.route6(frame.src6High, frame.src6Low);
            if (back == null || (filter == ReversePathFilter.STRICT && back.interfaceIndex() != ingress)) {
                return DropReason.SPOOFED_SOURCE.id;
            }
        }
        return 0;
    }

    private int created(long handle, MutableDirectBuffer buf, Counter kind, boolean partial, int gsoSize, long nowNs,
                        Verdict out) {
        if (handle >= 0) {
            counters.increment(Counter.FLOWS_CREATED);
            counters.increment(kind);
            // the first packet goes the original way: to the reply's source, from the reply's destination
            rewrite.newSrcHigh = draft.replyDstHigh;
            rewrite.newSrcLow = draft.replyDstLow;
            rewrite.newDstHigh = draft.replySrcHigh;
            rewrite.newDstLow = draft.replySrcLow;
            return translateAndForward(buf, partial, gsoSize, nowNs, out);
        }
        if (handle == FlowTable.ORIG_EXISTS) {
            // another worker created this very flow a moment ago (or, rarely, a digest collision: refused)
            if (table6.lookup(frame.ipProto, frame.src6High, frame.src6Low, frame.dst6High, frame.dst6Low,
                frame.srcPort, frame.dstPort, view, rewrite) != FlowTable.NOT_FOUND) {
                return translateAndForward(buf, partial, gsoSize, nowNs, out);
            }
            return v4.drop(out, DropReason.TABLE_FULL.id);
        }
        if (handle == PortAllocator.PORTS_EXHAUSTED) {
            return v4.drop(out, DropReason.PORTS_EXHAUSTED.id);
        }
        return v4.drop(out, DropReason.TABLE_FULL.id);
    }

    // ================================================================ ICMPv6 errors

    /**
     * An ICMPv6 error (destination unreachable, packet too big, time exceeded, parameter problem) quoting a datagram
     * of a tracked flow, translated in its outer and quoted headers as RFC 5508 says for IPv4 (RFC 4443's errors,
     * the same treatment): found by the reverse of the quoted tuple, checked as a router does, never answered with an
     * error of its own. Not refreshing the flow: an error is not traffic.
     */
    private int icmpError(MutableDirectBuffer buf, RuleSet rs, int ingress, Verdict out) {
        final long handle = table6.lookup(frame.innerProto, frame.innerDst6High, frame.innerDst6Low,
            frame.innerSrc6High, frame.innerSrc6Low, frame.innerDstPort, frame.innerSrcPort, view, rewrite);
        if (handle == FlowTable.NOT_FOUND || frame.dst6High != frame.innerSrc6High
            || frame.dst6Low != frame.innerSrc6Low) {
            return owned(buf, rs.ownership(), false) ? v4.drop(out, DropReason.ICMP_ERROR_NO_FLOW.id) : v4.local(out);
        }
        if ((view.natFlags & FlowRecord.NAT_64) != 0) {
            return v4.drop(out, DropReason.TRANSLATION_UNSUPPORTED.id); // errors are not translated between families
        }
        final int refusedSource = admitSource(rs, ingress);
        if (refusedSource != 0) {
            return v4.drop(out, refusedSource);
        }
        // the quoted segment went the other way: an error about a sequence number it never sent lately is forged
        if (frame.innerProto == TCP && frame.innerL4Available >= 8 && !table6.table().quotedSegmentInWindow(view,
            view.direction ^ 1, buf.getInt(frame.innerL4Offset + TcpHeader.SEQUENCE_OFFSET, BIG))) {
            return v4.drop(out, DropReason.ICMP_ERROR_OUT_OF_WINDOW.id);
        }
        final GatewayInterface egress = rs.iface(view.egressInterface);
        if (egress == null) {
            return v4.drop(out, DropReason.NO_ROUTE.id);
        }
        if (frame.ttl <= 1) {
            return v4.drop(out, DropReason.TTL_EXCEEDED.id); // never an error about an error
        }
        if (frame.ipTotalLength > egress.mtu()) {
            return v4.drop(out, DropReason.TOO_BIG.id);
        }
        translateError(buf);
        counters.increment(Counter.ICMP_ERRORS_TRANSLATED);
        return forward(out);
    }

    /**
     * The quoted datagram back to what its sender sent (addresses, ports or echo identifier, its checksum updated when
     * quoted), the outer header to the flow's inside end (from its outside end when that end sent the error itself),
     * hop limit decremented, and the error's checksum computed again over the whole message.
     */
    private void translateError(MutableDirectBuffer buf) {
        final int inner = frame.innerL3Offset;
        final int addressDelta = Checksums.addDeltas(
            Checksums.delta128(frame.innerSrc6High, frame.innerSrc6Low, rewrite.newDstHigh, rewrite.newDstLow),
            Checksums.delta128(frame.innerDst6High, frame.innerDst6Low, rewrite.newSrcHigh, rewrite.newSrcLow));
        buf.putLong(inner + SOURCE_OFFSET, rewrite.newDstHigh, BIG);
        buf.putLong(inner + SOURCE_OFFSET + 8, rewrite.newDstLow, BIG);
        buf.putLong(inner + DESTINATION_OFFSET, rewrite.newSrcHigh, BIG);
        buf.putLong(inner + DESTINATION_OFFSET + 8, rewrite.newSrcLow, BIG);
        final int l4 = frame.innerL4Offset;
        final int available = frame.innerL4Available;
        switch (frame.innerProto) {
            case TCP:
            case UDP: {
                final int delta = Checksums.addDeltas(addressDelta, Checksums.addDeltas(
                    Checksums.delta16(frame.innerSrcPort, view.newDstPort),
                    Checksums.delta16(frame.innerDstPort, view.newSrcPort)));
                buf.putShort(l4, (short) view.newDstPort, BIG);
                buf.putShort(l4 + 2, (short) view.newSrcPort, BIG);
                final boolean tcpSegment = frame.innerProto == TCP;
                final int field = tcpSegment ? TcpHeader.CHECKSUM_OFFSET : UdpHeader.CHECKSUM_OFFSET;
                if (field + 2 <= available) {
                    buf.putShort(l4 + field, (short) updated(tcpSegment, buf.getShort(l4 + field, BIG) & 0xFFFF, delta),
                        BIG);
                }
                break;
            }
            case ICMPV6: {
                // a quoted echo request: its identifier is the key's source port; its checksum has the pseudo header
                final int oldId = buf.getShort(l4 + 4, BIG) & 0xFFFF;
                buf.putShort(l4 + 4, (short) view.newDstPort, BIG);
                buf.putShort(l4 + 2, (short) Checksums.applyToChecksum(buf.getShort(l4 + 2, BIG) & 0xFFFF,
                    Checksums.addDeltas(addressDelta, Checksums.delta16(oldId, view.newDstPort))), BIG);
                break;
            }
            default:
                break;
        }
        final int l3 = frame.l3Offset;
        final boolean fromFarEnd = frame.src6High == frame.innerDst6High && frame.src6Low == frame.innerDst6Low;
        final long srcHigh = fromFarEnd ? rewrite.newSrcHigh : frame.src6High;
        final long srcLow = fromFarEnd ? rewrite.newSrcLow : frame.src6Low;
        buf.putByte(l3 + HOP_LIMIT_OFFSET, (byte) (frame.ttl - 1));
        buf.putLong(l3 + SOURCE_OFFSET, srcHigh, BIG);
        buf.putLong(l3 + SOURCE_OFFSET + 8, srcLow, BIG);
        buf.putLong(l3 + DESTINATION_OFFSET, rewrite.newDstHigh, BIG);
        buf.putLong(l3 + DESTINATION_OFFSET + 8, rewrite.newDstLow, BIG);
        final int icmp = frame.l4Offset;
        buf.putShort(icmp + 2, (short) Checksums.l4Checksum6(buf, icmp, frame.l4Length, srcHigh, srcLow,
            rewrite.newDstHigh, rewrite.newDstLow, ICMPV6), BIG);
    }

    // ================================================================ fragments, neighbours

    /**
     * The destination's digest with the protocol mixed in: the fragment table's key word for protocol and id holds the
     * whole 32-bit IPv6 fragment id, so the protocol rides with the destination.
     */
    private int fragmentKey() {
        return table6.digest(frame.dst6High, frame.dst6Low) ^ (frame.ipProto * 0x9E37_79B1);
    }

    /** A non-first fragment: it follows the flow its first fragment went to, addresses rewritten. */
    private int fragment(MutableDirectBuffer buf, RuleSet rs, int ingress, long nowNs, Verdict out) {
        final long found = fragments.find(table6.digest(frame.src6High, frame.src6Low), fragmentKey(), 0, frame.ipId,
            nowNs);
        if (found < 0 || !table6.view(FlowTable.handle((int) found >>> 1, (int) (found >>> 32)), (int) found & 1, view,
            rewrite)) {
            return owned(buf, rs.ownership(), true) ? v4.drop(out, DropReason.FRAGMENT_NO_FLOW.id) : v4.local(out);
        }
        if (ingress != view.ingressInterface && rs.reversePathFilter() == ReversePathFilter.STRICT) {
            return v4.drop(out, DropReason.SPOOFED_SOURCE.id);
        }
        final GatewayInterface egress = rs.iface(view.egressInterface);
        if (egress == null) {
            return v4.drop(out, DropReason.NO_ROUTE.id);
        }
        if (frame.ttl <= 1) {
            return v4.drop(out, DropReason.TTL_EXCEEDED.id); // time exceeded is only sent for the first fragment
        }
        if (frame.ipTotalLength > egress.mtu()) {
            return v4.drop(out, DropReason.TOO_BIG.id);
        }
        rewriteHeader(buf);
        counters.increment(Counter.FRAGMENTS_FORWARDED);
        return forward(out);
    }

    /**
     * A neighbour advertisement (RFC 4861 4.4): from hop limit 255 only (it was not routed), with the target's
     * link-layer address option. A target on the ingress interface's prefixes, not one of the gateway's, is handed
     * to the worker: solicited ones to our unicast address may create an entry, others only refresh one. The kernel
     * keeps its own copy in every case.
     */
    private int neighbourAdvertisement(MutableDirectBuffer buf, RuleSet rs, int ingress, Verdict out) {
        out.action = Verdict.ARP;
        out.neighbourIp = 0;
        out.neighbour6 = false;
        final int l4 = frame.l4Offset;
        if (frame.ttl != 255 || frame.icmpCode != 0 || frame.l4Length < 24) {
            return Verdict.ARP;
        }
        final long high = buf.getLong(l4 + 8, BIG);
        final long low = buf.getLong(l4 + 16, BIG);
        long mac = -1;
        for (int o = l4 + 24; o + 8 <= l4 + frame.l4Length; ) {
            final int length = (buf.getByte(o + 1) & 0xFF) * 8;
            if (length == 0) {
                break;
            }
            if (buf.getByte(o) == 2 && length == 8) { // target link-layer address
                mac = (((long) buf.getShort(o + 2, BIG) & 0xFFFF) << 32) | (buf.getInt(o + 4, BIG) & 0xFFFF_FFFFL);
            }
            o += length;
        }
        final GatewayInterface iface = rs.iface(ingress);
        // link-local targets (routers announce themselves by them) are on every link; others on the interface's prefixes
        boolean onLink = io.nsgate.linux.net.Ipv6Address.isLinkLocal(high);
        final java.util.List<io.nsgate.linux.net.Ipv6Prefix> prefixes = iface.ipv6();
        for (int i = 0; i < prefixes.size() && !onLink; i++) { // indexed: no iterator per advertisement
            onLink = prefixes.get(i).contains(high, low);
        }
        if (mac <= 0 || (mac & 0x0100_0000_0000L) != 0 || !onLink || rs.ownership().isGatewayIpv6(high, low)) {
            counters.increment(Counter.ARP_REFUSED);
            return Verdict.ARP;
        }
        out.neighbour6 = true;
        out.neighbour6High = high;
        out.neighbour6Low = low;
        out.neighbourMac = mac;
        out.neighbourCreate = (buf.getInt(l4 + 4, BIG) & NA_SOLICITED) != 0
            && rs.ownership().isGatewayIpv6(frame.dst6High, frame.dst6Low);
        return Verdict.ARP;
    }
}
