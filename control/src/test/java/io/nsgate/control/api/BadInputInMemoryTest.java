// The bad-input suite against a control socket over an in-memory data plane.
package io.nsgate.control.api;

import java.nio.file.Files;
import java.nio.file.Path;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import io.nsgate.control.api.server.ControlServer;
import io.nsgate.control.api.ops.InMemoryGateway;

class BadInputInMemoryTest extends BadInputContract {
    private static Path dir;
    private static InMemoryGateway gateway;
    private static ControlServer server;
    private static int nextClient = 0x0A200000;

    @BeforeAll
    static void start() throws Exception {
        dir = Files.createTempDirectory("nsgate-ctl-bad");
        gateway = new InMemoryGateway(1 << 16, null);
        server = ControlServer.start(ControlServer.Settings.of(dir.resolve("control.sock"))
            .withPartialLineTimeout(PARTIAL_LINE_TIMEOUT), gateway, line -> { });
    }

    @AfterAll
    static void stop() throws Exception {
        if (server != null) {
            server.close();
        }
        if (gateway != null) {
            gateway.close();
        }
        Files.deleteIfExists(dir.resolve("control.sock"));
        Files.delete(dir);
    }

    @Override
    Path socket() {
        return dir.resolve("control.sock");
    }

    @Override
    ControlServer server() {
        return server;
    }

    @Override
    void insertFlows(int n) {
        gateway.insertDnatFlows(n, nextClient);
        nextClient += 0x100;
    }
}
