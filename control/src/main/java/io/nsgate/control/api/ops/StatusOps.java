// The status and stats operations: what the gateway is, and every counter it keeps.
package io.nsgate.control.api.ops;

import java.io.IOException;
import java.util.Locale;
import java.util.function.IntSupplier;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;

import io.nsgate.control.api.Protocol;
import io.nsgate.control.api.Request;
import io.nsgate.control.api.StatsJson;
import io.nsgate.dataplane.conntrack.FlowTable;
import io.nsgate.dataplane.nat.GatewayInterface;
import io.nsgate.dataplane.nat.RuleSet;
import io.nsgate.dataplane.pipeline.DataPlane;

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
            ArrayNode ipv6 = o.putArray("ipv6");
            i.ipv6().forEach(p -> ipv6.add(p.toString()));
            o.put("mtu", i.mtu());
        }
        flows(n.putObject("flows"), dp.flowTable());
        flows(n.putObject("flows6"), dp.flowTable6().table());
        n.put("forwards", rules.forwards().size());
        n.put("masquerade", rules.masquerade().size());
        n.put("lingering_forwards", rules.lingeringForwards().size());
        n.put("nat_ports", rules.natPorts().toString());
        n.put("worker_errors", dp.workerErrors());
        n.putObject("control").put("connections", connections.getAsInt());
        return n;
    }

    private static void flows(ObjectNode flows, FlowTable table) {
        long size = Math.max(0, table.size());
        flows.put("size", size);
        flows.put("capacity", table.capacity());
        flows.put("fill_percent", Math.round(size * 10000.0 / table.capacity()) / 100.0);
    }

    private Object stats(Request r, Peer peer) {
        r.args(Operations.NoArgs.class);
        return StatsJson.write(target.dataPlane().stats());
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
