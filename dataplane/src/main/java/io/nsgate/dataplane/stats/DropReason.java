// Why the data plane dropped a frame: one constant per reason, each backed by a counter.
package io.nsgate.dataplane.stats;

/**
 * Every drop has a reason (VPP's habit): a stable numeric id for counters and the control socket, a short
 * machine name ({@link #name()}) and a label a person can act on. Ids start at 1, are grouped by stage, and never
 * change meaning once released; 0 means "no drop" so parsers can return {@code 0} for a good frame.
 */
public enum DropReason {
    // --- frame parser (packet) ---
    TRUNCATED_ETHERNET(1, "frame shorter than an Ethernet header"),
    TRUNCATED_VLAN(2, "802.1Q tag cut short"),
    TRUNCATED_IPV4(3, "frame shorter than an IPv4 header"),
    BAD_IP_VERSION(4, "IP version field does not match the ethertype (4 for 0x0800, 6 for 0x86DD)"),
    BAD_IHL(5, "IPv4 IHL below 5 or header beyond the frame"),
    BAD_TOTAL_LENGTH(6, "IPv4 total length below the header length or beyond the frame"),
    BAD_IP_CHECKSUM(7, "IPv4 header checksum does not verify"),
    TRUNCATED_TCP(8, "TCP header cut short"),
    BAD_TCP_DATA_OFFSET(9, "TCP data offset below 5 or beyond the packet"),
    TRUNCATED_UDP(10, "UDP header cut short"),
    BAD_UDP_LENGTH(11, "UDP length below 8 or beyond the packet"),
    TRUNCATED_ICMP(12, "ICMP header cut short"),
    ICMP_ERROR_TRUNCATED(13, "ICMP error quotes less than an IPv4 header and 8 bytes of it"),
    ICMP_ERROR_BAD_INNER(14, "ICMP error quotes a malformed IPv4 header"),
    BAD_SOURCE_ADDRESS(15, "martian source (RFC 1812 5.3.7): 0/8, 127/8, 224/4, 240/4 or the limited broadcast"),
    FRAGMENT_NO_FLOW(16, "non-first fragment whose first fragment opened no flow"),
    ZERO_PORT(17, "TCP or UDP port 0"),
    TRUNCATED_ARP(18, "ARP packet cut short"),
    FRAGMENT_TOO_LONG(19, "fragment reaching past 65535 bytes of datagram (\"ping of death\")"),
    FRAGMENT_OVERLAPS_HEADER(26, "TCP fragment at offset 8 or 16: it would overwrite the TCP header at reassembly "
        + "(RFC 1858)"),

    // --- connection tracking ---
    TCP_INVALID_FLAGS(20, "invalid TCP flag combination (SYN+FIN, SYN+RST, none, FIN without ACK...)"),
    TCP_NO_FLOW(21, "TCP segment without SYN matches no flow"),
    ICMP_ERROR_NO_FLOW(22, "ICMP error quotes no tracked flow"),
    ICMP_UNSUPPORTED(23, "ICMP type not tracked (only echo and errors cross the gateway)"),
    TABLE_FULL(24, "flow table full and no unreplied flow to evict"),
    TCP_OUT_OF_WINDOW(25, "TCP segment outside the connection's window (a blind RST, FIN or injected data)"),
    ICMP_ERROR_OUT_OF_WINDOW(27,
        "ICMP error quoting a TCP segment the connection did not send lately (forged, RFC 5927)"),

    // --- NAT ---
    NO_RULE(30, "no flow and no rule matches (default deny)"),
    PORTS_EXHAUSTED(31, "no free port in the NAT port range"),
    NO_ROUTE(32, "no interface route to the destination"),
    TTL_EXCEEDED(33, "TTL expired in transit (ICMP time exceeded sent)"),
    FRAGMENTATION_NEEDED(34, "DF set and larger than the egress MTU (ICMP fragmentation-needed sent)"),
    TOO_BIG(35, "larger than the egress MTU without DF (fragmentation is not done)"),
    MARTIAN_DESTINATION(36, "destination is 0.0.0.0/8 or loopback: never forwarded (RFC 1812 5.3.7)"),
    GSO_UNSUPPORTED(37, "GSO super-frame the kernel cannot send again (e.g. VXLAN/GRE tunnel offload): "
        + "turn off tx-udp_tnl-segmentation and tx-gre-segmentation on the sender"),

    // --- forwarding path ---
    NO_NEIGHBOUR(40, "next hop did not answer ARP"),
    TX_RING_FULL(41, "egress TX ring full"),
    UNKNOWN_INTERFACE(42, "frame from an interface the data plane does not serve"),

    // --- admission: what a router refuses before routing ---
    OTHER_HOST(50, "frame for another host's MAC, seen because the port is promiscuous (never routed)"),
    LINK_BROADCAST(51, "IP in a link-layer broadcast or multicast frame: never routed (RFC 1812 5.3.4)"),
    GATEWAY_SOURCE(52, "source is one of the gateway's own addresses, arriving from outside (spoofed)"),
    SPOOFED_SOURCE(53, "source not routed back through the interface it came in on (reverse-path filter)"),
    DIRECTED_BROADCAST(54, "directed broadcast of another interface's subnet (RFC 1812 5.3.5.2): never forwarded"),
    FORWARD_SOURCE_DENIED(55, "a new connection to a forward from a source its allow-list (from=) does not admit"),

    // --- IPv6 parser (packet) ---
    TRUNCATED_IPV6(64, "frame shorter than an IPv6 header"),
    IPV6_BAD_PAYLOAD_LENGTH(60, "IPv6 payload length reaches beyond the frame"),
    IPV6_EXTENSION_TRUNCATED(61, "IPv6 extension header cut short, or a first fragment without the whole header "
        + "chain (RFC 7112)"),
    IPV6_EXTENSION_CHAIN_TOO_LONG(62, "more IPv6 extension headers than the parser walks (8)"),
    IPV6_HOP_BY_HOP_NOT_FIRST(63, "IPv6 hop-by-hop options not directly after the IPv6 header (RFC 8200 4.1)"),
    IPV6_UDP_ZERO_CHECKSUM(65, "UDP over IPv6 without a checksum (it is mandatory, RFC 8200 8.1)"),
    TRANSLATION_UNSUPPORTED(66, "in a flow translated between IPv6 and IPv4: a fragment, IPv4 options or an ICMP "
        + "error, which are not translated");

    private static final DropReason[] BY_ID;

    static {
        int max = 0;
        for (DropReason r : values()) {
            max = Math.max(max, r.id);
        }
        BY_ID = new DropReason[max + 1];
        for (DropReason r : values()) {
            if (BY_ID[r.id] != null) {
                throw new ExceptionInInitializerError("duplicate DropReason id " + r.id);
            }
            BY_ID[r.id] = r;
        }
    }

    /** Largest id in use; counter arrays are sized {@code MAX_ID + 1}. */
    public static final int MAX_ID = BY_ID.length - 1;

    /** Stable numeric id, > 0. */
    public final int id;
    /** What a person reads in {@code nsgate ctl stats}. */
    public final String label;

    DropReason(int id, String label) {
        this.id = id;
        this.label = label;
    }

    /** The reason with this id, or null when the id is 0 or unknown. */
    public static DropReason ofId(int id) {
        return id > 0 && id < BY_ID.length ? BY_ID[id] : null;
    }
}
