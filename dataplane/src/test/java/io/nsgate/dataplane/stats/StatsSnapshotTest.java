// The stats model: totals over workers and ports, per-interface sums, and a snapshot that never changes once taken.
package io.nsgate.dataplane.stats;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.util.List;

import org.junit.jupiter.api.Test;

class StatsSnapshotTest {
    private static long[] with(int length, int index, long value) {
        long[] values = new long[length];
        values[index] = value;
        return values;
    }

    private static StatsSnapshot.Port port(String name, PortCounter counter, long value) {
        return new StatsSnapshot.Port(name, with(PortCounter.values().length, counter.ordinal(), value));
    }

    private static StatsSnapshot.Worker worker(int index, long forwarded, long tableFull,
                                               List<StatsSnapshot.Port> ports) {
        return new StatsSnapshot.Worker(index, with(Counter.values().length, Counter.FORWARDED.ordinal(), forwarded),
            with(DropReason.values().length, DropReason.TABLE_FULL.ordinal(), tableFull), ports);
    }

    @Test
    void totalsSumOverWorkersAndPorts() {
        StatsSnapshot s = new StatsSnapshot(List.of(
            worker(0, 10, 1, List.of(port("lan0", PortCounter.RX_RING_DROPS, 2),
                port("v-net-0", PortCounter.RX_RING_DROPS, 3))),
            worker(1, 5, 0, List.of(port("lan0", PortCounter.RX_RING_DROPS, 7),
                port("v-net-0", PortCounter.TX_REJECTED, 1)))),
            new StatsSnapshot.FlowTableFigures(4, 1024, 9, 5, 0, 0), 0);
        assertEquals(15, s.total(Counter.FORWARDED));
        assertEquals(1, s.total(DropReason.TABLE_FULL));
        assertEquals(12, s.total(PortCounter.RX_RING_DROPS));
        assertEquals(9, s.total(PortCounter.RX_RING_DROPS, "lan0"));
        assertEquals(3, s.total(PortCounter.RX_RING_DROPS, "v-net-0"));
        assertEquals(1, s.total(PortCounter.TX_REJECTED));
        assertEquals(5, s.workers().get(0).get(PortCounter.RX_RING_DROPS), "a worker's ports summed");
        assertEquals(List.of("lan0", "v-net-0"), s.interfaceNames());
    }

    @Test
    void aSnapshotNeverChangesOnceTaken() {
        long[] counters = with(Counter.values().length, Counter.FORWARDED.ordinal(), 1);
        StatsSnapshot.Worker w = new StatsSnapshot.Worker(0, counters, new long[DropReason.values().length],
            List.of());
        counters[Counter.FORWARDED.ordinal()] = 99;
        w.counters()[Counter.FORWARDED.ordinal()] = 99;
        assertEquals(1, w.get(Counter.FORWARDED));
        assertEquals(w, new StatsSnapshot.Worker(0, with(Counter.values().length, Counter.FORWARDED.ordinal(), 1),
            new long[DropReason.values().length], List.of()), "equal by value");
    }

    @Test
    void refusesArraysOfTheWrongLength() {
        assertThrows(IllegalArgumentException.class, () -> new StatsSnapshot.Port("lan0", new long[1]));
        assertThrows(IllegalArgumentException.class, () -> new StatsSnapshot.Worker(0, new long[1],
            new long[DropReason.values().length], List.of()));
    }
}
