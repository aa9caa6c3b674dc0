// nsgate ctl end to end: the gateway forwarding real traffic in the seed lab, changed and inspected through its socket.
package io.nsgate.control.cli;

import static org.junit.jupiter.api.Assertions.*;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.net.DatagramPacket;
import java.net.DatagramSocket;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

import com.fasterxml.jackson.databind.JsonNode;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

import io.nsgate.control.api.server.ControlServer;
import io.nsgate.control.api.ops.ControlTarget;
import io.nsgate.control.api.Protocol;
import io.nsgate.control.daemon.Gateway;
import io.nsgate.control.daemon.GatewayConfig;
import io.nsgate.control.lab.EchoHttpService;
import io.nsgate.control.lab.HttpProbe;
import io.nsgate.control.metrics.MetricsServer;
import io.nsgate.control.metrics.PrometheusText;
import io.nsgate.control.netns.NetNs;
import io.nsgate.control.testsupport.SeedLab;
import io.nsgate.dataplane.nat.ForwardRule;
import io.nsgate.dataplane.stats.Counter;
import io.nsgate.dataplane.stats.DropReason;
import io.nsgate.testkit.NsgateProcess;
import io.nsgate.testkit.TestPrefix;
import picocli.CommandLine;

/**
 * One seed lab, one gateway (two workers, in its edge namespace) and its control socket in a temporary directory
 * for the class. Most commands run the CLI in process (through the socket all the same); the refusal of `nobody`
 * runs it as a separate JVM under another uid.
 */
class CtlEndToEndTest {
    @RegisterExtension
    static final SeedLab LAB = new SeedLab();

    @TempDir
    static Path dir;
    private static Path socket;
    private static Path configFile;
    private static Gateway gateway;
    private static ControlServer server;
    private static EchoHttpService blueWeb;

    @BeforeAll
    static void start() throws Exception {
        socket = dir.resolve("control.sock");
        configFile = dir.resolve("gateway.yaml");
        GatewayConfig config = LabCommand.labConfig(LAB.prefix(), 2);
        Files.writeString(configFile, config.toYaml());
        blueWeb = EchoHttpService.start(LAB.netns("blue"), "blue", "192.168.15.2", 80);
        gateway = Gateway.start(config, line -> System.out.println("[gateway] " + line));
        server = ControlServer.start(ControlServer.Settings.of(socket), ControlTarget.of(gateway, configFile),
            line -> System.out.println("[control] " + line));
    }

    @AfterAll
    static void stop() throws Exception {
        LAB.processes().stopAll();
        if (server != null) {
            server.close();
        }
        if (gateway != null) {
            gateway.close();
        }
        if (blueWeb != null) {
            blueWeb.close();
        }
    }

    @AfterEach
    void stopProcessesAndCheckWorkers() {
        LAB.processes().stopAll();
        assertEquals(0, gateway.dataPlane().workerErrors(), () -> "worker error: "
            + gateway.dataPlane().lastWorkerError());
    }

    record Run(int code, String out, String err) {
    }

    /** nsgate ctl --socket SOCKET ARGS..., in process. */
    private static Run ctl(String... args) {
        List<String> all = new ArrayList<>(List.of("ctl", "--socket", socket.toString()));
        all.addAll(List.of(args));
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        CommandLine cl = Main.commandLine();
        cl.setOut(new PrintWriter(out, true));
        cl.setErr(new PrintWriter(err, true));
        int code = cl.execute(all.toArray(new String[0]));
        return new Run(code, out.toString(), err.toString());
    }

    private static Run ok(String... args) {
        Run r = ctl(args);
        assertEquals(0, r.code, () -> "nsgate ctl " + String.join(" ", args) + ": " + r.err);
        return r;
    }

    private static List<JsonNode> flows(String... filter) throws Exception {
        List<String> args = new ArrayList<>(List.of("--json", "flows"));
        args.addAll(List.of(filter));
        List<JsonNode> items = new ArrayList<>();
        for (String line : ok(args.toArray(new String[0])).out.lines().toList()) {
            items.add(Protocol.JSON.readTree(line));
        }
        return items;
    }

