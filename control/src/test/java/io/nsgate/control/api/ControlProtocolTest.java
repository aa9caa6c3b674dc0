// Round trips through a real control socket in process: every operation against a data plane over in-memory ports.
package io.nsgate.control.api;

import static java.nio.charset.StandardCharsets.UTF_8;
import static org.junit.jupiter.api.Assertions.*;

import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import io.nsgate.control.api.client.ControlClient;
import io.nsgate.control.api.ops.InMemoryGateway;
import io.nsgate.control.api.server.ControlServer;
import io.nsgate.control.daemon.GatewayConfig;
import io.nsgate.dataplane.nat.ForwardRule;
import io.nsgate.dataplane.stats.Counter;
import io.nsgate.dataplane.stats.DropReason;
import io.nsgate.dataplane.stats.PortCounter;
import io.nsgate.dataplane.stats.StatsSnapshot;
import io.nsgate.testkit.TestPrefix;

class ControlProtocolTest {
    @TempDir
    static Path dir;
    private static Path socket;
    private static Path configFile;
    private static InMemoryGateway gateway;
    private static ControlServer server;
    private static final List<String> LOG = new ArrayList<>();

    @BeforeAll
    static void start() throws Exception {
        socket = dir.resolve("control.sock");
        configFile = dir.resolve("gateway.yaml");
        gateway = new InMemoryGateway(1 << 16, configFile);
        Files.writeString(configFile, gateway.config().toYaml());
        server = ControlServer.start(ControlServer.Settings.of(socket), gateway, line -> {
            synchronized (LOG) {
                LOG.add(line);
            }
        });
    }

    @AfterAll
    static void stop() throws Exception {
        if (server != null) {
            server.close();
        }
        if (gateway != null) {
            gateway.close();
        }
    }

    @BeforeEach
    void emptyTable() throws Exception {
        try (ControlClient c = client()) {
            assertTrue(c.call("flows.flush", null).ok());
        }
    }

    static ControlClient client() throws ControlClient.Unreachable {
        return ControlClient.connect(socket, Duration.ofSeconds(20));
    }

    private static ObjectNode args() {
        return Protocol.JSON.createObjectNode();
    }

    private static ControlClient.Reply call(String op, ObjectNode args) throws Exception {
        try (ControlClient c = client()) {
            return c.call(op, args);
        }
    }

    private static List<JsonNode> list(ObjectNode args) throws Exception {
        List<JsonNode> items = new ArrayList<>();
        try (ControlClient c = client()) {
            ControlClient.Reply done = c.stream("flows.list", args, items::add);
            assertTrue(done.ok(), done.line().toString());
            assertTrue(done.line().path("done").asBoolean(), done.line().toString());
            assertEquals(items.size(), done.count());
        }
        return items;
    }

    @Test
    void theSocketFileIsReadableAndWritableByOwnerAndGroupOnly() throws Exception {
        assertEquals("rw-rw----", java.nio.file.attribute.PosixFilePermissions.toString(
            Files.getPosixFilePermissions(socket)));
    }

    @Test
    void statusNamesWorkersInterfacesAndTableFill() throws Exception {
        gateway.insertDnatFlows(100, 0x0A010000);
        ControlClient.Reply r = call("status", null);
        assertTrue(r.ok(), r.line().toString());
        assertEquals(1, r.line().path("v").asInt());
        assertEquals("1", r.line().path("id").asText());
        JsonNode s = r.result();
        assertEquals(2, s.path("workers").asInt());
        assertEquals("lan0", s.path("interfaces").get(0).path("name").asText());
        assertEquals("lan", s.path("interfaces").get(0).path("role").asText());
        assertEquals("192.168.15.5/24", s.path("interfaces").get(1).path("address").asText());
        assertEquals(100, s.path("flows").path("size").asLong());
        assertEquals(1 << 16, s.path("flows").path("capacity").asLong());
        assertTrue(s.path("uptime_s").asDouble() > 0);
        assertTrue(s.path("control").path("connections").asInt() >= 1, s.toString());
    }

