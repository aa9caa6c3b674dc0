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
