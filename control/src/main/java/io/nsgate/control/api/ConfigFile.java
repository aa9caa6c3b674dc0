// Writing the running configuration back to the daemon's file, atomically (temp file, fsync, rename, fsync dir).
package io.nsgate.control.api;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.PosixFileAttributeView;
import java.nio.file.attribute.PosixFileAttributes;
import java.nio.file.attribute.PosixFilePermissions;

/**
 * A reader of the file sees the old content or the new, never a mix or a truncated file, even if the machine loses
 * power: the text goes to a temporary file in the same directory, is fsync'ed, renamed over the file (atomic on
 * the same file system), and the directory is fsync'ed so the rename itself is durable. The new file keeps the old
 * one's owner, group and mode (a new one is 0644). A symlinked config file is followed: its target is replaced.
 */
public final class ConfigFile {
    private ConfigFile() {
    }

    /** Replaces {@code file} with {@code text}; returns the bytes written. */
    public static int writeAtomically(Path file, String text) throws IOException {
        Path target = Files.isSymbolicLink(file) ? file.toRealPath() : file.toAbsolutePath();
        Path dir = target.getParent();
        byte[] bytes = text.getBytes(StandardCharsets.UTF_8);
        Path tmp = dir.resolve("." + target.getFileName() + ".nsgate-" + ProcessHandle.current().pid() + ".tmp");
        try {
            try (FileChannel ch = FileChannel.open(tmp, StandardOpenOption.CREATE, StandardOpenOption.WRITE,
                StandardOpenOption.TRUNCATE_EXISTING)) {
                ByteBuffer b = ByteBuffer.wrap(bytes);
                while (b.hasRemaining()) {
                    ch.write(b);
                }
                ch.force(true);
            }
            PosixFileAttributeView view = Files.getFileAttributeView(tmp, PosixFileAttributeView.class);
            if (Files.exists(target)) {
                PosixFileAttributes old = Files.readAttributes(target, PosixFileAttributes.class,
                    LinkOption.NOFOLLOW_LINKS);
                view.setPermissions(old.permissions());
                view.setOwner(old.owner());
                view.setGroup(old.group());
            } else {
                view.setPermissions(PosixFilePermissions.fromString("rw-r--r--"));
            }
            try {
                Files.move(tmp, target, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
            } catch (AtomicMoveNotSupportedException e) {
                throw new IOException("cannot replace " + target + " atomically: " + e.getMessage(), e);
            }
        } finally {
            Files.deleteIfExists(tmp);
        }
        try (FileChannel d = FileChannel.open(dir, StandardOpenOption.READ)) {
            d.force(true);
        }
        return bytes.length;
    }
}
