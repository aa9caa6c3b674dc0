// The bad-input suite against the real gateway: the data plane running in the seed lab, served on a control socket.
package io.nsgate.control.api;

import static org.junit.jupiter.api.Assertions.*;

import java.nio.file.Files;
import java.nio.file.Path;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

import io.nsgate.control.api.ops.ControlTarget;
import io.nsgate.control.api.ops.SyntheticFlows;
import io.nsgate.control.api.server.ControlServer;
import io.nsgate.control.cli.LabCommand;
import io.nsgate.control.daemon.Gateway;
import io.nsgate.control.lab.EchoHttpService;
import io.nsgate.control.lab.HttpProbe;
import io.nsgate.control.testsupport.SeedLab;

class BadInputEndToEndTest extends BadInputContract {
    @RegisterExtension
    static final SeedLab LAB = new SeedLab();

    private static Path dir;
    private static Gateway gateway;
    private static ControlServer server;
    private static EchoHttpService blueWeb;
    private static int nextClient = 0x0A300000;

    @BeforeAll
    static void start() throws Exception {
        dir = Files.createTempDirectory("nsgate-ctl-bad-e2e");
        blueWeb = EchoHttpService.start(LAB.netns("blue"), "blue", "192.168.15.2", 80);
        gateway = Gateway.start(LabCommand.labConfig(LAB.prefix(), 2), line -> System.out.println("[gateway] " + line));
        server = ControlServer.start(ControlServer.Settings.of(dir.resolve("control.sock"))
            .withPartialLineTimeout(PARTIAL_LINE_TIMEOUT), ControlTarget.of(gateway, null), l -> { });
    }

    @AfterAll
    static void stop() throws Exception {
        if (server != null) {
            server.close();
        }
        if (gateway != null) {
            gateway.close();
        }
        if (blueWeb != null) {
            blueWeb.close();
        }
        Files.deleteIfExists(dir.resolve("control.sock"));
        Files.deleteIfExists(dir);
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
        SyntheticFlows.insertDnat(gateway.dataPlane().flowTable(), n, nextClient);
        nextClient += 0x100;
    }

    @Test
    void afterAllThatTheGatewayStillForwards() throws Exception {
        HttpProbe.Response r = HttpProbe.get(LAB.netns("lan"), "192.168.1.2", 80, 3000);
        assertTrue(r.body().startsWith("hello from blue"), r.body());
    }
}
