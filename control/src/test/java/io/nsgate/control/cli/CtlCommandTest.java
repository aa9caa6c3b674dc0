// nsgate ctl in process against a control socket over an in-memory data plane: output, JSON and exit codes.
package io.nsgate.control.cli;

import static org.junit.jupiter.api.Assertions.*;

import java.io.IOException;
import java.io.OutputStream;
import java.io.OutputStreamWriter;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import com.fasterxml.jackson.databind.JsonNode;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import io.nsgate.control.api.server.ControlServer;
import io.nsgate.control.api.ops.InMemoryGateway;
import io.nsgate.control.api.Protocol;
import io.nsgate.dataplane.stats.DropReason;
import picocli.CommandLine;
import io.nsgate.dataplane.stats.PortCounter;

class CtlCommandTest {
    @TempDir
    static Path dir;
    private static InMemoryGateway gateway;
    private static ControlServer server;

    @BeforeAll
    static void start() throws Exception {
        gateway = new InMemoryGateway(1 << 16, null);
        server = ControlServer.start(ControlServer.Settings.of(dir.resolve("control.sock")), gateway, l -> { });
    }

    @AfterAll
    static void stop() throws Exception {
        server.close();
        gateway.close();
    }

    @BeforeEach
    void emptyTable() {
        assertEquals(0, ctl("flows", "flush").code, "flush");
    }

    record Run(int code, String out, String err) {
    }

    private static Run ctl(String... args) {
        List<String> all = new ArrayList<>(List.of("ctl", "--socket", dir.resolve("control.sock").toString()));
        all.addAll(List.of(args));
        return run(all.toArray(new String[0]));
    }

    private static Run run(String... args) {
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        CommandLine cl = Main.commandLine();
        cl.setOut(new PrintWriter(out, true));
        cl.setErr(new PrintWriter(err, true));
        int code = cl.execute(args);
        return new Run(code, out.toString(), err.toString());
    }

    @Test
    void statusPrintsATableAndExits0() {
        Run r = ctl("status");
        assertEquals(0, r.code, r.err);
        assertTrue(r.out.startsWith("nsgate "), r.out);
        assertTrue(r.out.contains("workers     2"), r.out);
        assertTrue(r.out.contains("interfaces  lan0       lan     192.168.1.2/24     mtu 1500"), r.out);
        assertTrue(r.out.contains("            v-net-0    inside  192.168.15.5/24    mtu 1500"), r.out);
        assertTrue(r.out.contains("flows       0 of 65536 (0.0 %)"), r.out);
    }

    @Test
    void jsonPrintsTheResultAndTheOptionsWorkAfterTheSubcommandToo() throws Exception {
        Run before = ctl("--json", "status");
        Run after = run("ctl", "status", "--json", "--socket", dir.resolve("control.sock").toString());
        for (Run r : List.of(before, after)) {
            assertEquals(0, r.code, r.err);
            JsonNode n = Protocol.JSON.readTree(r.out);
            assertEquals(2, n.path("workers").asInt());
        }
    }

    @Test
    void flowsPrintAHeaderAndOneLinePerFlowWithTheCountOnStderr() {
        gateway.insertDnatFlows(3, 0x0A010000);
        Run r = ctl("flows", "-p", "tcp", "--dport", "80");
        assertEquals(0, r.code, r.err);
        List<String> lines = r.out.lines().toList();
        assertEquals(4, lines.size(), r.out);
        assertTrue(lines.get(0).startsWith("PROTO STATE       NAT          ORIGINAL"), lines.get(0));
        // expires in 5 minutes less the time since the flows were made (unanswered: not ESTABLISHED's 5 days)
        assertTrue(lines.get(1).matches("tcp +ESTABLISHED +dnat +10\\.1\\.0\\.0:(1000[0-2]) -> 192\\.168\\.1\\.2:80 +"
            + "192\\.168\\.15\\.2:80 -> 10\\.1\\.0\\.0:\\1 +0/0 +0/0 +4m[0-5][0-9]s"), lines.get(1));
        assertEquals("3 flows", r.err.trim());
    }

    @Test
    void flowsJsonIsOneItemPerLine() throws Exception {
        gateway.insertDnatFlows(5, 0x0A010000);
        Run r = ctl("--json", "flows", "-n", "2");
        assertEquals(0, r.code, r.err);
        List<String> lines = r.out.lines().toList();
        assertEquals(2, lines.size());
        assertEquals("dnat", Protocol.JSON.readTree(lines.get(1)).path("nat").asText());
    }

