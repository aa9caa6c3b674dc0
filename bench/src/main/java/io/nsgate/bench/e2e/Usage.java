// CPU and memory around a workload, from /proc: the whole machine's CPU and the gateway process's own.
package io.nsgate.bench.e2e;

import java.io.IOException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * A {@link Snapshot} is taken right before and right after a workload's measured part; two of them make a
 * {@link Window}:
 * <ul>
 *   <li>machine CPU busy: from the first line of /proc/stat (all CPUs; busy = everything but idle and iowait), as %
 *       of the whole machine. For the kernel's NAT this is the only place its cost shows (softirq time);</li>
 *   <li>the gateway's CPU: utime + stime of /proc/PID/stat (all its threads), in seconds and as % of one core;</li>
 *   <li>the gateway's resident memory: VmRSS of /proc/PID/status at the end of the window (and VmHWM, the peak);</li>
 *   <li>the gateway's threads: user and system time of each (/proc/PID/task/TID/stat, named by its comm), which
 *       splits the Java work (user) from the system calls (system: poll, and the kernel's own delivery work done
 *       inside send()).</li>
 *   <li>other processes: the CPU time of every user-space process on the machine that this benchmark did not start
 *       (neither this JVM nor a descendant of it; kernel threads left out), including what they reaped from their
 *       children: the machine is shared, and this says how much of it something else took during the window.</li>
 * </ul>
 */
final class Usage {
    private Usage() {
    }

    /** Clock ticks per second of /proc/PID/stat's times (USER_HZ: 100 on every Linux architecture nsgate runs on). */
    static final double TICKS_PER_SECOND = 100.0;

    record Snapshot(long nanos, Instant wall, long machineBusy, long machineTotal, long procTicks, long rssKb,
                    long hwmKb, Map<Long, ThreadTicks> threads, long foreignTicks) {
    }

    /** One thread's name and times in clock ticks. */
    record ThreadTicks(String name, long user, long system) {
    }

    /** One thread's share of a window, in % of one core. */
    record ThreadCpu(String name, double userPct, double systemPct) {
        double totalPct() {
            return userPct + systemPct;
        }
    }

    /** What one workload cost; process fields are NaN / -1 / empty when there is no gateway process (the kernel). */
    record Window(Instant start, Instant end, double seconds, double machineBusyPct, double procCpuSeconds,
                  double procCpuPctOfCore, long rssKb, long hwmKb, List<ThreadCpu> threads, double foreignPctOfCore) {
    }

    /** Now; {@code pid} -1 for no process. */
    static Snapshot take(long pid) {
        long[] cpu = machineCpu();
        long ticks = -1;
        long rss = -1;
        long hwm = -1;
        Map<Long, ThreadTicks> threads = Map.of();
        if (pid > 0) {
            ticks = processTicks(pid);
            rss = statusKb(pid, "VmRSS:");
            hwm = statusKb(pid, "VmHWM:");
            threads = threadTicks(pid);
        }
        return new Snapshot(System.nanoTime(), Instant.now(), cpu[0], cpu[1], ticks, rss, hwm, threads,
            foreignTicks());
    }

    static Window between(Snapshot a, Snapshot b) {
        double seconds = (b.nanos() - a.nanos()) / 1e9;
        long total = b.machineTotal() - a.machineTotal();
        double busy = total > 0 ? 100.0 * (b.machineBusy() - a.machineBusy()) / total : Double.NaN;
        double procSeconds = Double.NaN;
        double procPct = Double.NaN;
        if (a.procTicks() >= 0 && b.procTicks() >= 0) {
            procSeconds = (b.procTicks() - a.procTicks()) / TICKS_PER_SECOND;
            procPct = 100.0 * procSeconds / seconds;
        }
        List<ThreadCpu> threads = new ArrayList<>();
        for (Map.Entry<Long, ThreadTicks> e : b.threads().entrySet()) {
            ThreadTicks before = a.threads().get(e.getKey());
            ThreadTicks after = e.getValue();
            long user = after.user() - (before == null ? 0 : before.user());
            long system = after.system() - (before == null ? 0 : before.system());
            if (user + system > 0) {
                threads.add(new ThreadCpu(after.name(), 100.0 * user / TICKS_PER_SECOND / seconds,
                    100.0 * system / TICKS_PER_SECOND / seconds));
            }
        }
        threads.sort(Comparator.comparingDouble(ThreadCpu::totalPct).reversed());
        double foreign = 100.0 * (b.foreignTicks() - a.foreignTicks()) / TICKS_PER_SECOND / seconds;
        return new Window(a.wall(), b.wall(), seconds, busy, procSeconds, procPct, b.rssKb(), b.hwmKb(), threads,
            Math.max(0, foreign));
    }

