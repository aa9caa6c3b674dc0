// The per-frame NAT decision: parse, find or create the flow, act as a router, rewrite in place.
package io.nsgate.dataplane.nat;

import static io.nsgate.dataplane.packet.IpProtocol.ICMP;
import static io.nsgate.dataplane.packet.IpProtocol.TCP;
import static io.nsgate.dataplane.packet.IpProtocol.UDP;

import java.nio.ByteOrder;

import org.agrona.DirectBuffer;
import org.agrona.MutableDirectBuffer;
import org.agrona.concurrent.UnsafeBuffer;

import io.nsgate.dataplane.conntrack.FlowDraft;
import io.nsgate.dataplane.conntrack.FlowRecord;
import io.nsgate.dataplane.conntrack.FlowTable;
import io.nsgate.dataplane.conntrack.FlowTable6;
import io.nsgate.dataplane.conntrack.FlowView;
import io.nsgate.dataplane.conntrack.TcpState;
import io.nsgate.dataplane.conntrack.TcpWindow;
import io.nsgate.dataplane.packet.ArpPacket;
import io.nsgate.dataplane.packet.Checksums;
import io.nsgate.dataplane.packet.FrameParser;
import io.nsgate.dataplane.packet.IcmpHeader;
import io.nsgate.dataplane.packet.IpProtocol;
import io.nsgate.dataplane.packet.Ipv4Header;
import io.nsgate.dataplane.packet.ParsedFrame;
import io.nsgate.dataplane.packet.TcpHeader;
import io.nsgate.dataplane.packet.TcpSegment;
import io.nsgate.dataplane.packet.UdpHeader;
import io.nsgate.dataplane.packet.VirtioNetHeader;
import io.nsgate.dataplane.stats.Counter;
import io.nsgate.dataplane.stats.DropReason;
import io.nsgate.dataplane.stats.WorkerCounters;
import io.nsgate.linux.sys.Linux;

/**
 * Decides what happens to one frame and rewrites it in place. One instance per worker; not thread-safe.
 *
 * <h2>Theory of operation</h2>
 * <ol>
 *   <li><b>Admission</b>: a frame for another host's MAC is dropped; IPv4 in a link-layer broadcast or multicast
 *       is never routed.</li>
 *   <li><b>Parse</b> ({@link FrameParser}): malformed frames are dropped with their reason; ARP goes to the
 *       neighbour cache (only from senders on the interface's subnet); IPv6 goes to {@link Translator6}, which does
 *       all of this for IPv6 in its own table; anything else (or VLAN-tagged) is the kernel's.</li>
 *   <li><b>Fast path</b>: look the 5-tuple up in the {@link FlowTable}. A hit carries the rewrite for this
 *       direction, with checksum deltas worked out when the flow was created: check that the frame came in where
 *       the flow's other direction leaves (strict reverse-path filter), TTL and MTU as a router does, advance the
 *       flow's state and TCP window ({@code TcpWindow}: a segment outside it is dropped), rewrite addresses and
 *       ports, and forward.</li>
 *   <li><b>Slow path</b> on a miss: a frame the data plane does not own ({@link Ownership}, the rule the kernel
 *       guard enforces too) is the host's, left to the kernel. An owned frame's source is checked as a router checks
 *       it (martians, the gateway's own addresses, the reverse path), its destination too (loopback, 0/8). An owned
 *       frame to one of the gateway's addresses is
 *       a port forward (DNAT) when a {@link ForwardRule} serves it, else a late reply to a NAT port or a removed
 *       forward's port, dropped. A frame passing through from an inside interface is masqueraded when a
 *       {@link MasqueradeRule} matches its source and egress interface. Everything else is dropped: default
 *       deny. New TCP flows start with a bare SYN, or a bare ACK picked up mid-stream ({@code TcpTracking}).</li>
 *   <li><b>ICMP errors</b> about a tracked flow are translated in the outer and the quoted header (RFC 5508);
 *       non-first fragments follow their first fragment through the {@link FragmentTable}.</li>
 * </ol>
 *
 * <p>Rules come as an immutable {@link RuleSet}; {@link #rules(RuleSet)} swaps them between frames, so a
 * change applies to new flows only. Partial-checksum (NEEDS_CSUM) frames have their pseudo-header sum adjusted
 * for address changes only; GSO super-frames are judged against the MTU by their segment size and forwarded
 * whole.
 */
public final class Translator {
    private static final ByteOrder BIG = ByteOrder.BIG_ENDIAN;

    private final FlowTable table;
    private final FragmentTable fragments;
    private final WorkerCounters counters;
    private final PortAllocator ports;
    private final FrameParser parser = new FrameParser();
    private final ParsedFrame frame = new ParsedFrame();
    private final FlowView view = new FlowView();
    private final FlowDraft draft = new FlowDraft();
    private final TcpSegment segment = new TcpSegment();
    private final Ipv4Header ip = new Ipv4Header();
    private final TcpHeader tcp = new TcpHeader();
    private final UdpHeader udp = new UdpHeader();
    private final IcmpHeader icmp = new IcmpHeader();
    private final ArpPacket arp = new ArpPacket();
    private final IcmpErrorWriter icmpErrorWriter = new IcmpErrorWriter();
    private final IcmpErrorTranslator icmpErrors = new IcmpErrorTranslator();
    private final UnsafeBuffer emitBuffer = new UnsafeBuffer(new byte[IcmpErrorWriter.MAX_DATAGRAM6 + 64]);
    private final Translator6 v6;
    private RuleSet rules;