    /** A TCP connection attempt from lan; true when it was accepted. */
    private static boolean connects(String ip, int port, int timeoutMs) throws Exception {
        return LAB.netns("lan").call(() -> {
            try (Socket s = new Socket()) {
                s.connect(new InetSocketAddress(ip, port), timeoutMs);
                return true;
            } catch (java.io.IOException e) {
                return false;
            }
        });
    }

    @Test
    void statusAndStatsDescribeTheRunningGateway() throws Exception {
        HttpProbe.get(LAB.netns("lan"), "192.168.1.2", 80, 3000);
        Run status = ok("status");
        assertTrue(status.out.contains("in network namespace " + LAB.ns("edge")), status.out);
        assertTrue(status.out.contains("lan0       lan     192.168.1.2/24"), status.out);
        JsonNode stats = Protocol.JSON.readTree(ok("--json", "stats").out);
        assertTrue(stats.path("counters").path("forwarded").asLong() > 0, stats.toString());
        assertTrue(stats.path("counters").path("dnat_flows").asLong() > 0, stats.toString());
        long perWorker = 0;
        for (JsonNode w : stats.path("workers")) {
            perWorker += w.path("counters").path("forwarded").asLong();
        }
        assertTrue(perWorker >= stats.path("counters").path("forwarded").asLong() - 100, "workers add up");
    }

    @Test
    void aForwardAddedThroughTheSocketIsReachableFromLan() throws Exception {
        assertFalse(connects("192.168.1.2", 8080, 1000), "nothing on 8080 before");
        ok("forward", "add", "tcp:8080=192.168.15.2:80");
        try {
            HttpProbe.Response r = HttpProbe.get(LAB.netns("lan"), "192.168.1.2", 8080, 3000);
            assertTrue(r.body().startsWith("hello from blue"), r.body());
            assertTrue(r.body().contains("you are 192.168.1.3:"), "blue sees the real client: " + r.body());
        } finally {
            ok("forward", "del", "tcp:8080");
        }
    }

    @Test
    void deletingAForwardStopsNewConnectionsWhileAnExistingOneKeepsWorking() throws Exception {
        ok("forward", "add", "tcp:5201=192.168.15.2:5201");
        LAB.awaitListening(LAB.ns("blue"), 5201,
            LAB.start(LAB.ns("blue"), "iperf3", "-s", "-1", "-B", "192.168.15.2"), Duration.ofSeconds(10));
        Process client = LAB.start(LAB.ns("lan"), "iperf3", "-c", "192.168.1.2", "-t", "4", "-J");
        Thread.sleep(1500);
        Run removed = ok("forward", "del", "tcp:5201");
        assertTrue(removed.out.startsWith("removed forward tcp:5201=192.168.15.2:5201"), removed.out);
        assertTrue(ok("forward", "list").out.contains("tcp:5201=192.168.15.2:5201   (removed; its connections "
            + "still live)"), "lingering while iperf3 runs");
        assertFalse(connects("192.168.1.2", 5201, 1000), "a new connection to the removed forward gets nowhere");
        String out = LAB.await(client, Duration.ofSeconds(30));
        assertTrue(out.contains("\"bits_per_second\""), "the existing connection finished: " + out);
        assertFalse(out.contains("\"error\""), out);
        assertFalse(gateway.rules().forwards().contains(ForwardRule.parse("tcp:5201=192.168.15.2:5201")));
    }

