// Several threads inserting, looking up and deleting overlapping keys at once: no lost, duplicated or phantom flow.
package io.nsgate.dataplane.conntrack;

import static org.junit.jupiter.api.Assertions.*;

import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.SplittableRandom;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicIntegerArray;
import java.util.concurrent.atomic.AtomicLong;

import org.junit.jupiter.api.Test;

/**
 * Keys overlap on purpose: threads race for the same original tuples (the same connection seen by two workers)
 * and for the same reply tuples (two connections wanting the same NAT port). A flow a thread inserted is its
 * own until it deletes it; per-key ownership counters must never exceed one, owned flows must always be found
 * with exactly their rewrite, and anything a lookup returns must be a flow that really held that key.
 */
class FlowTableConcurrencyTest {
    private static final int UDP = 17;
    private static final int ORIG_KEYS = 3000;
    private static final int REPLY_KEYS = 1500;
    private static final int REMOTE = 0x01010101;
    private static final int GATEWAY = 0x02020202;
    private static final long RUN_NS = 3_000_000_000L;

    private static int origSrc(int k) {
        return 0x0A000000 + k;
    }

    private static int replyPort(int r) {
        return 20000 + r;
    }

    private static void draft(FlowDraft d, int k, int r) {
        d.original(UDP, origSrc(k), REMOTE, 1000, 53).reply(REMOTE, GATEWAY, 53, replyPort(r)).route(1, REMOTE, 0, 0);
    }

    record Owned(int k, int r, long handle) {
    }

    @Test
    void noLostDuplicatedOrPhantomFlowUnderContention() throws Exception {
        int threads = 4;
        try (FlowTable table = new FlowTable(4096, FlowTimeouts.DEFAULTS, 0, 7)) {
            AtomicIntegerArray origOwners = new AtomicIntegerArray(ORIG_KEYS);
            AtomicIntegerArray replyOwners = new AtomicIntegerArray(REPLY_KEYS);
            ConcurrentLinkedQueue<String> failures = new ConcurrentLinkedQueue<>();
            AtomicLong inserts = new AtomicLong();
            AtomicLong conflicts = new AtomicLong();
            List<List<Owned>> owned = new ArrayList<>();
            CountDownLatch start = new CountDownLatch(1);
            List<Thread> workers = new ArrayList<>();
            for (int t = 0; t < threads; t++) {
                List<Owned> mine = new ArrayList<>();
                owned.add(mine);
                long seed = 1000 + t;
                Thread w = new Thread(() -> {
                    try {
                        start.await();
                        run(table, seed, mine, origOwners, replyOwners, failures, inserts, conflicts);
                    } catch (Throwable e) {
                        failures.add("thread died: " + e);
                    }
                }, "stress-" + t);
                workers.add(w);
                w.start();
            }
            // the index compactor races everything: it must never cut a key off its probe sequence
            AtomicLong compacted = new AtomicLong();
            java.util.concurrent.atomic.AtomicBoolean stopCompacting = new java.util.concurrent.atomic.AtomicBoolean();
            Thread compactor = new Thread(() -> {
                while (!stopCompacting.get()) {
                    compacted.addAndGet(table.compactIndex(0, table.bucketCount()));
                }
            }, "compactor");
            compactor.start();
            start.countDown();
            for (Thread w : workers) {
                w.join();
            }
            stopCompacting.set(true);
            compactor.join();
            assertTrue(compacted.get() > 1000, "the compactor really worked: " + compacted.get());
            assertTrue(failures.isEmpty(), () -> failures.size() + " failures, first: " + failures.peek());
            assertTrue(inserts.get() > 10_000, "enough inserts happened: " + inserts.get());
            assertTrue(conflicts.get() > 1_000, "keys really overlapped: " + conflicts.get());

            // quiescent checks: exactly the owned flows are in the table, each key once
            int total = owned.stream().mapToInt(List::size).sum();
            assertEquals(total, table.size());
            FlowView view = new FlowView();
            for (List<Owned> mine : owned) {
                for (Owned o : mine) {
                    assertEquals(o.handle, table.lookup(UDP, origSrc(o.k), REMOTE, 1000, 53, view));
                    assertEquals(replyPort(o.r), view.newSrcPort);
                    assertEquals(o.handle, table.lookup(UDP, REMOTE, GATEWAY, 53, replyPort(o.r), view));
                    assertEquals(origSrc(o.k), view.newDstIp);
                }
            }
            Set<Integer> origSeen = new HashSet<>();
            Set<Integer> replySeen = new HashSet<>();
            int live = 0;
            for (FlowCursor flows = table.cursor(); flows.next(); ) {
                FlowSnapshot s = flows.flow();
                live++;
                assertTrue(origSeen.add(s.origSrcIp), "original tuple held twice: " + s);
                assertTrue(replySeen.add(s.replyDstPort), "reply tuple held twice: " + s);
            }
            assertEquals(total, live, "no phantom records");
            for (List<Owned> mine : owned) {
                for (Owned o : mine) {
                    assertTrue(table.delete(o.handle));
                }
            }
            assertEquals(0, table.size());
            for (int k = 0; k < ORIG_KEYS; k++) {
                assertFalse(table.contains(UDP, origSrc(k), REMOTE, 1000, 53), "phantom index entry for " + k);
            }
            for (int r = 0; r < REPLY_KEYS; r++) {
                assertFalse(table.contains(UDP, REMOTE, GATEWAY, 53, replyPort(r)), "phantom reply entry " + r);
            }
        }
    }

