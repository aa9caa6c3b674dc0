// JMH: flow setup + teardown at a steady table size, FlowTable beside a ConcurrentHashMap.
package io.nsgate.bench.conntrack;

import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;

import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
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

/**
 * One operation = create a new connection (both keys published) and delete the oldest one, so the table stays at
 * {@code flows} live connections, and compacts one index bucket (the sweeper's share of the work in steady
 * state); flow setups per second per core = 1e9 / (ns/op). The map baseline does a put
 * and a remove of the same keys (and must allocate its key objects).
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Warmup(iterations = 3, time = 2)
@Measurement(iterations = 5, time = 2)
@Fork(value = 1, jvmArgsAppend = {JvmFlags.AGRONA_EXPORTS, JvmFlags.NO_BOUNDS_CHECKS, "-Xmx8g", "-XX:+UseParallelGC"})
public class FlowSetupBenchmark {
    @Param({"1000", "1000000"})
    int flows;

    private FlowTable table;
    private long[] ring;
    private int[] ringSrc;
    private ConcurrentHashMap<FlowKeys.Key, Long> map;
    private FlowKeys.Key[] mapRing;
    private final FlowDraft draft = new FlowDraft();
    private int position;
    private int nextSrc;
    private int compactCursor;

    @Setup(Level.Trial)
    public void setUp() {
        table = new FlowTable(flows + flows / 4 + 16, FlowTimeouts.DEFAULTS, 0);
        ring = new long[flows];
        ringSrc = new int[flows];
        map = new ConcurrentHashMap<>(flows * 2);
        mapRing = new FlowKeys.Key[flows];
        for (int i = 0; i < flows; i++) {
            ring[i] = insert(nextSrc++);
            mapRing[i] = new FlowKeys.Key(FlowKeys.PROTO, ringSrc[i] = nextSrc - 1, FlowKeys.SERVER, 40000, 80);
            map.put(mapRing[i], (long) i);
        }
    }

    private long insert(int src) {
        draft.original(FlowKeys.PROTO, src, FlowKeys.SERVER, 40000, 80)
            .reply(FlowKeys.SERVER, src ^ 0x40000000, 80, 40000).route(0, FlowKeys.SERVER, 1, src);
        long h = table.insert(draft, 0, null);
        if (h < 0) {
            throw new IllegalStateException("insert failed: " + h);
        }
        return h;
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        table.close();
    }

    @Benchmark
    public long flowTableSetupAndTeardown() {
        int p = position;
        position = p + 1 == flows ? 0 : p + 1;
        table.delete(ring[p]);
        long h = insert(nextSrc++);
        ring[p] = h;
        // the index compaction a worker's sweeper does in steady state: one bucket per setup
        table.compactIndex(compactCursor, compactCursor + 1);
        compactCursor = compactCursor + 1 == table.bucketCount() ? 0 : compactCursor + 1;
        return h;
    }

    @Benchmark
    public Long concurrentHashMapSetupAndTeardown() {
        int p = position;
        position = p + 1 == flows ? 0 : p + 1;
        map.remove(mapRing[p]);
        FlowKeys.Key k = new FlowKeys.Key(FlowKeys.PROTO, nextSrc++, FlowKeys.SERVER, 40000, 80);
        mapRing[p] = k;
        return map.put(k, (long) p);
    }
}
