// `nsgate run` as a separate process with its control socket and metrics port: the daemon operators run.
package io.nsgate.control.cli;

import static org.junit.jupiter.api.Assertions.*;

import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.channels.ServerSocketChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

import io.nsgate.control.daemon.GatewayConfig;
import io.nsgate.control.lab.EchoHttpService;
import io.nsgate.control.lab.HttpProbe;
import io.nsgate.control.testsupport.SeedLab;
import io.nsgate.testkit.NsgateProcess;

/**
 * The daemon runs inside the lab's edge namespace ({@code ip netns exec EDGE java ... run}), so its metrics port is
 * on edge's loopback, and its control socket is a file in a temporary directory. `nsgate ctl` runs in process.
 */
class RunControlEndToEndTest {
    @RegisterExtension
    static final SeedLab LAB = new SeedLab();

    private static EchoHttpService blueWeb;
    @TempDir
    static Path dir;

    @BeforeAll
    static void startBlue() throws Exception {
        blueWeb = EchoHttpService.start(LAB.netns("blue"), "blue", "192.168.15.2", 80);
    }

    @AfterAll
    static void stopBlue() throws Exception {
        blueWeb.close();
    }

    @AfterEach
    void stopProcesses() {
        LAB.processes().stopAll();
    }

    /** nsgate ARGS in a JVM of its own with the production options (jvm.options), inside the lab's edge namespace. */
    private NsgateProcess nsgateInEdge(String... args) {
        return NsgateProcess.start(LAB.processes(), NsgateProcess.Launch.of(args)
            .withJvmOptionsFile(NsgateProcess.repositoryJvmOptions()).inNetns(LAB.ns("edge")));
    }

    private static CtlRun ctl(Path socket, String... args) {
        List<String> all = new ArrayList<>(List.of("ctl", "--socket", socket.toString()));
        all.addAll(List.of(args));
        java.io.StringWriter out = new java.io.StringWriter();
        java.io.StringWriter err = new java.io.StringWriter();
        picocli.CommandLine cl = Main.commandLine();
        cl.setOut(new java.io.PrintWriter(out, true));
        cl.setErr(new java.io.PrintWriter(err, true));
        int code = cl.execute(all.toArray(new String[0]));
        return new CtlRun(code, out.toString(), err.toString());
    }

    record CtlRun(int code, String out, String err) {
    }

    @Test
    void theDaemonServesItsSocketAndMetricsSavesItsConfigAndCleansUpOnSigterm() throws Exception {
        Path socket = dir.resolve("run.sock");
        Path config = dir.resolve("gateway.yaml");
        Files.writeString(config, "lan: lan0\ninside: [v-net-0]\nmasquerade: [192.168.15.0/24]\n"
            + "forwards: [\"tcp:80=192.168.15.2:80\"]\nworkers: 1\n");
        // what a crashed daemon leaves: a socket file nobody listens on
        try (ServerSocketChannel crashed = ServerSocketChannel.open(StandardProtocolFamily.UNIX)) {
            crashed.bind(UnixDomainSocketAddress.of(socket));
        }
        NsgateProcess p = nsgateInEdge("run", "--config", config.toString(), "--control-socket", socket.toString(),
            "--metrics-port", "0");
        String log = p.readUntil("nsgate: running", Duration.ofSeconds(60));
        assertTrue(log.contains("removed the stale control socket " + socket), log);
        assertTrue(log.contains("control socket " + socket + " (mode 0660, root only)"), log);
        Matcher port = Pattern.compile("metrics on http://127\\.0\\.0\\.1:([0-9]+)/metrics").matcher(log);
        assertTrue(port.find(), log);

        // a second daemon on the same socket is refused before it touches anything
        NsgateProcess second = nsgateInEdge("run", "--lan", "lan0", "--inside", "v-net-0", "--control-socket",
            socket.toString());
        assertTrue(second.waitFor(Duration.ofSeconds(60)));
        String refused = second.rest();
        assertEquals(1, second.exitValue(), refused);
        assertTrue(refused.contains("another nsgate is serving " + socket), refused);
        assertFalse(refused.contains("attached to"), "it attached to nothing: " + refused);

        assertEquals(0, ctl(socket, "status").code);
        assertEquals(0, ctl(socket, "forward", "add", "tcp:8080=192.168.15.2:80").code);
        HttpProbe.Response viaNew = HttpProbe.get(LAB.netns("lan"), "192.168.1.2", 8080, 3000);
        assertTrue(viaNew.body().startsWith("hello from blue"), viaNew.body());
        CtlRun saved = ctl(socket, "config", "save");
        assertEquals(0, saved.code, saved.err);
        assertTrue(GatewayConfig.load(config).forwards().toString().contains("tcp:8080=192.168.15.2:80"));

        HttpProbe.Response metrics = HttpProbe.get(LAB.netns("edge"), "127.0.0.1", Integer.parseInt(port.group(1)),
            3000);
        assertEquals(200, metrics.status());
        assertTrue(metrics.body().contains("nsgate_dnat_flows_total{worker=\"0\"} "), metrics.body());
        assertTrue(metrics.body().contains("\nnsgate_forwards 2\n"), metrics.body());

        p.terminate(); // SIGTERM
        assertTrue(p.waitFor(Duration.ofSeconds(30)));
        String tail = p.rest();
        assertEquals(0, p.exitValue(), tail);
        assertFalse(Files.exists(socket), "the daemon removed its socket");
        assertEquals(3, ctl(socket, "status").code, "nobody to reach any more");
    }