    private static void run(FlowTable table, long seed, List<Owned> mine, AtomicIntegerArray origOwners,
                            AtomicIntegerArray replyOwners, ConcurrentLinkedQueue<String> failures,
                            AtomicLong inserts, AtomicLong conflicts) {
        SplittableRandom rnd = new SplittableRandom(seed);
        FlowDraft d = new FlowDraft();
        FlowView v = new FlowView();
        long deadline = System.nanoTime() + RUN_NS;
        while (System.nanoTime() < deadline && failures.size() < 10) {
            int op = rnd.nextInt(10);
            if (op < 4 || mine.isEmpty()) {
                int k = rnd.nextInt(ORIG_KEYS);
                int r = rnd.nextInt(REPLY_KEYS);
                draft(d, k, r);
                long h = table.insert(d, 0, v);
                if (h >= 0) {
                    inserts.incrementAndGet();
                    if (origOwners.incrementAndGet(k) != 1) {
                        failures.add("original key " + k + " owned twice");
                    }
                    if (replyOwners.incrementAndGet(r) != 1) {
                        failures.add("reply key " + r + " owned twice");
                    }
                    mine.add(new Owned(k, r, h));
                } else if (h == FlowTable.ORIG_EXISTS || h == FlowTable.REPLY_TAKEN) {
                    conflicts.incrementAndGet();
                } else {
                    failures.add("unexpected insert result " + h);
                }
            } else if (op < 7) {
                Owned o = mine.get(rnd.nextInt(mine.size()));
                long h = table.lookup(UDP, origSrc(o.k), REMOTE, 1000, 53, v);
                if (h != o.handle || v.direction != 0 || v.newSrcPort != replyPort(o.r)) {
                    failures.add("owned flow lost by original tuple: " + o + " got " + h);
                }
                h = table.lookup(UDP, REMOTE, GATEWAY, 53, replyPort(o.r), v);
                if (h != o.handle || v.direction != 1 || v.newDstIp != origSrc(o.k)) {
                    failures.add("owned flow lost by reply tuple: " + o + " got " + h);
                }
            } else if (op < 9) {
                // any key: whatever comes back must be a consistent flow holding that key
                int k = rnd.nextInt(ORIG_KEYS);
                long h = table.lookup(UDP, origSrc(k), REMOTE, 1000, 53, v);
                if (h >= 0 && (v.direction != 0 || v.newDstIp != REMOTE || v.newSrcIp != GATEWAY
                    || v.newSrcPort < replyPort(0) || v.newSrcPort >= replyPort(REPLY_KEYS))) {
                    failures.add("phantom by original tuple " + k);
                }
                int r = rnd.nextInt(REPLY_KEYS);
                h = table.lookup(UDP, REMOTE, GATEWAY, 53, replyPort(r), v);
                if (h >= 0 && (v.direction != 1 || v.newDstPort != 1000
                    || v.newDstIp < origSrc(0) || v.newDstIp >= origSrc(ORIG_KEYS))) {
                    failures.add("phantom by reply tuple " + r);
                }
            } else {
                Owned o = mine.remove(rnd.nextInt(mine.size()));
                origOwners.decrementAndGet(o.k);
                replyOwners.decrementAndGet(o.r);
                if (!table.delete(o.handle)) {
                    failures.add("could not delete owned flow " + o);
                }
            }
        }
    }

