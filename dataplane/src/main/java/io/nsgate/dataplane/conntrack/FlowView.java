// What a lookup copies out of a flow record for the fast path: the rewrite for the packet's direction.
package io.nsgate.dataplane.conntrack;

/**
 * A worker's private copy of the fields the fast path needs, filled by {@link FlowTable#lookup} inside the
 * record's validation window (so it is consistent even if the record is recycled right after). One instance
 * per worker, reused for every frame.
 *
 * <p>The rewrite is already oriented for the packet's direction: a packet is rewritten to
 * {@code newSrcIp:newSrcPort -> newDstIp:newDstPort}, and the checksum deltas are those of this rewrite.
 */
public final class FlowView {
    /** Flow id (record index). */
    public int flowId;
    /** Record generation at lookup time; state updates check it. */
    public int generation;
    /** 0 when the packet travels in the flow's original direction, 1 for the reply direction. */
    public int direction;
    public int proto;
    public int newSrcIp;
    public int newDstIp;
    public int newSrcPort;
    public int newDstPort;
    /** One's-complement delta of the address rewrite (IPv4 header checksum, and the pseudo-header part of L4). */
    public int ipDelta;
    /** One's-complement delta of the whole L4 rewrite: addresses and ports (TCP/UDP) or identifier (ICMP). */
    public int l4Delta;
    /** Data-plane interface index the rewritten packet leaves through. */
    public int egressInterface;
    /** Data-plane interface the packet should have come in on: the one the other direction leaves through. */
    public int ingressInterface;
    /** IPv4 address whose MAC the rewritten packet is sent to. */
    public int nextHopIp;
    /** FlowRecord.NAT_* bits. */
    public int natFlags;
    /** Protocol state at lookup (TcpState for TCP). */
    public int protoState;
    /** FlowRecord.FLAG_* bits at lookup. */
    public int flags;

    /** Handle for {@link FlowTable#delete(long)} and friends: generation and flow id in one long. */
    public long handle() {
        return FlowTable.handle(flowId, generation);
    }
}