    /**
     * utime + stime + cutime + cstime summed over the live user-space processes this benchmark did not start. A child
     * that exits moves its times into its parent's cutime/cstime when reaped, so the sum only grows by CPU used.
     */
    static long foreignTicks() {
        long self = ProcessHandle.current().pid();
        Map<Long, Long> parent = new HashMap<>();
        Map<Long, Long> ticks = new HashMap<>();
        try (DirectoryStream<Path> procs = Files.newDirectoryStream(Path.of("/proc"), "[0-9]*")) {
            for (Path p : procs) {
                String stat = read(p.resolve("stat"));
                int close = stat.lastIndexOf(')');
                if (close < 0) {
                    continue;
                }
                String[] f = stat.substring(close + 2).trim().split("\\s+");
                long pid = Long.parseLong(p.getFileName().toString());
                parent.put(pid, Long.parseLong(f[1]));
                ticks.put(pid, Long.parseLong(f[11]) + Long.parseLong(f[12]) + Long.parseLong(f[13])
                    + Long.parseLong(f[14]));
            }
        } catch (IOException | RuntimeException e) {
            return 0;
        }
        long sum = 0;
        for (Map.Entry<Long, Long> e : ticks.entrySet()) {
            long pid = e.getKey();
            if (pid == 2 || parent.getOrDefault(pid, 0L) == 2) {
                continue; // kernel threads
            }
            boolean ours = false;
            for (long a = pid, hops = 0; a > 1 && hops < 64; a = parent.getOrDefault(a, 0L), hops++) {
                if (a == self) {
                    ours = true;
                    break;
                }
            }
            if (!ours) {
                sum += e.getValue();
            }
        }
        return sum;
    }

    private static Map<Long, ThreadTicks> threadTicks(long pid) {
        Map<Long, ThreadTicks> m = new HashMap<>();
        try (DirectoryStream<Path> tasks = Files.newDirectoryStream(Path.of("/proc", String.valueOf(pid), "task"))) {
            for (Path t : tasks) {
                long[] times = times(read(t.resolve("stat")));
                if (times != null) {
                    m.put(Long.parseLong(t.getFileName().toString()),
                        new ThreadTicks(read(t.resolve("comm")).strip(), times[0], times[1]));
                }
            }
        } catch (IOException | RuntimeException e) {
            // the process is gone: no threads
        }
        return m;
    }

    /** {busy, total} jiffies over all CPUs. */
    private static long[] machineCpu() {
        String first = read(Path.of("/proc/stat")).lines().findFirst().orElse("");
        String[] f = first.trim().split("\\s+");
        long total = 0;
        long idle = 0;
        for (int i = 1; i < Math.min(f.length, 9); i++) { // user nice system idle iowait irq softirq steal
            long v = Long.parseLong(f[i]);
            total += v;
            if (i == 4 || i == 5) {
                idle += v;
            }
        }
        return new long[] {total - idle, total};
    }

    /** utime + stime in clock ticks (fields 14 and 15; the command name in field 2 may hold spaces). */
    static long processTicks(long pid) {
        long[] t = times(read(Path.of("/proc", String.valueOf(pid), "stat")));
        return t == null ? -1 : t[0] + t[1];
    }

    /** {utime, stime} of a /proc stat line, or null. */
    private static long[] times(String stat) {
        int close = stat.lastIndexOf(')');
        if (close < 0) {
            return null;
        }
        String[] f = stat.substring(close + 2).trim().split("\\s+"); // f[0] is field 3 (state)
        return new long[] {Long.parseLong(f[11]), Long.parseLong(f[12])};
    }

    private static long statusKb(long pid, String key) {
        for (String line : read(Path.of("/proc", String.valueOf(pid), "status")).split("\n")) {
            if (line.startsWith(key)) {
                return Long.parseLong(line.substring(key.length()).trim().split("\\s+")[0]);
            }
        }
        return -1;
    }

    private static String read(Path p) {
        try {
            return Files.readString(p);
        } catch (IOException e) {
            return "";
        }
    }
}