    @Test
    void statsHasEveryCounterDropReasonAndPortCounterInTotalAndPerWorker() throws Exception {
        JsonNode s = call("stats", null).result();
        for (Counter c : Counter.values()) {
            assertTrue(s.path("counters").has(StatsJson.name(c)), c.name());
        }
        for (DropReason d : DropReason.values()) {
            assertTrue(s.path("drops").has(StatsJson.name(d)), d.name());
        }
        for (PortCounter p : PortCounter.values()) {
            assertTrue(s.path("ports").has(StatsJson.name(p)), p.name());
        }
        assertEquals(2, s.path("workers").size());
        assertEquals(1, s.path("workers").get(1).path("worker").asInt());
        assertEquals(Counter.values().length, s.path("workers").get(0).path("counters").size());
        assertEquals(DropReason.values().length, s.path("workers").get(0).path("drops").size());
        JsonNode ports = s.path("workers").get(1).path("ports");
        assertEquals(List.of("lan0", "v-net-0"), List.of(ports.get(0).path("interface").asText(),
            ports.get(1).path("interface").asText()));
        assertEquals(InMemoryGateway.RING_DROPS_LAN, ports.get(0).path("counters").path("rx_ring_drops").asLong());
        assertEquals(InMemoryGateway.RING_DROPS_INSIDE, ports.get(1).path("counters").path("rx_ring_drops").asLong());
        assertEquals(InMemoryGateway.RING_DROPS_LAN + InMemoryGateway.RING_DROPS_INSIDE,
            s.path("ports").path("rx_ring_drops").asLong(), "summed over workers and ports");
        assertTrue(s.path("flow_table").has("evicted"));
        StatsSnapshot read = StatsJson.read(s);
        assertEquals(gateway.dataPlane().stats().total(PortCounter.RX_RING_DROPS),
            read.total(PortCounter.RX_RING_DROPS));
        assertEquals(s.toString(), StatsJson.write(read).toString(),
            "the snapshot the answer describes, written again");
    }

    @Test
    void flowsListStreamsEveryFlowAsAnItemThenDoneWithTheCount() throws Exception {
        gateway.insertDnatFlows(3000, 0x0A010000);
        List<JsonNode> items = list(null);
        assertEquals(3000, items.size());
        JsonNode f = items.get(0);
        assertEquals("tcp", f.path("proto").asText());
        assertEquals("ESTABLISHED", f.path("state").asText());
        assertEquals("dnat", f.path("nat").asText());
        assertEquals("192.168.1.2", f.path("orig").path("dst").asText());
        assertEquals(80, f.path("orig").path("dport").asInt());
        assertEquals("192.168.15.2", f.path("reply").path("src").asText());
        assertEquals("10.1.0.0", f.path("orig").path("src").asText());
        assertEquals(f.path("orig").path("sport").asInt(), f.path("reply").path("dport").asInt());
        // ESTABLISHED but never answered (the fake gateway's flows see no reply): 5 minutes, not 5 days
        assertTrue(f.path("expires_s").asLong() > 0 && f.path("expires_s").asLong() <= 300, f.toString());
        assertEquals(0, f.path("orig").path("packets").asLong());
    }

    @Test
    void flowsListFiltersByProtocolAddressPortAndState() throws Exception {
        gateway.insertDnatFlows(10, 0x0A010000);
        assertTrue(gateway.insertUdpFlow("192.168.15.3", 5353, "192.168.1.53", 61234) >= 0);
        assertTrue(gateway.insertUdpFlow("192.168.15.4", 5353, "192.168.1.53", 61235) >= 0);
        assertEquals(2, list(filter("proto", "udp")).size());
        assertEquals(10, list(filter("proto", "tcp")).size());
        assertEquals(1, list(filter("src", "192.168.15.3")).size());
        assertEquals(2, list(filter("src", "192.168.15.0/24")).size());
        // dst matches the translated destination too: the forward's backend
        assertEquals(10, list(filter("dst", "192.168.15.2")).size());
        assertEquals(10, list(filter("dst", "192.168.1.2")).size());
        ObjectNode dport = args();
        dport.putObject("filter").put("dport", 53);
        assertEquals(2, list(dport).size());
        ObjectNode sport = args();
        sport.putObject("filter").put("sport", 10003);
        assertEquals(1, list(sport).size());
        assertEquals(2, list(filter("state", "unreplied")).size());
        assertEquals(10, list(filter("state", "ESTABLISHED")).size());
        ObjectNode both = args();
        both.putObject("filter").put("proto", "udp").put("src", "192.168.15.4");
        List<JsonNode> one = list(both);
        assertEquals(1, one.size());
        assertEquals("snat", one.get(0).path("nat").asText());
        assertEquals(61235, one.get(0).path("reply").path("dport").asInt());
    }

