// Picks the NAT port (or ICMP identifier) of a new flow, atomically with the flow's insertion.
package io.nsgate.dataplane.nat;

import io.nsgate.dataplane.conntrack.FlowDraft;
import io.nsgate.dataplane.conntrack.FlowRecord;
import io.nsgate.dataplane.conntrack.FlowTable;
import io.nsgate.dataplane.conntrack.FlowView;
import io.nsgate.dataplane.stats.Counter;
import io.nsgate.dataplane.stats.WorkerCounters;

/**
 * Port allocation has no table of its own: a port is taken exactly when a flow's reply tuple holding it is
 * in the {@link FlowTable}, and the table refuses a second flow with the same reply tuple. So trying a port
 * <em>is</em> inserting the flow, and two workers can never hand out the same mapping.
 *
 * <ul>
 *   <li>The source port is kept when it lies in the NAT range and is free.</li>
 *   <li>TCP mappings are endpoint-dependent (like Linux): a port may serve several destinations at once.</li>
 *   <li>UDP and ICMP echo mappings are endpoint-independent (RFC 4787 REQ-1): the first flow of an inside
 *       {@code ip:port} creates a mapping record that owns the outside port; later flows from the same
 *       {@code ip:port}, to any destination, reuse it while any of them lives (reference counted).</li>
 *   <li>Other candidates start at a hashed offset and go up, at most {@link #MAX_ATTEMPTS} of them (Linux tries
 *       at most 128 as well), then the flow is refused with PORTS_EXHAUSTED.</li>
 * </ul>
 * One instance per worker.
 */
public final class PortAllocator {
    /** Result: no port left after MAX_ATTEMPTS candidates. */
    public static final long PORTS_EXHAUSTED = -5;
    static final int MAX_ATTEMPTS = 128;
    private static final int MAPPING_ROUNDS = 8;

    private final FlowTable table;
    private final WorkerCounters counters;
    private final long seed;
    private final FlowDraft mappingDraft = new FlowDraft();
    private final FlowView mappingView = new FlowView();

    public PortAllocator(FlowTable table, WorkerCounters counters, long seed) {
        this.table = table;
        this.counters = counters;
        this.seed = seed;
    }

    /**
     * Inserts {@code draft} with its reply destination set to {@code natIp} and a port from {@code range}.
     * The draft's original tuple, route and reply source must be filled in.
     *
     * @return the flow handle, or FlowTable.ORIG_EXISTS / TABLE_FULL, or {@link #PORTS_EXHAUSTED}
     */
    public long insertWithPort(FlowDraft draft, int natIp, PortRange range, boolean endpointIndependent,
                               long nowNs, FlowView view) {
        draft.replyDstIp = natIp;
        if (endpointIndependent) {
            return insertWithMapping(draft, natIp, range, nowNs, view);
        }
        final int attempts = Math.min(range.size(), MAX_ATTEMPTS);
        final boolean keep = range.contains(draft.origSrcPort);
        final int start = start(draft, natIp, range, true);
        for (int i = 0; i < attempts; i++) {
            draft.replyDstPort = candidate(range, keep, draft.origSrcPort, start, i);
            final long h = table.insert(draft, nowNs, view);
            if (h != FlowTable.REPLY_TAKEN) {
                return h;
            }
        }
        return PORTS_EXHAUSTED;
    }

    private long insertWithMapping(FlowDraft draft, int natIp, PortRange range, long nowNs, FlowView view) {
        final int mappingProto = draft.proto | FlowRecord.MAPPING_PROTO_BIT;
        for (int round = 0; round < MAPPING_ROUNDS; round++) {
            int port;
            int mappingId;
            final long existing = table.lookup(mappingProto, draft.origSrcIp, natIp, draft.origSrcPort, 0, mappingView);
            if (existing >= 0) {
                if (!table.acquireMapping(existing)) {
                    continue; // dying under us: its port is being released, look again
                }
                port = mappingView.newSrcPort;
                mappingId = FlowTable.flowIdOf(existing);
            } else {
                final long created = createMapping(draft, natIp, range, nowNs);
                if (created == FlowTable.ORIG_EXISTS) {
                    continue; // another worker created it first: use theirs
                }
                if (created < 0) {
                    return created;
                }
                port = (int) (created >>> 32);
                mappingId = (int) created;
            }
            // the reference we hold (created or acquired) passes to the flow
            draft.replyDstPort = port;
            draft.mappingId = mappingId;
            final long h = table.insert(draft, nowNs, view);
            draft.mappingId = -1;
            if (h >= 0) {
                return h;
            }
            table.releaseMapping(mappingId);
            return h == FlowTable.REPLY_TAKEN ? PORTS_EXHAUSTED : h;
        }
        return PORTS_EXHAUSTED;
    }

    /** @return {@code (port << 32) | mappingId}, or ORIG_EXISTS / TABLE_FULL / PORTS_EXHAUSTED */
    private long createMapping(FlowDraft draft, int natIp, PortRange range, long nowNs) {
        final FlowDraft m = mappingDraft.original(draft.proto, draft.origSrcIp, natIp, draft.origSrcPort, 0);
        m.natFlags = FlowRecord.KIND_MAPPING;
        final int attempts = Math.min(range.size(), MAX_ATTEMPTS);
        final boolean keep = range.contains(draft.origSrcPort);
        final int start = start(draft, natIp, range, false);
        for (int i = 0; i < attempts; i++) {
            final int port = candidate(range, keep, draft.origSrcPort, start, i);
            m.reply(0, natIp, 0, port);
            final long h = table.insert(m, nowNs, null);
            if (h >= 0) {
                counters.increment(Counter.MAPPINGS_CREATED);
                return ((long) port << 32) | FlowTable.flowIdOf(h);
            }
            if (h != FlowTable.REPLY_TAKEN) {
                return h;
            }
        }
        return PORTS_EXHAUSTED;
    }

    /** Candidate {@code i}: the source port first when it is in range, then up from a hashed start. */
    private static int candidate(PortRange range, boolean keep, int sourcePort, int start, int i) {
        if (keep) {
            if (i == 0) {
                return sourcePort;
            }
            i--;
        }
        return range.first() + (start + i) % range.size();
    }

    /** Hashed starting offset: by inside endpoint and NAT address, and by destination for TCP. */
    private int start(FlowDraft d, int natIp, PortRange range, boolean perDestination) {
        long h = seed ^ (((long) d.origSrcIp << 32) | (d.origSrcPort & 0xFFFFL) | ((long) d.proto << 16));
        h = h * 0x9E37_79B9_7F4A_7C15L + natIp;
        if (perDestination) {
            h = (h ^ (((long) d.origDstIp << 32) | d.origDstPort)) * 0xC2B2_AE3D_27D4_EB4FL;
        }
        h ^= h >>> 31;
        return (int) ((h & Long.MAX_VALUE) % range.size());
    }
}