    @Test
    void sighupAndCtlReloadApplyTheFileLiveAndRefuseABrokenOneWhole() throws Exception {
        Path socket = dir.resolve("reload.sock");
        Path config = dir.resolve("reload.yaml");
        String base = "lan: lan0\ninside: [v-net-0]\nmasquerade: [192.168.15.0/24]\nworkers: 1\n";
        Files.writeString(config, base + "forwards: [\"tcp:80=192.168.15.2:80\"]\n");
        NsgateProcess p = nsgateInEdge("run", "--config", config.toString(), "--control-socket", socket.toString());
        String log = p.readUntil("nsgate: running", Duration.ofSeconds(60));
        assertTrue(log.contains("SIGHUP reads " + config + " again"), log);
        // a live masqueraded flow through every reload
        LAB.awaitListening(LAB.ns("lan"), 5201, LAB.start(LAB.ns("lan"), "iperf3", "-s", "-1", "-B", "192.168.1.3"),
            Duration.ofSeconds(10));
        Process live = LAB.start(LAB.ns("blue"), "iperf3", "-c", "192.168.1.3", "-t", "5", "-J");

        Files.writeString(config, base + "forwards: [\"tcp:80=192.168.15.2:80\", \"tcp:8081=192.168.15.2:80\"]\n");
        hangup(p);
        String reloaded = p.readUntil("forward added: tcp:8081=192.168.15.2:80", Duration.ofSeconds(30));
        assertTrue(reloaded.contains("nsgate: SIGHUP: reloaded " + config), reloaded);
        assertTrue(HttpProbe.get(LAB.netns("lan"), "192.168.1.2", 8081, 3000).body().startsWith("hello from blue"));

        Files.writeString(config, base + "forwards: [\"tcp:80=192.168.15.2:80\", \"tcp:8082=nowhere:80\"]\n");
        hangup(p);
        String refused = p.readUntil("refused, nothing changed", Duration.ofSeconds(30));
        assertTrue(refused.contains("forwards[1]"), "the field is named: " + refused);
        assertTrue(HttpProbe.get(LAB.netns("lan"), "192.168.1.2", 8081, 3000).body().startsWith("hello from blue"),
            "the running rules stay");
        CtlRun byCtl = ctl(socket, "config", "reload");
        assertEquals(2, byCtl.code, byCtl.out + byCtl.err);
        assertTrue(byCtl.err.contains("config reload refused, nothing changed") && byCtl.err.contains("forwards[1]"),
            byCtl.err);

        Files.writeString(config, base.replace("workers: 1", "workers: 2") + "forwards: [\"tcp:80=192.168.15.2:80\"]\n");
        CtlRun restartOnly = ctl(socket, "config", "reload");
        assertEquals(2, restartOnly.code);
        assertTrue(restartOnly.err.contains("workers: 1 -> 2 takes a restart"), restartOnly.err);

        Files.writeString(config, base + "forwards: [\"tcp:80=192.168.15.2:80\"]\nreversePathFilter: loose\n");
        CtlRun applied = ctl(socket, "config", "reload");
        assertEquals(0, applied.code, applied.err);
        assertTrue(applied.out.contains("forward removed: tcp:8081=192.168.15.2:80")
            && applied.out.contains("reversePathFilter: strict -> loose"), applied.out);
        assertEquals("reloaded " + config.toAbsolutePath() + ": no changes", ctl(socket, "config", "reload").out.trim());

        String out = LAB.await(live, Duration.ofSeconds(30));
        assertTrue(out.contains("\"bits_per_second\"") && !out.contains("\"error\""),
            "the live flow went through every reload: " + out);
        p.terminate();
        assertTrue(p.waitFor(Duration.ofSeconds(30)));
        assertEquals(0, p.exitValue(), p.rest());
    }

