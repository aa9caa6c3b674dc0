// Picks the NAT port (or ICMP identifier) of a new flow, atomically with the flow's insertion.
package io.nsgate.dataplane.nat;

import io.nsgate.dataplane.conntrack.FlowDraft;
import io.nsgate.dataplane.conntrack.FlowRecord;
import io.nsgate.dataplane.conntrack.FlowTable;
import io.nsgate.dataplane.conntrack.FlowTable6;
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
 * IPv6 flows (NAT66) are allocated the same way in the {@link FlowTable6}: the same candidates, mappings and
 * reference counts, the table's digests standing in for the addresses. One instance per worker.
 */
public final class PortAllocator {
    /** Result: no port left after MAX_ATTEMPTS candidates. */
    public static final long PORTS_EXHAUSTED = -5;
    static final int MAX_ATTEMPTS = 128;
    private static final int MAPPING_ROUNDS = 8;

    private final FlowTable table;
    private final WorkerCounters counters;
    private final long seed;
    private final FlowView mappingView = new FlowView();
    private final Slots v4;
    private final Slots6 v6;
    private final Slots64 v64;

    /**
     * Where flows and mappings go: the IPv4 table, or the IPv6 one with the draft's full addresses. {@code natIp} is
     * the NAT address (IPv4) or its digest (IPv6).
     */
    private interface Slots {
        FlowTable table();

        long insert(FlowDraft draft, long nowNs, FlowView view);

        long findMapping(FlowDraft draft, int natIp, FlowView view);

        /** Inserts a mapping record of the draft's inside endpoint holding {@code port} on the NAT address. */
        long insertMapping(FlowDraft draft, int natIp, int port, long nowNs);
    }

    private static final class Slots4 implements Slots {
        private final FlowTable table;
        private final FlowDraft mapping = new FlowDraft();

        Slots4(FlowTable table) {
            this.table = table;
        }

        @Override
        public FlowTable table() {
            return table;
        }

        @Override
        public long insert(FlowDraft draft, long nowNs, FlowView view) {
            return table.insert(draft, nowNs, view);
        }

        @Override
        public long findMapping(FlowDraft d, int natIp, FlowView view) {
            return table.lookup(d.proto | FlowRecord.MAPPING_PROTO_BIT, d.origSrcIp, natIp, d.origSrcPort, 0, view);
        }

        @Override
        public long insertMapping(FlowDraft d, int natIp, int port, long nowNs) {
            mapping.original(d.proto, d.origSrcIp, natIp, d.origSrcPort, 0).reply(0, natIp, 0, port);
            mapping.natFlags = FlowRecord.KIND_MAPPING;
            return table.insert(mapping, nowNs, null);
        }
    }

    /** The IPv6 table; {@link #draft} is the flow being allocated for, {@link #natHigh}/{@link #natLow} its address. */
    private static class Slots6 implements Slots {
        final FlowTable6 table6;
        private final FlowTable6.Draft mapping;
        private final FlowTable6.Rewrite rewrite = new FlowTable6.Rewrite();
        FlowTable6.Draft draft;
        long natHigh;
        long natLow;

        Slots6(FlowTable6 table6) {
            this.table6 = table6;
            this.mapping = table6.newDraft();
        }

        @Override
        public FlowTable table() {
            return table6.table();
        }

        @Override
        public long insert(FlowDraft flow, long nowNs, FlowView view) {
            return table6.insert(draft, nowNs, view);
        }

        @Override
        public long findMapping(FlowDraft d, int natIp, FlowView view) {
            return table6.lookup(d.proto | FlowRecord.MAPPING_PROTO_BIT, draft.origSrcHigh, draft.origSrcLow, natHigh,
                natLow, d.origSrcPort, 0, view, rewrite);
        }

        @Override
        public long insertMapping(FlowDraft d, int natIp, int port, long nowNs) {
            // the NAT address stands as the far end too: the record's keys are per inside endpoint and NAT address
            mapping.flow.original(d.proto, 0, 0, d.origSrcPort, 0).reply(0, 0, 0, port);
            mapping.flow.natFlags = FlowRecord.KIND_MAPPING;
            mapping.origSrcHigh = draft.origSrcHigh;
            mapping.origSrcLow = draft.origSrcLow;
            mapping.origDstHigh = natHigh;
            mapping.origDstLow = natLow;
            mapping.replySrcHigh = natHigh;
            mapping.replySrcLow = natLow;
            mapping.replyDstHigh = natHigh;
            mapping.replyDstLow = natLow;
            return table6.insert(mapping, nowNs, null);
        }
    }

    /** Translated flows (IPv6 clients, IPv4 backends) in the IPv6 table: endpoint-dependent, no mappings. */
    private static final class Slots64 extends Slots6 {
        Slots64(FlowTable6 table6) {
            super(table6);
        }

