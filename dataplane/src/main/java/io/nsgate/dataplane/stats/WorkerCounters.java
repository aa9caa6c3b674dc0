// One worker's counters: drops per reason and every other Counter, single-writer, readable from any thread.
package io.nsgate.dataplane.stats;

import org.agrona.UnsafeApi;
import org.agrona.concurrent.UnsafeBuffer;

/**
 * Off-heap longs, one per {@link DropReason} id and one per {@link Counter}, written only by the owning worker
 * (plain read, add, release store: no atomic instruction on the hot path) and read by the control plane with
 * volatile loads. Each worker's block is separate and cache-line padded, so workers never share a line.
 *
 * <pre>
 * [ padding 64 | drop[0..MAX_ID] | counter[0..n) | padding 64 ]   all 8-byte slots
 * </pre>
 */
public final class WorkerCounters implements AutoCloseable {
    private static final int PAD = 64;
    private static final int DROP_BASE = PAD;
    private static final int COUNTER_BASE = DROP_BASE + (DropReason.MAX_ID + 1) * 8;
    private static final int SIZE = COUNTER_BASE + Counter.values().length * 8 + PAD;

    private final long address;
    private final UnsafeBuffer buffer;
    private boolean closed;

    public WorkerCounters() {
        address = UnsafeApi.allocateMemory(SIZE + 64L);
        buffer = new UnsafeBuffer((address + 63) & ~63L, SIZE);
        buffer.setMemory(0, SIZE, (byte) 0);
    }

    /** Counts a drop; {@code reasonId} is a {@link DropReason#id}. The frame total DROPPED moves too. */
    public void drop(int reasonId) {
        bump(DROP_BASE + reasonId * 8, 1);
        bump(COUNTER_BASE + Counter.DROPPED.ordinal() * 8, 1);
    }

    public void drop(DropReason reason) {
        drop(reason.id);
    }

    public void increment(Counter counter) {
        bump(COUNTER_BASE + counter.ordinal() * 8, 1);
    }

    public void add(Counter counter, long delta) {
        bump(COUNTER_BASE + counter.ordinal() * 8, delta);
    }

    private void bump(int offset, long delta) {
        // single writer: release store so readers on other threads see whole values in order
        buffer.putLongRelease(offset, buffer.getLong(offset) + delta);
    }

    public long get(DropReason reason) {
        return buffer.getLongVolatile(DROP_BASE + reason.id * 8);
    }

    public long get(Counter counter) {
        return buffer.getLongVolatile(COUNTER_BASE + counter.ordinal() * 8);
    }

    @Override
    public void close() {
        if (!closed) {
            closed = true;
            UnsafeApi.freeMemory(address);
        }
    }
}
