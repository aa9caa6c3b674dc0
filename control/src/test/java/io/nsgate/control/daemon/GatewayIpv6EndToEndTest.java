// The gateway in the dual-stack seed lab with real IPv6 traffic: forward, NAT66, hairpin, ping, errors, iperf3.
package io.nsgate.control.daemon;

import static org.junit.jupiter.api.Assertions.*;

import java.net.DatagramPacket;
import java.net.DatagramSocket;
import java.net.InetSocketAddress;
import java.net.PortUnreachableException;
import java.net.SocketTimeoutException;
import java.time.Duration;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

import io.nsgate.control.cli.LabCommand;
import io.nsgate.control.lab.EchoHttpService;
import io.nsgate.control.lab.HttpProbe;
import io.nsgate.control.netns.NetNs;
import io.nsgate.control.testsupport.SeedLab;
import io.nsgate.dataplane.nat.ForwardRule;
import io.nsgate.dataplane.stats.Counter;
import io.nsgate.dataplane.stats.DropReason;
import io.nsgate.testkit.Commands;

/**
 * One dual-stack seed lab and one gateway for the class, as {@link GatewayEndToEndTest} over IPv4: every test sends
 * real IPv6 traffic between the lab's namespaces (inside fd15::/64, LAN fd01::/64). After every test the kernel must
 * still be out of the forwarding: IPv6 forwarding 0 in edge, and no ip6tables rule there.
 */
class GatewayIpv6EndToEndTest {
    @RegisterExtension
    static final SeedLab LAB = new SeedLab();

    private static final String BLUE6 = SeedLab.BLUE6;
    private static final String RED6 = "fd15::1";
    private static final String GATEWAY_INSIDE6 = "fd15::5";
    private static final String GATEWAY_LAN6 = SeedLab.GATEWAY_LAN6;
    private static final String LAN6 = SeedLab.LAN6;

    private static Gateway gateway;
    private static EchoHttpService blueWeb;
    private static EchoHttpService blueWeb4;
    private static EchoHttpService lanWeb;

    @BeforeAll
    static void startGateway() throws Exception {
        blueWeb = EchoHttpService.start(LAB.netns("blue"), "blue", BLUE6, 80);
        blueWeb4 = EchoHttpService.start(LAB.netns("blue"), "blue", "192.168.15.2", 80); // IPv4 only
        lanWeb = EchoHttpService.start(LAB.netns("lan"), "lan", LAN6, 8080);
        gateway = Gateway.start(LabCommand.labConfig(LAB.prefix(), 2), line -> System.out.println("[gateway] " + line));
    }

    @AfterAll
    static void stopGateway() {
        LAB.processes().stopAll();
        if (gateway != null) {
            gateway.close();
        }
        for (EchoHttpService s : new EchoHttpService[] {blueWeb, blueWeb4, lanWeb}) {
            if (s != null) {
                s.close();
            }
        }
    }

    @AfterEach
    void kernelStaysOutOfTheForwarding() throws Exception {
        LAB.processes().stopAll();
        assertEquals("0", LAB.netns("edge").sysctl("net.ipv6.conf.all.forwarding"));
        Commands.Result ip6tables = LAB.tryExec(LAB.ns("edge"), "ip6tables-save");
        assertTrue(ip6tables.ok(), ip6tables.output());
        assertFalse(ip6tables.output().lines().anyMatch(l -> l.startsWith("-A ")),
            "no ip6tables rule: " + ip6tables.output());
        assertEquals(0, gateway.dataPlane().workerErrors(), () -> "worker error: " + gateway.dataPlane().lastWorkerError());
    }

    private static String seen(HttpProbe.Response r) {
        return LabCommand.seenAddress(r);
    }

    @Test
    void portForwardReachesBlueWhichSeesTheRealClient() throws Exception {
        HttpProbe.Response r = HttpProbe.get(LAB.netns("lan"), GATEWAY_LAN6, 80, 3000);
        assertEquals(200, r.status());
        assertTrue(r.body().startsWith("hello from blue"), r.body());
        assertEquals(LAN6, seen(r), "blue sees the real IPv6 client");
    }

