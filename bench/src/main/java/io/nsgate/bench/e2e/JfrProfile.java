// Where the gateway's time went during chosen workloads: the JFR recording's samples, summarised per workload.
package io.nsgate.bench.e2e;

import java.io.IOException;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

import jdk.jfr.consumer.RecordedEvent;
import jdk.jfr.consumer.RecordedFrame;
import jdk.jfr.consumer.RecordedStackTrace;
import jdk.jfr.consumer.RecordedThread;
import jdk.jfr.consumer.RecordingFile;

/**
 * The gateway JVM records with JFR's profile settings for the whole nsgate run; this reads the file afterwards
 * (jdk.jfr.consumer, the API behind {@code jfr print}) and keeps the samples whose time falls inside a workload's
 * measured window:
 * <ul>
 *   <li>{@code jdk.ExecutionSample} (threads running Java code, every 10 ms with the profile settings): counted by
 *       top frame (self time), each shown with its nearest caller in nsgate's own code, and by thread;</li>
 *   <li>{@code jdk.NativeMethodSample} (threads inside native code, every 20 ms: here system calls through jnr-ffi,
 *       blocked in poll() or busy in sendto()): counted by the nsgate method that made the call.</li>
 * </ul>
 * Each window starts with the CPU time of the gateway's threads in it (/proc, see {@link Usage}): user time is the
 * Java code the samples below break down, system time the kernel's work inside its system calls.
 */
final class JfrProfile {
    private static final String EXECUTION = "jdk.ExecutionSample";
    private static final String NATIVE = "jdk.NativeMethodSample";

    /** A workload's measured window, with the CPU time of the gateway's threads over it (from /proc). */
    record Window(String label, Instant start, Instant end, List<Usage.ThreadCpu> threads) {
    }

    private static final class Counts {
        final Map<String, Integer> self = new HashMap<>();
        final Map<String, Map<String, Integer>> callers = new HashMap<>();
        final Map<String, Integer> threads = new HashMap<>();
        final Map<String, Integer> nativeCalls = new HashMap<>();
        int java;
        int natives;
    }

    private JfrProfile() {
    }

    /** Markdown: one small table per window, {@code top} rows each. */
    static String summarize(Path file, List<Window> windows, int top) throws IOException {
        List<Counts> counts = new ArrayList<>();
        windows.forEach(w -> counts.add(new Counts()));
        try (RecordingFile recording = new RecordingFile(file)) {
            while (recording.hasMoreEvents()) {
                RecordedEvent e = recording.readEvent();
                String type = e.getEventType().getName();
                if (!type.equals(EXECUTION) && !type.equals(NATIVE)) {
                    continue;
                }
                int w = windowOf(windows, e.getStartTime());
                RecordedStackTrace stack = e.getStackTrace();
                if (w < 0 || stack == null || stack.getFrames().isEmpty()) {
                    continue;
                }
                Counts c = counts.get(w);
                List<RecordedFrame> frames = stack.getFrames();
                if (type.equals(EXECUTION)) {
                    c.java++;
                    String topFrame = name(frames.get(0));
                    c.self.merge(topFrame, 1, Integer::sum);
                    c.callers.computeIfAbsent(topFrame, k -> new HashMap<>())
                        .merge(nearestNsgateCaller(frames, topFrame), 1, Integer::sum);
                    RecordedThread t = e.getThread("sampledThread");
                    c.threads.merge(t == null ? "?" : t.getJavaName(), 1, Integer::sum);
                } else {
                    c.natives++;
                    c.nativeCalls.merge(nearestNsgateCaller(frames, null), 1, Integer::sum);
                }
            }
        }
        StringBuilder b = new StringBuilder();
        for (int i = 0; i < windows.size(); i++) {
            render(b, windows.get(i), counts.get(i), top);
        }
        return b.toString();
    }

