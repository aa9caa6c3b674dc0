// The stats operation's answer: a StatsSnapshot as JSON and back, so the daemon and nsgate ctl share one model.
package io.nsgate.control.api;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.function.ToLongFunction;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;

import io.nsgate.dataplane.stats.Counter;
import io.nsgate.dataplane.stats.DropReason;
import io.nsgate.dataplane.stats.PortCounter;
import io.nsgate.dataplane.stats.StatsSnapshot;

/**
 * The wire form of a {@link StatsSnapshot}. Every counter goes by its enum's name in lower case
 * ({@code forwarded_bytes}, {@code table_full}, {@code rx_ring_drops}):
 * <pre>
 * {"counters": {NAME: total, ...},            every Counter, summed over the workers
 *  "drops": {NAME: total, ...},               every DropReason, summed over the workers
 *  "ports": {NAME: total, ...},               every PortCounter, summed over every worker's port on every interface
 *  "workers": [{"worker": 0, "counters": {...}, "drops": {...},
 *               "ports": [{"interface": "lan0", "counters": {...}}, ...]}, ...],
 *  "flow_table": {"size", "capacity", "inserted", "deleted", "evicted", "probe_window_full"},
 *  "worker_errors": N}
 * </pre>
 * The totals are for scripts ({@code jq .drops}); {@link #read} rebuilds the snapshot from the workers and ignores
 * names it does not know, so an older {@code nsgate ctl} still reads a newer daemon's answer.
 */
public final class StatsJson {
    private StatsJson() {
    }

    /** The wire name of a counter: {@code FORWARDED_BYTES} → {@code forwarded_bytes}. */
    public static String name(Enum<?> e) {
        return e.name().toLowerCase(Locale.ROOT);
    }

    public static ObjectNode write(StatsSnapshot s) {
        ObjectNode n = Protocol.JSON.createObjectNode();
        put(n.putObject("counters"), Counter.values(), s::total);
        put(n.putObject("drops"), DropReason.values(), s::total);
        put(n.putObject("ports"), PortCounter.values(), s::total);
        ArrayNode workers = n.putArray("workers");
        for (StatsSnapshot.Worker w : s.workers()) {
            ObjectNode o = workers.addObject();
            o.put("worker", w.index());
            put(o.putObject("counters"), Counter.values(), w::get);
            put(o.putObject("drops"), DropReason.values(), w::get);
            ArrayNode ports = o.putArray("ports");
            for (StatsSnapshot.Port p : w.ports()) {
                ObjectNode po = ports.addObject();
                po.put("interface", p.interfaceName());
                put(po.putObject("counters"), PortCounter.values(), p::get);
            }
        }
        figures(n.putObject("flow_table"), s.flowTable());
        figures(n.putObject("flow_table6"), s.flowTable6());
        n.put("worker_errors", s.workerErrors());
        return n;
    }

    private static void figures(ObjectNode table, StatsSnapshot.FlowTableFigures t) {
        table.put("size", t.size());
        table.put("capacity", t.capacity());
        table.put("inserted", t.inserted());
        table.put("deleted", t.deleted());
        table.put("evicted", t.evicted());
        table.put("probe_window_full", t.probeWindowFull());
    }

    private static StatsSnapshot.FlowTableFigures figures(JsonNode t) {
        return new StatsSnapshot.FlowTableFigures(t.path("size").asLong(), t.path("capacity").asLong(),
            t.path("inserted").asLong(), t.path("deleted").asLong(), t.path("evicted").asLong(),
            t.path("probe_window_full").asLong());
    }

    /** The snapshot a {@link #write} answer describes; counters it does not name are 0. */
    public static StatsSnapshot read(JsonNode n) {
        List<StatsSnapshot.Worker> workers = new ArrayList<>();
        for (JsonNode w : n.path("workers")) {
            List<StatsSnapshot.Port> ports = new ArrayList<>();
            for (JsonNode p : w.path("ports")) {
                ports.add(new StatsSnapshot.Port(p.path("interface").asText(),
                    values(p.path("counters"), PortCounter.values())));
            }
            workers.add(new StatsSnapshot.Worker(w.path("worker").asInt(), values(w.path("counters"),
                Counter.values()), values(w.path("drops"), DropReason.values()), ports));
        }
        return new StatsSnapshot(workers, figures(n.path("flow_table")), figures(n.path("flow_table6")),
            n.path("worker_errors").asLong());
    }

    private static <E extends Enum<E>> void put(ObjectNode object, E[] keys, ToLongFunction<E> value) {
        for (E k : keys) {
            object.put(name(k), value.applyAsLong(k));
        }
    }

    private static long[] values(JsonNode object, Enum<?>[] keys) {
        long[] values = new long[keys.length];
        for (Enum<?> k : keys) {
            values[k.ordinal()] = object.path(name(k)).asLong();
        }
        return values;
    }
}