        @Override
        public long insert(FlowDraft flow, long nowNs, FlowView view) {
            return table6.insert64(draft, nowNs, view);
        }

        @Override
        public long findMapping(FlowDraft d, int natIp, FlowView view) {
            throw new UnsupportedOperationException("translated flows have no endpoint-independent mappings");
        }
    }

    public PortAllocator(FlowTable table, WorkerCounters counters, long seed) {
        this(table, null, counters, seed);
    }

    /** @param table6 the IPv6 table, or null when this worker translates IPv4 only */
    public PortAllocator(FlowTable table, FlowTable6 table6, WorkerCounters counters, long seed) {
        this.table = table;
        this.counters = counters;
        this.seed = seed;
        this.v4 = new Slots4(table);
        this.v6 = table6 == null ? null : new Slots6(table6);
        this.v64 = table6 == null ? null : new Slots64(table6);
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
        return allocate(v4, draft, natIp, range, endpointIndependent, nowNs, view);
    }

    /**
     * As {@link #insertWithPort} for an IPv6 flow: its reply destination becomes {@code (natHigh, natLow)}, one of
     * the gateway's IPv6 addresses. The draft's original tuple, route and reply source must be filled in.
     */
    public long insertWithPort6(FlowTable6.Draft d, long natHigh, long natLow, PortRange range,
                                boolean endpointIndependent, long nowNs, FlowView view) {
        d.replyDstHigh = natHigh;
        d.replyDstLow = natLow;
        v6.draft = d;
        v6.natHigh = natHigh;
        v6.natLow = natLow;
        // the digests stand in for the addresses in the candidates' hash (the table writes them again on insert)
        d.flow.origSrcIp = v6.table6.digest(d.origSrcHigh, d.origSrcLow);
        d.flow.origDstIp = v6.table6.digest(d.origDstHigh, d.origDstLow);
        return allocate(v6, d.flow, v6.table6.digest(natHigh, natLow), range, endpointIndependent, nowNs, view);
    }

    /**
     * Inserts a translated flow ({@code FlowTable6.insert64}): an IPv6 client's flow to an IPv4 backend, whose reply
     * reaches the gateway's IPv4 address {@code natIp} at a port from {@code range} (endpoint-dependent, as TCP's
     * masquerade). {@code d}'s original addresses and its flow's reply source and ports must be filled in.
     */
    public long insertWithPort64(FlowTable6.Draft d, int natIp, PortRange range, long nowNs, FlowView view) {
        d.flow.replyDstIp = natIp;
        v64.draft = d;
        d.flow.origSrcIp = v64.table6.digest(d.origSrcHigh, d.origSrcLow);
        d.flow.origDstIp = v64.table6.digest(d.origDstHigh, d.origDstLow);
        return allocate(v64, d.flow, natIp, range, false, nowNs, view);
    }

    private long allocate(Slots slots, FlowDraft draft, int natIp, PortRange range, boolean endpointIndependent,
                          long nowNs, FlowView view) {
        if (endpointIndependent) {
            return insertWithMapping(slots, draft, natIp, range, nowNs, view);
        }
        final int attempts = Math.min(range.size(), MAX_ATTEMPTS);
        final boolean keep = range.contains(draft.origSrcPort);
        final int start = start(draft, natIp, range, true);
        for (int i = 0; i < attempts; i++) {
            draft.replyDstPort = candidate(range, keep, draft.origSrcPort, start, i);
            final long h = slots.insert(draft, nowNs, view);
            if (h != FlowTable.REPLY_TAKEN) {
                return h;
            }
        }
        return PORTS_EXHAUSTED;
    }

    private long insertWithMapping(Slots slots, FlowDraft draft, int natIp, PortRange range, long nowNs,
                                   FlowView view) {
        final FlowTable table = slots.table();
        for (int round = 0; round < MAPPING_ROUNDS; round++) {
            int port;
            int mappingId;
            final long existing = slots.findMapping(draft, natIp, mappingView);
            if (existing >= 0) {
                if (!table.acquireMapping(existing)) {
                    continue; // dying under us: its port is being released, look again
                }
                port = mappingView.newSrcPort;
                mappingId = FlowTable.flowIdOf(existing);
            } else {
                final long created = createMapping(slots, draft, natIp, range, nowNs);
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
            final long h = slots.insert(draft, nowNs, view);
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
    private long createMapping(Slots slots, FlowDraft draft, int natIp, PortRange range, long nowNs) {
        final int attempts = Math.min(range.size(), MAX_ATTEMPTS);
        final boolean keep = range.contains(draft.origSrcPort);
        final int start = start(draft, natIp, range, false);
        for (int i = 0; i < attempts; i++) {
            final int port = candidate(range, keep, draft.origSrcPort, start, i);
            final long h = slots.insertMapping(draft, natIp, port, nowNs);
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