    private static void render(StringBuilder b, Window w, Counts c, int top) {
        double seconds = (w.end().toEpochMilli() - w.start().toEpochMilli()) / 1000.0;
        b.append(String.format(Locale.ROOT, "**%s** (%.1f s)%n%n", w.label(), seconds));
        b.append("Threads, % of one core (user + system, /proc): ").append(threads(w.threads())).append("\n\n");
        b.append(String.format(Locale.ROOT, "%d Java samples (%s), by thread: %s%n%n", c.java, EXECUTION,
            shares(c.threads, c.java, 4)));
        if (c.java > 0) {
            b.append("| self % | samples | top frame | nearest nsgate caller |\n|---:|---:|---|---|\n");
            List<Map.Entry<String, Integer>> rows = sorted(c.self);
            for (int i = 0; i < Math.min(top, rows.size()); i++) {
                Map.Entry<String, Integer> r = rows.get(i);
                String caller = sorted(c.callers.get(r.getKey())).get(0).getKey();
                b.append(String.format(Locale.ROOT, "| %.1f | %d | `%s` | %s |%n", 100.0 * r.getValue() / c.java,
                    r.getValue(), r.getKey(), caller.isEmpty() ? "" : "`" + caller + "`"));
            }
            int shown = rows.stream().limit(top).mapToInt(Map.Entry::getValue).sum();
            if (shown < c.java) {
                b.append(String.format(Locale.ROOT, "| %.1f | %d | (%d other frames) | |%n",
                    100.0 * (c.java - shown) / c.java, c.java - shown, rows.size() - Math.min(top, rows.size())));
            }
            b.append('\n');
        }
        b.append(String.format(Locale.ROOT, "In native code (%s): %d samples: %s%n%n", NATIVE, c.natives,
            shares(c.nativeCalls, c.natives, 5)));
    }

    private static String threads(List<Usage.ThreadCpu> threads) {
        StringBuilder b = new StringBuilder();
        double rest = 0;
        for (Usage.ThreadCpu t : threads) {
            if (t.totalPct() < 2) {
                rest += t.totalPct();
                continue;
            }
            if (b.length() > 0) {
                b.append(", ");
            }
            b.append(String.format(Locale.ROOT, "%s %.0f%% (%.0f + %.0f)", t.name(), t.totalPct(), t.userPct(),
                t.systemPct()));
        }
        if (rest > 0) {
            b.append(String.format(Locale.ROOT, "%sothers %.0f%%", b.length() > 0 ? ", " : "", rest));
        }
        return b.length() == 0 ? "none" : b.toString();
    }

    private static int windowOf(List<Window> windows, Instant t) {
        for (int i = 0; i < windows.size(); i++) {
            Window w = windows.get(i);
            if (!t.isBefore(w.start()) && !t.isAfter(w.end())) {
                return i;
            }
        }
        return -1;
    }

    /** The first io.nsgate frame other than {@code self}, e.g. the Worker method that called into the JDK. */
    private static String nearestNsgateCaller(List<RecordedFrame> frames, String self) {
        for (RecordedFrame f : frames) {
            if (f.getMethod() != null && f.getMethod().getType().getName().startsWith("io.nsgate.")) {
                String n = name(f);
                if (!n.equals(self)) {
                    return n;
                }
            }
        }
        return "";
    }

    /** {@code nat.Translator.process} for nsgate's own classes, {@code o.a.c.UnsafeBuffer.getInt} for others. */
    static String name(RecordedFrame f) {
        if (f.getMethod() == null) {
            return "?";
        }
        String type = f.getMethod().getType().getName();
        String shortType;
        if (type.startsWith("io.nsgate.dataplane.") || type.startsWith("io.nsgate.control.")) {
            shortType = type.substring(type.indexOf('.', "io.nsgate.".length()) + 1);
        } else {
            String[] parts = type.split("\\.");
            StringBuilder s = new StringBuilder();
            for (int i = 0; i < parts.length - 1; i++) {
                s.append(parts[i].charAt(0)).append('.');
            }
            shortType = s.append(parts[parts.length - 1]).toString();
        }
        return shortType + "." + f.getMethod().getName();
    }

    private static List<Map.Entry<String, Integer>> sorted(Map<String, Integer> m) {
        List<Map.Entry<String, Integer>> l = new ArrayList<>(m.entrySet());
        l.sort(Map.Entry.<String, Integer>comparingByValue(Comparator.reverseOrder())
            .thenComparing(Map.Entry.comparingByKey()));
        return l;
    }

    private static String shares(Map<String, Integer> m, int total, int max) {
        if (total == 0) {
            return "none";
        }
        StringBuilder b = new StringBuilder();
        List<Map.Entry<String, Integer>> l = sorted(m);
        int shown = 0;
        for (int i = 0; i < Math.min(max, l.size()); i++) {
            Map.Entry<String, Integer> e = l.get(i);
            if (b.length() > 0) {
                b.append(", ");
            }
            b.append(e.getKey().isEmpty() ? "(outside nsgate's code)" : e.getKey())
                .append(String.format(Locale.ROOT, " %.0f%%", 100.0 * e.getValue() / total));
            shown += e.getValue();
        }
        if (shown < total) {
            b.append(String.format(Locale.ROOT, ", other %.0f%%", 100.0 * (total - shown) / total));
        }
        return b.toString();
    }
}
