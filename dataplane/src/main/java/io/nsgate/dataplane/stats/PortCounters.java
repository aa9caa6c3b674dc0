// One port's counters: written by the worker that owns the port (the kernel's by the control plane), read anywhere.
package io.nsgate.dataplane.stats;

/**
 * A {@link CounterBlock} with a slot per {@link PortCounter}. Every slot has one writer: the worker that owns the
 * port, except {@link PortCounter#RX_RING_DROPS} and {@link PortCounter#RX_RING_FREEZES}, which the kernel keeps and
 * the control plane copies in when it asks (a system call, never on a worker).
 */
public final class PortCounters {
    private final CounterBlock block = new CounterBlock(PortCounter.values().length);

    public void increment(PortCounter counter) {
        block.add(counter.ordinal(), 1);
    }

    public void add(PortCounter counter, long delta) {
        block.add(counter.ordinal(), delta);
    }

    public long get(PortCounter counter) {
        return block.get(counter.ordinal());
    }
}
