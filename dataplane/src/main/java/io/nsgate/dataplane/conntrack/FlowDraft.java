// Everything the slow path decided about a new flow, handed to FlowTable.insert to become a record.
package io.nsgate.dataplane.conntrack;

/**
 * A mutable description of a connection about to be created: its two tuples, where each direction leaves,
 * and its initial protocol state. One instance per worker, reused. {@link FlowTable#insert} works out the
 * checksum deltas from the tuples itself.
 */
public final class FlowDraft {
    public int proto;
    // the tuple of the first packet
    public int origSrcIp;
    public int origDstIp;
    public int origSrcPort;
    public int origDstPort;
    // the tuple the answer to the translated packet will carry
    public int replySrcIp;
    public int replyDstIp;
    public int replySrcPort;
    public int replyDstPort;
    public int egressOrig;
    public int egressReply;
    public int nextHopOrig;
    public int nextHopReply;
    /** FlowRecord.NAT_* bits, or FlowRecord.KIND_MAPPING for an endpoint-independent mapping record. */
    public int natFlags;
    /** Initial protocol state (TcpState.SYN_SENT for a TCP flow opened by a SYN). */
    public int protoState;
    /** TcpWindow.FLAG_* bits both directions of a TCP flow start with (FLAG_LIBERAL for a mid-stream pickup). */
    public int windowFlags;
    /** For a UDP/ICMP flow using an endpoint-independent mapping: the mapping's record id, else -1. */
    public int mappingId = -1;
    /**
     * The checksum delta of the original direction's address rewrite when the tuples' address fields are not the
     * packet's addresses (an IPv6 flow keyed by address digests, {@link FlowTable6}), else -1: worked out from the
     * tuples. The ports' delta and the L4 delta that combines both are worked out as for IPv4 either way.
     */
    public int addressDelta = -1;

    /** Sets the original tuple and, as a starting point, a reply tuple that is its plain inverse (no NAT). */
    public FlowDraft original(int proto, int srcIp, int dstIp, int srcPort, int dstPort) {
        this.proto = proto;
        this.origSrcIp = srcIp;
        this.origDstIp = dstIp;
        this.origSrcPort = srcPort;
        this.origDstPort = dstPort;
        this.replySrcIp = dstIp;
        this.replyDstIp = srcIp;
        this.replySrcPort = dstPort;
        this.replyDstPort = srcPort;
        this.natFlags = 0;
        this.protoState = 0;
        this.windowFlags = 0;
        this.mappingId = -1;
        this.addressDelta = -1;
        return this;
    }

    public FlowDraft reply(int srcIp, int dstIp, int srcPort, int dstPort) {
        this.replySrcIp = srcIp;
        this.replyDstIp = dstIp;
        this.replySrcPort = srcPort;
        this.replyDstPort = dstPort;
        return this;
    }

    public FlowDraft route(int egressOrig, int nextHopOrig, int egressReply, int nextHopReply) {
        this.egressOrig = egressOrig;
        this.nextHopOrig = nextHopOrig;
        this.egressReply = egressReply;
        this.nextHopReply = nextHopReply;
        return this;
    }
}
