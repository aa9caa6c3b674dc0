// Counters with one writer each, read from any thread: the storage of every counter the data plane keeps.
package io.nsgate.dataplane.stats;

import org.agrona.concurrent.UnsafeBuffer;

/**
 * {@code n} longs padded with a cache line on both sides, so that two blocks (two workers', a worker's and its
 * ports') never share a line. Each slot has a single writer, which adds with a plain read and a release store (no
 * atomic read-modify-write on the hot path); any thread reads with a volatile load and sees whole values in order.
 * The longs live in a heap array (8-byte aligned, so each access is one), read and written through an
 * {@link UnsafeBuffer}: nothing to free, so a late reader (a metrics scrape during shutdown) reads a stale count,
 * never freed memory, and no access allocates or goes through a method handle.
 *
 * <pre>
 * [ padding 64 | slot[0] .. slot[n-1] | padding 64 ]   bytes; slots are 8-byte longs
 * </pre>
 */
public final class CounterBlock {
    private static final int PAD = 64;

    private final UnsafeBuffer buffer;

    public CounterBlock(int slots) {
        this.buffer = new UnsafeBuffer(new byte[PAD + slots * 8 + PAD]);
    }

    /** Adds {@code delta} to slot {@code slot}; only from the slot's one writer thread. */
    public void add(int slot, long delta) {
        final int offset = PAD + slot * 8;
        // single writer: the plain sum cannot race; the release store lets readers see whole values in order
        buffer.putLongRelease(offset, buffer.getLong(offset) + delta);
    }

    /** The slot's value, from any thread. */
    public long get(int slot) {
        return buffer.getLongVolatile(PAD + slot * 8);
    }
}
