// Layout of one connection's off-heap record in the flow table, and the encoding of its state word.
package io.nsgate.dataplane.conntrack;

import org.agrona.concurrent.AtomicBuffer;

/**
 * Descriptor of a flow record: 64 bytes per connection, one cache line, in an off-heap array indexed by flow id,
 * plus a 64-byte line of what every packet writes (counters and TCP window state) in a parallel array, so a lookup
 * touches exactly one line of the record and the per-packet writes stay off it.
 *
 * <pre>
 *  0                   1                   2                   3
 *  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 * +---------------------------------------------------------------+
 * |                 state word (64 bits, see below)               |  0  written by CAS only
 * |                                                               |
 * +---------------------------------------------------------------+
 * |                       original source IP                      |  8  \
 * |                    original destination IP                    | 12   | the original tuple
 * |    original source port      |  original destination port    | 16  /
 * |                        reply source IP                        | 20  \
 * |                     reply destination IP                      | 24   | the reply tuple
 * |      reply source port        |    reply destination port     | 28  /
 * |   protocol    | egress (orig) | egress (reply)|   NAT flags   | 32
 * |  IPv4 checksum delta (orig)   |   L4 checksum delta (orig)    | 36  worked out once at creation
 * |                 next hop IP, original direction               | 40
 * |                   next hop IP, reply direction                | 44
 * |               last seen (ns, 64 bits, release stores)         | 48
 * |                                                               |
 * |        link: free-list next / UDP flow's mapping record       | 56
 * |               created (seconds since the table epoch)         | 60
 * +---------------------------------------------------------------+  64
 *
 * per-packet array, 64 bytes per flow id (one cache line):
 * |  packets, original | bytes, original | packets, reply | bytes, reply |   0  (4 x 64 bits)
 * |  TCP window state of the original direction, then of the reply      |  32  ({@link TcpWindow}, 2 x 16 bytes)
 * </pre>
 *
 * <p>Keys and rewrite are immutable while the record is live: the original tuple is what the first packet
 * carried; the reply tuple is what the answer to the translated packet carries. A packet in the original
 * direction is rewritten to the inverse of the reply tuple (source := reply destination, destination := reply
 * source, and the same for ports); a reply packet to the inverse of the original tuple. So one record holds
 * SNAT, DNAT and both (hairpin) alike. The checksum deltas are those of the original-direction rewrite; the
 * reply direction uses their one's-complement negation.
 *
 * <p><b>State word</b> (64 bits), changed only by CAS so that every transition checks the generation:
 * <pre>
 *  63                              32 31            16 15      8 7       0
 * +----------------------------------+----------------+---------+---------+
 * |           generation             | refcount/flags | proto st| record  |
 * +----------------------------------+----------------+---------+---------+
 * </pre>
 * record state: FREE, INIT (its creator is publishing its keys), LIVE, DYING (being removed). The generation is
 * incremented every time the record is freed, so a reader that looked a flow up can tell whether the record
 * was recycled under it (seqlock-style validation). Bits 8-15 hold the protocol state (a {@link TcpState}, or
 * 0/1 for UDP/ICMP); bits 16-31 hold {@code FLAG_*} bits for flows and the reference count for mapping records.
 *
 * <p>Counters are updated with plain read-add-release-store: each direction of a flow is processed by one
 * worker at a time (PACKET_FANOUT hashes a direction's packets to one socket), so a lost increment needs two
 * workers on the same direction at the same instant, which the fanout rules out in practice; it never corrupts
 * anything. Counters of a flow's two directions sit in separate 16-byte fields.
 */
public final class FlowRecord {
    private FlowRecord() {
    }

    public static final int SIZE = 64;
    /** Bytes per flow in the parallel per-packet array: counters, then TCP window state. */
    public static final int COUNTERS_SIZE = 64;

    public static final int STATE_WORD_OFFSET = 0;
    public static final int ORIG_SRC_IP_OFFSET = 8;
    public static final int ORIG_DST_IP_OFFSET = 12;
    public static final int ORIG_PORTS_OFFSET = 16;
    public static final int REPLY_SRC_IP_OFFSET = 20;
    public static final int REPLY_DST_IP_OFFSET = 24;
    public static final int REPLY_PORTS_OFFSET = 28;
    public static final int PROTO_OFFSET = 32;
    public static final int EGRESS_ORIG_OFFSET = 33;
    public static final int EGRESS_REPLY_OFFSET = 34;
    public static final int NAT_FLAGS_OFFSET = 35;
    public static final int IP_DELTA_OFFSET = 36;
    public static final int L4_DELTA_OFFSET = 38;
    public static final int NEXT_HOP_ORIG_OFFSET = 40;
    public static final int NEXT_HOP_REPLY_OFFSET = 44;
    public static final int LAST_SEEN_OFFSET = 48;
    public static final int LINK_OFFSET = 56;
    public static final int CREATED_OFFSET = 60;
    // offsets in the counters array, relative to countersOffset(flowId)
    public static final int ORIG_PACKETS_OFFSET = 0;
    public static final int ORIG_BYTES_OFFSET = 8;
    public static final int REPLY_PACKETS_OFFSET = 16;
    public static final int REPLY_BYTES_OFFSET = 24;
    /** Where a TCP flow's {@link TcpWindow} state starts, relative to countersOffset(flowId). */
    public static final int WINDOW_OFFSET = 32;

