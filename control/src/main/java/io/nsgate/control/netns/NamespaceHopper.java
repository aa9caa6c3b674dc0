// The one dedicated thread that enters network namespaces on request, runs a short task there, and comes home.
package io.nsgate.control.netns;

import java.util.concurrent.BlockingQueue;
import java.util.concurrent.Callable;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.LinkedBlockingQueue;

import io.nsgate.linux.sys.Linux;
import io.nsgate.linux.sys.SyscallException;
import io.nsgate.linux.sys.Syscalls;

/**
 * setns(2) and unshare(2) move only the calling thread, so namespace work is funnelled through this thread, which
 * exists for nothing else (never a pooled thread). It remembers its home namespace (a descriptor of
 * {@code /proc/thread-self/ns/net} taken when it starts); each task runs between {@code setns(target)} and
 * {@code setns(home)}, like iproute2's netns_switch/netns_restore, in a {@code finally}. Should going home ever
 * fail, the thread retires (a new one starts on the next request), so a task never runs in a namespace it did not
 * ask for. A task that itself asks for another namespace (nested) runs inline and returns to the outer one.
 *
 * <p>Tasks must be short and must not change other namespaces of the thread (mount, user ...); long-running work
 * uses what a task opened (sockets keep their namespace) from a thread of its own. Hopping costs two setns calls
 * (microseconds), far less than starting a thread per namespace, which is what makes building fifty namespaces quick.
 */
final class NamespaceHopper {
    private static final Object LOCK = new Object();
    private static NamespaceHopper current;

    private final BlockingQueue<Runnable> tasks = new LinkedBlockingQueue<>();
    private final Thread thread;
    private final int homeFd;
    /** Descriptor of the namespace the hopper is in now (homeFd when at home); only touched by the thread. */
    private int hereFd;
    private volatile boolean retired;

    private NamespaceHopper() {
        CompletableFuture<Integer> home = new CompletableFuture<>();
        thread = new Thread(() -> {
            try {
                home.complete(Syscalls.open("/proc/thread-self/ns/net", Linux.O_RDONLY | Linux.O_CLOEXEC, 0));
            } catch (Throwable t) {
                home.completeExceptionally(t);
                return;
            }
            serve();
        }, "nsgate-netns-hopper");
        thread.setDaemon(true);
        thread.start();
        try {
            homeFd = home.get();
        } catch (ExecutionException e) {
            throw new NetNsException("cannot start the namespace thread: " + e.getCause().getMessage(), e.getCause());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new NetNsException("interrupted while starting the namespace thread");
        }
        hereFd = homeFd;
    }

    /** The live hopper, started (again) when needed. */
    static NamespaceHopper get() {
        synchronized (LOCK) {
            if (current == null || current.retired) {
                current = new NamespaceHopper();
            }
            return current;
        }
    }

    private void serve() {
        while (!retired) {
            try {
                tasks.take().run();
            } catch (InterruptedException e) {
                // a daemon thread: keep serving; interrupts are not used to stop it
            }
        }
        Syscalls.closeQuietly(homeFd);
    }

    /**
     * Runs {@code task} inside the namespace {@code nsFd} refers to ({@code label} names it in errors) and returns
     * its result; unchecked exceptions and checked ones come back as they were thrown.
     */
    <T> T call(int nsFd, String label, Callable<T> task) throws Exception {
        if (Thread.currentThread() == thread) {
            return hop(nsFd, label, task);
        }
        CompletableFuture<T> result = new CompletableFuture<>();
        tasks.add(() -> {
            try {
                result.complete(hop(nsFd, label, task));
            } catch (Throwable t) {
                result.completeExceptionally(t);
            }
        });
        return await(result);
    }

    /**
     * Runs one task in each of several namespaces in a single trip (setns A, task, setns B, task, ..., home):
     * half the setns calls and one thread handoff instead of one per namespace. Stops at the first failure.
     */
    <T> java.util.List<T> callEach(int[] nsFds, String[] labels, java.util.function.IntFunction<Callable<T>> tasks)
        throws Exception {
        if (Thread.currentThread() == thread) {
            throw new IllegalStateException("callEach from inside a namespace task");
        }
        CompletableFuture<java.util.List<T>> result = new CompletableFuture<>();
        this.tasks.add(() -> {
            java.util.List<T> out = new java.util.ArrayList<>(nsFds.length);
            try {
                try {
                    for (int i = 0; i < nsFds.length; i++) {
                        Syscalls.setns(nsFds[i], Linux.CLONE_NEWNET, labels[i]);
                        hereFd = nsFds[i];
                        out.add(tasks.apply(i).call());
                    }
                } finally {
                    if (hereFd != homeFd) {
                        goHome(labels.length == 0 ? "a tour" : labels[labels.length - 1]);
                    }
                }
                result.complete(out);
            } catch (Throwable t) {
                result.completeExceptionally(t);
            }
        });
        return await(result);
    }

    /**
     * Runs {@code task} in a brand-new network namespace (unshare) and returns home afterwards; the task sees the
     * new namespace as the thread's own ({@code /proc/thread-self/ns/net}), so it can bind-mount it.
     */
    <T> T callInNewNamespace(String label, Callable<T> task) throws Exception {
        if (Thread.currentThread() == thread) {
            throw new IllegalStateException("cannot create a namespace from inside a namespace task");
        }
        CompletableFuture<T> result = new CompletableFuture<>();
        tasks.add(() -> {
            try {
                Syscalls.unshare(Linux.CLONE_NEWNET, label);
                hereFd = -1; // somewhere new, with no descriptor of it yet
                try {
                    result.complete(task.call());
                } finally {
                    goHome(label);
                }
            } catch (Throwable t) {
                result.completeExceptionally(t);
            }
        });
        return await(result);
    }

    private <T> T hop(int nsFd, String label, Callable<T> task) throws Exception {
        int from = hereFd;
        Syscalls.setns(nsFd, Linux.CLONE_NEWNET, label);
        hereFd = nsFd;
        try {
            return task.call();
        } finally {
            if (from == homeFd) {
                goHome(label);
            } else {
                try {
                    Syscalls.setns(from, Linux.CLONE_NEWNET, "back from " + label);
                    hereFd = from;
                } catch (SyscallException e) {
                    goHome(label);
                }
            }
        }
    }

    private void goHome(String label) {
        try {
            Syscalls.setns(homeFd, Linux.CLONE_NEWNET, "home after " + label);
            hereFd = homeFd;
        } catch (SyscallException e) {
            retired = true; // never run another task in the wrong namespace
            throw new NetNsException("the namespace thread could not return home after " + label + ": "
                + e.getMessage(), e);
        }
    }

    private static <T> T await(CompletableFuture<T> result) throws Exception {
        try {
            return result.get();
        } catch (ExecutionException e) {
            Throwable cause = e.getCause();
            if (cause instanceof Exception) {
                throw (Exception) cause;
            }
            throw (Error) cause;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw e;
        }
    }
}