    @Test
    void theGatewayHostItselfReachesTheIpv6ForwardThroughItsAddressAndLocalhost() throws Exception {
        for (String address : java.util.List.of("::1", GATEWAY_LAN6)) {
            HttpProbe.Response r = HttpProbe.get(LAB.netns("edge"), address, 80, 3000);
            assertTrue(r.body().startsWith("hello from blue"), address + ": " + r.body());
            assertEquals(GATEWAY_INSIDE6, seen(r), "blue sees the gateway's inside address");
        }
    }

    @Test
    void blueReachesLanThroughNat66() throws Exception {
        HttpProbe.Response r = HttpProbe.get(LAB.netns("blue"), LAN6, 8080, 3000);
        assertTrue(r.body().startsWith("hello from lan"), r.body());
        assertEquals(GATEWAY_LAN6, seen(r), "lan sees the gateway's IPv6 address");
    }

    @Test
    void hairpinFromRedReachesBlueThroughTheGateway() throws Exception {
        HttpProbe.Response r = HttpProbe.get(LAB.netns("red"), GATEWAY_LAN6, 80, 3000);
        assertTrue(r.body().startsWith("hello from blue"), r.body());
        assertEquals(GATEWAY_INSIDE6, seen(r), "blue answers the gateway, not red directly");
    }

    @Test
    void pingCrossesTheNat() throws Exception {
        Commands.Result ping = LAB.tryExec(LAB.ns("red"), "ping", "-6", "-c", "3", "-i", "0.2", "-W", "2", LAN6);
        assertTrue(ping.ok(), ping.output());
        assertTrue(ping.output().contains("3 received"), ping.output());
    }

    @Test
    void portUnreachableForAUdpFlowReachesRed() throws Exception {
        Exception error = LabTraffic.udpToAClosedPort(LAB, RED6, LAN6);
        assertInstanceOf(PortUnreachableException.class, error,
            "lan's ICMPv6 port unreachable came back translated to red's own socket");
        assertTrue(gateway.dataPlane().stats().total(Counter.ICMP_ERRORS_TRANSLATED) > 0);
    }

    @Test
    void packetTooBigReachesRedAfterTheLanLinkMtuIsLowered() throws Exception {
        String ping = LabTraffic.pingPastALoweredMtu(LAB, true, LAN6);
        assertTrue(ping.contains("mtu=1400") || ping.contains("mtu = 1400"),
            "red learnt the path MTU from the gateway's packet too big: " + ping);
        assertTrue(gateway.dataPlane().stats().total(Counter.ICMP_ERRORS_SENT) > 0);
    }

    @Test
    void lanGetsNothingInEvenWithARouteToTheInside() throws Exception {
        NetNs lan = LAB.netns("lan");
        try (EchoHttpService redWeb = EchoHttpService.start(LAB.netns("red"), "red", RED6, 8081)) {
            Commands.ip("-n", LAB.ns("lan"), "-6", "route", "add", "fd15::/64", "via", GATEWAY_LAN6);
            try {
                long before = gateway.dataPlane().stats().total(DropReason.NO_RULE);
                for (String[] t : new String[][] {{BLUE6, "80"}, {RED6, "8081"}}) {
                    Exception e = assertThrows(Exception.class, () -> HttpProbe.get(lan, t[0], Integer.parseInt(t[1]),
                        1500), "default deny: lan must not reach [" + t[0] + "]:" + t[1]);
                    assertFalse(e.getMessage() != null && e.getMessage().contains("hello"), e.toString());
                }
                assertTrue(gateway.dataPlane().stats().total(DropReason.NO_RULE) > before, "denied by the data plane");
            } finally {
                Commands.ip("-n", LAB.ns("lan"), "-6", "route", "del", "fd15::/64", "via", GATEWAY_LAN6);
            }
        }
    }