    private static ObjectNode filter(String key, String value) {
        ObjectNode a = args();
        a.putObject("filter").put(key, value);
        return a;
    }

    @Test
    void flowsListStopsAtTheLimit() throws Exception {
        gateway.insertDnatFlows(50, 0x0A010000);
        assertEquals(7, list(args().put("limit", 7)).size());
        assertEquals(0, list(args().put("limit", 0)).size());
    }

    @Test
    void flowsCountAndFlushByFilterLeaveTheOthers() throws Exception {
        gateway.insertDnatFlows(20, 0x0A010000);
        gateway.insertUdpFlow("192.168.15.3", 5353, "192.168.1.53", 61234);
        gateway.insertUdpFlow("192.168.15.3", 5354, "192.168.1.54", 61236);
        assertEquals(22, call("flows.count", null).result().path("count").asLong());
        ObjectNode udpTo53 = args();
        udpTo53.putObject("filter").put("proto", "udp").put("dst", "192.168.1.53");
        assertEquals(1, call("flows.count", udpTo53).result().path("count").asLong());
        ControlClient.Reply flushed = call("flows.flush", udpTo53);
        assertEquals(1, flushed.result().path("deleted").asLong(), flushed.line().toString());
        assertEquals(0, call("flows.count", udpTo53).result().path("count").asLong());
        assertEquals(21, call("flows.count", null).result().path("count").asLong());
        assertEquals(21, call("flows.flush", null).result().path("deleted").asLong());
        assertEquals(0, gateway.dataPlane().flowTable().size());
    }

    @Test
    void forwardAddListDelRoundTripAndChangeTheWorkersRules() throws Exception {
        ControlClient.Reply added = call("forward.add", args().put("spec", "tcp:8080=192.168.15.2:80"));
        assertTrue(added.ok(), added.line().toString());
        assertEquals("tcp:8080=192.168.15.2:80", added.result().path("added").asText());
        assertTrue(gateway.dataPlane().rules().forwards().contains(ForwardRule.parse("tcp:8080=192.168.15.2:80")),
            "the workers' rule set has it");
        JsonNode listed = call("forward.list", null).result();
        assertEquals(2, listed.path("forwards").size());
        ControlClient.Reply again = call("forward.add", args().put("spec", "tcp:8080=192.168.15.2:80"));
        assertEquals(ErrorCode.CONFLICT, again.error(), again.line().toString());
        ControlClient.Reply overlap = call("forward.add", args().put("spec", "tcp:8079-8081=192.168.15.3:80-82"));
        assertEquals(ErrorCode.CONFLICT, overlap.error(), overlap.line().toString());
        assertTrue(overlap.message().contains("overlaps forward tcp:8080=192.168.15.2:80"), overlap.message());
        ControlClient.Reply removed = call("forward.del", args().put("spec", "tcp:8080"));
        assertTrue(removed.ok(), removed.line().toString());
        assertEquals("tcp:8080=192.168.15.2:80", removed.result().path("removed").asText());
        assertEquals(1, gateway.dataPlane().rules().forwards().size());
        assertEquals(List.of("tcp:8080=192.168.15.2:80"), List.of(call("forward.list", null).result()
            .path("lingering").get(0).asText()));
        ControlClient.Reply missing = call("forward.del", args().put("spec", "tcp:8080"));
        assertEquals(ErrorCode.NOT_FOUND, missing.error());
        assertTrue(missing.message().contains("no forward tcp:8080 (forwards: tcp:80=192.168.15.2:80)"),
            missing.message());
    }

    @Test
    void aBadForwardIsRefusedNamingTheFieldAndNothingChanges() throws Exception {
        ControlClient.Reply r = call("forward.add", args().put("spec", "tcp:80=1.2.3.300:80"));
        assertEquals(ErrorCode.BAD_REQUEST, r.error());
        assertEquals("forward \"tcp:80=1.2.3.300:80\": 1.2.3.300 is not an IPv4 address (300 is not an octet 0-255)",
            r.message());
        ControlClient.Reply inNatRange = call("forward.add", args().put("spec", "udp:62000=192.168.15.2:53"));
        assertEquals(ErrorCode.CONFLICT, inNatRange.error(), inNatRange.line().toString());
        assertTrue(inNatRange.message().contains("overlap the NAT port range 61000-65535"), inNatRange.message());
        ControlClient.Reply missing = call("forward.add", null);
        assertEquals(ErrorCode.BAD_REQUEST, missing.error());
        assertEquals("args.spec: missing (e.g. \"tcp:8080=192.168.15.2:80\")", missing.message());
        assertEquals(1, gateway.rules().forwards().size());
    }