    /** A translator of IPv4 only: IPv6 transit is denied. */
    public Translator(FlowTable table, FragmentTable fragments, WorkerCounters counters, RuleSet rules, long seed) {
        this(table, null, fragments, counters, rules, seed);
    }

    /** @param table6 the IPv6 flow table (shared by the workers as {@code table} is), or null to deny IPv6 transit */
    public Translator(FlowTable table, FlowTable6 table6, FragmentTable fragments, WorkerCounters counters,
                      RuleSet rules, long seed) {
        this.table = table;
        this.fragments = fragments;
        this.counters = counters;
        this.rules = rules;
        this.ports = new PortAllocator(table, table6, counters, seed);
        this.v6 = new Translator6(this, table6, fragments, counters, ports, frame, view, icmpErrorWriter, emitBuffer);
    }

    /** Swaps the rule set; called by the worker between frames. */
    public void rules(RuleSet rules) {
        this.rules = rules;
    }

    /** Frames one {@link #prefetch} call covers at most. */
    public static final int PREFETCH_MAX = 64;
    /**
     * Below this many live flows the table's lines stay in the caches and the pass would only cost (about 15 ns a
     * frame at 1K flows; it saves about half of the frame's time at 1M: TranslatorBatchBenchmark).
     */
    static final int PREFETCH_MIN_FLOWS = 16_384;
    /** How often the table's size is looked at again (reading it touches every worker's counter cells). */
    private static final long PREFETCH_RECHECK_NS = 100_000_000L;
    private final long[] prefetchHashes = new long[PREFETCH_MAX];
    private long prefetchSink;
    private boolean prefetching;
    private boolean prefetchDecided;
    private long prefetchDecidedNs;

    /**
     * Before a block of frames is processed: loads the flow-table lines their lookups will need, for all frames at
     * once, so that their cache misses overlap instead of being paid one after the other (VPP's prefetch stages).
     * First every frame's index bucket, then every matching record and its counters; {@link #process} then finds
     * them in the cache. A frame of one of a million flows otherwise pays three DRAM misses back to back. Done only
     * while the table holds {@value #PREFETCH_MIN_FLOWS} flows or more. Only a hint: it reads just the Ethernet
     * type, IPv4 header and ports of untagged, unfragmented TCP and UDP frames, checks every offset against the
     * frame's length, and changes nothing; {@link #process} stays the judge.
     */
    public void prefetch(DirectBuffer buf, int[] offsets, int[] lengths, int n, long nowNs) {
        if (!prefetchDecided || nowNs - prefetchDecidedNs >= PREFETCH_RECHECK_NS) {
            prefetchDecided = true;
            prefetchDecidedNs = nowNs;
            prefetching = table.size() >= PREFETCH_MIN_FLOWS;
        }
        if (!prefetching) {
            return;
        }
        final int m = Math.min(n, PREFETCH_MAX);
        long sink = 0;
        for (int i = 0; i < m; i++) {
            final long h = prefetchHash(buf, offsets[i], lengths[i]);
            prefetchHashes[i] = h;
            if (h != 0) {
                sink ^= table.touchBucket(h);
            }
        }
        for (int i = 0; i < m; i++) {
            final long h = prefetchHashes[i];
            if (h != 0) {
                sink ^= table.touchRecordAndCounters(h);
            }
        }
        prefetchSink ^= sink; // kept, so the loads are not optimised away
    }

    /** The flow-table hash of a plain IPv4 TCP/UDP frame's tuple, or 0 (nothing to prefetch). */
    private long prefetchHash(DirectBuffer buf, int offset, int length) {
        if (length < PREFETCH_MIN_LENGTH || buf.getShort(offset + 12, BIG) != (short) 0x0800) {
            return 0;
        }
        final int l3 = offset + 14;
        final int versionIhl = buf.getByte(l3) & 0xFF;
        final int ihl = (versionIhl & 0x0F) << 2;
        if ((versionIhl >>> 4) != 4 || ihl < 20 || 14 + ihl + 4 > length
            || (buf.getShort(l3 + 6, BIG) & 0x1FFF) != 0) {
            return 0;
        }
        final int proto = buf.getByte(l3 + 9) & 0xFF;
        if (proto != TCP && proto != UDP) {
            return 0;
        }
        final int ports = buf.getInt(l3 + ihl, BIG);
        return table.hashKey(proto, buf.getInt(l3 + 12, BIG), buf.getInt(l3 + 16, BIG), ports >>> 16, ports & 0xFFFF);
    }

    /** Ethernet + a minimal IPv4 header + the two ports. */
    private static final int PREFETCH_MIN_LENGTH = 14 + 20 + 4;

    /** Processes a frame addressed to the ingress interface's own MAC (tests and benchmarks; the worker says). */
    public int process(MutableDirectBuffer buf, int offset, int length, int ingress, int vnetFlags, int gsoType,
                       int gsoSize, long nowNs, Verdict out) {
        return process(buf, offset, length, ingress, Linux.PACKET_HOST, vnetFlags, gsoType, gsoSize, nowNs, out);
    }

