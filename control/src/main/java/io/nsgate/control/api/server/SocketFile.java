// The control socket's file: refusing to steal a live daemon's socket, removing a crashed one's, mode and group.
package io.nsgate.control.api.server;

import java.io.IOException;
import java.net.ConnectException;
import java.net.SocketException;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.channels.OverlappingFileLockException;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileSystems;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.GroupPrincipal;
import java.nio.file.attribute.PosixFileAttributeView;
import java.nio.file.attribute.PosixFilePermissions;
import java.nio.file.attribute.UserPrincipalNotFoundException;
import java.security.SecureRandom;

/**
 * Theory of operation. A Unix socket's file outlives its daemon when the daemon crashes; binding over it fails
 * (EADDRINUSE), and blindly deleting it would let a second daemon steal a live one's socket. So before binding,
 * an existing file is probed: a socket nobody accepts on (ECONNREFUSED) is stale and removed; one that accepts is a
 * live daemon's and the start is refused; anything that is not a socket is never removed. After binding the file
 * gets mode 0660 and the control group, and it is removed on close only if it is still the file this daemon made
 * (same inode).
 */
public final class SocketFile {
    private static final int S_IFMT = 0170000;
    private static final int S_IFSOCK = 0140000;

    private SocketFile() {
    }

    /** The file cannot be used: another daemon's live socket, not a socket, or not reachable. */
    public static final class Unusable extends RuntimeException {
        private static final long serialVersionUID = 1L;

        public Unusable(String message) {
            super(message);
        }
    }

    /** The control socket's lock: held for the daemon's lifetime; {@link #close} releases and removes it. */
    public static final class Lock implements AutoCloseable {
        private final Path file;
        private final FileChannel channel;
        private final String owner;

        private Lock(Path file, FileChannel channel, String owner) {
            this.file = file;
            this.channel = channel;
            this.owner = owner;
        }

        /** Removes the file (while still holding it, and only if it is still ours), then releases the lock. */
        @Override
        public void close() {
            try {
                if (owner.equals(readQuietly(file))) {
                    Files.deleteIfExists(file);
                }
            } catch (IOException ignored) {
                // a lock file left behind is harmless: the next daemon locks it again
            } finally {
                closeQuietly(channel);
            }
        }
    }

    /**
     * Takes {@code PATH.lock}, an exclusive lock held for the daemon's lifetime (the kernel releases it if the daemon
     * dies): of two daemons starting on one path at the same moment, both of which found it free, only one binds
     * (Netty's bind would otherwise unlink the other's fresh socket). The file holds the owner's pid and a nonce;
     * reading them back through the path proves the locked file is still the one the path names (not one a
     * stopping daemon was removing), else the lock is taken again.
     *
     * @throws Unusable when another daemon holds it
     */
    public static Lock lock(Path path) {
        Path lockFile = Path.of(path.toAbsolutePath() + ".lock");
        String owner = ProcessHandle.current().pid() + " " + Long.toHexString(new SecureRandom().nextLong()) + "\n";
        for (int attempt = 0; attempt < 8; attempt++) {
            FileChannel ch = null;
            try {
                ch = FileChannel.open(lockFile, StandardOpenOption.CREATE, StandardOpenOption.READ,
                    StandardOpenOption.WRITE, LinkOption.NOFOLLOW_LINKS);
                FileLock lock;
                try {
                    lock = ch.tryLock();
                } catch (OverlappingFileLockException e) {
                    lock = null;
                }
                if (lock == null) {
                    throw new Unusable("another nsgate is starting or serving on " + path + " (it holds " + lockFile
                        + "): stop it first, or give this one another --control-socket");
                }
                ch.truncate(0);
                ch.write(ByteBuffer.wrap(owner.getBytes(StandardCharsets.US_ASCII)), 0);
                if (owner.equals(readQuietly(lockFile))) {
                    return new Lock(lockFile, ch, owner);
                }
                closeQuietly(ch); // we locked a file a stopping daemon had just removed: lock the new one
            } catch (IOException e) {
                closeQuietly(ch);
                throw new Unusable("cannot lock " + lockFile + ": " + e);
            } catch (Unusable e) {
                closeQuietly(ch);
                throw e;
            }
        }
        throw new Unusable("cannot lock " + lockFile + ": it keeps being replaced");
    }

