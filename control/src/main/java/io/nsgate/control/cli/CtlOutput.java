// The human-readable forms of the control socket's answers: aligned tables and short sentences.
package io.nsgate.control.cli;

import java.io.PrintWriter;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

import com.fasterxml.jackson.databind.JsonNode;

import io.nsgate.control.api.StatsJson;
import io.nsgate.dataplane.stats.Counter;
import io.nsgate.dataplane.stats.DropReason;
import io.nsgate.dataplane.stats.PortCounter;
import io.nsgate.dataplane.stats.StatsSnapshot;

/** Formats JSON results for a terminal; --json bypasses all of this. */
final class CtlOutput {
    private CtlOutput() {
    }

    static void status(PrintWriter out, JsonNode r) {
        String ns = r.path("namespace").isNull() ? "the namespace it was started in"
            : "network namespace " + r.path("namespace").asText();
        out.println("nsgate " + r.path("version").asText() + ", pid " + r.path("pid").asLong() + ", in " + ns
            + ", up " + duration(r.path("uptime_s").asDouble()));
        List<String[]> rows = new ArrayList<>();
        rows.add(new String[] {"workers", r.path("workers").asText()});
        boolean first = true;
        for (JsonNode i : r.path("interfaces")) {
            List<String> ipv6 = new ArrayList<>();
            i.path("ipv6").forEach(a -> ipv6.add(a.asText()));
            rows.add(new String[] {first ? "interfaces" : "", String.format(Locale.ROOT, "%-10s %-7s %-18s mtu %d%s",
                i.path("name").asText(), i.path("role").asText(), i.path("address").asText(), i.path("mtu").asInt(),
                ipv6.isEmpty() ? "" : "  " + String.join(" ", ipv6))});
            first = false;
        }
        for (String family : new String[] {"flows", "flows6"}) {
            JsonNode f = r.path(family);
            rows.add(new String[] {family.equals("flows") ? "flows" : "IPv6 flows", f.path("size").asLong() + " of "
                + f.path("capacity").asLong() + " (" + f.path("fill_percent").asText() + " %)"});
        }
        rows.add(new String[] {"rules", plural(r.path("forwards").asInt(), "forward") + ", "
            + r.path("masquerade").asInt() + " masquerade, " + r.path("lingering_forwards").asInt()
            + " removed forward(s) still carrying connections; NAT ports " + r.path("nat_ports").asText()});
        rows.add(new String[] {"control", plural(r.path("control").path("connections").asInt(), "connection")});
        if (r.path("worker_errors").asLong() > 0) {
            rows.add(new String[] {"errors", r.path("worker_errors").asLong() + " caught in workers (a bug: see the "
                + "daemon's log)"});
        }
        for (String[] row : rows) {
            out.printf(Locale.ROOT, "%-11s %s%n", row[0], row[1]);
        }
    }

    /**
     * Counters per worker, port counters per interface, the drop reasons that happened (all with {@code all}), the
     * flow table: the daemon's {@link StatsSnapshot}, as {@link StatsJson} carried it.
     */
    static void stats(PrintWriter out, JsonNode r, boolean all) {
        StatsSnapshot s = StatsJson.read(r);
        List<String> workers = new ArrayList<>();
        s.workers().forEach(w -> workers.add("WORKER " + w.index()));
        out.println(head("COUNTER", workers));
        for (Counter c : Counter.values()) {
            List<Long> values = new ArrayList<>();
            s.workers().forEach(w -> values.add(w.get(c)));
            row(out, StatsJson.name(c), s.total(c), values, c.label);
        }
        out.println();
        List<String> interfaces = s.interfaceNames();
        out.println(head("PORT COUNTER", interfaces));
        for (PortCounter p : PortCounter.values()) {
            List<Long> values = new ArrayList<>();
            interfaces.forEach(i -> values.add(s.total(p, i)));
            row(out, StatsJson.name(p), s.total(p), values, p.label);
        }
        out.println();
        int hidden = 0;
        boolean headed = false;
        for (DropReason d : DropReason.values()) {
            if (!all && s.total(d) == 0) {
                hidden++;
                continue;
            }
            if (!headed) {
                out.println(head("DROP REASON", workers));
                headed = true;
            }
            List<Long> values = new ArrayList<>();
            s.workers().forEach(w -> values.add(w.get(d)));
            row(out, StatsJson.name(d), s.total(d), values, d.label);
        }
        if (hidden > 0) {
            out.println((headed ? "(" + hidden + " other drop reasons" : "no drops (all " + hidden + " reasons")
                + " at 0; --all lists them)");
        }
        out.println();
        flowTable(out, "flow table", s.flowTable());
        flowTable(out, "IPv6 flow table", s.flowTable6());
    }