    /**
     * Processes one frame.
     *
     * @param ingress    data-plane index of the interface the frame arrived on
     * @param packetType what its destination MAC is to the ingress interface: Linux.PACKET_HOST (its own),
     *                   PACKET_BROADCAST, PACKET_MULTICAST or PACKET_OTHERHOST
     * @param vnetFlags  virtio-net header flags (VirtioNetHeader.FLAG_NEEDS_CSUM...), 0 without a vnet header
     * @param gsoType    virtio-net GSO type, 0 for a plain frame
     * @param gsoSize    virtio-net gso_size (payload bytes per segment), 0 for a plain frame
     * @return the verdict's action, also stored in {@code out}
     */
    public int process(MutableDirectBuffer buf, int offset, int length, int ingress, int packetType, int vnetFlags,
                       int gsoType, int gsoSize, long nowNs, Verdict out) {
        if (packetType == Linux.PACKET_OTHERHOST) {
            // another host's frame, seen because the port is promiscuous: Linux drops it before any protocol does
            return drop(out, DropReason.OTHER_HOST.id);
        }
        final int reason = parser.parse(buf, offset, length, frame);
        if (reason != 0) {
            return drop(out, reason);
        }
        switch (frame.kind) {
            case ParsedFrame.KIND_ARP:
                return arp(buf, ingress, out);
            case ParsedFrame.KIND_OTHER:
                return local(out);
            case ParsedFrame.KIND_IPV6:
            case ParsedFrame.KIND_IPV6_FRAGMENT:
                return v6.process(buf, rules, ingress, packetType, vnetFlags, gsoType, gsoSize, nowNs, out);
            default:
                break;
        }
        if (frame.vlanTci >= 0) {
            return local(out); // 802.1Q: a VLAN device of the kernel's, if any, handles it
        }
        final RuleSet rs = rules;
        if (rs.iface(ingress) == null) {
            return drop(out, DropReason.UNKNOWN_INTERFACE.id);
        }
        if (packetType != Linux.PACKET_HOST) {
            // RFC 1812 5.3.4: a link-layer broadcast or multicast is never forwarded; the host's own (DHCP...) stays
            // the host's
            return rs.ownership().owns(frame.ipProto, frame.dstIp, frame.dstPort,
                frame.kind == ParsedFrame.KIND_IPV4_FRAGMENT) ? drop(out, DropReason.LINK_BROADCAST.id) : local(out);
        }
        final boolean partial = (vnetFlags & VirtioNetHeader.FLAG_NEEDS_CSUM) != 0;
        if (gsoSize > 0 && !gsoMatches(gsoType)) {
            // A tunnel super-frame (VXLAN, GRE) reaches us labelled TCPV4; the kernel refuses to send it again and
            // would retry it forever at the head of the TX ring, blocking the port. Drop it here instead.
            return drop(out, DropReason.GSO_UNSUPPORTED.id);
        }
        if (frame.kind == ParsedFrame.KIND_IPV4_FRAGMENT) {
            return fragment(buf, rs, ingress, nowNs, out);
        }
        if (frame.icmpError) {
            return icmpError(buf, rs, ingress, out);
        }
        final long handle = table.lookup(frame.ipProto, frame.srcIp, frame.dstIp, frame.srcPort, frame.dstPort, view);
        if (handle != FlowTable.NOT_FOUND) {
            return existingFlow(buf, rs, ingress, partial, gsoType, gsoSize, nowNs, out);
        }
        if (rs.translatesFamilies() && (frame.ipProto == TCP || frame.ipProto == UDP)
            && rs.natPorts().contains(frame.dstPort) && rs.ownership().isGatewayAddress(frame.dstIp)) {
            // perhaps the backend's answer in a flow of an IPv6 client (IPv4 to a NAT port: no other flow has it)
            final int translated = v6.fromIpv4(buf, rs, ingress, vnetFlags, gsoType, gsoSize, nowNs, out);
            if (translated != 0) {
                return translated;
            }
        }
        return newFlow(buf, rs, ingress, partial, gsoType, gsoSize, nowNs, out);
    }

    // ================================================================ fast path

    private int existingFlow(MutableDirectBuffer buf, RuleSet rs, int ingress, boolean partial, int gsoType,
                             int gsoSize, long nowNs, Verdict out) {
        final int refused = trackedFlowChecks(rs, ingress, out);
        if (refused != 0) {
            return refused;
        }
        final GatewayInterface egress = rs.iface(view.egressInterface);
        final int checked = routerChecks(buf, rs, ingress, egress, gsoType, gsoSize, nowNs, out);
        if (checked != 0) {
            return checked;
        }
        return translateAndForward(buf, partial, gsoSize, nowNs, out);
    }

    /**
     * What a packet of the flow in {@link #view} (either family) is checked for before anything else: valid TCP flags,
     * the side it came in by (strict reverse path) and an egress interface still there. Returns 0 or the drop verdict.
     */
    int trackedFlowChecks(RuleSet rs, int ingress, Verdict out) {
        if (frame.ipProto == TCP && !TcpState.validFlags(frame.tcpFlags)) {
            return drop(out, DropReason.TCP_INVALID_FLAGS.id);
        }
        if (ingress != view.ingressInterface && rs.reversePathFilter() == ReversePathFilter.STRICT) {
            // the flow's tuple from the wrong side: a spoofed source (rp_filter=1 would not route it either)
            return drop(out, DropReason.SPOOFED_SOURCE.id);
        }
        if (rs.iface(view.egressInterface) == null) {
            return drop(out, DropReason.NO_ROUTE.id); // the interface went away since the flow was made
        }
        return 0;
    }