    private static void hangup(NsgateProcess p) throws Exception {
        Process kill = new ProcessBuilder("kill", "-HUP", Long.toString(p.pid())).inheritIO().start();
        assertEquals(0, kill.waitFor());
    }

    @Test
    void runCheckValidatesWithoutStartingAnything(@TempDir Path files) throws Exception {
        Path good = files.resolve("good.yaml");
        Files.writeString(good, "netns: nowhere-at-all\nlan: lan0\ninside: [v-net-0]\n"
            + "forwards: [\"tcp:80=[fd15::2]:80\"]\n");
        CtlRun ok = nsgateInProcess("run", "--check", "--config", good.toString());
        assertEquals(0, ok.code, ok.err);
        assertTrue(ok.out.contains("is valid: 1 forward(s)"), ok.out);
        Path bad = files.resolve("bad.yaml");
        Files.writeString(bad, "lan: lan0\ninside: [v-net-0]\nforwards: [\"tcp:62000=192.168.15.2:80\", "
            + "\"tcp:80=192.168.15.2:80\", \"tcp:80=192.168.15.3:80\"]\nworkers: 0\n");
        CtlRun refused = nsgateInProcess("run", "--check", "--config", bad.toString());
        assertEquals(2, refused.code);
        assertTrue(refused.err.contains("forwards[0] tcp:62000=192.168.15.2:80: external ports overlap natPorts"),
            refused.err);
        assertTrue(refused.err.contains("forwards[2] tcp:80=192.168.15.3:80: overlaps forwards[1]"), refused.err);
        assertTrue(refused.err.contains("workers 0"), refused.err);
        CtlRun missing = nsgateInProcess("run", "--check", "--config", files.resolve("none.yaml").toString());
        assertEquals(2, missing.code);
        assertTrue(missing.err.contains("cannot read: no such file"), missing.err);
    }

    /** nsgate ARGS in this JVM (commands that start nothing). */
    private static CtlRun nsgateInProcess(String... args) {
        java.io.ByteArrayOutputStream out = new java.io.ByteArrayOutputStream();
        java.io.ByteArrayOutputStream err = new java.io.ByteArrayOutputStream();
        java.io.PrintStream oldOut = System.out;
        java.io.PrintStream oldErr = System.err;
        System.setOut(new java.io.PrintStream(out, true));
        System.setErr(new java.io.PrintStream(err, true));
        try {
            int code = Main.commandLine().execute(args);
            return new CtlRun(code, out.toString(), err.toString());
        } finally {
            System.setOut(oldOut);
            System.setErr(oldErr);
        }
    }

    @Test
    void anUnknownControlGroupIsBadConfigurationAndNothingStarts() throws Exception {
        NsgateProcess p = nsgateInEdge("run", "--lan", "lan0", "--inside", "v-net-0", "--control-socket",
            dir.resolve("g.sock").toString(), "--control-group", "no-such-group-x");
        assertTrue(p.waitFor(Duration.ofSeconds(60)));
        String out = p.rest();
        assertEquals(2, p.exitValue(), out);
        assertTrue(out.contains("--control-group no-such-group-x: no such group"), out);
        assertFalse(out.contains("attached to"), out);
    }

