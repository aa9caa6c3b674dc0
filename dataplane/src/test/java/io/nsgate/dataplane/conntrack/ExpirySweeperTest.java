// Expiry in slices: a million flows timing out together go in bounded steps, within about one sweep period.
package io.nsgate.dataplane.conntrack;

import static org.junit.jupiter.api.Assertions.*;

import org.junit.jupiter.api.Test;

class ExpirySweeperTest {
    private static final long MS = 1_000_000L;
    private static final long S = 1_000 * MS;

    @Test
    void aMillionFlowsExpireInBoundedSlicesWithinASweepPeriod() {
        int n = 1_000_000;
        try (FlowTable table = new FlowTable(n, FlowTimeouts.DEFAULTS, 0, 3)) {
            FlowDraft d = new FlowDraft();
            long t0 = 100 * S;
            for (int i = 0; i < n; i++) {
                d.original(17, 0x0A000000 + i, 0x01010101, 5000, 53).reply(0x01010101, 0x0B000000 + i, 53, 5000);
                assertTrue(table.insert(d, t0, null) >= 0);
            }
            ExpirySweeper[] workers = {ExpirySweeper.forWorker(table, 0, 2), ExpirySweeper.forWorker(table, 1, 2)};
            long now = t0;
            int maxSlice = 0;
            long expired = 0;
            // duty cycles every 10 ms of fake time, past the 30 s UDP timeout
            while (now < t0 + 30 * S) {
                now += 10 * MS;
                for (ExpirySweeper w : workers) {
                    assertEquals(0, w.sweep(now), "nothing is due before the timeout");
                }
            }
            long due = now;
            while (table.size() > 0 && now < due + 30 * S) {
                now += 10 * MS;
                for (ExpirySweeper w : workers) {
                    int e = w.sweep(now);
                    maxSlice = Math.max(maxSlice, e);
                    expired += e;
                }
            }
            assertEquals(n, expired);
            assertTrue(maxSlice <= ExpirySweeper.DEFAULT_MAX_PER_CALL, "a slice never exceeds the cap: " + maxSlice);
            assertTrue(now - due <= 12 * S, "all gone within about two sweep periods, took " + (now - due) / MS + " ms");
        }
    }

    @Test
    void partitionsCoverTheTableExactly() {
        try (FlowTable table = new FlowTable(1001, FlowTimeouts.DEFAULTS, 0)) {
            int total = 0;
            for (int w = 0; w < 3; w++) {
                total += ExpirySweeper.forWorker(table, w, 3).partitionSize();
            }
            assertEquals(1001, total);
            assertThrows(IllegalArgumentException.class, () -> new ExpirySweeper(table, 10, 5, S, 10));
        }
    }
}
