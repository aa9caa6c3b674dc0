// Every operation of the control socket: what it takes, what it does to the running gateway, what it answers.
package io.nsgate.control.api;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.function.IntSupplier;
import java.util.stream.LongStream;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;

import io.netty.buffer.ByteBuf;
import io.nsgate.control.daemon.GatewayConfigException;
import io.nsgate.control.topology.Change;
import io.nsgate.control.topology.Topology;
import io.nsgate.control.topology.TopologyApplier;
import io.nsgate.control.topology.TopologyApplyException;
import io.nsgate.control.topology.TopologyException;
import io.nsgate.control.topology.TopologyReport;
import io.nsgate.dataplane.conntrack.FlowSnapshot;
import io.nsgate.dataplane.conntrack.FlowTable;
import io.nsgate.dataplane.nat.ForwardRule;
import io.nsgate.dataplane.nat.GatewayInterface;
import io.nsgate.linux.net.Ipv4Prefix;
import io.nsgate.dataplane.nat.MasqueradeRule;
import io.nsgate.dataplane.nat.RuleSet;
import io.nsgate.dataplane.pipeline.DataPlane;
import io.nsgate.dataplane.stats.Counter;
import io.nsgate.dataplane.stats.DropReason;
import io.nsgate.dataplane.stats.WorkerCounters;

/**
 * The operations, by name. Each declares how it runs:
 * <ul>
 *   <li>{@link Kind#INLINE}: cheap reads (status, stats, lists, config.show) answered on the connection's event loop
 *       thread at once, so they stay fast even while other clients list a million flows;</li>
 *   <li>{@link Kind#BLOCKING}: changes and scans (rules wait for every worker to take the new rule set through its
 *       command queue; topology talks to the kernel; flows.count/flush scan the table) on a control-plane thread;</li>
 *   <li>{@link Kind#STREAM}: flows.list, on a control-plane thread, one item line per flow, paced by the client.</li>
 * </ul>
 * Validation comes first and is complete: a request is refused whole (nothing applied) or carried out.
 */
public final class Operations {
    /** Where an operation runs. */
    public enum Kind { INLINE, BLOCKING, STREAM }

    /** An operation answering with one result object. */
    @FunctionalInterface
    public interface Handler {
        Object handle(Request request, Peer peer);
    }

    /** An operation answering with a stream of items; returns the number of items sent. */
    @FunctionalInterface
    public interface StreamHandler {
        long stream(Request request, Peer peer, ItemSink sink);
    }

    /**
     * Where a streaming operation writes its items: {@link #begin()} gives the buffer to write one item's JSON
     * object into, {@link #end()} finishes the line and paces the producer (it blocks while the client reads
     * slowly) and answers false once the client is gone: stop then.
     */
    public interface ItemSink {
        ByteBuf begin();

        boolean end();
    }

    /** An operation's name, kind, one-line summary and handler. */
    public record Op(String name, Kind kind, String summary, Handler handler, StreamHandler streamHandler) {
    }

    // ------------------------------------------------------------------ argument forms (unknown fields refused)

    /** Operations without arguments. */
    public static final class NoArgs {
    }

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

    public static final class ForwardArgs {
        /** PROTO:[ADDRESS:]PORT[-PORT]=IP:PORT[-PORT][,...]; for forward.del the part before "=" is enough. */
        public String spec;
    }

    public static final class MasqueradeArgs {
        /** A source prefix, e.g. 10.0.0.0/24. */
        public String source;
    }

    public static final class TopologyArgs {
        /** The topology file's text (what the CLI sends). */
        public String yaml;
        /** A file the daemon reads itself (root peers only). */
        public String file;
        /** Put in front of every namespace name. */
        public String prefix;
    }

    private static final String VERSION = readVersion();

    private final ControlTarget target;
    private final IntSupplier connections;
    private final Map<String, Op> ops = new LinkedHashMap<>();
    private final Object changes = new Object();