    /** Accounts the packet to the flow in {@link #view}, rewrites it and forwards it. */
    private int translateAndForward(MutableDirectBuffer buf, boolean partial, int gsoSize, long nowNs, Verdict out) {
        final int verdict = account(table, buf, nowNs, out);
        if (verdict != 0) {
            return verdict;
        }
        rewrite(buf, partial);
        if (frame.isFirstFragment()) {
            fragments.remember(frame.srcIp, frame.dstIp, frame.ipProto, frame.ipId,
                (view.flowId << 1) | view.direction, view.generation, nowNs);
        }
        countOffloads(partial, gsoSize);
        return forward(out, view.egressInterface, view.nextHopIp);
    }

    /**
     * Accounts the packet to the flow in {@link #view} of {@code flows} (state, TCP window): 0 to go on, or the drop
     * verdict of a segment outside the window.
     */
    int account(FlowTable flows, MutableDirectBuffer buf, long nowNs, Verdict out) {
        if (frame.ipProto == TCP) {
            readSegment(buf);
        }
        switch (flows.onPacket(view, segment, frame.ipTotalLength, nowNs)) {
            case FlowTable.PACKET_OUT_OF_STATE:
                counters.increment(Counter.TCP_OUT_OF_STATE);
                return 0;
            case FlowTable.PACKET_OUT_OF_WINDOW:
                return drop(out, DropReason.TCP_OUT_OF_WINDOW.id);
            case FlowTable.PACKET_IGNORED:
                counters.increment(Counter.TCP_IGNORED);
                return 0;
            default:
                return 0;
        }
    }

    void countOffloads(boolean partial, int gsoSize) {
        if (gsoSize > 0) {
            counters.increment(Counter.GSO_FRAMES);
        }
        if (partial) {
            counters.increment(Counter.PARTIAL_CHECKSUM_FRAMES);
        }
    }

    /**
     * Reads the TCP segment for window tracking. A first fragment's payload continues in fragments not seen yet: its
     * end is taken as far as a datagram may reach, so that the acknowledgement of the whole segment stays valid.
     */
    private void readSegment(MutableDirectBuffer buf) {
        final int headerLength = frame.tcpHeaderLength;
        segment.read(buf, frame.l4Offset, headerLength, frame.l4Length - headerLength);
        if (frame.moreFragments) {
            segment.end = segment.seq + (Ipv4Header.MAX_TOTAL_LENGTH - frame.ipHeaderLength - headerLength);
        }
    }

    /**
     * Rewrites addresses, ports (or the echo identifier), decrements TTL, and updates every checksum
     * incrementally with the flow's precomputed deltas.
     */
    private void rewrite(MutableDirectBuffer buf, boolean partial) {
        rewriteIpHeader(buf);
        final int l4 = frame.l4Offset;
        switch (frame.ipProto) {
            case TCP:
                tcp.wrap(buf, l4);
                tcp.sourcePort(view.newSrcPort);
                tcp.destinationPort(view.newDstPort);
                // a partial checksum holds only the pseudo-header sum: ports are not in it, addresses are
                tcp.checksum(partial
                    ? Checksums.applyToPartial(tcp.checksum(), view.ipDelta)
                    : Checksums.applyToChecksum(tcp.checksum(), view.l4Delta));
                break;
            case UDP:
                udp.wrap(buf, l4);
                udp.sourcePort(view.newSrcPort);
                udp.destinationPort(view.newDstPort);
                udp.checksum(partial
                    ? Checksums.applyToPartial(udp.checksum(), view.ipDelta)
                    : Checksums.applyToUdpChecksum(udp.checksum(), view.l4Delta));
                break;
            case ICMP:
                icmp.wrap(buf, l4);
                // echo request: the identifier is the key's source port; echo reply: its destination port
                icmp.identifier(frame.icmpType == IcmpHeader.TYPE_ECHO_REQUEST ? view.newSrcPort : view.newDstPort);
                icmp.checksum(Checksums.applyToChecksum(icmp.checksum(), view.l4Delta));
                break;
            default:
                break;
        }
    }

    private void rewriteIpHeader(MutableDirectBuffer buf) {
        ip.wrap(buf, frame.l3Offset);
        final int ttl = frame.ttl;
        final int ttlDelta = Checksums.delta16((ttl << 8) | frame.ipProto, ((ttl - 1) << 8) | frame.ipProto);
        ip.ttl(ttl - 1);
        ip.sourceAddress(view.newSrcIp);
        ip.destinationAddress(view.newDstIp);
        ip.checksum(Checksums.applyToChecksum(ip.checksum(), Checksums.addDeltas(view.ipDelta, ttlDelta)));
    }

