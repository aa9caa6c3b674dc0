// What an idle worker does: a few spins, then block in poll() on its sockets for a few milliseconds.
package io.nsgate.dataplane.pipeline;

import org.agrona.concurrent.IdleStrategy;

/**
 * On a two-core machine a worker that spins while idle steals the CPU the other worker or the kernel needs, so
 * after a short spin (traffic often comes back within microseconds) it blocks in poll() until a frame arrives or
 * the timeout passes (then the duty cycle runs expiry and retries held frames). With traffic flowing, no system call
 * is made here at all.
 */
public final class PollingIdleStrategy implements IdleStrategy {
    /** Blocks until a socket is readable or the timeout passes. */
    @FunctionalInterface
    public interface Waiter {
        void await(int timeoutMs);
    }

    static final int SPINS = 64;
    /**
     * After the {@link #SPINS} spins, how long an idle worker keeps polling its rings before it blocks:
     * {@code -Dnsgate.idleSpinMicros} (0 by default: measured in bench/run e2e, see the README).
     */
    static final long SPIN_NS = Long.getLong("nsgate.idleSpinMicros", 0) * 1000L;
    /** Upper bound on how late expiry and ARP retries run when nothing arrives. */
    public static final int POLL_TIMEOUT_MS = 10;

    private final Waiter waiter;
    private int spins;
    private long idleSinceNs;

    public PollingIdleStrategy(Waiter waiter) {
        this.waiter = waiter;
    }

    @Override
    public void idle(int workCount) {
        if (workCount > 0) {
            spins = 0;
        } else {
            idle();
        }
    }

    @Override
    public void idle() {
        if (spins < SPINS) {
            if (spins++ == 0 && SPIN_NS > 0) {
                idleSinceNs = System.nanoTime();
            }
            Thread.onSpinWait();
        } else if (SPIN_NS > 0 && System.nanoTime() - idleSinceNs < SPIN_NS) {
            Thread.onSpinWait();
        } else {
            waiter.await(POLL_TIMEOUT_MS);
        }
    }

    @Override
    public void reset() {
        spins = 0;
    }

    @Override
    public String alias() {
        return "poll";
    }
}
