// A gateway stopped and started again with the same state file: its connections carry on.
package io.nsgate.control.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

import io.nsgate.control.lab.EchoHttpService;
import io.nsgate.control.lab.HttpProbe;
import io.nsgate.control.testsupport.IperfStalls;
import io.nsgate.control.testsupport.KeepAliveHttp;
import io.nsgate.control.testsupport.SeedLab;
import io.nsgate.testkit.NsgateProcess;

/**
 * {@code nsgate run} with a state file, stopped (SIGTERM, or SIGKILL as a crash) and started again: an iperf3 stream
 * through a forward, a masqueraded iperf3 stream and an idle keep-alive HTTP connection all carry on, because the
 * tables live in the file and the guards stay pinned (in the lab's own bpf file system) in between. The stall each
 * stream saw is printed (iperf3 intervals of 100 ms), not asserted: machines differ.
 */
class RestartEndToEndTest {
    @RegisterExtension
    static final SeedLab LAB = new SeedLab();
    private static final ObjectMapper JSON = new ObjectMapper();

    private static EchoHttpService blueWeb;
    @TempDir
    static Path dir;

    @BeforeAll
    static void startBlue() throws Exception {
        blueWeb = EchoHttpService.start(LAB.netns("blue"), "blue", "192.168.15.2", 80);
    }

    @AfterAll
    static void stopBlue() {
        blueWeb.close();
    }

    @AfterEach
    void stopProcesses() {
        LAB.processes().stopAll();
    }

    private NsgateProcess gateway(Path config) {
        return NsgateProcess.start(LAB.processes(), NsgateProcess.Launch.of("run", "--config", config.toString(),
            "--no-control-socket").withJvmOptionsFile(NsgateProcess.repositoryJvmOptions()).inNetns(LAB.ns("edge")));
    }

    private Path config(String name, Path state) throws IOException {
        Path config = dir.resolve(name + ".yaml");
        Files.writeString(config, "lan: lan0\ninside: [v-net-0]\nmasquerade: [192.168.15.0/24]\n"
            + "forwards: [\"tcp:80=192.168.15.2:80\", \"tcp:5201=192.168.15.2:5201\"]\nworkers: 1\n"
            + "stateFile: " + state + "\npinDirectory: " + LAB.bpfFileSystem() + "\n");
        return config;
    }