    /**
     * What a router checks before forwarding: TTL, then size against the egress MTU (a GSO super-frame by its
     * segment size). Returns 0 to go on, or the verdict (an ICMP error emitted, or a drop).
     */
    private int routerChecks(MutableDirectBuffer buf, RuleSet rs, int ingress, GatewayInterface egress,
                             int gsoType, int gsoSize, long nowNs, Verdict out) {
        return routerChecks(buf, rs, ingress, egress, gsoType, gsoSize, 0, nowNs, out);
    }

    /** As above for a packet that grows by {@code growth} bytes on its way (translated to IPv6). */
    int routerChecks(MutableDirectBuffer buf, RuleSet rs, int ingress, GatewayInterface egress, int gsoType,
                     int gsoSize, int growth, long nowNs, Verdict out) {
        if (frame.ttl <= 1) {
            return emitError(buf, rs, ingress, IcmpHeader.TYPE_TIME_EXCEEDED, IcmpHeader.CODE_TTL_EXCEEDED_IN_TRANSIT,
                0, DropReason.TTL_EXCEEDED, nowNs, out);
        }
        final int size = (gsoSize > 0 ? segmentSize(gsoType, gsoSize) : frame.ipTotalLength) + growth;
        if (size > egress.mtu()) {
            if (frame.dontFragment) {
                return emitError(buf, rs, ingress, IcmpHeader.TYPE_DESTINATION_UNREACHABLE,
                    IcmpHeader.CODE_FRAGMENTATION_NEEDED, egress.mtu() - growth, DropReason.FRAGMENTATION_NEEDED,
                    nowNs, out);
            }
            return drop(out, DropReason.TOO_BIG.id);
        }
        return 0;
    }

    /** True when a super-frame's GSO type is one the kernel can segment for its IPv4 protocol. */
    private boolean gsoMatches(int gsoType) {
        switch (gsoType) {
            case VirtioNetHeader.GSO_TCPV4:
                return frame.kind == ParsedFrame.KIND_IPV4 && frame.ipProto == TCP;
            case VirtioNetHeader.GSO_UDP:
            case VirtioNetHeader.GSO_UDP_L4:
                return frame.kind == ParsedFrame.KIND_IPV4 && frame.ipProto == UDP;
            default:
                return false;
        }
    }

    /** IP length of one segment of a GSO super-frame. */
    int segmentSize(int gsoType, int gsoSize) {
        final int l4Header = frame.ipProto == TCP ? frame.tcpHeaderLength : UdpHeader.LENGTH;
        return frame.ipHeaderLength + l4Header + gsoSize;
    }

    // ================================================================ slow path: new flows

    private int newFlow(MutableDirectBuffer buf, RuleSet rs, int ingress, boolean partial, int gsoType, int gsoSize,
                        long nowNs, Verdict out) {
        final int proto = frame.ipProto;
        final Ownership ownership = rs.ownership();
        if (!ownership.owns(proto, frame.dstIp, frame.dstPort, false)) {
            if (isForeignDirectedBroadcast(rs, ingress)) {
                return drop(out, DropReason.DIRECTED_BROADCAST.id);
            }
            // broadcast, multicast, and the host's own traffic: its services, pings to it, replies to its pings
            return local(out);
        }
        final int refusedSource = admitSource(rs, ingress);
        if (refusedSource != 0) {
            return drop(out, refusedSource);
        }
        if (RuleSet.isMartianDestination(frame.dstIp)) {
            return drop(out, DropReason.MARTIAN_DESTINATION.id);
        }
        if (ownership.isGatewayAddress(frame.dstIp)) {
            final ForwardRule forward = rs.matchForward(proto, frame.dstIp, frame.dstPort);
            if (forward == null) {
                if (rs.natPorts().contains(frame.dstPort)) {
                    // a NAT port with no flow: a late reply or a probe; the kernel must not answer it either
                    return drop(out, proto == TCP ? DropReason.TCP_NO_FLOW.id : DropReason.NO_RULE.id);
                }
                // a removed forward's port, kept from the kernel while its flows linger
                return drop(out, DropReason.NO_RULE.id);
            }
            final int refused = refuseAsFirstPacket();
            if (refused != 0) {
                return drop(out, refused);
            }
            if (!forward.admits(frame.srcIp)) {
                return drop(out, DropReason.FORWARD_SOURCE_DENIED.id);
            }
            return newForwardFlow(buf, rs, forward, ingress, partial, gsoType, gsoSize, nowNs, out);
        }

        // passing through the gateway
        if (proto != TCP && proto != UDP && proto != ICMP) {
            return drop(out, DropReason.NO_RULE.id);
        }
        final GatewayInterface in = rs.iface(ingress);
        if (in.role() != GatewayInterface.Role.INSIDE) {
            return drop(out, DropReason.NO_RULE.id); // default deny: nothing enters from the LAN side unasked
        }
        if (proto == ICMP && frame.icmpType != IcmpHeader.TYPE_ECHO_REQUEST) {
            return drop(out, frame.icmpType == IcmpHeader.TYPE_ECHO_REPLY
                ? DropReason.NO_RULE.id : DropReason.ICMP_UNSUPPORTED.id);
        }
        final long route = rs.route(frame.dstIp);
        if (route < 0) {
            return drop(out, DropReason.NO_ROUTE.id);
        }
        final int egressIndex = RuleSet.routeInterface(route);
        final MasqueradeRule masquerade = rs.matchMasquerade(frame.srcIp, egressIndex);
        if (masquerade == null) {
            return drop(out, DropReason.NO_RULE.id);
        }
        final int refused = refuseAsFirstPacket();
        if (refused != 0) {
            return drop(out, refused);
        }
        final int checked = routerChecks(buf, rs, ingress, rs.iface(egressIndex), gsoType, gsoSize, nowNs, out);
        if (checked != 0) {
            return checked;
        }
        draft.original(proto, frame.srcIp, frame.dstIp, frame.srcPort, frame.dstPort);
        draft.reply(frame.dstIp, 0, frame.dstPort, 0);
        routeBoth(rs, egressIndex, RuleSet.routeNextHop(route), ingress);
        draft.natFlags = FlowRecord.NAT_SNAT;
        firstTcpState(draft);
        final long handle = ports.insertWithPort(draft, rs.masqueradeAddress(masquerade, egressIndex), rs.natPorts(),
            proto != TCP, nowNs, view);
        return created(handle, buf, Counter.SNAT_FLOWS, partial, gsoSize, nowNs, out);
    }