    @Test
    void filtersGoBeforeOrAfterTheFlowsSubcommand() {
        gateway.insertDnatFlows(4, 0x0A010000);
        gateway.insertUdpFlow("192.168.15.3", 5000, "192.168.1.53", 61001);
        gateway.insertUdpFlow("192.168.15.4", 5000, "192.168.1.53", 61002);
        assertEquals("2", ctl("flows", "-p", "udp", "count").out.trim());
        assertEquals("2", ctl("flows", "count", "-p", "udp").out.trim());
        assertEquals("4", ctl("flows", "count", "-p", "tcp").out.trim());
        assertEquals("6", ctl("flows", "count").out.trim());
        Run flushed = ctl("flows", "flush", "-p", "udp", "--src", "192.168.15.3");
        assertEquals("deleted 1 flow", flushed.out.trim());
        assertEquals("5", ctl("flows", "count").out.trim());
        assertEquals(1, ctl("flows", "list", "-p", "udp").out.lines().count() - 1);
    }

    /** A stdout whose reader went away (`| head`) after {@code open} bytes: every later write fails. */
    private static final class ClosedPipe extends OutputStream {
        private final int open;
        private int accepted;
        int refused;

        ClosedPipe(int open) {
            this.open = open;
        }

        @Override
        public void write(int b) throws IOException {
            write(new byte[] {(byte) b}, 0, 1);
        }

        @Override
        public void write(byte[] b, int off, int len) throws IOException {
            if (accepted >= open) {
                refused++;
                throw new IOException("Broken pipe");
            }
            accepted += len;
        }
    }

    @Test
    void aListingWhoseReaderWentAwayStopsAndExits141LikeIpKilledBySigpipe() {
        gateway.insertDnatFlows(20_000, 0x0A010000);
        for (boolean json : new boolean[] {false, true}) {
            ClosedPipe pipe = new ClosedPipe(4096);
            StringWriter err = new StringWriter();
            CommandLine cl = Main.commandLine();
            cl.setOut(new PrintWriter(new OutputStreamWriter(pipe, StandardCharsets.UTF_8), true));
            cl.setErr(new PrintWriter(err, true));
            List<String> args = new ArrayList<>(List.of("ctl", "--socket", dir.resolve("control.sock").toString()));
            if (json) {
                args.add("--json");
            }
            args.add("flows");
            int code = cl.execute(args.toArray(new String[0]));
            assertEquals(141, code, "128 + SIGPIPE; " + err);
            assertEquals("", err.toString(), "nothing to say: the reader is gone");
            assertTrue(pipe.refused <= 2, "stopped writing once the pipe closed, not after " + pipe.refused
                + " more writes");
        }
        assertEquals(0, ctl("status").code, "the daemon goes on");
    }

    @Test
    void forwardCommandsReadLikeIproute2AndRefusedInputExits2() {
        Run added = ctl("forward", "add", "tcp:8080=192.168.15.2:80");
        assertEquals(0, added.code, added.err);
        assertEquals("added forward tcp:8080=192.168.15.2:80", added.out.trim());
        Run again = ctl("forward", "add", "tcp:8080=192.168.15.2:80");
        assertEquals(2, again.code);
        assertEquals("nsgate ctl: forward tcp:8080=192.168.15.2:80 already exists", again.err.trim());
        assertEquals("tcp:80=192.168.15.2:80\ntcp:8080=192.168.15.2:80\n", ctl("forward", "list").out);
        Run removed = ctl("forward", "del", "tcp:8080");
        assertEquals(0, removed.code, removed.err);
        assertTrue(removed.out.startsWith("removed forward tcp:8080=192.168.15.2:80"), removed.out);
        assertTrue(ctl("forward", "ls").out.contains(
            "tcp:8080=192.168.15.2:80   (removed; its connections still live)"));
        Run missing = ctl("forward", "delete", "tcp:8080");
        assertEquals(2, missing.code);
        Run bad = ctl("forward", "add", "tcp:80=192.168.15.300:80");
        assertEquals(2, bad.code);
        assertEquals("nsgate ctl: forward \"tcp:80=192.168.15.300:80\": 192.168.15.300 is not an IPv4 address (300 is "
            + "not an octet 0-255)", bad.err.trim());
        Run badJson = ctl("--json", "forward", "add", "tcp:80=192.168.15.300:80");
        assertEquals(2, badJson.code);
        assertTrue(badJson.err.startsWith("{\"error\":{\"code\":\"bad_request\",\"message\":\"forward"), badJson.err);
    }

