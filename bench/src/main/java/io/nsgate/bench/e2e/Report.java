// The result: the comparison table with ratios and goals, CPU and memory, remarks, the profile; as markdown.
package io.nsgate.bench.e2e;

import java.util.ArrayList;
import java.util.EnumMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

final class Report {
    /** Which way a ratio nsgate/kernel should go to meet its goal. */
    enum Goal { AT_LEAST, AT_MOST, NONE }

    /** A row of the comparison table. */
    record Row(String label, Workload workload, String key, String format, Goal goal, double target) {
    }

    static final List<Row> ROWS = List.of(
        new Row("ping RTT blue → lan, median (ms)", Workload.PING_RTT, Measurement.RTT_MEDIAN_MS, "%.3f", Goal.NONE,
            0),
        new Row("ping RTT blue → lan, p99 (ms)", Workload.PING_RTT, Measurement.RTT_P99_MS, "%.3f", Goal.NONE, 0),
        new Row("TCP in, port forward (Gbit/s)", Workload.TCP_IN, Measurement.GBPS, "%.2f", Goal.AT_LEAST, 0.9),
        new Row("TCP out, masquerade (Gbit/s)", Workload.TCP_OUT, Measurement.GBPS, "%.2f", Goal.AT_LEAST, 0.9),
        new Row("HTTP keep-alive (req/s)", Workload.HTTP_KEEPALIVE, Measurement.RPS, "%,.0f", Goal.AT_LEAST, 1.0),
        new Row("HTTP keep-alive p99 (ms)", Workload.HTTP_KEEPALIVE, Measurement.P99_MS, "%.2f", Goal.AT_MOST, 1.2),
        new Row("HTTP new connections (conn/s)", Workload.HTTP_CLOSE, Measurement.RPS, "%,.0f", Goal.AT_LEAST, 1.0),
        new Row("HTTP new connections p99 (ms)", Workload.HTTP_CLOSE, Measurement.P99_MS, "%.2f", Goal.NONE, 0),
        new Row("64B UDP received in lan (frames/s)", Workload.UDP, Measurement.RX_PPS, "%,.0f", Goal.AT_LEAST, 1.0),
        new Row("64B UDP sent by trafgen (frames/s)", Workload.UDP, Measurement.TX_PPS, "%,.0f", Goal.NONE, 0),
        new Row("IPv6 TCP in, port forward (Gbit/s)", Workload.TCP_IN6, Measurement.GBPS, "%.2f", Goal.AT_LEAST, 0.9),
        new Row("IPv6 TCP out, NAT66 (Gbit/s)", Workload.TCP_OUT6, Measurement.GBPS, "%.2f", Goal.AT_LEAST, 0.9),
        new Row("IPv6 HTTP keep-alive (req/s)", Workload.HTTP_KEEPALIVE6, Measurement.RPS, "%,.0f", Goal.AT_LEAST,
            1.0),
        new Row("IPv6 HTTP keep-alive p99 (ms)", Workload.HTTP_KEEPALIVE6, Measurement.P99_MS, "%.2f", Goal.AT_MOST,
            1.2));

    /** Other processes' CPU (% of one core) above which a measurement is marked noisy. */
    static final double NOISY_PCT = 15;

    private final Map<String, Map<Workload, Measurement>> results = new LinkedHashMap<>();
    private final Map<String, String> failures = new LinkedHashMap<>();
    private final List<String> notes = new ArrayList<>();
    private final List<String> header = new ArrayList<>();
    private Usage.Window nsgateRun;
    private String profile;

    Report() {
        results.put("kernel", new EnumMap<>(Workload.class));
        results.put("nsgate", new EnumMap<>(Workload.class));
    }

    void header(String line) {
        header.add(line);
    }

    void add(String side, Measurement m) {
        results.get(side).put(m.workload, m);
        for (String n : m.notes) {
            notes.add(side + ", " + m.workload.label + ": " + n);
        }
        if (m.window != null && m.window.foreignPctOfCore() >= NOISY_PCT) {
            notes.add(String.format(Locale.ROOT, "%s, %s: **noisy**, other processes on the machine used %.0f%% of a "
                + "core meanwhile", side, m.workload.label, m.window.foreignPctOfCore()));
        }
    }

    void failed(String side, String why) {
        failures.put(side, why);
    }

    void note(String n) {
        notes.add(n);
    }

    void nsgateRun(Usage.Window w) {
        nsgateRun = w;
    }

    void profile(String markdown) {
        profile = markdown;
    }

