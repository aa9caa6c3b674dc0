// One worker's share of flow expiry: a bounded slice of its partition of the table on every duty cycle.
package io.nsgate.dataplane.conntrack;

/**
 * Expiry without a stop-the-world scan. Each worker owns a partition of the record array and, on every duty
 * cycle, sweeps a slice of it sized so that the whole partition is visited about once per
 * {@code sweepPeriodNs}, but never more than {@code maxPerCall} records at once: a million flows timing out
 * together are reclaimed over a few seconds of small slices, never in one pause. A flow is therefore reclaimed
 * between its timeout and its timeout plus about one sweep period (longer only if the cap binds).
 *
 * <p>The same duty cycle compacts the worker's share of the index ({@link FlowTable#compactIndex}) at the same
 * pace, so that tombstones left by deleted flows become EMPTY slots again and probes stay short under churn.
 *
 * <p>Not thread-safe: one sweeper per worker, called from that worker's thread.
 */
public final class ExpirySweeper {
    /**
     * Default: visit every record about every five seconds. A flow is reclaimed within about that much of its
     * timeout (the shortest default is 10 s), and a million-flow table costs each worker about 100 thousand record
     * reads a second instead of half a million (measured: at one pass a second, sweep and compaction were most
     * of the workers' Java time under load).
     */
    public static final long DEFAULT_PERIOD_NS = 5_000_000_000L;
    /** Default cap on records looked at per call (about 50-100 us of work). */
    public static final int DEFAULT_MAX_PER_CALL = 4096;

    private final FlowTable table;
    private final int from;
    private final int to;
    private final int fromBucket;
    private final int toBucket;
    private final long periodNs;
    private final int maxPerCall;
    private int cursor;
    private int bucketCursor;
    private long lastNs = Long.MIN_VALUE;
    private double credit;
    private double bucketCredit;

    /** Sweeps records {@code [from, to)} of {@code table}. */
    public ExpirySweeper(FlowTable table, int from, int to, long periodNs, int maxPerCall) {
        if (from < 0 || to > table.capacity() || from >= to || periodNs <= 0 || maxPerCall <= 0) {
            throw new IllegalArgumentException("expiry partition [" + from + ", " + to + ") of " + table.capacity()
                + ", period " + periodNs + " ns, cap " + maxPerCall);
        }
        this.table = table;
        this.from = from;
        this.to = to;
        this.periodNs = periodNs;
        this.maxPerCall = maxPerCall;
        this.cursor = from;
        // the same share of the index as of the records
        this.fromBucket = (int) ((long) table.bucketCount() * from / table.capacity());
        this.toBucket = (int) ((long) table.bucketCount() * to / table.capacity());
        this.bucketCursor = fromBucket;
    }

    /** Worker {@code index} of {@code count}'s partition with the default period and cap. */
    public static ExpirySweeper forWorker(FlowTable table, int index, int count) {
        int size = table.capacity();
        int from = (int) ((long) size * index / count);
        int to = (int) ((long) size * (index + 1) / count);
        return new ExpirySweeper(table, from, to, DEFAULT_PERIOD_NS, DEFAULT_MAX_PER_CALL);
    }

    /**
     * Sweeps the slice that is due at {@code nowNs}.
     *
     * @return flows expired by this call
     */
    public int sweep(long nowNs) {
        if (lastNs == Long.MIN_VALUE) {
            lastNs = nowNs;
            return 0;
        }
        final long elapsed = Math.max(0, nowNs - lastNs);
        lastNs = nowNs;
        compact(elapsed);
        credit = Math.min(maxPerCall, credit + (double) (to - from) * elapsed / periodNs);
        int budget = (int) credit;
        if (budget <= 0) {
            return 0;
        }
        credit -= budget;
        int expired = 0;
        while (budget > 0) {
            final int end = Math.min(to, cursor + budget);
            expired += table.expire(cursor, end, nowNs);
            budget -= end - cursor;
            cursor = end == to ? from : end;
        }
        return expired;
    }

    private void compact(long elapsedNs) {
        if (toBucket <= fromBucket) {
            return;
        }
        bucketCredit = Math.min(maxPerCall / 8.0, bucketCredit + (double) (toBucket - fromBucket) * elapsedNs / periodNs);
        int budget = (int) bucketCredit;
        bucketCredit -= budget;
        while (budget > 0) {
            final int end = Math.min(toBucket, bucketCursor + budget);
            table.compactIndex(bucketCursor, end);
            budget -= end - bucketCursor;
            bucketCursor = end == toBucket ? fromBucket : end;
        }
    }

    /** Records this sweeper is responsible for. */
    public int partitionSize() {
        return to - from;
    }
}
