// A file mapped MAP_SHARED and locked, so that what one process writes into it the next one maps again.
package io.nsgate.linux.sys;

import java.nio.file.Path;

/**
 * A file of a fixed size mapped shared (what the process writes is the file's page cache, so it survives the
 * process, not a reboot when the file lives on tmpfs) and held under an exclusive {@code flock}, so that two
 * processes never map it at once. The lock goes with the descriptor: a process that dies releases it.
 *
 * <p>Opening grows or shrinks the file to the size asked for; new bytes read as zeros. The caller decides from its
 * own header whether the bytes it finds are worth keeping.
 */
public final class SharedMemoryFile implements AutoCloseable {
    private final Path path;
    private final int fd;
    private final long address;
    private final long length;
    private final boolean existed;
    private final long sizeFound;
    private boolean closed;

    private SharedMemoryFile(Path path, int fd, long address, long length, boolean existed, long sizeFound) {
        this.path = path;
        this.fd = fd;
        this.address = address;
        this.length = length;
        this.existed = existed;
        this.sizeFound = sizeFound;
    }

    /** The file's size before this open made it {@link #length()} (0 for a new file). */
    public long sizeFound() {
        return sizeFound;
    }

    /**
     * Opens (or creates, mode 0600) {@code path}, locks it, sizes it to {@code length} bytes and maps it.
     *
     * @throws IllegalStateException when another process holds the file
     * @throws SyscallException      naming the call that failed
     */
    public static SharedMemoryFile open(Path path, long length) {
        if (length <= 0 || length % 4096 != 0) {
            throw new IllegalArgumentException(path + ": size " + length + " is not a positive multiple of 4096");
        }
        String name = path.toString();
        boolean existed = java.nio.file.Files.exists(path, java.nio.file.LinkOption.NOFOLLOW_LINKS); // lstat
        int fd = Syscalls.open(name, Linux.O_RDWR | Linux.O_CREAT | Linux.O_CLOEXEC, 0600);
        try {
            if (!Syscalls.tryLockExclusive(fd, name)) {
                throw new IllegalStateException(name + " is in use by another process (an nsgate still running?)");
            }
            long size = java.nio.file.Files.size(path);
            if (size != length) {
                Syscalls.ftruncate(fd, length, name);
            }
            // every page allocated now: a tmpfs that fills up later would otherwise answer a first write with SIGBUS
            int err = Syscalls.libc().posix_fallocate(fd, 0, length);
            if (err != 0) {
                throw new SyscallException("posix_fallocate", name + " (" + length / (1024 * 1024) + " MiB)", err,
                    err == Errno.ENOSPC ? "not enough room on its file system (a tmpfs such as /run is sized to a "
                        + "share of the memory: a smaller flowTableSize needs less)" : null);
            }
            long address = Syscalls.mmap(length, Linux.PROT_READ | Linux.PROT_WRITE, Linux.MAP_SHARED, fd, 0, name);
            return new SharedMemoryFile(path, fd, address, length, existed && size > 0, size);
        } catch (java.io.IOException e) {
            Syscalls.closeQuietly(fd);
            throw new java.io.UncheckedIOException(name + ": " + e.getMessage(), e);
        } catch (RuntimeException e) {
            Syscalls.closeQuietly(fd);
            throw e;
        }
    }

    /**
     * Deletes {@code path} unless a process holds it, and returns its first {@code headerBytes} bytes (fewer when the
     * file is shorter); null when there was no file.
     *
     * @throws IllegalStateException when another process holds the file
     */
    public static byte[] deleteUnused(Path path, int headerBytes) {
        if (!java.nio.file.Files.exists(path, java.nio.file.LinkOption.NOFOLLOW_LINKS)) {
            return null;
        }
        String name = path.toString();
        int fd = Syscalls.open(name, Linux.O_RDWR | Linux.O_CLOEXEC, 0);
        try {
            if (!Syscalls.tryLockExclusive(fd, name)) {
                throw new IllegalStateException(name + " is in use by a running nsgate: stop it first");
            }
            byte[] header;
            try (java.io.InputStream in = java.nio.file.Files.newInputStream(path)) {
                header = in.readNBytes(headerBytes);
            }
            java.nio.file.Files.delete(path);
            return header;
        } catch (java.io.IOException e) {
            throw new java.io.UncheckedIOException(name + ": " + e.getMessage(), e);
        } finally {
            Syscalls.closeQuietly(fd);
        }
    }

    public Path path() {
        return path;
    }

    /** Start of the mapping (page aligned). */
    public long address() {
        return address;
    }

    public long length() {
        return length;
    }

    /** True when the file was there, not empty, before this open (its bytes may be a previous process's). */
    public boolean existed() {
        return existed;
    }

    /** True when the file lives in memory (tmpfs): a file on disk would be written back as the tables change. */
    public boolean onTmpfs() {
        return Syscalls.fileSystemType(path.toString()) == Linux.TMPFS_MAGIC;
    }

    /**
     * Empties the file: every byte reads as zero again. The mapping stays valid (the kernel drops the pages on the
     * truncation and the next touch gets fresh zeroed ones).
     */
    public void clear() {
        Syscalls.ftruncate(fd, 0, path.toString());
        Syscalls.ftruncate(fd, length, path.toString());
    }

    /** Unmaps and unlocks; what was written stays in the file. */
    @Override
    public void close() {
        if (!closed) {
            closed = true;
            Syscalls.munmap(address, length, path.toString());
            Syscalls.closeQuietly(fd);
        }
    }
}