    @Test
    void ipv6FlowsAreListedWithTheirRealAddressesFilteredCountedAndFlushed() throws Exception {
        try (io.nsgate.control.lab.EchoHttpService web = io.nsgate.control.lab.EchoHttpService.start(
            LAB.netns("blue"), "blue", "fd15::2", 80)) {
            io.nsgate.control.lab.HttpProbe.Response r = io.nsgate.control.lab.HttpProbe.get(LAB.netns("lan"),
                "fd01::2", 80, 3000);
            assertTrue(r.body().startsWith("hello from blue"), r.body());
        }
        List<JsonNode> mine = flows("-p", "tcp", "--src", "fd01::3");
        assertEquals(1, mine.size(), mine.toString());
        JsonNode f = mine.get(0);
        assertEquals("dnat", f.path("nat").asText(), f.toString());
        assertEquals("fd01::3", f.path("orig").path("src").asText());
        assertEquals("fd01::2", f.path("orig").path("dst").asText());
        assertEquals(80, f.path("orig").path("dport").asInt());
        assertEquals("fd15::2", f.path("reply").path("src").asText(), "the backend, in full");
        assertEquals("fd01::3", f.path("reply").path("dst").asText());
        assertEquals(1, flows("--dst", "fd15::2/64", "-p", "tcp").size(), "found by its backend's prefix");
        assertEquals(List.of(), flows("--dst", "192.168.15.0/24", "--src", "fd01::3", "-p", "tcp"),
            "an IPv4 prefix matches no address of a plain IPv6 flow (its backend is fd15::2)");
        assertEquals("1", ok("flows", "count", "-p", "tcp", "--src", "fd01::3").out.trim());
        assertEquals("deleted 1 flow", ok("flows", "flush", "-p", "tcp", "--src", "fd01::3").out.trim());
        assertEquals(List.of(), flows("-p", "tcp", "--src", "fd01::3"));

        // an IPv6 client of an IPv4-only service: the client's address beside what the backend saw
        ok("forward", "add", "tcp:[fd01::2]:8082=192.168.15.2:80");
        try { // blue's IPv4 web service (the class's)
            assertTrue(io.nsgate.control.lab.HttpProbe.get(LAB.netns("lan"), "fd01::2", 8082, 3000).body()
                .startsWith("hello from blue"));
        } finally {
            ok("forward", "del", "tcp:[fd01::2]:8082");
        }
        List<JsonNode> translated = flows("-p", "tcp", "--src", "fd01::3", "--dport", "8082");
        assertEquals(1, translated.size(), translated.toString());
        JsonNode t = translated.get(0);
        assertEquals("dnat64", t.path("nat").asText(), t.toString());
        assertEquals("fd01::3", t.path("orig").path("src").asText());
        assertEquals("fd01::2", t.path("orig").path("dst").asText());
        assertEquals("192.168.15.2", t.path("reply").path("src").asText(), "the IPv4 backend");
        assertEquals("192.168.1.2", t.path("reply").path("dst").asText(), "the gateway's address the backend saw");
        assertEquals(1, flows("--dst", "192.168.15.0/24", "--src", "fd01::3", "--dport", "8082").size(),
            "found by the backend's IPv4 prefix too");
    }

    @Test
    void aLiveIperfFlowIsListedWithGrowingCountersAndFlushRemovesIt() throws Exception {
        LAB.awaitListening(LAB.ns("lan"), 5201,
            LAB.start(LAB.ns("lan"), "iperf3", "-s", "-1", "-B", "192.168.1.3"), Duration.ofSeconds(10));
        LAB.start(LAB.ns("blue"), "iperf3", "-c", "192.168.1.3", "-t", "10", "-b", "200M");
        Thread.sleep(1500);
        String[] mine = {"-p", "tcp", "--dport", "5201", "--src", "192.168.15.2", "--state", "ESTABLISHED"};
        JsonNode first = busiest(flows(mine));
        assertEquals("ESTABLISHED", first.path("state").asText(), first.toString());
        assertEquals("snat", first.path("nat").asText());
        assertEquals("192.168.1.2", first.path("reply").path("dst").asText(), "masqueraded to the gateway");
        Thread.sleep(1000);
        JsonNode second = busiest(flows(mine));
        assertEquals(first.path("id").asLong(), second.path("id").asLong(), "the same flow");
        assertTrue(second.path("orig").path("bytes").asLong() > first.path("orig").path("bytes").asLong() + 1_000_000,
            "counters grow: " + first.path("orig") + " then " + second.path("orig"));
        assertTrue(second.path("orig").path("packets").asLong() > first.path("orig").path("packets").asLong());

        long noFlowBefore = gateway.dataPlane().stats().total(DropReason.TCP_NO_FLOW);
        long pickupsBefore = gateway.dataPlane().stats().total(Counter.TCP_PICKUPS);
        Run flushed = ok("flows", "flush", "-p", "tcp", "--dport", "5201", "--src", "192.168.15.2");
        assertTrue(flushed.out.matches("deleted [1-9][0-9]* flows?\\n"), flushed.out);
        Thread.sleep(300);
        // its next segments match no flow: a bare ACK is picked up as a new connection (loose tracking, netfilter's
        // default), anything else is refused
        assertTrue(gateway.dataPlane().stats().total(DropReason.TCP_NO_FLOW) > noFlowBefore
                || gateway.dataPlane().stats().total(Counter.TCP_PICKUPS) > pickupsBefore,
            "the flushed connection's segments matched no flow");
    }

