// Writing the running configuration back to the daemon's file, atomically (temp file, fsync, rename, fsync dir).
package io.nsgate.control.daemon;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.OpenOption;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.FileAttribute;
import java.nio.file.attribute.PosixFileAttributeView;
import java.nio.file.attribute.PosixFileAttributes;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.SecureRandom;
import java.util.Set;
import java.util.function.Supplier;

/**
 * A reader of the file sees the old content or the new, never a mix or a truncated file, even if the machine loses
 * power: the text goes to a temporary file in the same directory, is fsync'ed, renamed over the file (atomic on
 * the same file system), and the directory is fsync'ed so the rename itself is durable. The new file keeps the old
 * one's owner, group and mode (a new one is 0644). A symlinked config file is followed: its target is replaced.
 * <p>
 * The temporary file's name is random and it is created exclusively (O_CREAT|O_EXCL), mode 0600, and written
 * through the descriptor that created it: whoever else can write the directory cannot make the daemon (root)
 * write through a symlink or a file planted at a guessed name, and two saves never share a temporary file. Its
 * owner and mode are then set without following a symlink. (Someone who can write the directory can still swap
 * the config file itself: that directory must be root's.)
 */
public final class ConfigFile {
    /** Saves one at a time: the file ends up as the last save wrote it, whatever their threads. */
    private static final Object LOCK = new Object();
    private static final SecureRandom RANDOM = new SecureRandom();
    private static final Set<OpenOption> CREATE_EXCLUSIVELY = Set.of(StandardOpenOption.CREATE_NEW,
        StandardOpenOption.WRITE, LinkOption.NOFOLLOW_LINKS);
    private static final FileAttribute<Set<PosixFilePermission>> OWNER_ONLY =
        PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------"));
    private static final int NAME_ATTEMPTS = 100;

    private ConfigFile() {
    }

    /** Replaces {@code file} with {@code text}; returns the bytes written. */
    public static int writeAtomically(Path file, String text) throws IOException {
        return writeAtomically(file, text, () -> Long.toUnsignedString(RANDOM.nextLong(), 36));
    }

    /** As above, with the temporary file's names' random part from {@code uniquePart} (tests: a planted name). */
    static int writeAtomically(Path file, String text, Supplier<String> uniquePart) throws IOException {
        synchronized (LOCK) {
            Path target = Files.isSymbolicLink(file) ? file.toRealPath() : file.toAbsolutePath();
            Path dir = target.getParent();
            byte[] bytes = text.getBytes(StandardCharsets.UTF_8);
            Temporary tmp = createTemporary(dir, target.getFileName().toString(), uniquePart);
            boolean moved = false;
            try {
                try (FileChannel ch = tmp.channel()) {
                    ByteBuffer b = ByteBuffer.wrap(bytes);
                    while (b.hasRemaining()) {
                        ch.write(b);
                    }
                    keepOwnerAndMode(target, tmp.path());
                    ch.force(true); // the content and the owner and mode
                }
                try {
                    Files.move(tmp.path(), target, StandardCopyOption.ATOMIC_MOVE,
                        StandardCopyOption.REPLACE_EXISTING);
                    moved = true;
                } catch (AtomicMoveNotSupportedException e) {
                    throw new IOException("cannot replace " + target + " atomically: " + e.getMessage(), e);
                }
            } finally {
                if (!moved) {
                    Files.deleteIfExists(tmp.path());
                }
            }
            try (FileChannel d = FileChannel.open(dir, StandardOpenOption.READ)) {
                d.force(true);
            }
            return bytes.length;
        }
    }

    private record Temporary(Path path, FileChannel channel) {
    }

    private static Temporary createTemporary(Path dir, String name, Supplier<String> uniquePart) throws IOException {
        for (int i = 1; ; i++) {
            Path tmp = dir.resolve("." + name + "." + uniquePart.get() + ".tmp");
            try {
                return new Temporary(tmp, FileChannel.open(tmp, CREATE_EXCLUSIVELY, OWNER_ONLY));
            } catch (FileAlreadyExistsException e) {
                // someone else's file or link: not ours to write through, nor to delete; try another name
                if (i == NAME_ATTEMPTS) {
                    throw new IOException("cannot create a temporary file in " + dir + ": " + NAME_ATTEMPTS
                        + " random names all exist", e);
                }
            }
        }
    }

    private static void keepOwnerAndMode(Path target, Path tmp) throws IOException {
        PosixFileAttributeView view = Files.getFileAttributeView(tmp, PosixFileAttributeView.class,
            LinkOption.NOFOLLOW_LINKS);
        if (Files.exists(target)) {
            PosixFileAttributes old = Files.readAttributes(target, PosixFileAttributes.class,
                LinkOption.NOFOLLOW_LINKS);
            view.setOwner(old.owner());
            view.setGroup(old.group());
            view.setPermissions(old.permissions());
        } else {
            view.setPermissions(PosixFilePermissions.fromString("rw-r--r--"));
        }
    }
}
