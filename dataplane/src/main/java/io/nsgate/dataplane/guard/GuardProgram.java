// Generates the tcx ingress program that drops the frames the data plane owns and hands everything else on.
package io.nsgate.dataplane.guard;

import static io.nsgate.dataplane.guard.BpfAssembler.BPF_FUNC_MAP_LOOKUP_ELEM;
import static io.nsgate.dataplane.guard.BpfAssembler.BPF_FUNC_SKB_PULL_DATA;
import static io.nsgate.dataplane.guard.BpfAssembler.Reg.R0;
import static io.nsgate.dataplane.guard.BpfAssembler.Reg.R1;
import static io.nsgate.dataplane.guard.BpfAssembler.Reg.R10;
import static io.nsgate.dataplane.guard.BpfAssembler.Reg.R2;
import static io.nsgate.dataplane.guard.BpfAssembler.Reg.R3;
import static io.nsgate.dataplane.guard.BpfAssembler.Reg.R4;
import static io.nsgate.dataplane.guard.BpfAssembler.Reg.R5;
import static io.nsgate.dataplane.guard.BpfAssembler.Reg.R6;
import static io.nsgate.dataplane.guard.BpfAssembler.Reg.R7;
import static io.nsgate.dataplane.guard.BpfAssembler.Reg.R8;
import static io.nsgate.dataplane.guard.BpfAssembler.Reg.R9;

import io.nsgate.dataplane.packet.IpProtocol;
import io.nsgate.linux.sys.Bpf;

/**
 * The guard program: a BPF_PROG_TYPE_SCHED_CLS program for tcx ingress, generated with {@link BpfAssembler}.
 * It never changes after load; what it drops is data, read per packet from the active slot of a config map
 * (layout in {@link GuardSlot}). It is {@code nat.Ownership#owns} written for the kernel: the steps below are that
 * rule's, in the same order, and {@code GuardTranslatorAgreementTest} holds the two to each other.
 *
 * <h2>Theory of operation</h2>
 * The kernel delivers a received frame to AF_PACKET taps (ptype_all: where the data plane reads it) and only then
 * runs tcx ingress, so dropping here leaves the data plane its copy and keeps the kernel from also answering
 * (a TCP RST for a forwarded SYN, say). The program decides, in this order:
 * <ol>
 *   <li><b>Not plain IPv4 → NEXT.</b> A VLAN tag (in the skb's metadata, where the stack puts it before the
 *       taps, or still in the data), an ethertype other than 0x0800 (0x86DD: the IPv6 steps below), a frame too
 *       short for an IPv4 header, a version other than 4, an IHL below 5, options cut short, or a total length below
 *       the header length.</li>
 *   <li><b>Broadcast or multicast → NEXT:</b> 255.255.255.255, 224.0.0.0/4 and the subnets' directed
 *       broadcasts (DHCP, mDNS... are the host's), as {@code Ownership.isBroadcastOrMulticast}.</li>
 *   <li><b>Not one of the gateway's addresses → DROP.</b> Transit traffic is the data plane's to forward or to
 *       drop; the kernel must not route it too. Non-first fragments included: they are the data plane's.</li>
 *   <li>To the gateway: <b>a non-first fragment → NEXT</b> (no ports to judge by: the host reassembles its own,
 *       and a fragment whose first part was dropped here just expires in the kernel's reassembly queue);
 *       <b>not TCP or UDP → NEXT</b> (pings, ICMP errors: the host's); <b>ports not within the frame → NEXT</b>
 *       (malformed: the kernel discards it).</li>
 *   <li><b>Destination port in the NAT range → DROP</b> (masquerade and hairpin replies, on any gateway
 *       address).</li>
 *   <li><b>A forward entry matches → DROP</b>: same protocol, port within its range, and the destination is
 *       the entry's address, or any LAN address when the entry has none.</li>
 *   <li><b>Otherwise → NEXT</b>: the host's own services.</li>
 * </ol>
 * <b>IPv6</b> ({@code Ownership.ownsIpv6}): a frame too short for the fixed header or of another version → NEXT;
 * a multicast, link-local, unspecified or loopback destination → NEXT; not one of the gateway's IPv6 addresses:
 * transit → DROP (the kernel never routes IPv6 past nsgate, even with IPv6 forwarding switched on behind its back).
 * To a gateway address: TCP or UDP right after the fixed header (extension headers first: NEXT, the host's), its
 * ports within the frame, to a NAT port or an IPv6 forward entry's port on that address (or any LAN IPv6 address)
 * → DROP; anything else → NEXT.
 *
 * "NEXT" is {@link Bpf#TCX_NEXT}: not ours, let the next tcx program (if any) or the stack have it. "DROP" is
 * {@link Bpf#TCX_DROP}.
 *
 * <h2>Verifier notes</h2>
 * Packet bytes are read with direct packet access, each read dominated by a comparison against
 * {@code data_end}. The transport header's offset depends on the IHL, which is masked and shifted so the verifier
 * knows it lies in 20..60. Headers are usually in the skb's linear area; when they are not (some drivers leave
 * them in page fragments), {@code bpf_skb_pull_data} makes the first {@link #LINEAR_BYTES} bytes linear first, and
 * only then are the packet pointers loaded, since a helper that can move the data invalidates earlier ones.
 * The address and forward tables are scanned by loops unrolled {@link GuardSlot#MAX_ADDRESSES} and
 * {@link GuardSlot#MAX_FORWARDS} times, each step first checking the entry count, so a packet only pays for the
 * entries that exist, and the verifier sees straight-line code with no back edge.
 */
