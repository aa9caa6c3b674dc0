package io.nsgate.control.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;

import org.junit.jupiter.api.Test;

/** journald's priority prefixes, line by line, whatever the writes' boundaries. */
class JournalPrioritiesTest {
    private static String through(boolean errors, String... writes) {
        ByteArrayOutputStream sink = new ByteArrayOutputStream();
        PrintStream out = new PrintStream(new JournalPriorities.Prefixing(sink, errors), true, StandardCharsets.UTF_8);
        for (String w : writes) {
            out.print(w);
        }
        out.close();
        return sink.toString(StandardCharsets.UTF_8);
    }

    @Test
    void eachLineGetsItsPriority() {
        assertEquals("<6>nsgate: running\n<4>nsgate: warning: worker 1 stalled\n<6>  forward added: tcp:80\n",
            through(false, "nsgate: run", "ning\nnsgate: warning: worker 1 stalled\n  forward added: tcp:80\n"));
        assertEquals("<3>nsgate: could not start: x\n<3>no newline at the end\n",
            through(true, "nsgate: could not start: x\nno newline at the end"));
    }

    @Test
    void onlyAStreamThatIsTheJournalsSocketGetsPrefixes() throws Exception {
        java.nio.file.Path file = java.nio.file.Files.createTempFile("journal", ".txt");
        try {
            Object dev = java.nio.file.Files.getAttribute(file, "unix:dev");
            Object ino = java.nio.file.Files.getAttribute(file, "unix:ino");
            org.junit.jupiter.api.Assertions.assertTrue(JournalPriorities.isJournal(dev + ":" + ino, file.toString()));
            org.junit.jupiter.api.Assertions.assertFalse(JournalPriorities.isJournal(dev + ":" + ino + "1",
                file.toString()), "another inode: a redirected stream");
        } finally {
            java.nio.file.Files.delete(file);
        }
    }
}
