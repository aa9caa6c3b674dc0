// Walks every live flow of a FlowTable, one lock-free copy at a time: how the control plane lists, counts, flushes.
package io.nsgate.dataplane.conntrack;

/**
 * A pass over the table's records in flow id order: {@link #next()} moves to the next live record and copies it into
 * {@link #flow()} with a seqlock read ({@link FlowTable#snapshot}), so workers never wait for a scan, whatever its
 * pace. Records created or freed during the pass may or may not be seen, as in any scan of a live table; each copy
 * is consistent. Not thread-safe: one cursor per scanning thread.
 *
 * <pre>
 *   for (FlowCursor c = table.cursor(); c.next(); ) {
 *       FlowSnapshot f = c.flow();
 *       ...
 *   }
 * </pre>
 */
public final class FlowCursor {
    private final FlowTable table;
    private final FlowSnapshot flow = new FlowSnapshot();
    private int nextId;

    FlowCursor(FlowTable table) {
        this.table = table;
    }

    /** Moves to the next live flow; false once every record was visited. */
    public boolean next() {
        while (nextId < table.capacity()) {
            if (table.snapshot(nextId++, flow)) {
                return true;
            }
        }
        return false;
    }

    /** The current flow's copy; overwritten by the next {@link #next()}. */
    public FlowSnapshot flow() {
        return flow;
    }
}
