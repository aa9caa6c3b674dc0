// One data plane per interface and network namespace: a lock the kernel releases when its holder dies.
package io.nsgate.dataplane.io;

import io.nsgate.linux.sys.AbstractSocketLock;
import io.nsgate.linux.sys.Syscalls;

/**
 * Two data planes on one interface would both forward every frame (every SYN reaches the backend twice). The lock is
 * the {@link AbstractSocketLock} {@code nsgate-dataplane/IFNAME}, taken by a thread inside the interface's namespace:
 * the same interface name in another namespace is another lock, and a crashed or killed holder leaves nothing behind
 * (no file, no pid to check). Acquire it inside the namespace, before changing anything.
 */
public final class InterfaceLock implements AutoCloseable {
    private final String interfaceName;
    private final AbstractSocketLock lock;

    private InterfaceLock(String interfaceName, AbstractSocketLock lock) {
        this.interfaceName = interfaceName;
        this.lock = lock;
    }

    /**
     * Takes the lock of {@code interfaceName} in the calling thread's network namespace.
     *
     * @throws IllegalStateException when another process holds it
     */
    public static InterfaceLock acquire(String interfaceName) {
        Syscalls.checkInterfaceName(interfaceName);
        AbstractSocketLock lock = AbstractSocketLock.tryAcquire("nsgate-dataplane/" + interfaceName);
        if (lock == null) {
            throw new IllegalStateException("another nsgate data plane already serves " + interfaceName
                + " in this network namespace: stop it first (two would forward every frame twice)");
        }
        return new InterfaceLock(interfaceName, lock);
    }

    public String interfaceName() {
        return interfaceName;
    }

    /** Releases the lock (idempotent). */
    @Override
    public void close() {
        lock.close();
    }
}
