// A consistent copy of one flow record for the control plane and tests: tuples, state, timestamps, counters.
package io.nsgate.dataplane.conntrack;

import static io.nsgate.dataplane.conntrack.FlowRecord.*;

import org.agrona.concurrent.AtomicBuffer;

import io.nsgate.dataplane.packet.IpProtocol;
import io.nsgate.linux.net.Ipv4Address;

/** Filled by {@link FlowTable#snapshot}; reusable, so listing a million flows allocates nothing per flow. */
public final class FlowSnapshot {
    public int flowId;
    public int generation;
    /** Protocol number (6, 17, 1); for mapping records the protocol the mapping serves. */
    public int proto;
    public boolean mapping;
    public int origSrcIp;
    public int origDstIp;
    public int origSrcPort;
    public int origDstPort;
    public int replySrcIp;
    public int replyDstIp;
    public int replySrcPort;
    public int replyDstPort;
    public int protoState;
    /** FLAG_* bits of a flow; the reference count of a mapping. */
    public int flagsOrRefCount;
    public int natFlags;
    public int egressOrig;
    public int egressReply;
    public int nextHopOrig;
    public int nextHopReply;
    public long lastSeenNs;
    public long createdNs;
    public long origPackets;
    public long origBytes;
    public long replyPackets;
    public long replyBytes;
    /** TCP: the highest sequence number each direction has sent (seq + length), as the window tracking knows it. */
    public int origSeqEnd;
    public int replySeqEnd;

    void read(AtomicBuffer records, int rec, AtomicBuffer counters, int c, int id, long word, long epochNs) {
        flowId = id;
        generation = generation(word);
        final int protoByte = records.getByte(rec + PROTO_OFFSET) & 0xFF;
        natFlags = records.getByte(rec + NAT_FLAGS_OFFSET) & 0xFF;
        mapping = (natFlags & KIND_MAPPING) != 0;
        proto = protoByte & ~MAPPING_PROTO_BIT;
        origSrcIp = records.getInt(rec + ORIG_SRC_IP_OFFSET);
        origDstIp = records.getInt(rec + ORIG_DST_IP_OFFSET);
        final int origPorts = records.getInt(rec + ORIG_PORTS_OFFSET);
        origSrcPort = srcPortOf(origPorts);
        origDstPort = dstPortOf(origPorts);
        replySrcIp = records.getInt(rec + REPLY_SRC_IP_OFFSET);
        replyDstIp = records.getInt(rec + REPLY_DST_IP_OFFSET);
        final int replyPorts = records.getInt(rec + REPLY_PORTS_OFFSET);
        replySrcPort = srcPortOf(replyPorts);
        replyDstPort = dstPortOf(replyPorts);
        protoState = protoState(word);
        flagsOrRefCount = flags(word);
        egressOrig = records.getByte(rec + EGRESS_ORIG_OFFSET) & 0xFF;
        egressReply = records.getByte(rec + EGRESS_REPLY_OFFSET) & 0xFF;
        nextHopOrig = records.getInt(rec + NEXT_HOP_ORIG_OFFSET);
        nextHopReply = records.getInt(rec + NEXT_HOP_REPLY_OFFSET);
        lastSeenNs = records.getLongVolatile(rec + LAST_SEEN_OFFSET);
        createdNs = epochNs + records.getInt(rec + CREATED_OFFSET) * 1_000_000_000L;
        origPackets = counters.getLongVolatile(c + ORIG_PACKETS_OFFSET);
        origBytes = counters.getLongVolatile(c + ORIG_BYTES_OFFSET);
        replyPackets = counters.getLongVolatile(c + REPLY_PACKETS_OFFSET);
        replyBytes = counters.getLongVolatile(c + REPLY_BYTES_OFFSET);
        final boolean tcp = !mapping && proto == IpProtocol.TCP;
        origSeqEnd = tcp ? TcpWindow.end(counters, c + WINDOW_OFFSET, 0) : 0;
        replySeqEnd = tcp ? TcpWindow.end(counters, c + WINDOW_OFFSET, 1) : 0;
    }

    public boolean replied() {
        return !mapping && (flagsOrRefCount & FLAG_REPLIED) != 0;
    }

    public boolean assured() {
        return !mapping && (flagsOrRefCount & FLAG_ASSURED) != 0;
    }

    /** The state as conntrack would print it: a TCP state name, or UNREPLIED/REPLIED for UDP and ICMP. */
    public String stateName() {
        if (mapping) {
            return "MAPPING";
        }
        if (proto == IpProtocol.TCP) {
            return TcpState.name(protoState);
        }
        return replied() ? "REPLIED" : "UNREPLIED";
    }

    @Override
    public String toString() {
        return (mapping ? "mapping " : "") + IpProtocol.name(proto) + " " + stateName()
            + " orig " + Ipv4Address.format(origSrcIp) + ":" + origSrcPort
            + " -> " + Ipv4Address.format(origDstIp) + ":" + origDstPort
            + " reply " + Ipv4Address.format(replySrcIp) + ":" + replySrcPort
            + " -> " + Ipv4Address.format(replyDstIp) + ":" + replyDstPort
            + " packets " + origPackets + "/" + replyPackets + " bytes " + origBytes + "/" + replyBytes;
    }
}
