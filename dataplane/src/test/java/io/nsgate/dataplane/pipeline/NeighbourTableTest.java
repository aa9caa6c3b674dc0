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

    @Test
    void ipv6AndIpv4NeighboursLiveSideBySideWithoutMixingUp() {
        // ::a00:1 has the IPv4 address 10.0.0.1 in its low bits: a different neighbour all the same
        table.learn(0, 0x0A000001, 0x0200_0000_0004L, 0, true);
        table.learn6(0, 0, 0x0A000001L, 0x0200_0000_0006L, 0, true);
        table.learn6(1, 0xfd15_0000_0000_0000L, 2, 0x0200_0000_0062L, 0, true);
        assertEquals(0x0200_0000_0004L, table.lookup(0, 0x0A000001, 0));
        assertEquals(0x0200_0000_0006L, table.lookup6(0, 0, 0x0A000001L, 0));
        assertEquals(0x0200_0000_0062L, table.lookup6(1, 0xfd15_0000_0000_0000L, 2, 0));
        assertEquals(NeighbourTable.UNKNOWN, table.lookup6(0, 0xfd15_0000_0000_0000L, 2, 0), "another interface");
        assertEquals(NeighbourTable.UNKNOWN, table.lookup6(1, 0xfd15_0000_0000_0001L, 2, 0), "another address");
        table.learn6(1, 0xfd15_0000_0000_0000L, 2, 0x0200_0000_0063L, S, false); // an unsolicited advertisement
        assertEquals(0x0200_0000_0063L, table.lookup6(1, 0xfd15_0000_0000_0000L, 2, S), "moves a known neighbour");
        assertEquals(0x0200_0000_0063L | NeighbourTable.STALE_BIT,
            table.lookup6(1, 0xfd15_0000_0000_0000L, 2, S + NeighbourTable.REACHABLE_NS + 1), "refresh when old");
        assertEquals(true, table.shouldRequest6(1, 0xfd15_0000_0000_0000L, 2, S));
        assertEquals(false, table.shouldRequest6(1, 0xfd15_0000_0000_0000L, 2, S + 1), "one solicitation a second");
    }
}