    // --- record states (bits 0-7 of the state word) ---
    public static final int FREE = 0;
    public static final int INIT = 1;
    public static final int LIVE = 2;
    public static final int DYING = 3;

    // --- flow flags (bits 16-31 of the state word of a flow record) ---
    /** A packet was seen in the reply direction. */
    public static final int FLAG_REPLIED = 1;
    /** The flow proved itself (TCP reached ESTABLISHED, UDP/ICMP replied): never evicted to make room. */
    public static final int FLAG_ASSURED = 1 << 1;
    /**
     * An in-window but inexact RST passed without closing the flow (RFC 5961): it expires after the CLOSE timeout
     * unless another segment follows, as netfilter's timeout after any RST.
     */
    public static final int FLAG_RST_SEEN = 1 << 2;

    // --- NAT flags (byte at NAT_FLAGS_OFFSET; immutable) ---
    public static final int NAT_SNAT = 1;
    public static final int NAT_DNAT = 1 << 1;
    /** Hairpin: DNAT back out of the interface the packet came in on, plus SNAT so the reply comes back. */
    public static final int NAT_HAIRPIN = 1 << 2;
    /**
     * An IPv6 client's flow to an IPv4 backend (FlowTable6): the original tuple is IPv6 (digests), the reply tuple
     * real IPv4 addresses; packets are translated between the families.
     */
    public static final int NAT_64 = 1 << 3;
    /** This record is an endpoint-independent UDP/ICMP mapping, not a flow (see {@link FlowTable}). */
    public static final int KIND_MAPPING = 1 << 7;

    /** Protocol byte of mapping keys: the flow protocol with this bit set, so they never collide with flows. */
    public static final int MAPPING_PROTO_BIT = 0x80;

    // --- state word encoding ---
    public static int recordState(long word) {
        return (int) (word & 0xFF);
    }

    public static int protoState(long word) {
        return (int) ((word >>> 8) & 0xFF);
    }

    public static int flags(long word) {
        return (int) ((word >>> 16) & 0xFFFF);
    }

    /** Mapping records keep their reference count where flows keep flags. */
    public static int refCount(long word) {
        return flags(word);
    }

    public static int generation(long word) {
        return (int) (word >>> 32);
    }

    public static long stateWord(int generation, int flagsOrRefCount, int protoState, int recordState) {
        return ((long) generation << 32)
            | ((long) (flagsOrRefCount & 0xFFFF) << 16)
            | ((long) (protoState & 0xFF) << 8)
            | (recordState & 0xFF);
    }

    public static long withProtoState(long word, int protoState) {
        return (word & ~0xFF00L) | ((long) (protoState & 0xFF) << 8);
    }

    public static long withFlags(long word, int flags) {
        return (word & ~0xFFFF_0000L) | ((long) (flags & 0xFFFF) << 16);
    }

    public static long withRecordState(long word, int recordState) {
        return (word & ~0xFFL) | (recordState & 0xFF);
    }

    // --- tuple helpers ---
    public static int ports(int srcPort, int dstPort) {
        return (srcPort << 16) | (dstPort & 0xFFFF);
    }

    public static int srcPortOf(int ports) {
        return ports >>> 16;
    }

    public static int dstPortOf(int ports) {
        return ports & 0xFFFF;
    }

    /** Offset of a record in the records buffer. */
    public static int offset(int flowId) {
        return flowId * SIZE;
    }

    /** Offset of a flow's counters in the counters buffer. */
    public static int countersOffset(int flowId) {
        return flowId * COUNTERS_SIZE;
    }

    /** True when the record's tuple for {@code direction} (0 original, 1 reply) equals the given key. */
    static boolean keyEquals(AtomicBuffer records, int recordOffset, int direction,
                             int proto, int srcIp, int dstIp, int ports) {
        int base = recordOffset + (direction == 0 ? ORIG_SRC_IP_OFFSET : REPLY_SRC_IP_OFFSET);
        return records.getInt(base) == srcIp
            && records.getInt(base + 4) == dstIp
            && records.getInt(base + 8) == ports
            && (records.getByte(recordOffset + PROTO_OFFSET) & 0xFF) == proto;
    }
}
