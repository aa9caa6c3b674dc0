// Waiting for SIGTERM or SIGINT so a long-running command can stop cleanly and exit 0.
package io.nsgate.control.cli;

import java.util.concurrent.CountDownLatch;

import sun.misc.Signal;

/**
 * A JVM that dies of SIGTERM exits with 143 even when its shutdown hooks ran, and halts as soon as they return. So
 * `nsgate run` and `nsgate lab` handle TERM and INT themselves: the signal releases {@link #await()}, the main thread
 * tears down in order and the command returns 0. A shutdown hook still runs the same teardown if the JVM is stopped
 * any other way (it is idempotent).
 */
final class ShutdownSignals {
    private final CountDownLatch signalled = new CountDownLatch(1);

    ShutdownSignals(Runnable teardownIfExitingOtherwise) {
        for (String name : new String[] {"TERM", "INT"}) {
            try {
                Signal.handle(new Signal(name), s -> signalled.countDown());
            } catch (IllegalArgumentException e) {
                // the signal is ignored by our parent (a background job): the shutdown hook still covers it
            }
        }
        Runtime.getRuntime().addShutdownHook(new Thread(teardownIfExitingOtherwise, "nsgate-shutdown"));
    }

    /** Blocks until SIGTERM or SIGINT. */
    void await() {
        try {
            signalled.await();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
