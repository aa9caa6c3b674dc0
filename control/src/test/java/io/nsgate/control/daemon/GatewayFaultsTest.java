// Faults the gateway must ride out: an interface's MAC changing under it.
package io.nsgate.control.daemon;

import static org.junit.jupiter.api.Assertions.*;

import java.util.ArrayList;
import java.util.List;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;
import org.junit.jupiter.api.extension.RegisterExtension;

import io.nsgate.control.cli.LabCommand;
import io.nsgate.control.lab.EchoHttpService;
import io.nsgate.control.lab.HttpProbe;
import io.nsgate.control.testsupport.SeedLab;
import io.nsgate.testkit.Commands;

/**
 * A seed lab of its own (a test deletes one of its namespaces). The bridge's MAC is made to be red's port's (the
 * lowest), so that deleting red makes Linux give the bridge another MAC, as in the hostile run of issue 10.
 */
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class GatewayFaultsTest {
    @RegisterExtension
    static final SeedLab LAB = new SeedLab();

    private static Gateway gateway;
    private static EchoHttpService blueWeb;
    private static final List<String> log = new ArrayList<>();

    @BeforeAll
    static void start() throws Exception {
        String edge = LAB.ns("edge");
        Commands.ip("-n", edge, "link", "set", "veth-blue-br", "address", "02:00:00:00:0f:02");
        Commands.ip("-n", edge, "link", "set", "veth-red-br", "address", "02:00:00:00:0f:01");
        blueWeb = EchoHttpService.start(LAB.netns("blue"), "blue", "192.168.15.2", 80);
        gateway = Gateway.start(LabCommand.labConfig(LAB.prefix(), 2), line -> {
            synchronized (log) {
                log.add(line);
            }
        });
    }

    @AfterAll
    static void stop() {
        if (gateway != null) {
            gateway.close();
        }
        if (blueWeb != null) {
            blueWeb.close();
        }
    }

    private static String bridgeMac() {
        return LAB.mac(LAB.ns("edge"), "v-net-0");
    }

    @Test
    @Order(1)
    void theBridgesNewMacIsFollowedAndAnnouncedWhenAPortLeaves() throws Exception {
        assertEquals("02:00:00:00:0f:01", bridgeMac(), "the bridge took its lowest port's MAC");
        HttpProbe.Response before = HttpProbe.get(LAB.netns("lan"), "192.168.1.2", 80, 3000);
        assertTrue(before.body().startsWith("hello from blue"), before.body());
        assertEquals("02:00:00:00:0f:01", LAB.neighbourMac(LAB.ns("blue"), "192.168.15.5"));

        LAB.removeNamespace("red"); // its veth goes, and with it the bridge's lowest port MAC
        assertEquals("02:00:00:00:0f:02", bridgeMac(), "Linux gave the bridge its other port's MAC");

        // no timing asserted: blue must come to know the new MAC (nsgate's gratuitous ARP), never be re-taught the old
        long deadline = System.nanoTime() + 10_000_000_000L;
        while (!"02:00:00:00:0f:02".equals(LAB.neighbourMac(LAB.ns("blue"), "192.168.15.5"))
            && System.nanoTime() < deadline) {
            Thread.sleep(20);
        }
        assertEquals("02:00:00:00:0f:02", LAB.neighbourMac(LAB.ns("blue"), "192.168.15.5"),
            "blue learnt the bridge's new MAC");
        for (int i = 0; i < 5; i++) {
            HttpProbe.Response after = HttpProbe.get(LAB.netns("lan"), "192.168.1.2", 80, 3000);
            assertTrue(after.body().startsWith("hello from blue"), after.body());
        }
        assertEquals("02:00:00:00:0f:02", LAB.neighbourMac(LAB.ns("blue"), "192.168.15.5"),
            "and was not taught the old one again");
        synchronized (log) {
            assertTrue(log.stream().anyMatch(l -> l.startsWith("interface v-net-0: MAC 02:00:00:00:0f:01 -> "
                + "02:00:00:00:0f:02")), String.join("\n", log));
        }
    }

    @Test
    @Order(2)
    void aNewLanAddressIsFollowedByTheForwardsTheMasqueradeAndTheGuard() throws Exception {
        String edge = LAB.ns("edge");
        try (EchoHttpService lanWeb = EchoHttpService.start(LAB.netns("lan"), "lan", SeedLab.LAN, 8080)) {
            Commands.ip("-n", edge, "address", "del", "192.168.1.2/24", "dev", "lan0");
            Commands.ip("-n", edge, "address", "add", "192.168.1.20/24", "dev", "lan0");
            long deadline = System.nanoTime() + 10_000_000_000L;
            while (!logged("interface lan0: address 192.168.1.2/24 -> 192.168.1.20/24")
                && System.nanoTime() < deadline) {
                Thread.sleep(20);
            }
            assertTrue(logged("interface lan0: address 192.168.1.2/24 -> 192.168.1.20/24"), String.join("\n", log));
            HttpProbe.Response in = HttpProbe.get(LAB.netns("lan"), "192.168.1.20", 80, 3000);
            assertTrue(in.body().startsWith("hello from blue"), "the forward answers on the new address: "
                + in.body());
            HttpProbe.Response out = HttpProbe.get(LAB.netns("blue"), SeedLab.LAN, 8080, 3000);
            assertTrue(out.body().contains("you are 192.168.1.20:"), "masqueraded to the new address: "
                + out.body());
        }
    }

    private static boolean logged(String line) {
        synchronized (log) {
            return log.stream().anyMatch(l -> l.startsWith(line));
        }
    }
}