    @Test
    void masqueradeAddListDel() throws Exception {
        assertTrue(call("masquerade.add", args().put("source", "10.0.0.0/24")).ok());
        assertEquals(ErrorCode.CONFLICT, call("masquerade.add", args().put("source", "10.0.0.0/24")).error());
        JsonNode list = call("masquerade.list", null).result().path("masquerade");
        assertEquals(2, list.size());
        assertEquals("10.0.0.0/24", list.get(1).path("source").asText());
        assertEquals("lan0", list.get(1).path("out").asText());
        assertEquals(2, gateway.dataPlane().rules().masquerade().size());
        ControlClient.Reply bad = call("masquerade.add", args().put("source", "10.0.0.0/33"));
        assertEquals(ErrorCode.BAD_REQUEST, bad.error());
        assertTrue(bad.message().contains("prefix length 33 is not in 0..32"), bad.message());
        assertTrue(call("masquerade.del", args().put("source", "10.0.0.0/24")).ok());
        assertEquals(ErrorCode.NOT_FOUND, call("masquerade.del", args().put("source", "10.0.0.0/24")).error());
        assertEquals(1, gateway.dataPlane().rules().masquerade().size());
    }

    @Test
    void configShowIsTheRunningConfigurationAndSaveWritesItToTheDaemonsFile() throws Exception {
        assertTrue(call("forward.add", args().put("spec", "udp:5353=192.168.15.3:53")).ok());
        try {
            JsonNode shown = call("config.show", null).result();
            assertEquals(configFile.toString(), shown.path("file").asText());
            assertTrue(shown.path("yaml").asText().contains("udp:5353=192.168.15.3:53"), shown.toString());
            ControlClient.Reply saved = call("config.save", null);
            assertTrue(saved.ok(), saved.line().toString());
            assertEquals(Files.size(configFile), saved.result().path("bytes").asLong());
            GatewayConfig reloaded = GatewayConfig.load(configFile);
            assertEquals(gateway.config().toYaml(), reloaded.toYaml(),
                "the saved file loads back to the running configuration");
            assertTrue(Files.readString(configFile).startsWith("# nsgate configuration, saved by"));
            try (var files = Files.list(dir)) {
                assertEquals(List.of(), files.filter(p -> p.getFileName().toString().contains(".tmp")).toList(),
                    "no temporary file left behind");
            }
        } finally {
            call("forward.del", args().put("spec", "udp:5353"));
        }
    }

    @Test
    void topologyShowPlansTheSeedLabUnderAFreshPrefixAndChangesNothing() throws Exception {
        String prefix = TestPrefix.fresh();
        ControlClient.Reply r = call("topology.show", args().put("prefix", prefix).put("seedLab", true));
        assertTrue(r.ok(), r.line().toString());
        assertTrue(r.result().path("changes").get(0).asText().startsWith("+ netns edge (" + prefix + "edge)"),
            r.result().toString());
        assertEquals(List.of(), io.nsgate.control.netns.NetNs.list().stream().filter(n -> n.startsWith(prefix))
            .toList(), "show changes nothing");
    }

    @Test
    void aTopologyRequestMissingItsArgumentsIsRefusedAndChangesNothing() throws Exception {
        List<String> before = io.nsgate.control.netns.NetNs.list();
        for (ObjectNode a : List.of(args(), args().put("prefix", TestPrefix.fresh()),
            args().put("seedLab", true), args().put("seedLab", true).put("yaml", "name: t\n").put("prefix", "x-"))) {
            ControlClient.Reply r = call("topology.apply", a);
            assertEquals(ErrorCode.BAD_REQUEST, r.error(), a + ": " + r.line());
        }
        assertEquals(before, io.nsgate.control.netns.NetNs.list(), "no namespace created");
    }

