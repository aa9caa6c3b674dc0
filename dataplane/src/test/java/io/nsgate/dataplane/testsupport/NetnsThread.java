// A dedicated thread that lives in one named network namespace and runs the tasks given to it there.
package io.nsgate.dataplane.testsupport;

import java.util.concurrent.Callable;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

import io.nsgate.linux.sys.Linux;
import io.nsgate.linux.sys.Syscalls;

/**
 * setns(2) acts on the calling thread only, so a test that needs "a thread in namespace X" gets one of these: a
 * single thread, created for the purpose, that joins {@code /run/netns/NAME} before anything else and then runs
 * {@link #call} tasks there. Sockets it creates stay in that namespace; interface names and indexes resolve there.
 * Never a pooled thread: {@link #close()} ends it.
 */
public final class NetnsThread implements AutoCloseable {
    private final String namespace;
    private final ExecutorService executor;

    private NetnsThread(String namespace) {
        this.namespace = namespace;
        this.executor = Executors.newSingleThreadExecutor(task -> {
            Thread t = new Thread(task, "netns-" + namespace);
            t.setDaemon(true);
            return t;
        });
    }

    /** Starts a thread inside namespace {@code name} (which must exist under /run/netns). */
    public static NetnsThread enter(String name) {
        NetnsThread thread = new NetnsThread(name);
        try {
            thread.call(() -> {
                int fd = Syscalls.open("/run/netns/" + name, Linux.O_RDONLY | Linux.O_CLOEXEC, 0);
                try {
                    Syscalls.setns(fd, Linux.CLONE_NEWNET, name);
                } finally {
                    Syscalls.closeQuietly(fd);
                }
                return null;
            });
        } catch (RuntimeException | Error e) {
            thread.close();
            throw e;
        }
        return thread;
    }

    /** Runs {@code task} on this namespace's thread and returns its result (at most 30 s). */
    public <T> T call(Callable<T> task) {
        Future<T> future = executor.submit(task);
        try {
            return future.get(30, TimeUnit.SECONDS);
        } catch (ExecutionException e) {
            Throwable cause = e.getCause();
            if (cause instanceof RuntimeException re) {
                throw re;
            }
            if (cause instanceof Error err) {
                throw err;
            }
            throw new AssertionError("task in " + namespace + " failed: " + cause, cause);
        } catch (TimeoutException e) {
            future.cancel(true);
            throw new AssertionError("task in " + namespace + " did not finish in 30 s", e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new AssertionError("interrupted waiting for a task in " + namespace, e);
        }
    }

    public String namespace() {
        return namespace;
    }

    @Override
    public void close() {
        executor.shutdownNow();
        try {
            executor.awaitTermination(10, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
