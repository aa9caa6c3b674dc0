// The gateway's counters in Prometheus' text exposition format (version 0.0.4).
package io.nsgate.control.metrics;

import java.util.Locale;

import io.nsgate.control.api.ops.ControlTarget;
import io.nsgate.control.api.server.ControlServer;
import io.nsgate.dataplane.conntrack.FlowTable;
import io.nsgate.dataplane.pipeline.DataPlane;
import io.nsgate.dataplane.stats.Counter;
import io.nsgate.dataplane.stats.DropReason;
import io.nsgate.dataplane.stats.WorkerCounters;

/**
 * One family per {@link Counter} ({@code nsgate_forwarded_total{worker="0"}}), drops per reason and worker
 * ({@code nsgate_drops_total{reason="no_rule",worker="1"}}), the flow table (size, capacity, created, deleted,
 * evicted), rules, uptime and the control socket's connections and requests. Each family has its {@code # HELP}
 * and {@code # TYPE} lines; counters end in {@code _total}. Per-worker series sum to the gateway's totals.
 */
public final class PrometheusText {
    /** The Content-Type of the exposition format. */
    public static final String CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8";

    private PrometheusText() {
    }

    /** The whole exposition; {@code control} may be null (no control socket). */
    public static String render(ControlTarget target, ControlServer control) {
        StringBuilder b = new StringBuilder(16 * 1024);
        DataPlane dp = target.dataPlane();
        family(b, "nsgate_uptime_seconds", "gauge", "Seconds since the gateway started.");
        sample(b, "nsgate_uptime_seconds", "", String.format(Locale.ROOT, "%.3f", target.uptimeNs() / 1e9));
        family(b, "nsgate_workers", "gauge", "Data-plane worker threads.");
        sample(b, "nsgate_workers", "", Integer.toString(dp.workerCount()));
        for (Counter c : Counter.values()) {
            String name = "nsgate_" + c.name().toLowerCase(Locale.ROOT) + "_total";
            family(b, name, "counter", capitalized(c.label) + ".");
            for (int w = 0; w < dp.workerCount(); w++) {
                sample(b, name, "{worker=\"" + w + "\"}", Long.toString(dp.counters(w).get(c)));
            }
        }
        family(b, "nsgate_rx_ring_drops_total", "counter",
            "Frames the kernel dropped because a worker's receive ring was full (PACKET_STATISTICS).");
        for (int w = 0; w < dp.workerCount(); w++) {
            sample(b, "nsgate_rx_ring_drops_total", "{worker=\"" + w + "\"}", Long.toString(dp.ringDrops(w)));
        }
        family(b, "nsgate_drops_total", "counter", "Frames dropped, by reason (see nsgate ctl stats for labels).");
        for (DropReason d : DropReason.values()) {
            for (int w = 0; w < dp.workerCount(); w++) {
                WorkerCounters wc = dp.counters(w);
                sample(b, "nsgate_drops_total", "{reason=\"" + d.name().toLowerCase(Locale.ROOT) + "\",worker=\"" + w
                    + "\"}", Long.toString(wc.get(d)));
            }
        }
        FlowTable t = dp.flowTable();
        family(b, "nsgate_flows", "gauge", "Flows (and UDP/ICMP port mappings) in the connection tracking table.");
        sample(b, "nsgate_flows", "", Long.toString(Math.max(0, t.size())));
        family(b, "nsgate_flow_table_capacity", "gauge", "Flows the table can hold.");
        sample(b, "nsgate_flow_table_capacity", "", Integer.toString(t.capacity()));
        family(b, "nsgate_flow_table_inserted_total", "counter", "Records created in the flow table.");
        sample(b, "nsgate_flow_table_inserted_total", "", Long.toString(t.insertedTotal()));
        family(b, "nsgate_flow_table_deleted_total", "counter", "Records deleted (expired, closed, flushed).");
        sample(b, "nsgate_flow_table_deleted_total", "", Long.toString(t.deletedTotal()));
        family(b, "nsgate_flow_table_evicted_total", "counter",
            "Unreplied flows evicted to make room when the table was full.");
        sample(b, "nsgate_flow_table_evicted_total", "", Long.toString(t.evictedTotal()));
        family(b, "nsgate_flow_table_probe_window_full_total", "counter",
            "New flows refused because every index slot their key may take was in use (should stay 0).");
        sample(b, "nsgate_flow_table_probe_window_full_total", "", Long.toString(t.probeWindowFullTotal()));
        family(b, "nsgate_worker_errors_total", "counter", "Exceptions caught in workers (a bug; they keep going).");
        sample(b, "nsgate_worker_errors_total", "", Long.toString(dp.workerErrors()));
        family(b, "nsgate_forwards", "gauge", "Port forwards configured.");
        sample(b, "nsgate_forwards", "", Integer.toString(target.rules().forwards().size()));
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

    private static String capitalized(String s) {
        return s.isEmpty() ? s : Character.toUpperCase(s.charAt(0)) + s.substring(1);
    }
}
