// A lock that lives in a network namespace and dies with its holder: a bound abstract Unix socket name.
package io.nsgate.linux.sys;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;

/**
 * An abstract Unix socket name (a NUL byte, then the name: no file) bound by the holder. Abstract names belong to the
 * network namespace of the thread that binds them, so the same name in another namespace is another lock; the kernel
 * frees the name when the socket closes, so a process that crashes or is killed leaves nothing behind to clean up.
 */
public final class AbstractSocketLock implements AutoCloseable {
    private static final int SOCKADDR_UN_PATH = 2;
    /** sun_path is 108 bytes; the leading NUL takes one. */
    public static final int MAX_NAME_BYTES = 107;

    private final String name;
    private int fd;

    private AbstractSocketLock(String name, int fd) {
        this.name = name;
        this.fd = fd;
    }

    /** Takes {@code name} in the calling thread's network namespace; null when another socket holds it. */
    public static AbstractSocketLock tryAcquire(String name) {
        byte[] bytes = name.getBytes(StandardCharsets.UTF_8);
        if (bytes.length == 0 || bytes.length > MAX_NAME_BYTES) {
            throw new IllegalArgumentException("lock name \"" + name + "\": 1.." + MAX_NAME_BYTES + " bytes");
        }
        final String subject = "the lock " + name;
        final int fd = Syscalls.socket(Linux.AF_UNIX, Linux.SOCK_STREAM | Linux.SOCK_CLOEXEC, 0, subject);
        ByteBuffer address = ByteBuffer.allocateDirect(SOCKADDR_UN_PATH + 1 + bytes.length)
            .order(ByteOrder.nativeOrder());
        address.putShort(0, (short) Linux.AF_UNIX);
        address.put(SOCKADDR_UN_PATH, (byte) 0);
        address.put(SOCKADDR_UN_PATH + 1, bytes);
        try {
            Syscalls.bind(fd, address, subject);
            return new AbstractSocketLock(name, fd);
        } catch (SyscallException e) {
            Syscalls.closeQuietly(fd);
            if (e.errno() == Errno.EADDRINUSE) {
                return null;
            }
            throw e;
        }
    }

    public String name() {
        return name;
    }

    /** Releases the name (idempotent). */
    @Override
    public synchronized void close() {
        if (fd >= 0) {
            Syscalls.closeQuietly(fd);
            fd = -1;
        }
    }
}