    @Test
    void masqueradeCommands() {
        assertEquals("masquerading 10.9.0.0/16", ctl("masquerade", "add", "10.9.0.0/16").out.trim());
        assertEquals("192.168.15.0/24 out of lan0\n10.9.0.0/16 out of lan0\n", ctl("masquerade", "list").out);
        assertEquals(0, ctl("masquerade", "del", "10.9.0.0/16").code);
        assertEquals(2, ctl("masquerade", "del", "10.9.0.0/16").code);
    }

    @Test
    void configSaveWithoutAConfigFileFailsWithExit1AndSaysWhy() {
        Run r = ctl("config", "save");
        assertEquals(1, r.code);
        assertTrue(r.err.contains("this daemon was started without --config, so there is no file to save to"), r.err);
        Run shown = ctl("config", "show");
        assertTrue(shown.out.startsWith("lan: lan0\n"), shown.out);
    }

    @Test
    void statsListsEveryCounterEveryPortCounterAndOnlyTheDropsThatHappenedUnlessAll() {
        Run r = ctl("stats");
        assertEquals(0, r.code, r.err);
        assertTrue(r.out.startsWith("COUNTER                             TOTAL     WORKER 0     WORKER 1\n"), r.out);
        assertTrue(r.out.contains("\nforwarded_bytes "), r.out);
        assertTrue(r.out.contains("\nPORT COUNTER                        TOTAL         lan0      v-net-0\n"), r.out);
        assertTrue(r.out.contains("\nrx_ring_drops                          12            7            5  "
            + "frames the kernel dropped: the receive ring was full (PACKET_STATISTICS tp_drops)\n"), r.out);
        for (PortCounter p : PortCounter.values()) {
            assertTrue(r.out.contains("\n" + p.name().toLowerCase() + " "), p.name());
        }
        assertTrue(r.out.contains("no drops (all " + DropReason.values().length + " reasons at 0; --all lists them)"),
            r.out);
        Run all = ctl("stats", "--all");
        assertTrue(all.out.contains("\ntable_full "), all.out);
    }

    @Test
    void anUnreachableDaemonExits3NamingTheSocketAndWhy() {
        Path missing = dir.resolve("nothing-here.sock");
        Run r = run("ctl", "--socket", missing.toString(), "status");
        assertEquals(3, r.code);
        assertEquals("nsgate ctl: cannot reach nsgate at " + missing + ": no such socket (is `nsgate run` running? "
            + "--socket PATH or NSGATE_SOCKET names another)", r.err.trim());
    }

    @Test
    void topologyWithoutAFileAsksForTheSeedLabByName() {
        String prefix = io.nsgate.testkit.TestPrefix.fresh();
        Run show = ctl("topology", "show", "--prefix", prefix);
        assertEquals(0, show.code, show.err);
        assertTrue(show.out.contains("+ netns edge (" + prefix + "edge)"), show.out);
    }

    @Test
    void badUsageExits2() {
        assertEquals(2, ctl("flows", "--dport", "http").code);
        assertEquals(2, ctl("forward", "add").code);
        assertEquals(2, ctl("nonsense").code);
        Run topology = ctl("topology", "apply", dir.resolve("no-such.yaml").toString());
        assertEquals(2, topology.code);
        assertTrue(topology.err.contains("cannot read " + dir.resolve("no-such.yaml")), topology.err);
    }

    @Test
    void everyCtlCommandHasHelpWithExamples() {
        List<String> missing = new ArrayList<>();
        walk(Main.commandLine().getSubcommands().get("ctl"), missing);
        assertEquals(List.of(), missing, "commands whose help shows no example");
    }

    private static void walk(CommandLine cl, List<String> missing) {
        if (cl.getCommandSpec().userObject() instanceof CommandLine.HelpCommand) {
            return;
        }
        if (!cl.getUsageMessage().contains("Examples:")) {
            missing.add(cl.getCommandSpec().qualifiedName());
        }
        cl.getSubcommands().values().stream().distinct().forEach(sub -> walk(sub, missing));
    }
}
