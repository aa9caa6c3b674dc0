// The flows operations: the connection tracking table listed, counted and flushed, like conntrack -L/-C/-F.
package io.nsgate.control.api.ops;

import java.util.List;

import com.fasterxml.jackson.databind.node.ObjectNode;

import io.nsgate.control.api.ControlException;
import io.nsgate.control.api.Protocol;
import io.nsgate.control.api.Request;
import io.nsgate.control.daemon.LocalAccess;
import io.nsgate.dataplane.conntrack.FlowCursor;
import io.nsgate.dataplane.conntrack.FlowSnapshot;
import io.nsgate.dataplane.conntrack.FlowTable;
import io.nsgate.dataplane.conntrack.FlowTable6;
import io.nsgate.linux.net.Ipv4Address;
import io.nsgate.linux.net.Ipv6Address;

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
        for (LocalAccess.Connection c : target.localConnections()) {
            if (sent >= limit || !matches(filter, c)) {
                continue;
            }
            sink.begin().writeCharSequence(localJson(c).toString(), java.nio.charset.StandardCharsets.UTF_8);
            sent++;
            if (!sink.end()) {
                return sent;
            }
        }
        return sent;
    }

    /** Whether the filter takes a connection of the host's own client, as it would take a flow. */
    static boolean matches(FlowFilter filter, LocalAccess.Connection c) {
        long[] v6 = new long[8];
        FlowSnapshot s = snapshotOf(c, v6);
        return filter.matches(s, c.client().getAddress() instanceof java.net.Inet4Address ? null : v6);
    }

    /**
     * A connection of the host's own client, as a flow for the filter: original client -> the address it reached,
     * reply backend -> the gateway's address; an IPv6 one's addresses in {@code v6} (left zero for IPv4).
     */
    static FlowSnapshot snapshotOf(LocalAccess.Connection c, long[] v6) {
        FlowSnapshot s = new FlowSnapshot();
        s.proto = 6;
        s.protoState = io.nsgate.dataplane.conntrack.TcpState.ESTABLISHED;
        s.origSrcPort = c.client().getPort();
        s.origDstPort = c.reached().getPort();
        s.replySrcPort = c.backend().getPort();
        s.replyDstPort = c.from().getPort();
        java.net.InetSocketAddress[] at = {c.client(), c.reached(), c.backend(), c.from()};
        if (c.client().getAddress() instanceof java.net.Inet4Address) {
            s.origSrcIp = Ipv4Address.of(c.client().getAddress());
            s.origDstIp = Ipv4Address.of(c.reached().getAddress());
            s.replySrcIp = Ipv4Address.of(c.backend().getAddress());
            s.replyDstIp = Ipv4Address.of(LocalAccess.unmapped(c.from().getAddress()));
        } else {
            for (int i = 0; i < 4; i++) {
                java.net.InetAddress a = at[i].getAddress();
                Ipv6Address six = a instanceof java.net.Inet4Address
                    ? new Ipv6Address(0, 0xFFFF_0000_0000L | (Ipv4Address.of(a) & 0xFFFF_FFFFL)) : Ipv6Address.of(a);
                v6[2 * i] = six.high();
                v6[2 * i + 1] = six.low();
            }
        }
        return s;
    }

    /** What {@code flows.list} sends for a connection of the host's own client: "nat":"local", no counters. */
    static ObjectNode localJson(LocalAccess.Connection c) {
        ObjectNode n = Protocol.JSON.createObjectNode();
        n.put("id", "local-" + c.id());
        n.put("proto", "tcp");
        n.put("state", "ESTABLISHED");
        n.put("nat", "local");
        n.put("assured", true);
        endpoints(n.putObject("orig"), c.client(), c.reached());
        endpoints(n.putObject("reply"), c.backend(), c.from());
        n.put("age_s", (System.nanoTime() - c.startedNs()) / 1_000_000_000L);
        n.put("forward", c.forward().toString());
        return n;
    }

    private static void endpoints(ObjectNode t, java.net.InetSocketAddress src, java.net.InetSocketAddress dst) {
        t.put("src", text(src.getAddress()));
        t.put("sport", src.getPort());
        t.put("dst", text(dst.getAddress()));
        t.put("dport", dst.getPort());
    }

    /** As FlowJson writes addresses: dotted quads, IPv6 compressed. */
    private static String text(java.net.InetAddress a) {
        java.net.InetAddress plain = LocalAccess.unmapped(a);
        return plain instanceof java.net.Inet6Address ? Ipv6Address.of(plain).toString() : plain.getHostAddress();
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
        for (LocalAccess.Connection c : target.localConnections()) {
            if (matches(filter, c)) {
                count++;
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
        for (LocalAccess.Connection c : target.localConnections()) {
            if (matches(filter, c)) {
                matched++;
                deleted++;
                c.close(); // both sides of the proxied connection
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
