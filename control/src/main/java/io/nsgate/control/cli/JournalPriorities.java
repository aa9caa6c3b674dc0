// Under systemd, journald reads a "<N>" prefix as the line's priority: warnings and errors stand out in the journal.
package io.nsgate.control.cli;

import java.io.FilterOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;

/**
 * When standard output and error are the journal ({@code $JOURNAL_STREAM} set by systemd), every line gets the
 * sd-daemon(3) priority prefix journald understands: {@code <3>} (error) for standard error, {@code <4>} (warning)
 * for a standard-output line that says "warning", {@code <6>} (info) for the rest. Elsewhere nothing changes.
 */
final class JournalPriorities {
    static final String ERROR = "<3>";
    static final String WARNING = "<4>";
    static final String INFO = "<6>";

    private JournalPriorities() {
    }

    /**
     * Installs the prefixes on System.out and System.err when the journal is listening: $JOURNAL_STREAM names the
     * journal's socket as DEVICE:INODE, and only a stream that is that socket gets them (a child of the service whose
     * output was redirected inherits the variable, not the socket: sd-daemon(3)).
     */
    static void installIfJournal() {
        String stream = System.getenv("JOURNAL_STREAM");
        if (stream == null) {
            return;
        }
        if (isJournal(stream, "/proc/self/fd/1")) {
            System.setOut(new PrintStream(new Prefixing(System.out, false), true, StandardCharsets.UTF_8));
        }
        if (isJournal(stream, "/proc/self/fd/2")) {
            System.setErr(new PrintStream(new Prefixing(System.err, true), true, StandardCharsets.UTF_8));
        }
    }

    /** Whether the file descriptor's target has the DEVICE:INODE of {@code journalStream}. */
    static boolean isJournal(String journalStream, String fdPath) {
        try {
            java.nio.file.Path fd = java.nio.file.Path.of(fdPath);
            Object dev = java.nio.file.Files.getAttribute(fd, "unix:dev");
            Object ino = java.nio.file.Files.getAttribute(fd, "unix:ino");
            return journalStream.trim().equals(dev + ":" + ino);
        } catch (IOException | RuntimeException e) {
            return false;
        }
    }

    /** Buffers each line and writes it with its priority in front. */
    static final class Prefixing extends FilterOutputStream {
        private final boolean errors;
        private final java.io.ByteArrayOutputStream line = new java.io.ByteArrayOutputStream();

        Prefixing(OutputStream out, boolean errors) {
            super(out);
            this.errors = errors;
        }

        @Override
        public synchronized void write(int b) throws IOException {
            line.write(b);
            if (b == '\n') {
                flushLine();
            }
        }

        @Override
        public synchronized void write(byte[] b, int off, int len) throws IOException {
            for (int i = off; i < off + len; i++) {
                write(b[i]);
            }
        }

        @Override
        public synchronized void flush() throws IOException {
            out.flush();
        }

        private void flushLine() throws IOException {
            String text = line.toString(StandardCharsets.UTF_8);
            line.reset();
            boolean warning = text.toLowerCase(java.util.Locale.ROOT).contains("warning");
            String prefix = errors ? ERROR : warning ? WARNING : INFO;
            out.write((prefix + text).getBytes(StandardCharsets.UTF_8));
            out.flush();
        }

        @Override
        public synchronized void close() throws IOException {
            if (line.size() > 0) {
                line.write('\n');
                flushLine();
            }
            super.close();
        }
    }
}