public final class GuardProgram {
    /** The program's verdict for a frame it leaves to the kernel (and to any later tcx program). */
    public static final int PASS = Bpf.TCX_NEXT;
    /** The program's verdict for a frame the data plane owns. */
    public static final int DROP = Bpf.TCX_DROP;

    /** Name of the program as bpftool shows it. */
    public static final String NAME = "nsgate_guard";
    /**
     * License declared to the kernel. It only matters for GPL-only helpers; this program calls none, but
     * declaring it keeps bpf_trace_printk (GPL-only) usable when debugging a modified program.
     */
    public static final String LICENSE = "GPL";

    /** Bytes that must be linear for the widest read: Ethernet 14 + IPv4 with options 60 + both ports 4. */
    public static final int LINEAR_BYTES = 14 + 60 + 4;

    // struct __sk_buff offsets (include/uapi/linux/bpf.h; the verifier rewrites these context reads)
    static final int SKB_LEN = 0;
    static final int SKB_VLAN_PRESENT = 20;
    static final int SKB_DATA = 76;
    static final int SKB_DATA_END = 80;

    // frame offsets: Ethernet, then IPv4 at 14
    private static final int ETHERTYPE = 12;
    private static final int ETHERTYPE_IPV4 = 0x0800;
    private static final int IP = 14;
    private static final int IP_VERSION_IHL = IP;
    private static final int IP_TOTAL_LENGTH = IP + 2;
    private static final int IP_FLAGS_FRAGMENT = IP + 6;
    private static final int IP_PROTOCOL = IP + 9;
    private static final int IP_DESTINATION = IP + 16;
    private static final int IP_MIN_END = IP + 20;
    private static final int ETHERTYPE_IPV6 = 0x86DD;
    /** Destination address within an IPv6 frame (Ethernet 14 + 24). */
    private static final int IP6_DESTINATION = IP + 24;
    /** Next header within an IPv6 frame. */
    private static final int IP6_NEXT_HEADER = IP + 6;
    /** End of the fixed IPv6 header. */
    private static final int IP6_MIN_END = IP + 40;
    private static final int FRAGMENT_OFFSET_MASK = 0x1FFF;
    /** Destination port within the TCP or UDP header. */
    private static final int L4_DESTINATION_PORT = 2;