    private int newForwardFlow(MutableDirectBuffer buf, RuleSet rs, ForwardRule forward, int ingress, boolean partial,
                               int gsoType, int gsoSize, long nowNs, Verdict out) {
        final ForwardRule.Backend backend = forward.backendFor(frame.srcIp);
        final int backendPort = forward.backendPort(backend, frame.dstPort);
        final long route = rs.route(backend.address());
        if (route < 0) {
            return drop(out, DropReason.NO_ROUTE.id);
        }
        final int egressIndex = RuleSet.routeInterface(route);
        final int checked = routerChecks(buf, rs, ingress, rs.iface(egressIndex), gsoType, gsoSize, nowNs, out);
        if (checked != 0) {
            return checked;
        }
        final int proto = frame.ipProto;
        draft.original(proto, frame.srcIp, frame.dstIp, frame.srcPort, frame.dstPort);
        routeBoth(rs, egressIndex, RuleSet.routeNextHop(route), ingress);
        firstTcpState(draft);

        // Hairpin: client and backend behind the same interface. Without SNAT the backend would answer the
        // client directly, bypassing the translation; with it the reply comes back through the gateway.
        final boolean hairpin = egressIndex == ingress;
        final MasqueradeRule masquerade = hairpin ? null : rs.matchMasquerade(frame.srcIp, egressIndex);
        if (hairpin || masquerade != null) {
            final int natIp = hairpin ? rs.iface(egressIndex).ip() : rs.masqueradeAddress(masquerade, egressIndex);
            draft.reply(backend.address(), 0, backendPort, 0);
            draft.natFlags = FlowRecord.NAT_DNAT | FlowRecord.NAT_SNAT | (hairpin ? FlowRecord.NAT_HAIRPIN : 0);
            final long handle = ports.insertWithPort(draft, natIp, rs.natPorts(), proto == UDP, nowNs, view);
            return created(handle, buf, hairpin ? Counter.HAIRPIN_FLOWS : Counter.DNAT_FLOWS, partial, gsoSize, nowNs,
                out);
        }
        // The backend sees the real client address.
        draft.reply(backend.address(), frame.srcIp, backendPort, frame.srcPort);
        draft.natFlags = FlowRecord.NAT_DNAT;
        long handle = table.insert(draft, nowNs, view);
        if (handle == FlowTable.REPLY_TAKEN) {
            // The backend already talks to this client port through another forward: keep the client address,
            // move its port (what netfilter's unique-tuple search does).
            draft.natFlags |= FlowRecord.NAT_SNAT;
            handle = ports.insertWithPort(draft, frame.srcIp, rs.natPorts(), false, nowNs, view);
        }
        return created(handle, buf, Counter.DNAT_FLOWS, partial, gsoSize, nowNs, out);
    }

    /**
     * What a router checks of a new flow's source (RFC 1812 5.3.7, Linux's rp_filter): not a martian, not one of the
     * gateway's own addresses (the host's own frames never reach the data plane's sockets), and, unless the filter is
     * off, routed back at all (loose) or through the interface it came in on (strict). Returns 0 or the drop reason.
     */
    private int admitSource(RuleSet rs, int ingress) {
        if (RuleSet.isMartianSource(frame.srcIp)) {
            return DropReason.BAD_SOURCE_ADDRESS.id;
        }
        if (rs.ownership().isGatewayAddress(frame.srcIp)) {
            return DropReason.GATEWAY_SOURCE.id;
        }
        final ReversePathFilter filter = rs.reversePathFilter();
        if (filter != ReversePathFilter.OFF) {
            final long back = rs.route(frame.srcIp);
            if (back < 0 || (filter == ReversePathFilter.STRICT && RuleSet.routeInterface(back) != ingress)) {
                return DropReason.SPOOFED_SOURCE.id;
            }
        }
        return 0;
    }

    /** True when the destination is the directed broadcast of a subnet other than the ingress interface's. */
    private boolean isForeignDirectedBroadcast(RuleSet rs, int ingress) {
        final int dst = frame.dstIp;
        if (dst == -1 || (dst & 0xF000_0000) == 0xE000_0000 || !rs.ownership().isBroadcastOrMulticast(dst)) {
            return false;
        }
        final GatewayInterface in = rs.iface(ingress);
        return !(in.address().hasBroadcast() && in.address().broadcast() == dst);
    }

