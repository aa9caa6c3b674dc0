package io.nsgate.dataplane.pipeline;

import static org.junit.jupiter.api.Assertions.assertEquals;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

class NeighbourTableTest {
    private static final long S = 1_000_000_000L;
    private final NeighbourTable table = new NeighbourTable(16);

    @AfterEach
    void close() {
        table.close();
    }

    @Test
    void newsOfAnUnknownNeighbourAddsNothingButRefreshesAKnownOne() {
        table.learn(0, 0x0A000001, 0x0200_0000_0001L, 0, false);
        assertEquals(NeighbourTable.UNKNOWN, table.lookup(0, 0x0A000001, 0), "gratuitous ARP creates no entry");
        table.learn(0, 0x0A000001, 0x0200_0000_0001L, 0, true);
        table.learn(0, 0x0A000001, 0x0200_0000_0002L, S, false);
        assertEquals(0x0200_0000_0002L, table.lookup(0, 0x0A000001, S), "but moves a known neighbour");
    }

    @Test
    void aFullTableTakesNewNeighboursInTheEntriesOfStaleOnes() {
        for (int i = 0; i < 16; i++) {
            table.learn(0, 0x0A000100 + i, 0x0200_0000_0100L + i, 0, true);
        }
        for (int i = 0; i < 1000; i++) {
            table.learn(0, 0x0A010000 + i, 0x0200_0001_0000L + i, S, false); // a gratuitous flood
        }
        for (int i = 0; i < 16; i++) {
            assertEquals(0x0200_0000_0100L + i, table.lookup(0, 0x0A000100 + i, S), "neighbour " + i + " kept");
        }
        table.learn(0, 0x0A000200, 0x0200_0000_0200L, 2 * S, true);
        assertEquals(NeighbourTable.UNKNOWN, table.lookup(0, 0x0A000200, 2 * S), "full of neighbours still in use");
        long later = NeighbourTable.STALE_LIMIT_NS + 3 * S;
        table.learn(0, 0x0A000200, 0x0200_0000_0200L, later, true);
        assertEquals(0x0200_0000_0200L, table.lookup(0, 0x0A000200, later), "a stale entry made room");
    }
}
