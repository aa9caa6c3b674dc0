// A dedicated platform thread that lives inside one network namespace and runs the tasks handed to it.
package io.nsgate.control.netns;

import java.util.concurrent.BlockingQueue;
import java.util.concurrent.Callable;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.FutureTask;
import java.util.concurrent.LinkedBlockingQueue;

/**
 * unshare(2) and setns(2) move only the calling thread, so code that must run inside a namespace runs here: the
 * thread enters the namespace once, first thing ({@code entry}), and then serves tasks until closed. It is never
 * a pooled thread and never leaves its namespace; when it ends, the kernel drops its reference to the namespace.
 */
final class NamespaceThread implements AutoCloseable {
    private static final FutureTask<Object> STOP = new FutureTask<>(() -> null);

    private final BlockingQueue<FutureTask<?>> tasks = new LinkedBlockingQueue<>();
    private final Thread thread;
    private final CompletableFuture<Void> entered = new CompletableFuture<>();

    /**
     * Starts the thread and waits until {@code entry} (which moves it into the namespace) has run.
     *
     * @throws RuntimeException whatever {@code entry} threw; the thread has ended then
     */
    NamespaceThread(String name, Runnable entry) {
        thread = new Thread(() -> {
            try {
                entry.run();
            } catch (Throwable t) {
                entered.completeExceptionally(t);
                return;
            }
            entered.complete(null);
            serve();
        }, name);
        thread.setDaemon(true);
        thread.start();
        try {
            entered.get();
        } catch (ExecutionException e) {
            Throwable cause = e.getCause();
            if (cause instanceof RuntimeException) {
                throw (RuntimeException) cause;
            }
            if (cause instanceof Error) {
                throw (Error) cause;
            }
            throw new IllegalStateException(cause);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            close();
            throw new IllegalStateException("interrupted while " + name + " entered its namespace", e);
        }
    }

    private void serve() {
        while (true) {
            FutureTask<?> task;
            try {
                task = tasks.take();
            } catch (InterruptedException e) {
                return;
            }
            if (task == STOP) {
                return;
            }
            task.run();
        }
    }

    /** Runs {@code task} on this thread and returns its result; exceptions come back unwrapped when unchecked. */
    <T> T call(Callable<T> task) throws Exception {
        if (Thread.currentThread() == thread) {
            return task.call();
        }
        if (!thread.isAlive()) {
            throw new IllegalStateException(thread.getName() + " has ended");
        }
        FutureTask<T> f = new FutureTask<>(task);
        tasks.add(f);
        try {
            return f.get();
        } catch (ExecutionException e) {
            Throwable cause = e.getCause();
            if (cause instanceof Exception) {
                throw (Exception) cause;
            }
            throw (Error) cause;
        }
    }

    boolean isCurrent() {
        return Thread.currentThread() == thread;
    }

    @Override
    public void close() {
        if (thread.isAlive()) {
            tasks.add(STOP);
            if (Thread.currentThread() != thread) {
                try {
                    thread.join(10_000);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            }
        }
    }
}
