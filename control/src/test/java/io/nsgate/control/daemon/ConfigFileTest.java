// config.save's atomic write: concurrent saves, a temporary name planted by someone else, the target's mode kept.
package io.nsgate.control.daemon;

import static org.junit.jupiter.api.Assertions.*;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ConfigFileTest {
    @TempDir
    Path dir;

    /** A distinct text per writer and round, big enough that interleaved writes would show. */
    private static String version(int writer, int round) {
        String line = "# writer " + writer + " round " + round + "\n";
        return line.repeat(4096 / line.length() + 1);
    }

    @Test
    void concurrentSavesAllSucceedAndTheFileIsExactlyOneOfTheWrittenVersions() throws Exception {
        Path file = dir.resolve("gateway.yaml");
        Files.writeString(file, "old\n");
        int writers = 8;
        int rounds = 25;
        Set<String> written = new HashSet<>();
        for (int w = 0; w < writers; w++) {
            for (int r = 0; r < rounds; r++) {
                written.add(version(w, r));
            }
        }
        ExecutorService pool = Executors.newFixedThreadPool(writers);
        CountDownLatch go = new CountDownLatch(1);
        try {
            List<Future<?>> saves = new ArrayList<>();
            for (int w = 0; w < writers; w++) {
                int writer = w;
                saves.add(pool.submit(() -> {
                    go.await();
                    for (int r = 0; r < rounds; r++) {
                        String text = version(writer, r);
                        assertEquals(text.length(), ConfigFile.writeAtomically(file, text));
                    }
                    return null;
                }));
            }
            go.countDown();
            for (Future<?> f : saves) {
                f.get(); // a failed save fails the test with its exception
            }
        } finally {
            pool.shutdownNow();
        }
        assertTrue(written.contains(Files.readString(file)), "the file is one whole version, not a mix");
        try (var files = Files.list(dir)) {
            assertEquals(List.of(file), files.toList(), "no temporary file left behind");
        }
    }

    @Test
    void aSymlinkPlantedAtThePidBasedTemporaryNameIsNotFollowed() throws Exception {
        Path file = dir.resolve("gateway.yaml");
        Path victim = dir.resolve("victim");
        Files.writeString(file, "old\n");
        Files.writeString(victim, "secret\n");
        // the name the temporary file used to have: predictable by anyone who can write the directory
        Path planted = dir.resolve(".gateway.yaml.nsgate-" + ProcessHandle.current().pid() + ".tmp");
        Files.createSymbolicLink(planted, victim);
        ConfigFile.writeAtomically(file, "new\n");
        assertEquals("secret\n", Files.readString(victim), "the link's target is untouched");
        assertEquals("new\n", Files.readString(file));
        assertTrue(Files.isSymbolicLink(planted), "someone else's file is left alone");
        Files.delete(planted);
    }

    @Test
    void aSymlinkAtTheChosenTemporaryNameIsNotFollowedAndAnotherNameIsTaken() throws Exception {
        Path file = dir.resolve("gateway.yaml");
        Path victim = dir.resolve("victim");
        Files.writeString(file, "old\n");
        Files.writeString(victim, "secret\n");
        Path planted = dir.resolve(".gateway.yaml.guessed.tmp");
        Files.createSymbolicLink(planted, victim);
        String[] names = {"guessed", "fresh"};
        int[] next = {0};
        ConfigFile.writeAtomically(file, "new\n", () -> names[next[0]++]);
        assertEquals(2, next[0], "the planted name was refused, the next one used");
        assertEquals("secret\n", Files.readString(victim), "the link's target is untouched");
        assertEquals("new\n", Files.readString(file));
        Files.delete(planted);
    }

    @Test
    void theFileKeepsItsModeAndANewOneIsWorldReadable() throws Exception {
        Path file = dir.resolve("gateway.yaml");
        Files.writeString(file, "old\n");
        Files.setPosixFilePermissions(file, PosixFilePermissions.fromString("rw-r-----"));
        ConfigFile.writeAtomically(file, "new\n");
        assertEquals("rw-r-----", PosixFilePermissions.toString(Files.getPosixFilePermissions(file)));
        Path fresh = dir.resolve("fresh.yaml");
        ConfigFile.writeAtomically(fresh, "new\n");
        assertEquals("rw-r--r--", PosixFilePermissions.toString(Files.getPosixFilePermissions(fresh)));
    }
}