    @Test
    void configSaveWithoutConfigIsRefusedAndNoControlSocketMeansNone() throws Exception {
        Path socket = dir.resolve("noconfig.sock");
        NsgateProcess p = nsgateInEdge("run", "--lan", "lan0", "--inside", "v-net-0", "--workers", "1",
            "--control-socket", socket.toString());
        p.readUntil("nsgate: running", Duration.ofSeconds(60));
        CtlRun r = ctl(socket, "config", "save");
        assertEquals(1, r.code);
        assertTrue(r.err.contains("started without --config"), r.err);
        p.terminate();
        assertTrue(p.waitFor(Duration.ofSeconds(30)));

        Path none = dir.resolve("none.sock");
        NsgateProcess q = nsgateInEdge("run", "--lan", "lan0", "--inside", "v-net-0", "--workers", "1",
            "--control-socket", none.toString(), "--no-control-socket");
        String log = q.readUntil("nsgate: running", Duration.ofSeconds(60));
        assertFalse(log.contains("control socket"), log);
        assertFalse(Files.exists(none));
        q.terminate();
        assertTrue(q.waitFor(Duration.ofSeconds(30)));
    }

    private String reservedPorts() {
        return LAB.exec(LAB.ns("edge"), "cat", "/proc/sys/net/ipv4/ip_local_reserved_ports").strip();
    }

    @Test
    void aSecondDataPlaneOnTheSameInterfacesIsRefusedBeforeItChangesAnything() throws Exception {
        NsgateProcess first = nsgateInEdge("run", "--lan", "lan0", "--inside", "v-net-0", "--workers", "1",
            "--control-socket", dir.resolve("first.sock").toString());
        first.readUntil("nsgate: running", Duration.ofSeconds(60));
        String reserved = reservedPorts();
        NsgateProcess second = nsgateInEdge("run", "--lan", "lan0", "--inside", "v-net-0", "--workers", "1",
            "--nat-ports", "50000-50999", "--control-socket", dir.resolve("second.sock").toString());
        assertTrue(second.waitFor(Duration.ofSeconds(60)));
        String refused = second.rest();
        assertEquals(1, second.exitValue(), refused);
        assertTrue(refused.contains("another nsgate data plane already serves lan0 in this network namespace"),
            refused);
        assertFalse(refused.contains("attached to"), refused);
        assertEquals(reserved, reservedPorts(), "the second one reserved nothing");
        assertTrue(first.isAlive());
        first.terminate();
        assertTrue(first.waitFor(Duration.ofSeconds(30)));
    }

    @Test
    void aKilledGatewaysReservedPortsAreGivenBackExactlyByTheNextCleanStop() throws Exception {
        String edge = LAB.ns("edge");
        String original = reservedPorts();
        LAB.exec(edge, "sysctl", "-q", "-w", "net.ipv4.ip_local_reserved_ports=1000-1001,2000");
        try {
            NsgateProcess killed = nsgateInEdge("run", "--lan", "lan0", "--inside", "v-net-0", "--workers", "1",
                "--control-socket", dir.resolve("killed.sock").toString());
            killed.readUntil("nsgate: running", Duration.ofSeconds(60));
            assertEquals("1000-1001,2000,61000-65535", reservedPorts());
            ProcessHandle.of(killed.pid()).orElseThrow().destroyForcibly(); // SIGKILL: no cleanup at all
            assertTrue(killed.waitFor(Duration.ofSeconds(30)));
            assertEquals("1000-1001,2000,61000-65535", reservedPorts(), "a killed gateway restores nothing");

            NsgateProcess next = nsgateInEdge("run", "--lan", "lan0", "--inside", "v-net-0", "--workers", "1",
                "--control-socket", dir.resolve("next.sock").toString());
            String log = next.readUntil("nsgate: running", Duration.ofSeconds(60));
            assertTrue(log.contains("a previous nsgate did not stop cleanly"), log);
            next.terminate();
            assertTrue(next.waitFor(Duration.ofSeconds(30)));
            assertEquals(0, next.exitValue(), next.rest());
            assertEquals("1000-1001,2000", reservedPorts(), "what it was before the first start");
        } finally {
            LAB.exec(edge, "sysctl", "-q", "-w", "net.ipv4.ip_local_reserved_ports=" + original);
        }
    }
}