    /** Fills the draft's route: out through {@code egress}, and back towards the client. */
    private void routeBoth(RuleSet rs, int egressIndex, int nextHop, int ingress) {
        final long back = rs.route(frame.srcIp);
        final int backInterface = back >= 0 ? RuleSet.routeInterface(back) : ingress;
        final int backNextHop = back >= 0 ? RuleSet.routeNextHop(back) : frame.srcIp;
        draft.route(egressIndex, nextHop, backInterface, backNextHop);
    }

    /**
     * A new flow starts only with a packet that may start one: no port 0, and for TCP a bare SYN, or a bare ACK when
     * the tracking is loose (a connection picked up mid-stream, netfilter's nf_conntrack_tcp_loose).
     */
    int refuseAsFirstPacket() {
        if (frame.ipProto == TCP) {
            if (!TcpState.validFlags(frame.tcpFlags)) {
                return DropReason.TCP_INVALID_FLAGS.id;
            }
            if (!TcpState.opensConnection(frame.tcpFlags)
                && !(TcpState.picksUpConnection(frame.tcpFlags) && table.tcpTracking().loose())) {
                return DropReason.TCP_NO_FLOW.id;
            }
        }
        if (frame.ipProto != ICMP && frame.ipProto != IpProtocol.ICMPV6 && (frame.srcPort == 0 || frame.dstPort == 0)) {
            return DropReason.ZERO_PORT.id;
        }
        return 0;
    }

    /** The draft's TCP state: SYN_SENT after a SYN; ESTABLISHED, with liberal windows, for a mid-stream pickup. */
    void firstTcpState(FlowDraft d) {
        if (frame.ipProto != TCP) {
            d.protoState = 0;
        } else if (TcpState.opensConnection(frame.tcpFlags)) {
            d.protoState = TcpState.SYN_SENT;
        } else {
            d.protoState = TcpState.ESTABLISHED;
            d.windowFlags = TcpWindow.FLAG_LIBERAL | TcpWindow.FLAG_SACK_PERMITTED;
            counters.increment(Counter.TCP_PICKUPS);
        }
    }

    private int created(long handle, MutableDirectBuffer buf, Counter kind, boolean partial, int gsoSize, long nowNs,
                        Verdict out) {
        if (handle >= 0) {
            counters.increment(Counter.FLOWS_CREATED);
            counters.increment(kind);
            return translateAndForward(buf, partial, gsoSize, nowNs, out);
        }
        if (handle == FlowTable.ORIG_EXISTS) {
            // another worker created this very flow a moment ago (a retransmitted SYN on the other socket)
            if (table.lookup(frame.ipProto, frame.srcIp, frame.dstIp, frame.srcPort, frame.dstPort, view)
                != FlowTable.NOT_FOUND) {
                return translateAndForward(buf, partial, gsoSize, nowNs, out);
            }
            return drop(out, DropReason.TABLE_FULL.id);
        }
        if (handle == PortAllocator.PORTS_EXHAUSTED) {
            return drop(out, DropReason.PORTS_EXHAUSTED.id);
        }
        return drop(out, DropReason.TABLE_FULL.id);
    }

    // ================================================================ ICMP errors and fragments

    /**
     * An ICMP error quoting a datagram of a tracked flow (RFC 5508): found by the reverse of the quoted tuple, checked
     * as a router does, translated by {@link IcmpErrorTranslator}. Not refreshing the flow: an error is not traffic.
     */
    private int icmpError(MutableDirectBuffer buf, RuleSet rs, int ingress, Verdict out) {
        // the error travels against the quoted datagram: look up the reverse of its tuple
        final long handle = table.lookup(frame.innerProto, frame.innerDstIp, frame.innerSrcIp,
            frame.innerDstPort, frame.innerSrcPort, view);
        if (handle == FlowTable.NOT_FOUND || frame.dstIp != frame.innerSrcIp) {
            return rs.ownership().owns(ICMP, frame.dstIp, 0, false)
                ? drop(out, DropReason.ICMP_ERROR_NO_FLOW.id) : local(out);
        }
        final int refusedSource = admitSource(rs, ingress);
        if (refusedSource != 0) {
            return drop(out, refusedSource);
        }
        // the quoted segment went the other way: an error about a sequence number it never sent lately is forged
        if (frame.innerProto == TCP && frame.innerL4Offset >= 0 && frame.innerL4Available >= 8
            && !table.quotedSegmentInWindow(view, view.direction ^ 1,
                buf.getInt(frame.innerL4Offset + TcpHeader.SEQUENCE_OFFSET, java.nio.ByteOrder.BIG_ENDIAN))) {
            return drop(out, DropReason.ICMP_ERROR_OUT_OF_WINDOW.id);
        }
        final GatewayInterface egress = rs.iface(view.egressInterface);
        if (egress == null) {
            return drop(out, DropReason.NO_ROUTE.id);
        }
        if (frame.ttl <= 1) {
            return drop(out, DropReason.TTL_EXCEEDED.id); // never an ICMP error about an ICMP error
        }
        if (frame.ipTotalLength > egress.mtu()) {
            return drop(out, DropReason.TOO_BIG.id);
        }
        icmpErrors.translate(buf, frame, view);
        counters.increment(Counter.ICMP_ERRORS_TRANSLATED);
        return forward(out, view.egressInterface, view.nextHopIp);
    }