    @Test
    void iperf3TcpBothWays() throws Exception {
        ForwardRule iperfIn = ForwardRule.parse("tcp:5201=[" + BLUE6 + "]:5201");
        gateway.addForward(iperfIn);
        try {
            LAB.awaitListening(LAB.ns("blue"), 5201,
                LAB.start(LAB.ns("blue"), "iperf3", "-s", "-1", "-B", BLUE6), Duration.ofSeconds(10));
            Commands.Result in = LAB.tryExec(LAB.ns("lan"), "iperf3", "-6", "-c", GATEWAY_LAN6, "-t", "2", "-J");
            assertTrue(in.ok() && in.output().contains("\"bits_per_second\""), in.output());
            LAB.awaitListening(LAB.ns("lan"), 5201,
                LAB.start(LAB.ns("lan"), "iperf3", "-s", "-1", "-B", LAN6), Duration.ofSeconds(10));
            Commands.Result out = LAB.tryExec(LAB.ns("blue"), "iperf3", "-6", "-c", LAN6, "-t", "2", "-J");
            assertTrue(out.ok() && out.output().contains("\"bits_per_second\""), out.output());
        } finally {
            gateway.removeForward(iperfIn);
        }
    }

    @Test
    void changingAnUnrelatedForwardDoesNotInterruptARunningFlow() throws Exception {
        LabTraffic.churnAnUnrelatedForwardUnderALiveFlow(LAB, gateway, LAN6,
            ForwardRule.parse("udp:9999=[" + RED6 + "]:9999"), "-6");
    }

    @Test
    void aForwardAddedLiveServesAndItsRemovalKeepsTheLiveConnection() throws Exception {
        ForwardRule live = ForwardRule.parse("tcp:[" + GATEWAY_LAN6 + "]:5202=[" + BLUE6 + "]:5202");
        gateway.addForward(live);
        LAB.awaitListening(LAB.ns("blue"), 5202,
            LAB.start(LAB.ns("blue"), "iperf3", "-s", "-1", "-p", "5202", "-B", BLUE6), Duration.ofSeconds(10));
        Process client = LAB.start(LAB.ns("lan"), "iperf3", "-6", "-c", GATEWAY_LAN6, "-p", "5202", "-t", "3", "-J");
        Thread.sleep(1000);
        assertTrue(gateway.removeForward(live));
        String out = LAB.await(client, Duration.ofSeconds(30));
        assertTrue(out.contains("\"bits_per_second\""), out);
        assertFalse(out.contains("\"error\""), "the connection outlived its forward: " + out);
        // a service on the backend's port again: only the removed forward stands between lan and it
        try (EchoHttpService again = EchoHttpService.start(LAB.netns("blue"), "blue", BLUE6, 5202)) {
            assertThrows(Exception.class, () -> HttpProbe.get(LAB.netns("lan"), GATEWAY_LAN6, 5202, 1500),
                "removed: no new connection");
        }
    }

    @Test
    void anIpv6ClientReachesAnIpv4OnlyServiceThroughATranslatingForward() throws Exception {
        ForwardRule publish = ForwardRule.parse("tcp:[" + GATEWAY_LAN6 + "]:8081=192.168.15.2:80");
        ForwardRule iperf = ForwardRule.parse("tcp:[::]:5203=192.168.15.2:5203");
        gateway.addForward(publish);
        gateway.addForward(iperf);
        try {
            HttpProbe.Response r = HttpProbe.get(LAB.netns("lan"), GATEWAY_LAN6, 8081, 3000);
            assertTrue(r.body().startsWith("hello from blue"), r.body());
            assertEquals("192.168.1.2", seen(r), "the IPv4 backend sees the gateway's IPv4 LAN address");
            assertTrue(gateway.dataPlane().stats().total(Counter.TRANSLATED_FLOWS) > 0);
            // bulk both ways: super-frames translated with their virtio-net headers
            for (String direction : new String[] {"in", "out"}) {
                LAB.awaitListening(LAB.ns("blue"), 5203, LAB.start(LAB.ns("blue"), "iperf3", "-s", "-1", "-p", "5203",
                    "-B", "192.168.15.2"), Duration.ofSeconds(10));
                Commands.Result run = direction.equals("in")
                    ? LAB.tryExec(LAB.ns("lan"), "iperf3", "-6", "-c", GATEWAY_LAN6, "-p", "5203", "-t", "2", "-J")
                    : LAB.tryExec(LAB.ns("lan"), "iperf3", "-6", "-c", GATEWAY_LAN6, "-p", "5203", "-t", "2", "-R",
                        "-J");
                assertTrue(run.ok() && run.output().contains("\"bits_per_second\""), direction + ": " + run.output());
            }
        } finally {
            gateway.removeForward(publish);
            gateway.removeForward(iperf);
        }
    }
}