    /**
     * @param connections how many control connections are open (for status)
     */
    public Operations(ControlTarget target, IntSupplier connections) {
        this.target = target;
        this.connections = connections;
        inline("status", "uptime, interfaces, workers, flow table fill", this::status);
        inline("stats", "every counter, drops per reason, per worker", this::stats);
        stream("flows.list", "the tracked flows, one item each (filter, limit, mappings)", this::flowsList);
        blocking("flows.count", "how many flows match the filter", this::flowsCount);
        blocking("flows.flush", "delete the flows matching the filter (all without one)", this::flowsFlush);
        change("forward.add", "add a port forward (spec)", this::forwardAdd);
        change("forward.del", "remove a port forward (spec); its flows keep working until they end",
            this::forwardDel);
        inline("forward.list", "the port forwards, and removed ones whose flows still live", this::forwardList);
        change("masquerade.add", "masquerade a source prefix out of the LAN interface (source)",
            this::masqueradeAdd);
        change("masquerade.del", "stop masquerading a source prefix (source)", this::masqueradeDel);
        inline("masquerade.list", "the masqueraded source prefixes", this::masqueradeList);
        inline("config.show", "the running configuration as YAML", this::configShow);
        change("config.save", "write the running configuration to the daemon's --config file, atomically",
            this::configSave);
        blocking("topology.apply", "make the machine match a topology (yaml or file, prefix)",
            (r, p) -> topology(r, p, "apply"));
        blocking("topology.show", "what topology.apply would change", (r, p) -> topology(r, p, "show"));
        blocking("topology.destroy", "remove what a topology describes and nsgate created",
            (r, p) -> topology(r, p, "destroy"));
    }

    private void inline(String name, String summary, Handler h) {
        ops.put(name, new Op(name, Kind.INLINE, summary, h, null));
    }

    private void blocking(String name, String summary, Handler h) {
        ops.put(name, new Op(name, Kind.BLOCKING, summary, h, null));
    }

    /**
     * A change of the rules or the configuration file: changes run one at a time, so that a check and the change it
     * guards (a masquerade that must not exist yet) cannot interleave with another client's.
     */
    private void change(String name, String summary, Handler h) {
        blocking(name, summary, (r, p) -> {
            synchronized (changes) {
                return h.handle(r, p);
            }
        });
    }

    private void stream(String name, String summary, StreamHandler h) {
        ops.put(name, new Op(name, Kind.STREAM, summary, null, h));
    }

    /**
     * The operation a request names.
     *
     * @throws ControlException unknown_op, listing the operations there are
     */
    public Op op(String name) {
        Op op = ops.get(name);
        if (op == null) {
            throw new ControlException(ErrorCode.UNKNOWN_OP, "unknown op \"" + name + "\" (valid: "
                + String.join(", ", ops.keySet()) + ")");
        }
        return op;
    }

    public List<Op> all() {
        return List.copyOf(ops.values());
    }

    // ------------------------------------------------------------------ status and stats

