// The gateway's counters in Prometheus' text exposition format (version 0.0.4).
package io.nsgate.control.metrics;

import java.util.Locale;

import io.nsgate.control.BuildInfo;
import io.nsgate.control.api.StatsJson;
import io.nsgate.control.api.ops.ControlTarget;
import io.nsgate.control.api.server.ControlServer;
import io.nsgate.dataplane.stats.Counter;
import io.nsgate.dataplane.stats.DropReason;
import io.nsgate.dataplane.stats.PortCounter;
import io.nsgate.dataplane.stats.StatsSnapshot;

/**
 * The gateway's {@link StatsSnapshot}: one family per {@link Counter} ({@code nsgate_forwarded_total{worker="0"}}),
 * drops per reason and worker ({@code nsgate_drops_total{reason="no_rule",worker="1"}}), one family per
 * {@link PortCounter} per worker's port ({@code nsgate_port_rx_ring_drops_total{interface="lan0",worker="1"}}), the
 * flow table (size, capacity, created, deleted, evicted), rules, the build ({@code nsgate_build_info}), the process's
 * start time, uptime, the host's own proxied connections, and the control socket's connections and requests. Each family has its {@code # HELP} and {@code # TYPE} lines; counters end in {@code _total}. Per-worker
 * series sum to the gateway's totals.
 */
public final class PrometheusText {
    /** The Content-Type of the exposition format. */
    public static final String CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8";

    /** The JVM's start, seconds since the epoch (with millisecond precision). */
    private static final double START_S = ProcessHandle.current().info().startInstant()
        .map(i -> i.toEpochMilli() / 1000.0).orElse(System.currentTimeMillis() / 1000.0);

    private PrometheusText() {
    }