    private static JsonNode busiest(List<JsonNode> flows) {
        assertFalse(flows.isEmpty(), "no flow listed");
        JsonNode best = flows.get(0);
        for (JsonNode f : flows) {
            if (f.path("orig").path("bytes").asLong() > best.path("orig").path("bytes").asLong()) {
                best = f;
            }
        }
        return best;
    }

    @Test
    void flushingUdpFlowsAlsoFreesTheirPortMappings() throws Exception {
        LAB.netns("blue").call(() -> {
            try (DatagramSocket s = new DatagramSocket(new InetSocketAddress("192.168.15.2", 40404))) {
                byte[] b = "hi".getBytes(StandardCharsets.US_ASCII);
                s.send(new DatagramPacket(b, b.length, new InetSocketAddress("192.168.1.3", 4000)));
                s.send(new DatagramPacket(b, b.length, new InetSocketAddress("192.168.1.3", 4001)));
            }
            return null;
        });
        Thread.sleep(200);
        List<JsonNode> withMappings = flows("-p", "udp", "--src", "192.168.15.2", "--mappings");
        assertEquals(3, withMappings.size(), "two flows and their shared mapping: " + withMappings);
        assertEquals(1, withMappings.stream().filter(f -> f.path("state").asText().equals("MAPPING")).count());
        assertEquals("deleted 2 flows", ok("flows", "flush", "-p", "udp", "--src", "192.168.15.2").out.trim());
        assertEquals(List.of(), flows("-p", "udp", "--src", "192.168.15.2", "--mappings"),
            "the mapping went with its last flow: the port is free again");
    }

    @Test
    void configSaveWritesTheLiveChangesToTheDaemonsFile() throws Exception {
        ok("forward", "add", "udp:5353=192.168.15.2:53");
        ok("forward", "add", "tcp:[fd01::2]:8443=[fd15::2]:443");
        ok("masquerade", "add", "10.7.0.0/16");
        ok("masquerade", "add", "fd07::/64");
        try {
            Run saved = ok("config", "save");
            assertTrue(saved.out.startsWith("saved the running configuration to " + configFile), saved.out);
            GatewayConfig reloaded = GatewayConfig.load(configFile);
            assertTrue(reloaded.forwards().contains(ForwardRule.parse("udp:5353=192.168.15.2:53")));
            assertTrue(reloaded.forwards().contains(ForwardRule.parse("tcp:[fd01::2]:8443=[fd15::2]:443")),
                "an IPv6 forward added by ctl, saved and read back: " + reloaded.forwards());
            assertEquals(List.of("192.168.15.0/24", "fd15::/64", "10.7.0.0/16", "fd07::/64"),
                reloaded.masquerade().stream().map(Object::toString).toList());
            assertEquals(LAB.ns("edge"), reloaded.netns());
        } finally {
            ok("forward", "del", "udp:5353");
            ok("forward", "del", "tcp:[fd01::2]:8443");
            ok("masquerade", "del", "10.7.0.0/16");
            ok("masquerade", "del", "fd07::/64");
        }
    }

    @Test
    void topologyApplyShowAndDestroyRunInTheDaemon() throws Exception {
        String prefix = TestPrefix.fresh();
        Path file = dir.resolve("two.yaml");
        Files.writeString(file, "name: ctl-test\nnamespaces:\n  - name: a\n  - name: b\nveths:\n"
            + "  - a: {namespace: a, name: eth0, addresses: [10.99.0.1/30]}\n"
            + "    b: {namespace: b, name: eth0, addresses: [10.99.0.2/30]}\n");
        try {
            Run applied = ok("topology", "apply", file.toString(), "--prefix", prefix);
            assertTrue(applied.out.startsWith("+ netns a (" + prefix + "a)"), applied.out);
            assertTrue(NetNs.exists(prefix + "a") && NetNs.exists(prefix + "b"));
            assertEquals("no changes\n", ok("topology", "show", file.toString(), "--prefix", prefix).out);
            Run destroyed = ok("topology", "destroy", file.toString(), "--prefix", prefix);
            assertTrue(destroyed.out.contains("- netns a (" + prefix + "a)"), destroyed.out);
            assertFalse(NetNs.exists(prefix + "a"));
        } finally {
            TestPrefix.sweep(prefix);
        }
    }

