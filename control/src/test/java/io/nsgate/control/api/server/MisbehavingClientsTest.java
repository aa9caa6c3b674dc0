// Clients that stall their listings, hold connections or race each other's changes cannot hurt the other clients.
package io.nsgate.control.api.server;

import static org.junit.jupiter.api.Assertions.*;

import java.io.IOException;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.function.BooleanSupplier;

import com.fasterxml.jackson.databind.node.ObjectNode;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import io.netty.channel.embedded.EmbeddedChannel;
import io.nsgate.control.api.client.ControlClient;
import io.nsgate.control.api.Protocol;
import io.nsgate.control.api.ops.InMemoryGateway;

class MisbehavingClientsTest {
    @TempDir
    Path dir;
    private Path socket;
    private InMemoryGateway gateway;
    private ControlServer server;
    private final List<SocketChannel> raw = new ArrayList<>();

    private void start(ControlServer.Settings settings, int flows) throws IOException {
        gateway = new InMemoryGateway(1 << 16, null);
        if (flows > 0) {
            gateway.insertDnatFlows(flows, 0x0A010000);
        }
        server = ControlServer.start(settings, gateway, line -> { });
    }

    private ControlServer.Settings settings() throws IOException {
        socket = dir.resolve("control.sock");
        return ControlServer.Settings.of(socket);
    }

    @AfterEach
    void stop() throws Exception {
        for (SocketChannel ch : raw) {
            ch.close();
        }
        if (server != null) {
            server.close();
        }
        if (gateway != null) {
            gateway.close();
        }
    }

    /** A client that sends one line and then never reads. */
    private void rawRequest(String line) throws IOException {
        SocketChannel ch = SocketChannel.open(StandardProtocolFamily.UNIX);
        raw.add(ch);
        ch.connect(UnixDomainSocketAddress.of(socket));
        ch.write(ByteBuffer.wrap((line + "\n").getBytes(StandardCharsets.UTF_8)));
    }

    private static void await(String what, BooleanSupplier condition) throws InterruptedException {
        long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
        while (!condition.getAsBoolean()) {
            assertTrue(System.nanoTime() < deadline, "timed out waiting for: " + what);
            Thread.sleep(20);
        }
    }

    @Test
    void listingsStalledByClientsThatDoNotReadHoldUpNoOtherClient() throws Exception {
        start(settings(), 20_000); // ~7 MB of items each: far more than a socket and the high water mark hold
        int stalled = ControlServer.DEFAULT_THREADS + 2;
        for (int i = 0; i < stalled; i++) {
            rawRequest("{\"v\":1,\"id\":" + i + ",\"op\":\"flows.list\"}");
        }
        await(stalled + " listings waiting for their readers", () -> server.streamPauses() >= stalled);
        try (ControlClient c = ControlClient.connect(socket, Duration.ofSeconds(10))) {
            ObjectNode args = Protocol.JSON.createObjectNode().put("spec", "tcp:8081=192.168.15.2:80");
            ControlClient.Reply added = c.call("forward.add", args);
            assertTrue(added.ok(), added.line().toString());
            ControlClient.Reply count = c.call("flows.count", null);
            assertTrue(count.ok(), count.line().toString());
            assertEquals(20_000, count.result().path("count").asLong());
        }
    }

    @Test
    void aClientThatReadsNothingDuringItsListingIsDisconnectedAfterTheStalledReaderTimeout() throws Exception {
        start(settings().withStalledReaderTimeout(Duration.ofMillis(500)), 20_000);
        rawRequest("{\"v\":1,\"id\":1,\"op\":\"flows.list\"}");
        await("the listing to stall", () -> server.streamPauses() >= 1);
        await("the stalled client to be disconnected", () -> server.connections() == 0);
        try (ControlClient c = ControlClient.connect(socket, Duration.ofSeconds(10))) {
            assertTrue(c.call("status", null).ok());
        }
    }

    @Test
    void theSocketsLockIsHeldWhileServingAndRemovedOnClose() throws Exception {
        ControlServer.Settings settings = settings();
        Path lockFile = Path.of(socket + ".lock");
        SocketFile.Lock held = SocketFile.lock(socket); // as if a second daemon were between its check and its bind
        try {
            SocketFile.Unusable e = assertThrows(SocketFile.Unusable.class, () -> SocketFile.lock(socket));
            assertTrue(e.getMessage().startsWith("another nsgate is starting or serving on " + socket), e.getMessage());
            ControlServer.StartException refused = assertThrows(ControlServer.StartException.class,
                () -> ControlServer.start(settings, null, line -> { }));
            assertTrue(refused.getMessage().contains(lockFile.toString()), refused.getMessage());
            assertFalse(Files.exists(socket), "nothing bound");
        } finally {
            held.close();
        }
        assertFalse(Files.exists(lockFile));
        start(settings, 0);
        assertTrue(Files.readString(lockFile).startsWith(ProcessHandle.current().pid() + " "));
        server.close();
        assertFalse(Files.exists(lockFile), "removed with the socket");
    }