    private static String readQuietly(Path file) {
        try {
            return Files.readString(file, StandardCharsets.US_ASCII);
        } catch (IOException e) {
            return null;
        }
    }

    private static void closeQuietly(FileChannel ch) {
        if (ch != null) {
            try {
                ch.close();
            } catch (IOException ignored) {
                // nothing to do
            }
        }
    }

    /**
     * Makes {@code path} free to bind: creates its directory (0755) if needed, removes a stale socket.
     *
     * @return a message when a stale socket was removed, else null
     * @throws Unusable when a live daemon serves it or it is not a socket
     */
    public static String claim(Path path) {
        try {
            Path dir = path.toAbsolutePath().getParent();
            if (!Files.isDirectory(dir)) {
                Files.createDirectories(dir);
                Files.setPosixFilePermissions(dir, PosixFilePermissions.fromString("rwxr-xr-x"));
            }
            int mode;
            try {
                mode = (Integer) Files.getAttribute(path, "unix:mode", LinkOption.NOFOLLOW_LINKS);
            } catch (NoSuchFileException e) {
                return null;
            }
            if ((mode & S_IFMT) != S_IFSOCK) {
                throw new Unusable(path + " exists and is not a socket: nsgate does not remove it (remove it "
                    + "yourself or choose another --control-socket)");
            }
            try (SocketChannel probe = SocketChannel.open(StandardProtocolFamily.UNIX)) {
                probe.connect(UnixDomainSocketAddress.of(path));
                throw new Unusable("another nsgate is serving " + path + " (it accepted a connection): stop it "
                    + "first, or give this one another --control-socket");
            } catch (ConnectException e) {
                Files.delete(path); // ECONNREFUSED: nobody listens, a crashed daemon's leftover
                return "removed the stale control socket " + path + " (nobody was listening on it)";
            } catch (SocketException e) {
                throw new Unusable("cannot probe the existing " + path + ": " + e.getMessage());
            }
        } catch (IOException e) {
            throw new Unusable("cannot prepare " + path + ": " + e);
        }
    }

    /** Looks up a group by name (or number), for {@code --control-group}; null when it does not exist. */
    public static GroupPrincipal group(String name) {
        try {
            return FileSystems.getDefault().getUserPrincipalLookupService().lookupPrincipalByGroupName(name);
        } catch (UserPrincipalNotFoundException e) {
            return null;
        } catch (IOException e) {
            throw new Unusable("cannot look up group " + name + ": " + e.getMessage());
        }
    }

    /**
     * Gives the bound socket mode 0660 and {@code group} (when not null).
     *
     * @return the group's numeric id (-1 without a group)
     */
    public static int restrict(Path path, GroupPrincipal group) throws IOException {
        // path-based chmod/chown (following links): the NOFOLLOW variants open the file, which a socket refuses
        PosixFileAttributeView view = Files.getFileAttributeView(path, PosixFileAttributeView.class);
        if (group != null) {
            view.setGroup(group);
        }
        view.setPermissions(PosixFilePermissions.fromString("rw-rw----"));
        return group == null ? -1 : (Integer) Files.getAttribute(path, "unix:gid", LinkOption.NOFOLLOW_LINKS);
    }

    /** The file's inode, or -1. */
    public static long inode(Path path) {
        try {
            return (Long) Files.getAttribute(path, "unix:ino", LinkOption.NOFOLLOW_LINKS);
        } catch (IOException | RuntimeException e) {
            return -1;
        }
    }

    /** Removes the socket file if it is still the one with {@code inode}. */
    public static void remove(Path path, long inode) {
        if (inode >= 0 && inode(path) == inode) {
            try {
                Files.deleteIfExists(path);
            } catch (IOException e) {
                // best effort: a stale file is handled at the next start
            }
        }
    }
}
