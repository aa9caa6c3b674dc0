// The status and stats operations: what the gateway is, and every counter it keeps.
package io.nsgate.control.api.ops;

import java.io.IOException;
import java.util.Locale;
import java.util.function.IntSupplier;
import java.util.stream.LongStream;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;

import io.nsgate.control.api.Protocol;
import io.nsgate.control.api.Request;
import io.nsgate.dataplane.conntrack.FlowTable;
import io.nsgate.dataplane.nat.GatewayInterface;
import io.nsgate.dataplane.nat.RuleSet;
import io.nsgate.dataplane.pipeline.DataPlane;
import io.nsgate.dataplane.stats.Counter;
import io.nsgate.dataplane.stats.DropReason;
import io.nsgate.dataplane.stats.WorkerCounters;

/** status (uptime, interfaces, workers, flow table fill) and stats (every counter, drop reason and table figure). */
final class StatusOps {
    private static final String VERSION = readVersion();

    private final ControlTarget target;
    private final IntSupplier connections;

    StatusOps(ControlTarget target, IntSupplier connections) {
        this.target = target;
        this.connections = connections;
    }

    void register(Operations ops) {
        ops.inline("status", "uptime, interfaces, workers, flow table fill", this::status);
        ops.inline("stats", "every counter, drops per reason, per worker", this::stats);
    }


    private Object status(Request r, Peer peer) {
        r.args(Operations.NoArgs.class);
        DataPlane dp = target.dataPlane();
        RuleSet rules = target.rules();
        ObjectNode n = Protocol.JSON.createObjectNode();
        n.put("version", VERSION);
        n.put("pid", ProcessHandle.current().pid());
        n.put("namespace", target.namespace());
        n.put("uptime_s", Math.round(target.uptimeNs() / 1e6) / 1e3);
        n.put("workers", dp.workerCount());
        ArrayNode ifaces = n.putArray("interfaces");
        for (GatewayInterface i : rules.interfaces()) {
            ObjectNode o = ifaces.addObject();
            o.put("name", i.name());
            o.put("role", i.role().name().toLowerCase(Locale.ROOT));
            o.put("address", i.address().toString());
            o.put("mtu", i.mtu());
        }
        FlowTable table = dp.flowTable();
        ObjectNode flows = n.putObject("flows");
        long size = Math.max(0, table.size());
        flows.put("size", size);
        flows.put("capacity", table.capacity());
        flows.put("fill_percent", Math.round(size * 10000.0 / table.capacity()) / 100.0);
        n.put("forwards", rules.forwards().size());
        n.put("masquerade", rules.masquerade().size());
        n.put("lingering_forwards", target.rules().lingeringForwards().size());
        n.put("nat_ports", rules.natPorts().toString());
        n.put("worker_errors", dp.workerErrors());
        n.putObject("control").put("connections", connections.getAsInt());
        return n;
    }

    private Object stats(Request r, Peer peer) {
        r.args(Operations.NoArgs.class);
        DataPlane dp = target.dataPlane();
        ObjectNode n = Protocol.JSON.createObjectNode();
        ObjectNode counters = n.putObject("counters");
        for (Counter c : Counter.values()) {
            counters.put(Operations.name(c), dp.total(c));
        }
        ObjectNode drops = n.putObject("drops");
        for (DropReason d : DropReason.values()) {
            drops.put(Operations.name(d), dp.total(d));
        }
        long[] ringDrops = new long[dp.workerCount()];
        for (int w = 0; w < ringDrops.length; w++) {
            ringDrops[w] = dp.ringDrops(w);
        }
        counters.put(Operations.RING_DROPS, LongStream.of(ringDrops).sum());
        ArrayNode workers = n.putArray("workers");
        for (int w = 0; w < dp.workerCount(); w++) {
            WorkerCounters wc = dp.counters(w);
            ObjectNode o = workers.addObject();
            o.put("worker", w);
            ObjectNode c = o.putObject("counters");
            for (Counter k : Counter.values()) {
                c.put(Operations.name(k), wc.get(k));
            }
            c.put(Operations.RING_DROPS, ringDrops[w]);
            ObjectNode d = o.putObject("drops");
            for (DropReason k : DropReason.values()) {
                d.put(Operations.name(k), wc.get(k));
            }
        }
        FlowTable t = dp.flowTable();
        ObjectNode table = n.putObject("flow_table");
        table.put("size", Math.max(0, t.size()));
        table.put("capacity", t.capacity());
        table.put("inserted", t.insertedTotal());
        table.put("deleted", t.deletedTotal());
        table.put("evicted", t.evictedTotal());
        table.put("probe_window_full", t.probeWindowFullTotal());
        n.put("worker_errors", dp.workerErrors());
        return n;
    }

    private static String readVersion() {
        try (var in = StatusOps.class.getResourceAsStream("/io/nsgate/control/version.properties")) {
            if (in == null) {
                return "unknown";
            }
            java.util.Properties p = new java.util.Properties();
            p.load(in);
            return p.getProperty("version", "unknown");
        } catch (IOException e) {
            return "unknown";
        }
    }
}