    /** Stack slot for map keys. */
    private static final int KEY_SLOT = -4;

    private GuardProgram() {
    }

    /**
     * Steps 5 and 6 for a frame to one of the gateway's addresses, IPv4's or IPv6's: r3 = destination port, r5 = the
     * protocol as forward entries hold it, r0 = 1 for a LAN address, {@code address} = the address as entries name it
     * (IPv4: in network order; IPv6: its 1-based index). A NAT port or a matching entry → DROP; otherwise → PASS.
     */
    private static void ownedPorts(BpfAssembler a, String labels, BpfAssembler.Reg address) {
        a.loadW(R1, R9, GuardSlot.NAT_FIRST_OFFSET);
        a.jgt(R1, R3, labels + "forwards");
        a.loadW(R1, R9, GuardSlot.NAT_LAST_OFFSET);
        a.jge(R1, R3, "drop");
        a.label(labels + "forwards");
        a.loadW(R1, R9, GuardSlot.FORWARD_COUNT_OFFSET);
        for (int i = 0; i < GuardSlot.MAX_FORWARDS; i++) {
            int entry = GuardSlot.FORWARDS_OFFSET + i * GuardSlot.FORWARD_ENTRY_SIZE;
            String next = labels + "forward_" + (i + 1);
            a.jle(R1, i, "pass");
            a.loadW(R4, R9, entry + GuardSlot.FORWARD_PROTO_OFFSET);
            a.jne(R4, R5, next);
            a.loadW(R4, R9, entry + GuardSlot.FORWARD_FIRST_OFFSET);
            a.jgt(R4, R3, next);
            a.loadW(R4, R9, entry + GuardSlot.FORWARD_LAST_OFFSET);
            a.jlt(R4, R3, next);
            a.loadW(R4, R9, entry + GuardSlot.FORWARD_ADDRESS_OFFSET);
            a.jeq(R4, address, "drop");
            a.jne(R4, 0, next);
            a.jne(R0, 0, "drop");
            a.label(next);
        }
        a.ja("pass"); // no forward entry matched
    }