    @Test
    void aRejectedTopologyListsEveryProblem() throws Exception {
        String yaml = "name: t\nnamespaces:\n  - name: a\nveths:\n  - a: {namespace: a, name: toolongname0123456}\n"
            + "    b: {namespace: nowhere, name: x}\n";
        ControlClient.Reply r = call("topology.apply", args().put("yaml", yaml).put("prefix", "ngtffff-"));
        assertEquals(ErrorCode.BAD_REQUEST, r.error(), r.line().toString());
        assertTrue(r.details().size() >= 2, r.details().toString());
        assertTrue(r.message().startsWith("topology rejected, nothing changed"), r.message());
    }

    @Test
    void manyClientsAtOnceEachGetTheirOwnAnswersInOrder() throws Exception {
        gateway.insertDnatFlows(20_000, 0x0A010000);
        ExecutorService pool = Executors.newFixedThreadPool(12);
        try {
            List<Future<Integer>> results = new ArrayList<>();
            for (int t = 0; t < 10; t++) {
                results.add(pool.submit(() -> {
                    try (ControlClient c = client()) {
                        for (int i = 0; i < 200; i++) {
                            ControlClient.Reply r = c.call("status", null);
                            assertEquals(Integer.toString(i + 1), r.line().path("id").asText());
                            assertTrue(r.ok());
                        }
                    }
                    return 200;
                }));
            }
            for (int t = 0; t < 2; t++) {
                results.add(pool.submit(() -> list(null).size()));
            }
            for (int t = 0; t < 10; t++) {
                assertEquals(200, results.get(t).get());
            }
            assertEquals(20_000, results.get(10).get());
            assertEquals(20_000, results.get(11).get());
        } finally {
            pool.shutdownNow();
        }
    }

    @Test
    void aSlowReaderPausesItsListingWhileOtherClientsAreServedAndGetsEveryItem() throws Exception {
        gateway.insertDnatFlows(50_000, 0x0A010000);
        try (ControlClient slow = client(); ControlClient other = client()) {
            slow.send(("{\"v\":1,\"id\":\"s\",\"op\":\"flows.list\"}\n").getBytes());
            long pausesBefore = server.streamPauses();
            Thread.sleep(500); // reads nothing: the daemon must stop writing at the high water mark, not buffer all
            assertTrue(server.streamPauses() > pausesBefore, "the listing waited for the slow reader");
            assertTrue(other.call("status", null).ok(), "another client is answered meanwhile");
            int items = 0;
            while (true) {
                JsonNode line = slow.readReply();
                assertNotNull(line, "stream ended early");
                if (line.has("item")) {
                    items++;
                    continue;
                }
                assertTrue(line.path("done").asBoolean(), line.toString());
                assertEquals(items, line.path("count").asLong());
                break;
            }
            assertEquals(50_000, items);
        }
    }

    @Test
    void aClientThatSendsWithoutReadingIsPausedThenGetsEveryAnswerInOrder() throws Exception {
        int n = 20_000;
        try (ControlClient c = client()) {
            Thread sender = new Thread(() -> {
                StringBuilder b = new StringBuilder();
                for (int i = 1; i <= n; i++) {
                    b.append("{\"v\":1,\"id\":").append(i).append(",\"op\":\"status\"}\n");
                }
                try {
                    c.send(b.toString().getBytes()); // blocks once the daemon stops reading: fine, another thread
                } catch (ControlClient.Unreachable e) {
                    throw new IllegalStateException(e);
                }
            });
            sender.start();
            Thread.sleep(500); // ~10 MB of answers the client does not read: the daemon must pause, not buffer
            for (int i = 1; i <= n; i++) {
                JsonNode r = c.readReply();
                assertEquals(i, r.path("id").asInt(), r.toString());
                assertTrue(r.path("ok").asBoolean());
            }
            sender.join();
        }
    }

    @Test
    void aClientDisconnectingMidStreamEndsTheListingAndTheDaemonGoesOn() throws Exception {
        gateway.insertDnatFlows(60_000, 0x0A010000);
        try (ControlClient c = client()) {
            c.send(("{\"v\":1,\"id\":\"x\",\"op\":\"flows.list\"}\n").getBytes());
            for (int i = 0; i < 10; i++) {
                assertTrue(c.readReply().has("item"));
            }
        } // closed mid-stream
        long deadline = System.nanoTime() + 10_000_000_000L;
        while (server.connections() > 0 && System.nanoTime() < deadline) {
            Thread.sleep(20);
        }
        assertEquals(0, server.connections(), "the connection was cleaned up");
        assertEquals(60_000, list(null).size(), "a new listing works in full");
        assertEquals(0, gateway.dataPlane().workerErrors());
    }

