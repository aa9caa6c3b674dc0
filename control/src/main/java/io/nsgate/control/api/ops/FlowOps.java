// The flows operations: the connection tracking table listed, counted and flushed, like conntrack -L/-C/-F.
package io.nsgate.control.api.ops;

import java.util.List;

import com.fasterxml.jackson.databind.node.ObjectNode;

import io.nsgate.control.api.ControlException;
import io.nsgate.control.api.Protocol;
import io.nsgate.control.api.Request;
import io.nsgate.dataplane.conntrack.FlowCursor;
import io.nsgate.dataplane.conntrack.FlowSnapshot;
import io.nsgate.dataplane.conntrack.FlowTable;
import io.nsgate.dataplane.conntrack.FlowTable6;

/**
 * flows.list streams one item per flow (a lock-free copy per record: workers never wait for a listing, whatever its
 * pace); flows.count and flows.flush scan the table on a control-plane thread. All take the same filter.
 */
final class FlowOps {
    public static final class FlowsListArgs {
        public FlowFilter.Args filter;
        /** At most this many items (default: all). */
        public Long limit;
        /** Also list the endpoint-independent UDP/ICMP mapping records. */
        public Boolean mappings;
    }

    public static final class FlowsArgs {
        public FlowFilter.Args filter;
    }

    private final ControlTarget target;

    FlowOps(ControlTarget target) {
        this.target = target;
    }

    void register(Operations ops) {
        ops.stream("flows.list", "the tracked flows, one item each (filter, limit, mappings)", this::flowsList);
        ops.blocking("flows.count", "how many flows match the filter", this::flowsCount);
        ops.blocking("flows.flush", "delete the flows matching the filter (all without one)", this::flowsFlush);
    }

    private long flowsList(Request r, Peer peer, Operations.ItemSink sink) {
        FlowsListArgs a = r.args(FlowsListArgs.class);
        FlowFilter filter = FlowFilter.of(a.filter, Boolean.TRUE.equals(a.mappings));
        long limit = a.limit == null ? Long.MAX_VALUE : a.limit;
        if (limit < 0) {
            throw ControlException.badRequest("args.limit " + a.limit + ": must be 0 or more");
        }
        long sent = 0;
        long[] v6 = new long[8];
        for (Family family : families()) {
            for (FlowCursor flows = family.table.cursor(); sent < limit && flows.next(); ) {
                FlowSnapshot s = flows.flow();
                long[] addresses = family.addresses(s, v6);
                if (addresses == SKIP || !filter.matches(s, addresses)) {
                    continue;
                }
                FlowJson.write(sink.begin(), s, addresses, System.nanoTime(), family.table.timeouts());
                sent++;
                if (!sink.end()) {
                    return sent;
                }
            }
        }
        return sent;
    }

    /** Returned by {@link Family#addresses} for a flow recycled since it was copied. */
    private static final long[] SKIP = new long[0];

    /** One of the data plane's flow tables: IPv4's, whose snapshots hold the addresses, or IPv6's. */
    private record Family(FlowTable table, FlowTable6 table6) {
        /** The flow's IPv6 addresses in {@code v6}, null for an IPv4 flow, or {@link #SKIP}. */
        long[] addresses(FlowSnapshot s, long[] v6) {
            if (table6 == null) {
                return null;
            }
            return table6.addresses(s, v6) ? v6 : SKIP;
        }
    }

    private List<Family> families() {
        FlowTable6 t6 = target.dataPlane().flowTable6();
        return List.of(new Family(target.dataPlane().flowTable(), null), new Family(t6.table(), t6));
    }

    private Object flowsCount(Request r, Peer peer) {
        FlowsArgs a = r.args(FlowsArgs.class);
        FlowFilter filter = FlowFilter.of(a.filter, false);
        long count = 0;
        long[] v6 = new long[8];
        for (Family family : families()) {
            for (FlowCursor flows = family.table.cursor(); flows.next(); ) {
                long[] addresses = family.addresses(flows.flow(), v6);
                if (addresses != SKIP && filter.matches(flows.flow(), addresses)) {
                    count++;
                }
            }
        }
        ObjectNode n = Protocol.JSON.createObjectNode();
        n.put("count", count);
        n.put("capacity", target.dataPlane().flowTable().capacity());
        n.put("capacity6", target.dataPlane().flowTable6().table().capacity());
        return n;
    }

    /**
     * Deletes matching flows with {@link FlowTable#delete}: the same CAS path expiry takes, so workers stay
     * consistent (a deleted flow's keys leave the index; a UDP flow drops its reference on its mapping, and the
     * last one frees the port). A flow that changed generation since it was copied is not touched.
     */
    private Object flowsFlush(Request r, Peer peer) {
        FlowsArgs a = r.args(FlowsArgs.class);
        FlowFilter filter = FlowFilter.of(a.filter, false);
        long deleted = 0;
        long matched = 0;
        long[] v6 = new long[8];
        for (Family family : families()) {
            for (FlowCursor flows = family.table.cursor(); flows.next(); ) {
                FlowSnapshot s = flows.flow();
                long[] addresses = family.addresses(s, v6);
                if (!s.mapping && addresses != SKIP && filter.matches(s, addresses)) {
                    matched++;
                    if (family.table.delete(FlowTable.handle(s.flowId, s.generation))) {
                        deleted++;
                    }
                }
            }
        }
        ObjectNode n = Protocol.JSON.createObjectNode();
        n.put("deleted", deleted);
        if (matched != deleted) {
            n.put("already_gone", matched - deleted);
        }
        return n;
    }
}