    String render(Options o) {
        StringBuilder b = new StringBuilder();
        b.append("## nsgate end-to-end benchmark: kernel iptables NAT vs nsgate\n\n");
        header.forEach(h -> b.append(h).append("  \n"));
        b.append('\n');
        table(b);
        b.append('\n');
        resources(b, o);
        if (!failures.isEmpty() || !notes.isEmpty()) {
            b.append("\n### Remarks\n\n");
            failures.forEach((side, why) -> b.append("- **").append(side).append(" failed**: ").append(why)
                .append('\n'));
            notes.forEach(n -> b.append("- ").append(n).append('\n'));
        }
        if (profile != null) {
            b.append("\n### Where nsgate's time goes (JFR, settings=profile)\n\n").append(profile);
        }
        return b.toString();
    }

    private void table(StringBuilder b) {
        b.append("| metric | kernel | nsgate | ratio | goal |\n|---|---:|---:|---:|---|\n");
        for (Row r : ROWS) {
            Double k = value("kernel", r);
            Double n = value("nsgate", r);
            if (k == null && n == null) {
                continue;
            }
            String ratio = "–";
            String goal = r.goal() == Goal.NONE ? "–" : (r.goal() == Goal.AT_LEAST ? "≥ " : "≤ ")
                + String.format(Locale.ROOT, "%.1f", r.target());
            if (k != null && n != null && k > 0) {
                double q = n / k;
                ratio = String.format(Locale.ROOT, "%.2f", q);
                if (r.goal() != Goal.NONE) {
                    boolean met = r.goal() == Goal.AT_LEAST ? q >= r.target() : q <= r.target();
                    goal += met ? " met" : " **missed**";
                }
            }
            b.append("| ").append(r.label()).append(" | ").append(format(r, k)).append(" | ").append(format(r, n))
                .append(" | ").append(ratio).append(" | ").append(goal).append(" |\n");
        }
    }

    private void resources(StringBuilder b, Options o) {
        b.append("| workload | machine CPU busy: kernel run | nsgate run | other processes: kernel run | nsgate run"
            + " | nsgate CPU (% of one core) | nsgate CPU (s) | nsgate RSS (MiB) |\n"
            + "|---|---:|---:|---:|---:|---:|---:|---:|\n");
        for (Workload w : Workload.values()) {
            Usage.Window k = window("kernel", w);
            Usage.Window n = window("nsgate", w);
            if (k == null && n == null) {
                continue;
            }
            b.append("| ").append(w.label)
                .append(" | ").append(k == null ? "–" : pct(k.machineBusyPct()))
                .append(" | ").append(n == null ? "–" : pct(n.machineBusyPct()))
                .append(" | ").append(k == null ? "–" : pct(k.foreignPctOfCore()))
                .append(" | ").append(n == null ? "–" : pct(n.foreignPctOfCore()))
                .append(" | ").append(n == null ? "–" : pct(n.procCpuPctOfCore()))
                .append(" | ").append(n == null ? "–" : String.format(Locale.ROOT, "%.1f", n.procCpuSeconds()))
                .append(" | ").append(n == null || n.rssKb() < 0 ? "–" : mib(n.rssKb())).append(" |\n");
        }
        if (nsgateRun != null) {
            b.append(String.format(Locale.ROOT, "| whole nsgate run, %.0f s (checks, warm-up, pauses included) | – "
                    + "| %s | – | %s | %s | %.1f | %s (peak %s) |%n", nsgateRun.seconds(),
                pct(nsgateRun.machineBusyPct()), pct(nsgateRun.foreignPctOfCore()), pct(nsgateRun.procCpuPctOfCore()),
                nsgateRun.procCpuSeconds(), mib(nsgateRun.rssKb()), mib(nsgateRun.hwmKb())));
        }
        b.append("\nMachine CPU busy: all ").append(Runtime.getRuntime().availableProcessors())
            .append(" CPUs from /proc/stat (100% = all busy); the kernel's NAT runs in softirq and shows only there. ")
            .append("Other processes: CPU of user-space processes this benchmark did not start (% of one core): the ")
            .append("machine is shared, so a high figure marks a noisy measurement. nsgate CPU: utime+stime of its ")
            .append("JVM (/proc/PID/stat) over the measured window; RSS: VmRSS at the window's end.\n");
    }

    private Double value(String side, Row r) {
        Measurement m = results.get(side).get(r.workload());
        return m == null ? null : m.value(r.key());
    }

    private Usage.Window window(String side, Workload w) {
        Measurement m = results.get(side).get(w);
        return m == null ? null : m.window;
    }

    private static String format(Row r, Double v) {
        return v == null ? "–" : String.format(Locale.ROOT, r.format(), v);
    }

    private static String pct(double v) {
        return Double.isNaN(v) ? "–" : String.format(Locale.ROOT, "%.0f%%", v);
    }

    private static String mib(long kb) {
        return kb < 0 ? "–" : String.format(Locale.ROOT, "%.0f", kb / 1024.0);
    }
}