    /** A non-first fragment: no ports; it follows the flow its first fragment went to. */
    private int fragment(MutableDirectBuffer buf, RuleSet rs, int ingress, long nowNs, Verdict out) {
        final long found = fragments.find(frame.srcIp, frame.dstIp, frame.ipProto, frame.ipId, nowNs);
        if (found < 0 || !table.view(FlowTable.handle((int) found >>> 1, (int) (found >>> 32)), (int) found & 1, view)) {
            return rs.ownership().owns(frame.ipProto, frame.dstIp, 0, true)
                ? drop(out, DropReason.FRAGMENT_NO_FLOW.id) : local(out);
        }
        if (ingress != view.ingressInterface && rs.reversePathFilter() == ReversePathFilter.STRICT) {
            return drop(out, DropReason.SPOOFED_SOURCE.id);
        }
        final GatewayInterface egress = rs.iface(view.egressInterface);
        if (egress == null) {
            return drop(out, DropReason.NO_ROUTE.id);
        }
        if (frame.ttl <= 1) {
            return drop(out, DropReason.TTL_EXCEEDED.id); // time exceeded is only sent for fragment zero
        }
        if (frame.ipTotalLength > egress.mtu()) {
            return drop(out, DropReason.TOO_BIG.id);
        }
        rewriteIpHeader(buf);
        counters.increment(Counter.FRAGMENTS_FORWARDED);
        return forward(out, view.egressInterface, view.nextHopIp);
    }

    /** Drops the frame and, rate limit permitting, writes an ICMP error back to its sender. */
    private int emitError(MutableDirectBuffer buf, RuleSet rs, int ingress, int type, int code, int mtu,
                          DropReason reason, long nowNs, Verdict out) {
        if (rs.ownership().isBroadcastOrMulticast(frame.dstIp) || RuleSet.isMartianSource(frame.srcIp)) {
            return drop(out, reason.id);
        }
        if (!icmpErrorWriter.allow(nowNs)) {
            counters.increment(Counter.ICMP_RATE_LIMITED);
            return drop(out, reason.id);
        }
        out.emitLength = icmpErrorWriter.write(buf, frame, type, code, mtu, rs.iface(ingress).ip(), emitBuffer);
        return emitted(out, emitBuffer, ingress, reason);
    }

    /** The frame is dropped for {@code reason}; the ICMP error in {@code error} ({@code out.emitLength}) goes back. */
    int emitted(Verdict out, DirectBuffer error, int ingress, DropReason reason) {
        out.emitBuffer = error;
        out.egressInterface = ingress;
        out.dropReason = reason.id;
        out.action = Verdict.EMIT;
        counters.drop(reason.id);
        counters.increment(Counter.ICMP_ERRORS_SENT);
        return Verdict.EMIT;
    }

    // ================================================================ verdicts

    int forward(Verdict out, int egress, int nextHop) {
        counters.increment(Counter.FORWARDED);
        counters.add(Counter.FORWARDED_BYTES, frame.ipTotalLength);
        out.action = Verdict.FORWARD;
        out.egressInterface = egress;
        out.nextHopIp = nextHop;
        out.ipv6 = false;
        out.frameShift = 0;
        return Verdict.FORWARD;
    }

    int drop(Verdict out, int reason) {
        counters.drop(reason);
        out.action = Verdict.DROP;
        out.dropReason = reason;
        return Verdict.DROP;
    }

    /**
     * ARP: a sender on the ingress interface's subnet is a neighbour to learn. Refused (counted, the table untouched):
     * a sender outside that subnet (an inside address claimed from the LAN), one of the gateway's own addresses, or a
     * group MAC; an ARP probe (sender 0.0.0.0) teaches nothing. Only an ARP addressed to the gateway may add an entry;
     * gratuitous ARP and ARP between others refresh existing ones, so a flood of them cannot fill the table.
     */
    private int arp(MutableDirectBuffer buf, int ingress, Verdict out) {
        counters.increment(Counter.ARP_FRAMES);
        final RuleSet rs = rules;
        final GatewayInterface iface = rs.iface(ingress);
        final int sender = frame.srcIp;
        out.action = Verdict.ARP;
        out.neighbourIp = 0;
        out.neighbour6 = false;
        if (iface == null || sender == 0) {
            return Verdict.ARP;
        }
        arp.wrap(buf, frame.l3Offset);
        final long senderMac = arp.senderMac();
        if (!iface.address().contains(sender) || rs.ownership().isGatewayAddress(sender)
            || (senderMac & 0x0100_0000_0000L) != 0 || senderMac == 0) {
            counters.increment(Counter.ARP_REFUSED);
            return Verdict.ARP;
        }
        out.neighbourIp = sender;
        out.neighbourMac = senderMac;
        out.neighbourCreate = frame.dstIp == iface.ip();
        return Verdict.ARP;
    }

    int local(Verdict out) {
        counters.increment(Counter.PASSED_TO_KERNEL);
        out.action = Verdict.LOCAL;
        return Verdict.LOCAL;
    }
}