    private static void flowTable(PrintWriter out, String name, StatsSnapshot.FlowTableFigures t) {
        out.println(name + ": " + t.size() + " of " + t.capacity() + " in use; " + t.inserted() + " created, "
            + t.deleted() + " deleted, " + t.evicted() + " evicted (table full)"
            + (t.probeWindowFull() > 0 ? "; " + t.probeWindowFull()
                + " new flows refused: every index slot their key may take was in use" : ""));
    }

    private static String head(String title, List<String> columns) {
        StringBuilder b = new StringBuilder(String.format(Locale.ROOT, "%-26s %14s", title, "TOTAL"));
        columns.forEach(c -> b.append(String.format(Locale.ROOT, " %12s", c)));
        return b.toString();
    }

    private static void row(PrintWriter out, String name, long total, List<Long> values, String label) {
        StringBuilder b = new StringBuilder(String.format(Locale.ROOT, "%-26s %14d", name, total));
        values.forEach(v -> b.append(String.format(Locale.ROOT, " %12d", v)));
        b.append("  ").append(label);
        out.println(b);
    }

    static void forwards(PrintWriter out, JsonNode r) {
        if (r.path("forwards").isEmpty() && r.path("lingering").isEmpty()) {
            out.println("no forwards");
            return;
        }
        for (JsonNode f : r.path("forwards")) {
            out.println(f.asText());
        }
        for (JsonNode f : r.path("lingering")) {
            out.println(f.asText() + "   (removed; its connections still live)");
        }
    }

    static void masquerade(PrintWriter out, JsonNode r) {
        if (r.path("masquerade").isEmpty()) {
            out.println("no masquerade");
            return;
        }
        for (JsonNode m : r.path("masquerade")) {
            out.println(m.path("source").asText() + " out of " + m.path("out").asText());
        }
    }

    static void topology(PrintWriter out, JsonNode r) {
        if (r.path("changes").isEmpty()) {
            out.println("no changes");
        }
        for (JsonNode c : r.path("changes")) {
            out.println(c.asText());
        }
        for (JsonNode c : r.path("notes")) {
            out.println(c.asText());
        }
    }

    /** Columns wide enough for two 8-digit packet counts and two 6-character byte counts. */
    private static final String FLOW_FORMAT = "%-5s %-11s %-12s %-44s %-44s %-17s %-13s %s%n";

    static void flowHeader(PrintWriter out) {
        out.printf(Locale.ROOT, FLOW_FORMAT, "PROTO", "STATE", "NAT", "ORIGINAL (as the client sent it)",
            "REPLY (as the answer comes back)", "PACKETS", "BYTES", "EXPIRES");
    }

    static void flow(PrintWriter out, JsonNode f) {
        JsonNode o = f.path("orig");
        JsonNode r = f.path("reply");
        out.printf(Locale.ROOT, FLOW_FORMAT, f.path("proto").asText(), f.path("state").asText(),
            f.path("nat").asText(), tuple(o), tuple(r),
            o.path("packets").asLong() + "/" + r.path("packets").asLong(),
            bytes(o.path("bytes").asLong()) + "/" + bytes(r.path("bytes").asLong()),
            f.has("expires_s") ? duration(f.path("expires_s").asLong()) : "-");
    }

    private static String tuple(JsonNode t) {
        return endpoint(t.path("src").asText()) + ":" + t.path("sport").asInt() + " -> "
            + endpoint(t.path("dst").asText()) + ":" + t.path("dport").asInt();
    }

    /** An address as written before ":port": IPv6 in brackets. */
    private static String endpoint(String address) {
        return address.indexOf(':') >= 0 ? "[" + address + "]" : address;
    }

    /** 1534 → 1.5K, 8911222 → 8.5M (binary units, like ip -h). */
    static String bytes(long n) {
        if (n < 1024) {
            return Long.toString(n);
        }
        String[] units = {"K", "M", "G", "T", "P"};
        double v = n;
        int u = -1;
        while (v >= 1024 && u < units.length - 1) {
            v /= 1024;
            u++;
        }
        return String.format(Locale.ROOT, v < 10 ? "%.1f%s" : "%.0f%s", v, units[u]);
    }

    /** 93784 s → 1d2h3m. */
    static String duration(double seconds) {
        long s = (long) seconds;
        if (s < 60) {
            return seconds < 10 && seconds != s ? String.format(Locale.ROOT, "%.1fs", seconds) : s + "s";
        }
        StringBuilder b = new StringBuilder();
        long d = s / 86400;
        long h = s / 3600 % 24;
        long m = s / 60 % 60;
        if (d > 0) {
            b.append(d).append('d');
        }
        if (h > 0 || d > 0) {
            b.append(h).append('h');
        }
        b.append(m).append('m');
        if (d == 0) {
            b.append(s % 60).append('s');
        }
        return b.toString();
    }

    private static String plural(long n, String word) {
        return n + " " + word + (n == 1 ? "" : "s");
    }
}