    /** A stand-in connection for the admission's bookkeeping. */
    private final class FakeConnection implements ControlServer.Evictable {
        final boolean idle;
        final long since;
        boolean evicted;

        FakeConnection(boolean idle, long since) {
            this.idle = idle;
            this.since = since;
        }

        @Override
        public boolean idle() {
            return idle && !evicted;
        }

        @Override
        public long lastActivityNs() {
            return since;
        }

        @Override
        public void evict() {
            evicted = true;
            server.left(this);
        }
    }

    @Test
    void theLastConnectionsAreRootsOnlyAndRootGetsInByClosingTheLongestIdle() throws Exception {
        start(settings().withMaxConnections(ControlServer.RESERVED_FOR_ROOT + 2), 0);
        List<EmbeddedChannel> channels = new ArrayList<>();
        try {
            List<FakeConnection> members = List.of(new FakeConnection(true, 10), new FakeConnection(true, 30));
            for (FakeConnection m : members) {
                channels.add(new EmbeddedChannel());
                assertTrue(server.admit(m, channels.get(channels.size() - 1), false), "a group member");
            }
            assertFalse(server.admit(new FakeConnection(true, 0), new EmbeddedChannel(), false),
                "a group member past the share of non-root peers");
            for (int i = 0; i < ControlServer.RESERVED_FOR_ROOT; i++) {
                assertTrue(server.admit(new FakeConnection(false, 0), new EmbeddedChannel(), true), "root " + i);
            }
            assertEquals(ControlServer.RESERVED_FOR_ROOT + 2, server.connections());
            assertTrue(server.admit(new FakeConnection(false, 0), new EmbeddedChannel(), true),
                "root past the limit: the connection idle the longest makes room");
            assertTrue(members.get(0).evicted, "the one idle since 10");
            assertFalse(members.get(1).evicted);
            assertTrue(server.admit(new FakeConnection(false, 0), new EmbeddedChannel(), true), "and again");
            assertTrue(members.get(1).evicted);
            assertFalse(server.admit(new FakeConnection(false, 0), new EmbeddedChannel(), true),
                "nobody past the limit when every connection is busy");
            assertFalse(server.admit(new FakeConnection(true, 0), new EmbeddedChannel(), false),
                "a group member never evicts anyone");
            assertEquals(2, server.evictedConnections());
            assertEquals(ControlServer.RESERVED_FOR_ROOT + 2, server.connections());
        } finally {
            channels.forEach(EmbeddedChannel::finishAndReleaseAll);
        }
    }

    @Test
    void idleRootConnectionsFillingTheSocketDoNotLockRootOut() throws Exception {
        start(settings().withMaxConnections(8), 0);
        List<SocketChannel> idle = new ArrayList<>();
        for (int i = 0; i < 8; i++) {
            SocketChannel ch = SocketChannel.open(StandardProtocolFamily.UNIX);
            raw.add(ch);
            ch.connect(UnixDomainSocketAddress.of(socket));
            idle.add(ch);
        }
        await("8 idle connections admitted", () -> server.connections() == 8);
        try (ControlClient c = ControlClient.connect(socket, Duration.ofSeconds(10))) {
            assertTrue(c.call("status", Protocol.JSON.createObjectNode()).ok(), "root still gets in");
        }
        assertEquals(1, server.evictedConnections());
        SocketChannel first = idle.get(0);
        ByteBuffer buf = ByteBuffer.allocate(4096);
        first.configureBlocking(true);
        int n = first.read(buf);
        String line = new String(buf.array(), 0, Math.max(n, 0), StandardCharsets.UTF_8);
        assertTrue(line.contains("\"busy\"") && line.contains("idle the longest"),
            "the longest-idle connection is told why it was closed: " + line);
    }

    @Test
    void theSameMasqueradeAddedByManyClientsAtOnceIsAddedOnce() throws Exception {
        start(settings(), 0);
        int clients = 8;
        ExecutorService pool = Executors.newFixedThreadPool(clients);
        try {
            CountDownLatch go = new CountDownLatch(1);
            List<Future<Boolean>> results = new ArrayList<>();
            for (int i = 0; i < clients; i++) {
                results.add(pool.submit((Callable<Boolean>) () -> {
                    try (ControlClient c = ControlClient.connect(socket, Duration.ofSeconds(10))) {
                        go.await();
                        return c.call("masquerade.add", Protocol.JSON.createObjectNode().put("source", "10.9.0.0/16"))
                            .ok();
                    }
                }));
            }
            go.countDown();
            int ok = 0;
            for (Future<Boolean> f : results) {
                ok += f.get() ? 1 : 0;
            }
            assertEquals(1, ok, "one client adds it, the others are told it exists");
            assertEquals(1, gateway.rules().masquerade().stream()
                .filter(m -> m.source().toString().equals("10.9.0.0/16")).count());
        } finally {
            pool.shutdownNow();
        }
    }
}
