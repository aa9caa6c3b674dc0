// Processes run to completion, time out, write their output to files and are stopped by pid with their children.
package io.nsgate.testkit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

class ProcessesTest {
    private final Processes processes = new Processes();

    @AfterEach
    void stop() {
        processes.close();
    }

    @Test
    void aCommandRunToCompletionGivesItsExitCodeStdoutAndStderr() {
        Commands.Result r = processes.run(Duration.ofSeconds(10),
            List.of("sh", "-c", "echo out; echo err >&2; exit 3"));
        assertEquals(3, r.exitCode());
        assertEquals("out\n", r.stdout());
        assertEquals("err\n", r.stderr());
        assertFalse(r.ok());
        CommandException e = assertThrows(CommandException.class,
            () -> processes.check(Duration.ofSeconds(10), List.of("sh", "-c", "echo why; exit 3")));
        assertEquals("sh -c echo why; exit 3: exit code 3:\n    why", e.getMessage());
    }

    @Test
    void aCommandThatDoesNotFinishInTimeIsStoppedAndSaysSo() {
        CommandException e = assertThrows(CommandException.class,
            () -> processes.run(Duration.ofMillis(300), List.of("sh", "-c", "echo started $$; exec sleep 60")));
        assertTrue(e.getMessage().startsWith("sh -c echo started $$; exec sleep 60: did not finish within 300 ms:"),
            e.getMessage());
        Matcher m = Pattern.compile("started (\\d+)$").matcher(e.getMessage());
        assertTrue(m.find(), e.getMessage());
        long pid = Long.parseLong(m.group(1)); // the shell, which became the sleep
        assertFalse(ProcessHandle.of(pid).map(ProcessHandle::isAlive).orElse(false), "stopped, not waited for");
    }

    @Test
    void aStartedProcessWritesToItsFileAndIsStoppedByPidWithItsChildren() throws Exception {
        Process p = processes.start(List.of("sh", "-c", "sleep 60 & echo child $!; wait"));
        long deadline = System.nanoTime() + 5_000_000_000L;
        while (!processes.output(p).contains("child ") && System.nanoTime() < deadline) {
            Thread.sleep(10);
        }
        long child = Long.parseLong(processes.output(p).strip().split(" ")[1]);
        assertTrue(ProcessHandle.of(child).map(ProcessHandle::isAlive).orElse(false), "the child runs");
        processes.stop(p, Duration.ofSeconds(2));
        assertFalse(p.isAlive());
        assertFalse(ProcessHandle.of(child).map(ProcessHandle::isAlive).orElse(false), "the child was stopped too");
    }

    @Test
    void awaitReturnsTheOutputOrThrowsWithIt() {
        assertEquals("fine\n", processes.await(processes.start(List.of("echo", "fine")), Duration.ofSeconds(10)));
        Process failing = processes.start(List.of("sh", "-c", "echo broken; exit 1"));
        CommandException e = assertThrows(CommandException.class,
            () -> processes.await(failing, Duration.ofSeconds(10)));
        assertTrue(e.getMessage().endsWith("exit code 1:\n    broken"), e.getMessage());
    }

    @Test
    void closeStopsWhatRunsAndRemovesItsOwnDirectoryButNotAGivenOne() throws Exception {
        Process p = processes.start(List.of("sleep", "60"));
        Path dir = processes.dir();
        processes.close();
        assertFalse(p.isAlive());
        assertFalse(Files.exists(dir));

        Path given = Files.createTempDirectory("processes-test");
        try (Processes inGiven = new Processes(given)) {
            inGiven.await(inGiven.start(List.of("true"), given.resolve("true.log")), Duration.ofSeconds(10));
        }
        assertTrue(Files.exists(given.resolve("true.log")), "a given directory and its files stay");
        Files.delete(given.resolve("true.log"));
        Files.delete(given);
    }
}
