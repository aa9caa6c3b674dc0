// The flows operations: the connection tracking table listed, counted and flushed, like conntrack -L/-C/-F.
package io.nsgate.control.api.ops;

import com.fasterxml.jackson.databind.node.ObjectNode;

import io.nsgate.control.api.ControlException;
import io.nsgate.control.api.Protocol;
import io.nsgate.control.api.Request;
import io.nsgate.dataplane.conntrack.FlowCursor;
import io.nsgate.dataplane.conntrack.FlowSnapshot;
import io.nsgate.dataplane.conntrack.FlowTable;

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
        FlowTable table = target.dataPlane().flowTable();
        long sent = 0;
        for (FlowCursor flows = table.cursor(); sent < limit && flows.next(); ) {
            if (!filter.matches(flows.flow())) {
                continue;
            }
            FlowJson.write(sink.begin(), flows.flow(), System.nanoTime(), table.timeouts());
            sent++;
            if (!sink.end()) {
                break;
            }
        }
        return sent;
    }

    private Object flowsCount(Request r, Peer peer) {
        FlowsArgs a = r.args(FlowsArgs.class);
        FlowFilter filter = FlowFilter.of(a.filter, false);
        FlowTable table = target.dataPlane().flowTable();
        long count = 0;
        for (FlowCursor flows = table.cursor(); flows.next(); ) {
            if (filter.matches(flows.flow())) {
                count++;
            }
        }
        ObjectNode n = Protocol.JSON.createObjectNode();
        n.put("count", count);
        n.put("capacity", table.capacity());
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
        FlowTable table = target.dataPlane().flowTable();
        long deleted = 0;
        long matched = 0;
        for (FlowCursor flows = table.cursor(); flows.next(); ) {
            FlowSnapshot s = flows.flow();
            if (!s.mapping && filter.matches(s)) {
                matched++;
                if (table.delete(FlowTable.handle(s.flowId, s.generation))) {
                    deleted++;
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