    @Test
    void metricsAreServedOnTheLoopbackOfTheNamespaceTheyWereStartedIn() throws Exception {
        NetNs edge = LAB.netns("edge");
        ControlTarget target = ControlTarget.of(gateway, configFile);
        MetricsServer metrics = edge.call(() -> MetricsServer.start(0, () -> PrometheusText.render(target, server)));
        try {
            HttpProbe.get(LAB.netns("lan"), "192.168.1.2", 80, 3000);
            HttpProbe.Response r = HttpProbe.get(edge, "127.0.0.1", metrics.port(), 3000);
            assertEquals(200, r.status());
            assertTrue(r.body().contains("# TYPE nsgate_forwarded_total counter\n"), r.body());
            assertTrue(r.body().contains("nsgate_flow_table_capacity{family=\"ipv4\"} 65536\n"), r.body());
            assertTrue(r.body().contains("nsgate_control_connections "), r.body());
            assertFalse(connectsFromLan("192.168.1.2", metrics.port()), "loopback only: not on the LAN address");
        } finally {
            metrics.close();
        }
    }

    private static boolean connectsFromLan(String ip, int port) throws Exception {
        return connects(ip, port, 1000);
    }

    // ------------------------------------------------------------------ other users, as separate processes

    /** The CLI as another user: a JVM under setpriv, keeping CAP_DAC_OVERRIDE so it can read the classpath. */
    private static NsgateProcess ctlAs(List<String> identity, String... args) {
        List<String> setpriv = new ArrayList<>(List.of("setpriv"));
        setpriv.addAll(identity);
        setpriv.addAll(List.of("--inh-caps=+dac_override", "--ambient-caps=+dac_override"));
        List<String> ctl = new ArrayList<>(List.of("ctl"));
        ctl.addAll(List.of(args));
        return NsgateProcess.start(LAB.processes(), NsgateProcess.Launch.of(ctl.toArray(new String[0]))
            .under(setpriv));
    }

    @Test
    void aClientRunningAsNobodyIsRefusedWithExitCode4() throws Exception {
        long refusedBefore = server.refusedPeers();
        // CAP_DAC_OVERRIDE gets it past the socket file's 0660: the daemon's SO_PEERCRED check must still refuse
        NsgateProcess p = ctlAs(List.of("--reuid=65534", "--regid=65534", "--clear-groups"), "--socket",
            socket.toString(), "status");
        String out = p.rest();
        assertEquals(4, p.exitValue(), out);
        assertTrue(out.contains("nsgate ctl: uid 65534 (pid "), out);
        assertTrue(out.contains("may not use the nsgate control socket: only root"), out);
        assertEquals(refusedBefore + 1, server.refusedPeers());
        assertTrue(ok("status").out.startsWith("nsgate "), "root is still served");
    }

    @Test
    void aMemberOfTheControlGroupIsAdmitted() throws Exception {
        Path groupSocket = dir.resolve("group.sock");
        try (ControlServer grouped = ControlServer.start(ControlServer.Settings.of(groupSocket).withGroup("src"),
            ControlTarget.of(gateway, null), line -> { })) {
            NsgateProcess member = ctlAs(List.of("--reuid=65534", "--regid=65534", "--groups=40"), "--socket",
                groupSocket.toString(), "--json", "status");
            String out = member.rest();
            assertEquals(0, member.exitValue(), out);
            assertEquals(2, Protocol.JSON.readTree(out).path("workers").asInt(), out);
            NsgateProcess stranger = ctlAs(List.of("--reuid=65534", "--regid=65534", "--groups=41"), "--socket",
                groupSocket.toString(), "status");
            String refused = stranger.rest();
            assertEquals(4, stranger.exitValue(), refused);
            assertTrue(refused.contains("only root and members of group src (gid 40)"), refused);
        }
    }
}
