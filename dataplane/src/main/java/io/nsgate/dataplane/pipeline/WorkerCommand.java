// A change the control plane asks a worker to make between two batches, so traffic never stops for it.
package io.nsgate.dataplane.pipeline;

import java.util.concurrent.CountDownLatch;

/**
 * Commands travel through each worker's queue: the control plane never writes a worker's state directly. A command
 * is applied on the worker's thread between batches, then {@link #done()} is counted down so the sender can wait
 * until every worker applied it.
 */
public abstract class WorkerCommand {
    private final CountDownLatch done;

    protected WorkerCommand(CountDownLatch done) {
        this.done = done;
    }

    /** Runs on the worker's thread. */
    protected abstract void apply(Worker worker);

    final void run(Worker worker) {
        try {
            apply(worker);
        } finally {
            done.countDown();
        }
    }

    CountDownLatch done() {
        return done;
    }
}
