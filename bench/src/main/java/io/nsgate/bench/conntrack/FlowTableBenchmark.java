// JMH: flow lookup (hit and miss) at 1K, 1M and 10M flows, nsgate's FlowTable beside a ConcurrentHashMap.
package io.nsgate.bench.conntrack;

import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;

import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OperationsPerInvocation;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

import io.nsgate.bench.JvmFlags;
import io.nsgate.dataplane.conntrack.FlowDraft;
import io.nsgate.dataplane.conntrack.FlowTable;
import io.nsgate.dataplane.conntrack.FlowTimeouts;
import io.nsgate.dataplane.conntrack.FlowView;

/**
 * Lookups over a table of {@code flows} masqueraded TCP connections, in a random order unrelated to the order of
 * insertion (see {@link FlowKeys}). The map baseline stores the same keys as record objects and is asked with
 * separate, prebuilt key objects (so its lookups allocate nothing either, and compare fields, not identity).
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Warmup(iterations = 3, time = 2)
@Measurement(iterations = 5, time = 2)
@Fork(value = 1, jvmArgsAppend = {JvmFlags.AGRONA_EXPORTS, JvmFlags.NO_BOUNDS_CHECKS, "-Xmx14g", "-XX:+UseParallelGC"})
public class FlowTableBenchmark {
    @Param({"1000", "1000000", "10000000"})
    int flows;

    private FlowTable table;
    private ConcurrentHashMap<FlowKeys.Key, Long> map;
    private FlowKeys.Key[] hitKeys;
    private FlowKeys.Key[] missKeys;
    private FlowKeys keys;
    private final FlowView view = new FlowView();
    private int next;

    @Setup(Level.Trial)
    public void setUp() {
        keys = new FlowKeys(flows, 42);
        table = new FlowTable(flows, FlowTimeouts.DEFAULTS, 0);
        map = new ConcurrentHashMap<>(flows * 2);
        hitKeys = new FlowKeys.Key[flows];
        missKeys = new FlowKeys.Key[flows];
        FlowDraft d = new FlowDraft();
        for (int i = 0; i < flows; i++) {
            d.original(FlowKeys.PROTO, keys.src[i], FlowKeys.SERVER, keys.sport[i], 80)
                .reply(FlowKeys.SERVER, FlowKeys.GATEWAY, 80, 0).route(0, FlowKeys.SERVER, 1, keys.src[i]);
            d.replyDstIp = keys.missSrc[i] ^ 0x01000000; // unique reply tuples without a port allocator
            long h = table.insert(d, 0, null);
            if (h < 0) {
                throw new IllegalStateException("insert " + i + " failed: " + h);
            }
            map.put(new FlowKeys.Key(FlowKeys.PROTO, keys.src[i], FlowKeys.SERVER, keys.sport[i], 80), h);
        }
        // the map is asked with fresh key objects in lookup order (no identity shortcut, no insertion-order locality)
        for (int i = 0; i < flows; i++) {
            hitKeys[i] = new FlowKeys.Key(FlowKeys.PROTO, keys.lookupSrc[i], FlowKeys.SERVER, keys.lookupSport[i], 80);
            missKeys[i] = new FlowKeys.Key(FlowKeys.PROTO, keys.lookupMissSrc[i], FlowKeys.SERVER, keys.lookupSport[i],
                80);
        }
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        table.close();
    }

    private int nextIndex() {
        int k = next;
        next = k + 1 == flows ? 0 : k + 1;
        return k;
    }

    @Benchmark
    public long flowTableHit() {
        int k = nextIndex();
        return table.lookup(FlowKeys.PROTO, keys.lookupSrc[k], FlowKeys.SERVER, keys.lookupSport[k], 80, view);
    }

    @Benchmark
    public long flowTableMiss() {
        int k = nextIndex();
        return table.lookup(FlowKeys.PROTO, keys.lookupMissSrc[k], FlowKeys.SERVER, keys.lookupSport[k], 80, view);
    }

    static final int BATCH = 16;
    private final long[] hashes = new long[BATCH];
    private final int[] batchKeys = new int[BATCH];
    private long sink;

    /**
     * Hits looked up 16 at a time in the passes a worker uses for a block of frames (hash all, touch all buckets,
     * touch all records, look up), so that their cache misses overlap; the score is per lookup.
     */
    @Benchmark
    @OperationsPerInvocation(BATCH)
    public long flowTableHitBatched() {
        for (int i = 0; i < BATCH; i++) {
            int k = nextIndex();
            batchKeys[i] = k;
            hashes[i] = table.hashKey(FlowKeys.PROTO, keys.lookupSrc[k], FlowKeys.SERVER, keys.lookupSport[k], 80);
        }
        long s = 0;
        for (int i = 0; i < BATCH; i++) {
            s ^= table.touchBucket(hashes[i]);
        }
        for (int i = 0; i < BATCH; i++) {
            s ^= table.touchRecord(hashes[i]);
        }
        for (int i = 0; i < BATCH; i++) {
            int k = batchKeys[i];
            s ^= table.lookup(hashes[i], FlowKeys.PROTO, keys.lookupSrc[k], FlowKeys.SERVER, keys.lookupSport[k], 80, view);
        }
        sink = s;
        return s;
    }

    @Benchmark
    @OperationsPerInvocation(BATCH)
    public long flowTableMissBatched() {
        for (int i = 0; i < BATCH; i++) {
            int k = nextIndex();
            batchKeys[i] = k;
            hashes[i] = table.hashKey(FlowKeys.PROTO, keys.lookupMissSrc[k], FlowKeys.SERVER, keys.lookupSport[k], 80);
        }
        long s = 0;
        for (int i = 0; i < BATCH; i++) {
            s ^= table.touchBucket(hashes[i]);
        }
        for (int i = 0; i < BATCH; i++) {
            int k = batchKeys[i];
            s ^= table.lookup(hashes[i], FlowKeys.PROTO, keys.lookupMissSrc[k], FlowKeys.SERVER, keys.lookupSport[k], 80, view);
        }
        sink = s;
        return s;
    }

    @Benchmark
    public Long concurrentHashMapHit() {
        return map.get(hitKeys[nextIndex()]);
    }

    @Benchmark
    public Long concurrentHashMapMiss() {
        return map.get(missKeys[nextIndex()]);
    }
}