    @Test
    void connectionsThroughAForwardAndTheMasqueradeCarryOnAcrossAStopAndAKill() throws Exception {
        Path state = dir.resolve("kept").resolve("flows");
        Path config = config("restart", state);
        NsgateProcess first = gateway(config);
        String log = first.readUntil("nsgate: running", Duration.ofSeconds(60));
        assertTrue(log.contains("starting with empty flow tables (new state file)"), log);

        // an iperf3 stream lan -> blue through the forward, one blue -> lan through the masquerade
        LAB.awaitListening(LAB.ns("blue"), 5201, LAB.start(LAB.ns("blue"), "iperf3", "-s", "-1", "-B",
            SeedLab.BLUE), Duration.ofSeconds(10));
        LAB.awaitListening(LAB.ns("lan"), 5202, LAB.start(LAB.ns("lan"), "iperf3", "-s", "-1", "-p", "5202", "-B",
            SeedLab.LAN), Duration.ofSeconds(10));
        Process forwarded = LAB.start(LAB.ns("lan"), "iperf3", "-c", SeedLab.GATEWAY_LAN, "-t", "25", "-i", "0.1",
            "-b", "200M", "-J");
        Process masqueraded = LAB.start(LAB.ns("blue"), "iperf3", "-c", SeedLab.LAN, "-p", "5202", "-t", "25", "-i",
            "0.1", "-b", "200M", "-J");
        // an idle keep-alive HTTP connection from lan through the forward
        try (Socket keepAlive = LAB.netns("lan").call(() -> {
            Socket s = new Socket();
            s.connect(new InetSocketAddress(SeedLab.GATEWAY_LAN, 80), 3000);
            s.setSoTimeout(10_000);
            return s;
        })) {
            String before = KeepAliveHttp.get(keepAlive, SeedLab.GATEWAY_LAN);
            assertTrue(before.startsWith("hello from blue\nyou are " + SeedLab.LAN + ":"), before);
            Thread.sleep(2000);

            long stopAt = System.nanoTime();
            first.terminate();
            assertTrue(first.waitFor(Duration.ofSeconds(30)));
            long stoppedAt = System.nanoTime();
            String stopped = first.rest();
            assertEquals(0, first.exitValue(), stopped);
            assertTrue(stopped.contains("connections kept in " + state), stopped);

            NsgateProcess second = gateway(config);
            String taken = second.readUntil("nsgate: running", Duration.ofSeconds(60));
            System.out.printf("restart: SIGTERM to exit %d ms, exit to the next run's \"running\" %d ms%n",
                (stoppedAt - stopAt) / 1_000_000, (System.nanoTime() - stoppedAt) / 1_000_000);
            Matcher over = Pattern.compile("took over ([0-9]+) IPv4").matcher(taken);
            assertTrue(over.find(), taken);
            assertTrue(Integer.parseInt(over.group(1)) >= 5, "iperf3's control and data connections (2 each) and "
                + "the keep-alive one: " + taken);
            assertTrue(taken.contains("stopped cleanly"), taken);
            assertTrue(taken.contains("guard of lan0: the previous run's pinned link taken over"), taken);

            assertEquals(before, KeepAliveHttp.get(keepAlive, SeedLab.GATEWAY_LAN), "the idle keep-alive connection answers after the restart");
            Thread.sleep(4000);

            // now as a crash: SIGKILL, nothing cleaned up, and a third run mends and takes over
            ProcessHandle.of(second.pid()).orElseThrow().destroyForcibly();
            assertTrue(second.waitFor(Duration.ofSeconds(30)));
            NsgateProcess third = gateway(config);
            String afterKill = third.readUntil("nsgate: running", Duration.ofSeconds(60));
            assertTrue(afterKill.contains("did not stop cleanly (killed or crashed)"), afterKill);
            assertEquals(before, KeepAliveHttp.get(keepAlive, SeedLab.GATEWAY_LAN), "and after a kill");

            String viaForward = LAB.await(forwarded, Duration.ofSeconds(60));
            String viaMasquerade = LAB.await(masqueraded, Duration.ofSeconds(60));
            report("forwarded iperf3 stream (lan -> blue:5201)", viaForward);
            report("masqueraded iperf3 stream (blue -> lan:5202)", viaMasquerade);

            third.terminate();
            assertTrue(third.waitFor(Duration.ofSeconds(30)));
            assertEquals(0, third.exitValue(), third.rest());
        }
        Exception unanswered = org.junit.jupiter.api.Assertions.assertThrows(Exception.class,
            () -> HttpProbe.get(LAB.netns("lan"), SeedLab.GATEWAY_LAN, 80, 1500));
        assertTrue(String.valueOf(unanswered.getMessage()).contains("timed out"),
            "no gateway runs: the pinned guard drops the forward's SYN (no RST): " + unanswered);

        StringWriter out = new StringWriter();
        picocli.CommandLine cl = Main.commandLine();
        cl.setOut(new PrintWriter(out, true));
        assertEquals(0, cl.execute("state", "clear", "--config", config.toString(), "--json"));
        JsonNode cleared = JSON.readTree(out.toString());
        assertTrue(cleared.path("removed").asBoolean(), out.toString());
        assertEquals(2, cleared.path("pinsRemoved").size(), "lan0's and v-net-0's guards: " + out);
        assertFalse(Files.exists(state));
        try (var pins = Files.list(LAB.bpfFileSystem())) {
            assertEquals(0, pins.filter(p -> p.getFileName().toString().startsWith("net-")).count(), "no pins left");
        }
    }

    /** Checks the stream ended without error and prints its stalls (runs of 100 ms intervals with no data). */
    private static void report(String what, String iperfJson) throws IOException {
        IperfStalls.Report r = IperfStalls.read(iperfJson);
        assertEquals(null, r.error(), what + ": " + iperfJson);
        assertTrue(r.bytesReceived() > 0, what + " received nothing");
        System.out.printf("restart: %s: stalls %s, %.0f Mbit/s over the run%n", what, r.stalls(), r.mbps());
    }
}