    /**
     * Generates the program for the given maps.
     *
     * @param activeMapFd array map, one u32 entry: the active config slot (0 or 1)
     * @param configMapFd array map, two entries of {@link GuardSlot#ENCODED_SIZE} bytes: the config slots
     */
    public static BpfAssembler generate(int activeMapFd, int configMapFd) {
        BpfAssembler a = new BpfAssembler();
        a.comment("r6 = skb until the packet is read; then r7 = data, r8 = data_end, r9 = active config slot");
        a.mov(R6, R1);

        a.comment("make the headers linear (rarely needed): pull min(skb->len, " + LINEAR_BYTES + ") bytes if not");
        a.loadW(R2, R6, SKB_LEN);
        a.jle(R2, LINEAR_BYTES, "want_known");
        a.mov(R2, LINEAR_BYTES);
        a.label("want_known");
        a.loadW(R3, R6, SKB_DATA);
        a.loadW(R4, R6, SKB_DATA_END);
        a.add(R3, R2);
        a.jle(R3, R4, "linear");
        a.mov(R1, R6); // r2 = bytes wanted
        a.call(BPF_FUNC_SKB_PULL_DATA);
        a.label("linear");

        a.comment("r9 = config slot the active index names (lookups of array maps are inlined by the verifier)");
        a.storeW(R10, KEY_SLOT, 0);
        a.mov(R2, R10).add(R2, KEY_SLOT);
        a.ldMapFd(R1, activeMapFd);
        a.call(BPF_FUNC_MAP_LOOKUP_ELEM);
        a.jeq(R0, 0, "pass");
        a.loadW(R1, R0, 0);
        a.and(R1, 1); // only slots 0 and 1 exist
        a.storeW(R10, KEY_SLOT, R1);
        a.mov(R2, R10).add(R2, KEY_SLOT);
        a.ldMapFd(R1, configMapFd);
        a.call(BPF_FUNC_MAP_LOOKUP_ELEM);
        a.jeq(R0, 0, "pass");
        a.mov(R9, R0);

        a.comment("1. plain IPv4 only: no VLAN tag, ethertype 0x0800, room for a minimal IPv4 header");
        a.loadW(R1, R6, SKB_VLAN_PRESENT);
        a.jne(R1, 0, "pass");
        a.loadW(R7, R6, SKB_DATA);
        a.loadW(R8, R6, SKB_DATA_END);
        a.mov(R1, R7).add(R1, IP_MIN_END);
        a.jgt(R1, R8, "pass");
        a.loadH(R1, R7, ETHERTYPE).be16(R1);
        a.jeq(R1, ETHERTYPE_IPV6, "ipv6");
        a.jne(R1, ETHERTYPE_IPV4, "pass"); // also an 802.1Q/802.1ad tag still in the data

        a.comment("IPv4 header sane: version 4, IHL >= 5, options within the frame, total length >= header");
        a.loadB(R1, R7, IP_VERSION_IHL);
        a.mov(R2, R1).rsh(R2, 4);
        a.jne(R2, 4, "pass");
        a.and(R1, 0x0F);
        a.jlt(R1, 5, "pass");
        a.lsh(R1, 2); // r1 = header length, 20..60
        a.mov(R2, R7).add(R2, IP).add(R2, R1); // r2 = transport header
        a.jgt(R2, R8, "pass");
        a.loadH(R3, R7, IP_TOTAL_LENGTH).be16(R3);
        a.jlt(R3, R1, "pass");

        a.comment("r4 = fragment offset, r5 = protocol, r6 = destination address (network order)");
        a.loadH(R4, R7, IP_FLAGS_FRAGMENT).be16(R4);
        a.and(R4, FRAGMENT_OFFSET_MASK);
        a.loadB(R5, R7, IP_PROTOCOL);
        a.loadW(R6, R7, IP_DESTINATION);

        a.comment("2. broadcast and multicast are the kernel's");
        a.jeq32(R6, -1, "pass"); // 255.255.255.255
        a.loadB(R0, R7, IP_DESTINATION);
        a.and(R0, 0xF0);
        a.jeq(R0, 0xE0, "pass"); // 224.0.0.0/4
        a.loadW(R0, R9, GuardSlot.BROADCAST_COUNT_OFFSET);
        for (int i = 0; i < GuardSlot.MAX_ADDRESSES; i++) {
            a.jle(R0, i, "not_broadcast");
            a.loadW(R3, R9, GuardSlot.BROADCASTS_OFFSET + i * GuardSlot.BROADCAST_ENTRY_SIZE);
            a.jeq(R3, R6, "pass");
        }
        a.label("not_broadcast");

        a.comment("3. one of the gateway's addresses? r0 = 1 when it is a LAN interface's; else transit: drop");
        a.loadW(R0, R9, GuardSlot.ADDRESS_COUNT_OFFSET);
        for (int i = 0; i < GuardSlot.MAX_ADDRESSES; i++) {
            int entry = GuardSlot.ADDRESSES_OFFSET + i * GuardSlot.ADDRESS_ENTRY_SIZE;
            a.jle(R0, i, "drop");
            a.loadW(R3, R9, entry);
            a.jne(R3, R6, "address_" + (i + 1));
            a.loadW(R0, R9, entry + GuardSlot.ADDRESS_LAN_OFFSET);
            a.ja("to_gateway");
            a.label("address_" + (i + 1));
        }
        a.ja("drop");

        a.label("to_gateway");
        a.comment("4. to the gateway: only TCP and UDP with readable ports can be the data plane's");
        a.jne(R4, 0, "pass"); // non-first fragment: no ports
        a.jeq(R5, IpProtocol.TCP, "ports");
        a.jne(R5, IpProtocol.UDP, "pass");
        a.label("ports");
        a.mov(R3, R2).add(R3, 4);
        a.jgt(R3, R8, "pass");
        a.loadH(R3, R2, L4_DESTINATION_PORT).be16(R3); // r3 = destination port

        a.comment("5. NAT range: replies to masqueraded and hairpinned flows; 6. forward entries: protocol, port range,"
            + " and the entry's address or (none) any LAN address");
        ownedPorts(a, "", R6);

        a.comment("IPv6: the fixed header within the frame, version 6");
        a.label("ipv6");
        a.mov(R1, R7).add(R1, IP6_MIN_END);
        a.jgt(R1, R8, "pass");
        a.loadB(R1, R7, IP);
        a.rsh(R1, 4);
        a.jne(R1, 6, "pass");
        a.comment("multicast (ff00::/8) and link-local (fe80::/10) destinations are the host's");
        a.loadB(R1, R7, IP6_DESTINATION);
        a.jeq(R1, 0xFF, "pass");
        a.loadH(R1, R7, IP6_DESTINATION).be16(R1);
        a.and(R1, 0xFFC0);
        a.jeq(R1, 0xFE80, "pass");
        a.comment("r3..r6 = the destination's four words as they lie in the frame; :: and ::1 are the host's");
        a.loadW(R3, R7, IP6_DESTINATION);
        a.loadW(R4, R7, IP6_DESTINATION + 4);
        a.loadW(R5, R7, IP6_DESTINATION + 8);
        a.loadW(R6, R7, IP6_DESTINATION + 12);
        a.mov(R1, R3).or(R1, R4).or(R1, R5);
        a.jne(R1, 0, "ipv6_addresses");
        a.mov(R1, R6).be32(R1);
        a.jle(R1, 1, "pass");
        a.label("ipv6_addresses");
        a.comment("one of the gateway's IPv6 addresses: the host's; anything else is transit: drop");
        a.loadW(R0, R9, GuardSlot.IPV6_COUNT_OFFSET);
        for (int i = 0; i < GuardSlot.MAX_IPV6_ADDRESSES; i++) {
            int entry = GuardSlot.IPV6_ADDRESSES_OFFSET + i * GuardSlot.IPV6_ENTRY_SIZE;
            String next = "ipv6_address_" + (i + 1);
            a.jle(R0, i, "drop");
            a.loadW(R1, R9, entry);
            a.jne(R1, R3, next);
            a.loadW(R1, R9, entry + 4);
            a.jne(R1, R4, next);
            a.loadW(R1, R9, entry + 8);
            a.jne(R1, R5, next);
            a.loadW(R1, R9, entry + 12);
            a.jne(R1, R6, next);
            a.loadW(R0, R9, GuardSlot.IPV6_LAN_OFFSET + i * 4);
            a.mov(R2, i + 1);
            a.ja("ipv6_to_gateway");
            a.label(next);
        }
        a.ja("drop");

        a.label("ipv6_to_gateway");
        a.comment("to the gateway (r0 = its lan flag, r2 = its 1-based index): TCP or UDP right after the header");
        a.loadB(R5, R7, IP6_NEXT_HEADER);
        a.jeq(R5, IpProtocol.TCP, "ipv6_ports");
        a.jne(R5, IpProtocol.UDP, "pass");
        a.label("ipv6_ports");
        a.mov(R1, R7).add(R1, IP6_MIN_END + 4);
        a.jgt(R1, R8, "pass");
        a.loadH(R3, R7, IP6_MIN_END + L4_DESTINATION_PORT).be16(R3); // r3 = destination port
        a.comment("NAT range, then IPv6 forward entries: protocol | 0x100, port range, address index or (0) any LAN"
            + " address");
        a.or(R5, GuardSlot.FORWARD_IPV6_FLAG);
        ownedPorts(a, "ipv6_", R2);

        a.comment("7. the host's own traffic");
        a.label("pass");
        a.mov(R0, PASS);
        a.exit();
        a.label("drop");
        a.mov(R0, DROP);
        a.exit();
        return a;
    }
}