    /** The whole exposition; {@code control} may be null (no control socket). */
    public static String render(ControlTarget target, ControlServer control) {
        StringBuilder b = new StringBuilder(16 * 1024);
        StatsSnapshot stats = target.dataPlane().stats();
        family(b, "nsgate_build_info", "gauge", "The running build: its version and the Java runtime's (always 1).");
        sample(b, "nsgate_build_info", "{version=\"" + escapeLabel(BuildInfo.version()) + "\",java=\""
            + escapeLabel(System.getProperty("java.version", "unknown")) + "\"}", "1");
        family(b, "process_start_time_seconds", "gauge", "When the process started, in seconds since the Unix epoch.");
        sample(b, "process_start_time_seconds", "", String.format(Locale.ROOT, "%.3f", START_S));
        family(b, "nsgate_uptime_seconds", "gauge", "Seconds since the gateway started.");
        sample(b, "nsgate_uptime_seconds", "", String.format(Locale.ROOT, "%.3f", target.uptimeNs() / 1e9));
        family(b, "nsgate_workers", "gauge", "Data-plane worker threads.");
        sample(b, "nsgate_workers", "", Integer.toString(stats.workers().size()));
        for (Counter c : Counter.values()) {
            String name = "nsgate_" + StatsJson.name(c) + "_total";
            family(b, name, "counter", capitalized(c.label) + ".");
            for (StatsSnapshot.Worker w : stats.workers()) {
                sample(b, name, "{worker=\"" + w.index() + "\"}", Long.toString(w.get(c)));
            }
        }
        family(b, "nsgate_drops_total", "counter", "Frames dropped, by reason (see nsgate ctl stats for labels).");
        for (DropReason d : DropReason.values()) {
            for (StatsSnapshot.Worker w : stats.workers()) {
                sample(b, "nsgate_drops_total", "{reason=\"" + StatsJson.name(d) + "\",worker=\"" + w.index() + "\"}",
                    Long.toString(w.get(d)));
            }
        }
        for (PortCounter p : PortCounter.values()) {
            String name = "nsgate_port_" + StatsJson.name(p) + "_total";
            family(b, name, "counter", capitalized(p.label) + ", per worker's port on each interface.");
            for (StatsSnapshot.Worker w : stats.workers()) {
                for (StatsSnapshot.Port port : w.ports()) {
                    sample(b, name, "{interface=\"" + escapeLabel(port.interfaceName()) + "\",worker=\"" + w.index()
                        + "\"}", Long.toString(port.get(p)));
                }
            }
        }
        // one series per table: {family="ipv4"} and {family="ipv6"}
        StatsSnapshot.FlowTableFigures[] tables = {stats.flowTable(), stats.flowTable6()};
        String[] families = {"{family=\"ipv4\"}", "{family=\"ipv6\"}"};
        family(b, "nsgate_flows", "gauge", "Flows (and UDP/ICMP port mappings) in the connection tracking table.");
        for (int i = 0; i < 2; i++) {
            sample(b, "nsgate_flows", families[i], Long.toString(tables[i].size()));
        }
        family(b, "nsgate_flow_table_capacity", "gauge", "Flows the table can hold.");
        for (int i = 0; i < 2; i++) {
            sample(b, "nsgate_flow_table_capacity", families[i], Long.toString(tables[i].capacity()));
        }
        family(b, "nsgate_flow_table_inserted_total", "counter", "Records created in the flow table.");
        for (int i = 0; i < 2; i++) {
            sample(b, "nsgate_flow_table_inserted_total", families[i], Long.toString(tables[i].inserted()));
        }
        family(b, "nsgate_flow_table_deleted_total", "counter", "Records deleted (expired, closed, flushed).");
        for (int i = 0; i < 2; i++) {
            sample(b, "nsgate_flow_table_deleted_total", families[i], Long.toString(tables[i].deleted()));
        }
        family(b, "nsgate_flow_table_evicted_total", "counter",
            "Unreplied flows evicted to make room when the table was full.");
        for (int i = 0; i < 2; i++) {
            sample(b, "nsgate_flow_table_evicted_total", families[i], Long.toString(tables[i].evicted()));
        }
        family(b, "nsgate_flow_table_probe_window_full_total", "counter",
            "New flows refused because every index slot their key may take was in use (should stay 0).");
        for (int i = 0; i < 2; i++) {
            sample(b, "nsgate_flow_table_probe_window_full_total", families[i],
                Long.toString(tables[i].probeWindowFull()));
        }
        family(b, "nsgate_worker_errors_total", "counter", "Exceptions caught in workers (a bug; they keep going).");
        sample(b, "nsgate_worker_errors_total", "", Long.toString(stats.workerErrors()));
        family(b, "nsgate_forwards", "gauge", "Port forwards configured.");
        sample(b, "nsgate_forwards", "", Integer.toString(target.rules().forwards().size()));
        family(b, "nsgate_local_connections", "gauge",
            "Connections of the gateway host's own clients to the forwards, proxied now.");
        sample(b, "nsgate_local_connections", "", Integer.toString(target.localConnections().size()));
        family(b, "nsgate_masquerade_rules", "gauge", "Masqueraded source prefixes.");
        sample(b, "nsgate_masquerade_rules", "", Integer.toString(target.rules().masquerade().size()));
        if (control != null) {
            family(b, "nsgate_control_connections", "gauge", "Open control socket connections.");
            sample(b, "nsgate_control_connections", "", Integer.toString(control.connections()));
            family(b, "nsgate_control_requests_total", "counter", "Control socket requests answered.");
            sample(b, "nsgate_control_requests_total", "", Long.toString(control.requests()));
            family(b, "nsgate_control_refused_peers_total", "counter",
                "Control socket peers refused (not root, not in the control group).");
            sample(b, "nsgate_control_refused_peers_total", "", Long.toString(control.refusedPeers()));
        }
        return b.toString();
    }

    private static void family(StringBuilder b, String name, String type, String help) {
        b.append("# HELP ").append(name).append(' ').append(escapeHelp(help)).append('\n');
        b.append("# TYPE ").append(name).append(' ').append(type).append('\n');
    }

    private static void sample(StringBuilder b, String name, String labels, String value) {
        b.append(name).append(labels).append(' ').append(value).append('\n');
    }

    private static String escapeHelp(String s) {
        return s.replace("\\", "\\\\").replace("\n", "\\n");
    }

    /** A label value: backslash, double quote and newline escaped, as the exposition format asks. */
    private static String escapeLabel(String s) {
        return s.replace("\\", "\\\\").replace("\"", "\\\"").replace("\n", "\\n");
    }

    private static String capitalized(String s) {
        return s.isEmpty() ? s : Character.toUpperCase(s.charAt(0)) + s.substring(1);
    }
}
