// A dedicated thread that lives in one named network namespace and runs the tasks given to it there.
package io.nsgate.testkit;

import java.util.concurrent.BlockingQueue;
import java.util.concurrent.Callable;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.FutureTask;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

import io.nsgate.linux.sys.Linux;
import io.nsgate.linux.sys.Syscalls;

/**
 * setns(2) acts on the calling thread only, so code that must run "in namespace X" (open a socket there, resolve an
 * interface name there) gets one of these: a single thread, created for the purpose, whose first task joins
 * {@code /run/netns/NAME}; only then does it run the tasks given to {@link #call}, one after the other. Never a
 * pooled thread, and never replaced: if a task fails, the same thread runs the next one. {@link #close} ends it.
 */
public final class NetnsThread implements AutoCloseable {
    private static final long TASK_TIMEOUT_SECONDS = 60;
    private static final Runnable STOP = () -> { };

    private final String namespace;
    private final BlockingQueue<Runnable> tasks = new LinkedBlockingQueue<>();
    private final Thread thread;

    private NetnsThread(String namespace) {
        this.namespace = namespace;
        this.thread = new Thread(this::serve, "netns-" + namespace);
        thread.setDaemon(true);
        thread.start();
    }

    /** Starts a thread inside namespace {@code name} (which must exist under /run/netns). */
    public static NetnsThread enter(String name) {
        NetnsThread t = new NetnsThread(name);
        try {
            t.call(() -> {
                String path = "/run/netns/" + name;
                int fd = Syscalls.open(path, Linux.O_RDONLY | Linux.O_CLOEXEC, 0);
                try {
                    Syscalls.setns(fd, Linux.CLONE_NEWNET, name);
                } finally {
                    Syscalls.close(fd, path);
                }
                return null;
            });
        } catch (RuntimeException | Error e) {
            t.close(); // never hand out a thread that is not inside the namespace
            throw e;
        }
        return t;
    }

    private void serve() {
        while (true) {
            Runnable task;
            try {
                task = tasks.take();
            } catch (InterruptedException e) {
                continue; // only STOP ends the thread
            }
            if (task == STOP) {
                return;
            }
            task.run();
            Thread.interrupted(); // a cancelled task's interrupt must not reach the next one
        }
    }

    /** Runs {@code task} on this namespace's thread and returns its result (at most 60 s). */
    public <T> T call(Callable<T> task) {
        FutureTask<T> future = new FutureTask<>(task);
        tasks.add(future);
        try {
            return future.get(TASK_TIMEOUT_SECONDS, TimeUnit.SECONDS);
        } catch (ExecutionException e) {
            Throwable cause = e.getCause();
            if (cause instanceof RuntimeException r) {
                throw r;
            }
            if (cause instanceof Error err) {
                throw err;
            }
            throw new IllegalStateException("task in namespace " + namespace + " failed: " + cause, cause);
        } catch (TimeoutException e) {
            future.cancel(true);
            throw new IllegalStateException("task in namespace " + namespace + " did not finish in "
                + TASK_TIMEOUT_SECONDS + " s", e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted waiting for a task in namespace " + namespace, e);
        }
    }

    /** The namespace this thread lives in. */
    public String namespace() {
        return namespace;
    }

    /** Ends the thread once the tasks already given to it are done (waits up to 5 s). */
    @Override
    public void close() {
        tasks.add(STOP);
        try {
            thread.join(5000);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
