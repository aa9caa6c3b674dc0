// The bad-input suite against the real gateway: the data plane running in the seed lab, served on a control socket.
package io.nsgate.control.api;

import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

import io.nsgate.control.api.ops.ControlTarget;
import io.nsgate.control.api.ops.SyntheticFlows;
import io.nsgate.control.cli.LabCommand;
import io.nsgate.control.daemon.Gateway;
import io.nsgate.control.lab.EchoHttpService;
import io.nsgate.control.lab.HttpProbe;
import io.nsgate.control.testsupport.SeedLab;

class BadInputEndToEndTest extends BadInputContract {
    @RegisterExtension
    static final SeedLab LAB = new SeedLab();

    private Gateway gateway;
    private EchoHttpService blueWeb;
    private int nextClient = 0x0A300000;

    @Override
    ControlTarget startGateway() throws Exception {
        blueWeb = EchoHttpService.start(LAB.netns("blue"), "blue", "192.168.15.2", 80);
        gateway = Gateway.start(LabCommand.labConfig(LAB.prefix(), 2), line -> System.out.println("[gateway] " + line));
        return ControlTarget.of(gateway, null);
    }

    @Override
    void stopGateway() throws Exception {
        if (gateway != null) {
            gateway.close();
        }
        if (blueWeb != null) {
            blueWeb.close();
        }
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
