// One reading of everything the data plane counts, per worker and per port, and the flow table: what outputs render.
package io.nsgate.dataplane.stats;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Objects;
import java.util.function.ToLongFunction;

/**
 * The one model of the gateway's statistics. {@code DataPlane#stats()} takes it (reading the workers' and ports'
 * counter blocks, asking the kernel for its ring drops, and the flow table's figures); the control socket's stats
 * operation sends it as JSON, {@code nsgate ctl stats} reads that JSON back into one and prints it, and the metrics
 * endpoint renders it for Prometheus. Every drop the data plane or the kernel reports is in it: a {@link DropReason}
 * counted by a worker, or a {@link PortCounter} counted by a port (ring drops, truncated, rejected frames).
 *
 * <p>Arrays are indexed by the enums' ordinals, and copied in and out: a snapshot never changes.
 */
public final class StatsSnapshot {
    /** One worker: its {@link Counter}s, its drops by {@link DropReason}, and its port on each interface. */
    public record Worker(int index, long[] counters, long[] drops, List<Port> ports) {
        public Worker {
            checkLength(counters, Counter.values().length, "counters");
            checkLength(drops, DropReason.values().length, "drops");
            counters = counters.clone();
            drops = drops.clone();
            ports = List.copyOf(ports);
        }

        @Override
        public long[] counters() {
            return counters.clone();
        }

        @Override
        public long[] drops() {
            return drops.clone();
        }

        public long get(Counter counter) {
            return counters[counter.ordinal()];
        }

        public long get(DropReason reason) {
            return drops[reason.ordinal()];
        }

        /** Summed over this worker's ports. */
        public long get(PortCounter counter) {
            long sum = 0;
            for (Port p : ports) {
                sum += p.get(counter);
            }
            return sum;
        }

        @Override
        public boolean equals(Object o) {
            return o instanceof Worker w && index == w.index && Arrays.equals(counters, w.counters)
                && Arrays.equals(drops, w.drops) && ports.equals(w.ports);
        }

        @Override
        public int hashCode() {
            return Objects.hash(index, Arrays.hashCode(counters), Arrays.hashCode(drops), ports);
        }
    }

    /** One worker's port on one interface: its {@link PortCounter}s. */
    public record Port(String interfaceName, long[] counters) {
        public Port {
            checkLength(counters, PortCounter.values().length, "port counters");
            counters = counters.clone();
        }

        @Override
        public long[] counters() {
            return counters.clone();
        }

        public long get(PortCounter counter) {
            return counters[counter.ordinal()];
        }

        @Override
        public boolean equals(Object o) {
            return o instanceof Port p && interfaceName.equals(p.interfaceName) && Arrays.equals(counters, p.counters);
        }

        @Override
        public int hashCode() {
            return Objects.hash(interfaceName, Arrays.hashCode(counters));
        }
    }

    /** The flow table's figures: flows now, and records created, deleted and evicted since the start. */
    public record FlowTableFigures(long size, long capacity, long inserted, long deleted, long evicted,
                                   long probeWindowFull) {
    }

    /** No table (an IPv4-only snapshot). */
    public static final FlowTableFigures NO_TABLE = new FlowTableFigures(0, 0, 0, 0, 0, 0);

    private final List<Worker> workers;
    private final FlowTableFigures flowTable;
    private final FlowTableFigures flowTable6;
    private final long workerErrors;

    /** @param workerErrors exceptions the workers caught and survived (a bug) */
    public StatsSnapshot(List<Worker> workers, FlowTableFigures flowTable, long workerErrors) {
        this(workers, flowTable, NO_TABLE, workerErrors);
    }

    /** @param flowTable6 the IPv6 flow table's figures */
    public StatsSnapshot(List<Worker> workers, FlowTableFigures flowTable, FlowTableFigures flowTable6,
                         long workerErrors) {
        this.workers = List.copyOf(workers);
        this.flowTable = Objects.requireNonNull(flowTable, "flowTable");
        this.flowTable6 = Objects.requireNonNull(flowTable6, "flowTable6");
        this.workerErrors = workerErrors;
    }

    public List<Worker> workers() {
        return workers;
    }

    /** The IPv4 flow table's figures. */
    public FlowTableFigures flowTable() {
        return flowTable;
    }

    /** The IPv6 flow table's figures. */
    public FlowTableFigures flowTable6() {
        return flowTable6;
    }

    public long workerErrors() {
        return workerErrors;
    }

    /** Summed over the workers. */
    public long total(Counter counter) {
        return sum(w -> w.get(counter));
    }

    /** Summed over the workers. */
    public long total(DropReason reason) {
        return sum(w -> w.get(reason));
    }

    /** Summed over every worker's port on every interface. */
    public long total(PortCounter counter) {
        return sum(w -> w.get(counter));
    }

    /** Summed over the workers' ports on interface {@code interfaceName}. */
    public long total(PortCounter counter, String interfaceName) {
        long sum = 0;
        for (Worker w : workers) {
            for (Port p : w.ports()) {
                if (p.interfaceName().equals(interfaceName)) {
                    sum += p.get(counter);
                }
            }
        }
        return sum;
    }

    /** The interfaces the ports serve, in the order the first worker lists them. */
    public List<String> interfaceNames() {
        List<String> names = new ArrayList<>();
        for (Worker w : workers) {
            for (Port p : w.ports()) {
                if (!names.contains(p.interfaceName())) {
                    names.add(p.interfaceName());
                }
            }
        }
        return names;
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof StatsSnapshot s && workers.equals(s.workers) && flowTable.equals(s.flowTable)
            && workerErrors == s.workerErrors;
    }

    @Override
    public int hashCode() {
        return Objects.hash(workers, flowTable, workerErrors);
    }

    private long sum(ToLongFunction<Worker> value) {
        long sum = 0;
        for (Worker w : workers) {
            sum += value.applyAsLong(w);
        }
        return sum;
    }

    private static void checkLength(long[] values, int expected, String what) {
        if (values.length != expected) {
            throw new IllegalArgumentException(what + ": " + values.length + " values, expected " + expected);
        }
    }
}