    private Object status(Request r, Peer peer) {
        r.args(NoArgs.class);
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

    /**
     * The stats counter for frames the kernel dropped because a worker's receive ring was full: counted by the
     * kernel, not by a worker, so it is not a {@link Counter}.
     */
    public static final String RING_DROPS = "rx_ring_drops";
    public static final String RING_DROPS_LABEL = "frames the kernel dropped: a worker's receive ring was full";

    private Object stats(Request r, Peer peer) {
        r.args(NoArgs.class);
        DataPlane dp = target.dataPlane();
        ObjectNode n = Protocol.JSON.createObjectNode();
        ObjectNode counters = n.putObject("counters");
        for (Counter c : Counter.values()) {
            counters.put(name(c), dp.total(c));
        }
        ObjectNode drops = n.putObject("drops");
        for (DropReason d : DropReason.values()) {
            drops.put(name(d), dp.total(d));
        }
        long[] ringDrops = new long[dp.workerCount()];
        for (int w = 0; w < ringDrops.length; w++) {
            ringDrops[w] = dp.ringDrops(w);
        }
        counters.put(RING_DROPS, LongStream.of(ringDrops).sum());
        ArrayNode workers = n.putArray("workers");
        for (int w = 0; w < dp.workerCount(); w++) {
            WorkerCounters wc = dp.counters(w);
            ObjectNode o = workers.addObject();
            o.put("worker", w);
            ObjectNode c = o.putObject("counters");
            for (Counter k : Counter.values()) {
                c.put(name(k), wc.get(k));
            }
            c.put(RING_DROPS, ringDrops[w]);
            ObjectNode d = o.putObject("drops");
            for (DropReason k : DropReason.values()) {
                d.put(name(k), wc.get(k));
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
        try (var in = Operations.class.getResourceAsStream("/io/nsgate/control/version.properties")) {
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

    /** The wire name of a counter: {@code FORWARDED_BYTES} → {@code forwarded_bytes}. */
    public static String name(Enum<?> e) {
        return e.name().toLowerCase(Locale.ROOT);
    }

    // ------------------------------------------------------------------ flows

    private long flowsList(Request r, Peer peer, ItemSink sink) {
        FlowsListArgs a = r.args(FlowsListArgs.class);
        FlowFilter filter = FlowFilter.of(a.filter, Boolean.TRUE.equals(a.mappings));
        long limit = a.limit == null ? Long.MAX_VALUE : a.limit;
        if (limit < 0) {
            throw ControlException.badRequest("args.limit " + a.limit + ": must be 0 or more");
        }
        FlowTable table = target.dataPlane().flowTable();
        FlowSnapshot s = new FlowSnapshot();
        long sent = 0;
        // a lock-free copy per record (seqlock read): workers never wait for the listing, whatever its pace
        for (int id = 0; id < table.capacity() && sent < limit; id++) {
            if (!table.snapshot(id, s) || !filter.matches(s)) {
                continue;
            }
            FlowJson.write(sink.begin(), s, System.nanoTime(), table.timeouts());
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
        FlowSnapshot s = new FlowSnapshot();
        long count = 0;
        for (int id = 0; id < table.capacity(); id++) {
            if (table.snapshot(id, s) && filter.matches(s)) {
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
        FlowSnapshot s = new FlowSnapshot();
        long deleted = 0;
        long matched = 0;
        for (int id = 0; id < table.capacity(); id++) {
            if (table.snapshot(id, s) && !s.mapping && filter.matches(s)) {
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

    // ------------------------------------------------------------------ forwards and masquerade

    private Object forwardAdd(Request r, Peer peer) {
        String spec = required(r.args(ForwardArgs.class).spec, "spec", "tcp:8080=192.168.15.2:80");
        ForwardRule rule = parseForward(spec);
        for (ForwardRule f : target.rules().forwards()) {
            if (f.equals(rule)) {
                throw new ControlException(ErrorCode.CONFLICT, "forward " + rule + " already exists");
            }
        }
        try {
            target.addForward(rule);
        } catch (GatewayConfigException e) {
            String problem = String.join("; ", e.problems());
            throw new ControlException(problem.contains("overlap") ? ErrorCode.CONFLICT : ErrorCode.BAD_REQUEST,
                problem);
        } catch (IllegalStateException e) {
            throw new ControlException(ErrorCode.FAILED, "forward " + rule + ": " + e.getMessage());
        }
        ObjectNode n = Protocol.JSON.createObjectNode();
        n.put("added", rule.toString());
        forwards(n);
        return n;
    }

    private Object forwardDel(Request r, Peer peer) {
        String spec = required(r.args(ForwardArgs.class).spec, "spec", "tcp:8080 or tcp:8080=192.168.15.2:80");
        ForwardRule rule = null;
        List<ForwardRule> current = target.rules().forwards();
        if (spec.indexOf('=') < 0) {
            // the external side alone names the forward, like `ip route del PREFIX`
            ForwardRule probe = parseForward(spec + "=0.0.0.0:1");
            for (ForwardRule f : current) {
                if (f.proto() == probe.proto() && f.externalAddress() == probe.externalAddress()
                    && f.externalPorts().equals(probe.externalPorts())) {
                    rule = f;
                }
            }
        } else {
            ForwardRule parsed = parseForward(spec);
            rule = current.contains(parsed) ? parsed : null;
        }
        if (rule == null) {
            throw new ControlException(ErrorCode.NOT_FOUND, "no forward " + spec + " (forwards: "
                + (current.isEmpty() ? "none" : String.join(", ", current.stream().map(ForwardRule::toString)
                .toList())) + ")");
        }
        try {
            if (!target.removeForward(rule)) {
                throw new ControlException(ErrorCode.NOT_FOUND, "no forward " + rule);
            }
        } catch (IllegalStateException e) {
            throw new ControlException(ErrorCode.FAILED, "forward " + rule + ": " + e.getMessage());
        }
        ObjectNode n = Protocol.JSON.createObjectNode();
        n.put("removed", rule.toString());
        forwards(n);
        return n;
    }

    private Object forwardList(Request r, Peer peer) {
        r.args(NoArgs.class);
        ObjectNode n = Protocol.JSON.createObjectNode();
        forwards(n);
        return n;
    }

    private void forwards(ObjectNode n) {
        RuleSet rules = target.rules();
        ArrayNode list = n.putArray("forwards");
        rules.forwards().forEach(f -> list.add(f.toString()));
        ArrayNode lingering = n.putArray("lingering");
        rules.lingeringForwards().forEach(f -> lingering.add(f.toString()));
    }

    private static ForwardRule parseForward(String spec) {
        try {
            return ForwardRule.parse(spec);
        } catch (IllegalArgumentException e) {
            throw ControlException.badRequest(e.getMessage().replace("=0.0.0.0:1", ""));
        }
    }

    private Object masqueradeAdd(Request r, Peer peer) {
        Ipv4Prefix source = parsePrefix(required(r.args(MasqueradeArgs.class).source, "source", "10.0.0.0/24"));
        for (MasqueradeRule m : target.rules().masquerade()) {
            if (m.source().sameNetwork(source)) {
                throw new ControlException(ErrorCode.CONFLICT, "masquerade " + m.source() + " already exists");
            }
        }
        try {
            target.addMasquerade(source);
        } catch (GatewayConfigException e) {
            throw ControlException.badRequest(String.join("; ", e.problems()));
        } catch (IllegalStateException e) {
            throw new ControlException(ErrorCode.FAILED, "masquerade " + source + ": " + e.getMessage());
        }
        ObjectNode n = Protocol.JSON.createObjectNode();
        n.put("added", source.toString());
        masquerade(n);
        return n;
    }

    private Object masqueradeDel(Request r, Peer peer) {
        Ipv4Prefix source = parsePrefix(required(r.args(MasqueradeArgs.class).source, "source", "10.0.0.0/24"));
        Ipv4Prefix existing = null;
        for (MasqueradeRule m : target.rules().masquerade()) {
            if (m.source().sameNetwork(source)) {
                existing = m.source();
            }
        }
        if (existing == null || !removeMasquerade(existing)) {
            throw new ControlException(ErrorCode.NOT_FOUND, "no masquerade " + source + " (masquerade: "
                + (target.rules().masquerade().isEmpty() ? "none" : String.join(", ",
                target.rules().masquerade().stream().map(m -> m.source().toString()).toList())) + ")");
        }
        ObjectNode n = Protocol.JSON.createObjectNode();
        n.put("removed", existing.toString());
        masquerade(n);
        return n;
    }

    private boolean removeMasquerade(Ipv4Prefix existing) {
        try {
            return target.removeMasquerade(existing);
        } catch (IllegalStateException e) {
            throw new ControlException(ErrorCode.FAILED, "masquerade " + existing + ": " + e.getMessage());
        }
    }

    private Object masqueradeList(Request r, Peer peer) {
        r.args(NoArgs.class);
        ObjectNode n = Protocol.JSON.createObjectNode();
        masquerade(n);
        return n;
    }

    private void masquerade(ObjectNode n) {
        ArrayNode list = n.putArray("masquerade");
        for (MasqueradeRule m : target.rules().masquerade()) {
            ObjectNode o = list.addObject();
            o.put("source", m.source().toString());
            o.put("out", m.egressInterface());
        }
    }

    private static Ipv4Prefix parsePrefix(String text) {
        try {
            return Ipv4Prefix.parse(text);
        } catch (IllegalArgumentException e) {
            throw ControlException.badRequest("masquerade \"" + text + "\": " + e.getMessage());
        }
    }

    // ------------------------------------------------------------------ configuration

    private Object configShow(Request r, Peer peer) {
        r.args(NoArgs.class);
        ObjectNode n = Protocol.JSON.createObjectNode();
        Path file = target.configFile();
        n.put("file", file == null ? null : file.toString());
        n.put("yaml", target.config().toYaml());
        return n;
    }

    private Object configSave(Request r, Peer peer) {
        r.args(NoArgs.class);
        Path file = target.configFile();
        if (file == null) {
            throw new ControlException(ErrorCode.FAILED, "config save: this daemon was started without --config, "
                + "so there is no file to save to (start it with --config FILE; `nsgate ctl config show` prints "
                + "the running configuration)");
        }
        int bytes;
        // a change op: taken and written while no other change or save runs, so a save that started earlier cannot
        // overwrite a later one's newer rules
        String yaml = "# nsgate configuration, saved by `nsgate ctl config save` at " + Instant.now() + "\n"
            + target.config().toYaml();
        try {
            bytes = ConfigFile.writeAtomically(file, yaml);
        } catch (IOException e) {
            throw new ControlException(ErrorCode.FAILED, "config save: cannot write " + file + ": "
                + e.getMessage() + " (the file is unchanged)");
        }
        ObjectNode n = Protocol.JSON.createObjectNode();
        n.put("file", file.toString());
        n.put("bytes", bytes);
        return n;
    }

    // ------------------------------------------------------------------ topology

    private Object topology(Request r, Peer peer, String action) {
        TopologyArgs a = r.args(TopologyArgs.class);
        if (a.yaml != null && a.file != null) {
            throw ControlException.badRequest("args: give yaml or file, not both");
        }
        String prefix = a.prefix == null ? "" : a.prefix;
        Topology topology;
        try {
            if (a.file != null) {
                if (!peer.isRoot()) {
                    throw new ControlException(ErrorCode.FORBIDDEN, "args.file: only root may have the daemon read "
                        + "a file; send its text as args.yaml (nsgate ctl topology does)");
                }
                topology = Topology.parse(Files.readString(Path.of(a.file), StandardCharsets.UTF_8), a.file);
            } else if (a.yaml != null) {
                topology = Topology.parse(a.yaml, "args.yaml");
            } else {
                topology = Topology.seedLab();
            }
            TopologyReport report = switch (action) {
                case "apply" -> TopologyApplier.apply(topology, prefix);
                case "show" -> TopologyApplier.plan(topology, prefix);
                default -> TopologyApplier.destroy(topology, prefix);
            };
            ObjectNode n = Protocol.JSON.createObjectNode();
            n.put("topology", report.topology());
            n.put("prefix", report.prefix());
            n.put("changed", report.changed());
            ArrayNode changes = n.putArray("changes");
            report.changes().forEach(c -> changes.add(c.toString()));
            ArrayNode notes = n.putArray("notes");
            report.notes().forEach(c -> notes.add(c.toString()));
            return n;
        } catch (IOException e) {
            throw ControlException.badRequest("args.file \"" + a.file + "\": cannot read: " + e.getMessage());
        } catch (TopologyException e) {
            throw new ControlException(ErrorCode.BAD_REQUEST, "topology rejected, nothing changed: "
                + String.join("; ", e.problems()), e.problems());
        } catch (TopologyApplyException e) {
            List<String> details = new ArrayList<>();
            if (!e.conflicts().isEmpty()) {
                e.conflicts().forEach(c -> details.add(c.toString()));
                throw new ControlException(ErrorCode.CONFLICT, "nothing changed: things nsgate did not create are "
                    + "in the way", details);
            }
            for (Change c : e.done()) {
                details.add((e.rolledBack().contains(c) ? "undone: " : "kept:   ") + c);
            }
            e.rollbackFailures().forEach(f -> details.add("could not undo: " + f));
            throw new ControlException(ErrorCode.FAILED, e.getMessage().lines().findFirst().orElse("apply failed"),
                details);
        }
    }

    private static String required(String value, String field, String example) {
        if (value == null || value.isBlank()) {
            throw ControlException.badRequest("args." + field + ": missing (e.g. \"" + example + "\")");
        }
        return value;
    }
}