    @Test
    void requestsOnOneConnectionAreAnsweredInOrderAcrossSlowAndFastOperations() throws Exception {
        gateway.insertDnatFlows(5_000, 0x0A010000);
        try (ControlClient c = client()) {
            StringBuilder batch = new StringBuilder();
            batch.append("{\"v\":1,\"id\":1,\"op\":\"flows.count\"}\n");
            batch.append("{\"v\":1,\"id\":2,\"op\":\"status\"}\n");
            batch.append("{\"v\":1,\"id\":3,\"op\":\"flows.list\",\"args\":{\"limit\":2}}\n");
            batch.append("{\"v\":1,\"id\":4,\"op\":\"stats\"}\n");
            c.send(batch.toString().getBytes());
            List<String> ids = new ArrayList<>();
            for (int i = 0; i < 6; i++) {
                JsonNode r = c.readReply();
                ids.add(r.path("id").asText() + (r.has("item") ? "i" : ""));
            }
            assertEquals(List.of("1", "2", "3i", "3i", "3", "4"), ids);
        }
    }

    private static void sleep(long ms) {
        try {
            Thread.sleep(ms);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }

    @Test
    void aConsumerSlowerThanTheTimeoutStillGetsTheWholeListing() throws Exception {
        gateway.insertDnatFlows(3, 0x0A010000);
        Duration timeout = Duration.ofMillis(200);
        try (ControlClient c = ControlClient.connect(socket, timeout)) {
            List<JsonNode> items = new ArrayList<>();
            ControlClient.Reply done = c.stream("flows.list", null, item -> {
                items.add(item);
                sleep(timeout.toMillis() * 3); // a pager nobody scrolls for a while: the daemon is not late
            });
            assertTrue(done.ok(), done.line().toString());
            assertEquals(3, items.size());
            assertTrue(c.call("status", null).ok(), "the connection is still usable");
        }
    }

    @Test
    void afterASlowItemTheTimeoutStillCountsTheWaitForTheDaemon() throws Exception {
        Path silentSocket = dir.resolve("silent.sock");
        try (ServerSocketChannel fake = ServerSocketChannel.open(StandardProtocolFamily.UNIX)) {
            fake.bind(UnixDomainSocketAddress.of(silentSocket));
            Duration timeout = Duration.ofMillis(200);
            try (ControlClient c = ControlClient.connect(silentSocket, timeout);
                 SocketChannel daemon = fake.accept()) {
                // one item of the answer to the client's first request, then silence
                daemon.write(ByteBuffer.wrap("{\"v\":1,\"id\":\"1\",\"item\":{}}\n".getBytes(UTF_8)));
                int[] items = {0};
                ControlClient.Unreachable e = assertTimeoutPreemptively(Duration.ofSeconds(30), // hang guard only
                    () -> assertThrows(ControlClient.Unreachable.class, () -> c.stream("flows.list", null, item -> {
                        items[0]++;
                        sleep(timeout.toMillis() * 3);
                    })));
                assertEquals(1, items[0]);
                assertTrue(e.getMessage().contains("for 0.2 s (--timeout)"), e.getMessage());
            }
        } finally {
            Files.deleteIfExists(silentSocket);
        }
    }

    @Test
    void aConsumerThatStopsEndsTheListingAndTheDaemonGoesOn() throws Exception {
        gateway.insertDnatFlows(30_000, 0x0A010000);
        try (ControlClient c = client()) {
            int[] items = {0};
            assertNull(c.streamWhile("flows.list", null, item -> ++items[0] < 10), "stopped: no final reply");
            assertEquals(10, items[0]);
        }
        long deadline = System.nanoTime() + 10_000_000_000L;
        while (server.connections() > 0 && System.nanoTime() < deadline) {
            Thread.sleep(20);
        }
        assertEquals(0, server.connections(), "the connection was closed");
        assertEquals(30_000, list(null).size(), "a new listing works in full");
    }

    @Test
    void anUnknownOperationNamesTheValidOnes() throws Exception {
        ControlClient.Reply r = call("flows.purge", null);
        assertEquals(ErrorCode.UNKNOWN_OP, r.error());
        assertTrue(r.message().startsWith("unknown op \"flows.purge\" (valid: status, stats, flows.list"), r.message());
    }
}