    @Test
    void evictionAndExpiryRacingInsertsKeepTheTableConsistent() throws Exception {
        int threads = 3;
        try (FlowTable table = new FlowTable(256, FlowTimeouts.DEFAULTS, 0, 11)) {
            AtomicBoolean stop = new AtomicBoolean();
            ConcurrentLinkedQueue<String> failures = new ConcurrentLinkedQueue<>();
            AtomicLong clock = new AtomicLong();
            List<Thread> all = new ArrayList<>();
            for (int t = 0; t < threads; t++) {
                long seed = 77 + t;
                all.add(new Thread(() -> {
                    SplittableRandom rnd = new SplittableRandom(seed);
                    FlowDraft d = new FlowDraft();
                    FlowView v = new FlowView();
                    while (!stop.get()) {
                        int k = rnd.nextInt(ORIG_KEYS);
                        draft(d, k, rnd.nextInt(REPLY_KEYS));
                        long h = table.insert(d, clock.get(), v);
                        if (h == FlowTable.TABLE_FULL) {
                            failures.add("unreplied flows should always be evictable; probe window full "
                                + table.probeWindowFullTotal() + " times, size " + table.size());
                        }
                        long found = table.lookup(UDP, origSrc(k), REMOTE, 1000, 53, v);
                        if (found >= 0 && v.newDstIp != REMOTE) {
                            failures.add("phantom");
                        }
                    }
                }));
            }
            all.add(new Thread(() -> {
                int cursor = 0;
                while (!stop.get()) {
                    clock.addAndGet(1_000_000_000L);
                    table.expire(cursor, cursor + 32, clock.get());
                    cursor = (cursor + 32) % table.capacity();
                    table.compactIndex(0, table.bucketCount());
                }
            }));
            all.forEach(Thread::start);
            Thread.sleep(2000);
            stop.set(true);
            for (Thread t : all) {
                t.join();
            }
            int[] states = new int[4];
            for (int id = 0; id < table.capacity(); id++) {
                states[table.recordStateOf(id)]++;
            }
            String census = "free list " + table.freeListLength() + ", FREE " + states[0] + ", INIT " + states[1]
                + ", LIVE " + states[2] + ", DYING " + states[3] + ", size " + table.size();
            assertEquals(table.capacity(), table.freeListLength() + states[2], census);
            assertTrue(failures.isEmpty(), () -> failures.peek() + "; " + census);
            assertTrue(table.evictedTotal() > 0, "eviction really ran");

            Set<Integer> origSeen = new HashSet<>();
            Set<Integer> replySeen = new HashSet<>();
            int live = 0;
            FlowView v = new FlowView();
            for (FlowCursor flows = table.cursor(); flows.next(); ) {
                FlowSnapshot s = flows.flow();
                live++;
                assertTrue(origSeen.add(s.origSrcIp), "original tuple held twice: " + s);
                assertTrue(replySeen.add(s.replyDstPort), "reply tuple held twice: " + s);
                assertEquals(s.flowId, FlowTable.flowIdOf(table.lookup(UDP, s.origSrcIp, REMOTE, 1000, 53, v)));
                assertEquals(s.flowId, FlowTable.flowIdOf(table.lookup(UDP, REMOTE, GATEWAY, 53, s.replyDstPort, v)));
            }
            assertEquals(table.size(), live);
            table.expire(0, table.capacity(), Long.MAX_VALUE / 2);
            assertEquals(0, table.size());
            for (int k = 0; k < ORIG_KEYS; k++) {
                assertFalse(table.contains(UDP, origSrc(k), REMOTE, 1000, 53), "phantom index entry for " + k);
            }
        }
    }
}
