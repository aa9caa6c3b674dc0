// One worker's counters: drops per reason and every other Counter, single-writer, readable from any thread.
package io.nsgate.dataplane.stats;

/**
 * A {@link CounterBlock} with a slot per {@link DropReason} id and one per {@link Counter}, written only by the
 * owning worker (no atomic instruction on the hot path) and read by the control plane. Each worker's block is its
 * own, cache-line padded, so workers never share a line.
 *
 * <pre>
 * [ drop[0..MAX_ID] | counter[0..n) ]
 * </pre>
 */
public final class WorkerCounters {
    private static final int COUNTER_BASE = DropReason.MAX_ID + 1;
    private static final int DROPPED = COUNTER_BASE + Counter.DROPPED.ordinal();

    private final CounterBlock block = new CounterBlock(COUNTER_BASE + Counter.values().length);

    /** Counts a drop; {@code reasonId} is a {@link DropReason#id}. The frame total DROPPED moves too. */
    public void drop(int reasonId) {
        block.add(reasonId, 1);
        block.add(DROPPED, 1);
    }

    public void drop(DropReason reason) {
        drop(reason.id);
    }

    public void increment(Counter counter) {
        block.add(COUNTER_BASE + counter.ordinal(), 1);
    }

    public void add(Counter counter, long delta) {
        block.add(COUNTER_BASE + counter.ordinal(), delta);
    }

    public long get(DropReason reason) {
        return block.get(reason.id);
    }

    public long get(Counter counter) {
        return block.get(COUNTER_BASE + counter.ordinal());
    }
}
