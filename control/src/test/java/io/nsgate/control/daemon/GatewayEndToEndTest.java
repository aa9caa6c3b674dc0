// The gateway in the seed lab with real traffic: forward, masquerade, hairpin, ICMP, default deny, iperf3.
package io.nsgate.control.daemon;

import static org.junit.jupiter.api.Assertions.*;

import java.net.DatagramPacket;
import java.net.DatagramSocket;
import java.net.InetSocketAddress;
import java.net.PortUnreachableException;
import java.net.SocketTimeoutException;
import java.time.Duration;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

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
import io.nsgate.dataplane.nat.PortRange;
import io.nsgate.dataplane.stats.Counter;
import io.nsgate.testkit.Commands;

/**
 * One seed lab and one gateway (two workers, in-process, in the lab's edge namespace) for the whole class; each test
 * sends real traffic between the lab's namespaces. After every test the kernel must still be out of the
 * forwarding: ip_forward 0 in edge, and no iptables or nftables rule there.
 */
class GatewayEndToEndTest {
    @RegisterExtension
    static final SeedLab LAB = new SeedLab();

    private static Gateway gateway;
    private static EchoHttpService blueWeb;
    private static EchoHttpService lanWeb;
    private static EchoHttpService edgeWeb;

    @BeforeAll
    static void startGateway() throws Exception {
        blueWeb = EchoHttpService.start(LAB.netns("blue"), "blue", "192.168.15.2", 80);
        lanWeb = EchoHttpService.start(LAB.netns("lan"), "lan", "192.168.1.3", 8080);
        // a service of the gateway host's own, on its LAN address, next to the data plane
        edgeWeb = EchoHttpService.start(LAB.netns("edge"), "edge", "192.168.1.2", 2222);
        gateway = Gateway.start(LabCommand.labConfig(LAB.prefix(), 2), line -> System.out.println("[gateway] " + line));
    }

    @AfterAll
    static void stopGateway() {
        LAB.processes().stopAll();
        if (gateway != null) {
            gateway.close();
        }
        for (EchoHttpService s : new EchoHttpService[] {blueWeb, lanWeb, edgeWeb}) {
            if (s != null) {
                s.close();
            }
        }
    }

    @AfterEach
    void kernelStaysOutOfTheForwarding() throws Exception {
        LAB.processes().stopAll();
        assertEquals("0", LAB.netns("edge").sysctl("net.ipv4.ip_forward"));
        Commands.Result iptables = LAB.tryExec(LAB.ns("edge"), "iptables-save");
        assertTrue(iptables.ok(), iptables.output());
        assertFalse(iptables.output().lines().anyMatch(l -> l.startsWith("-A ")), "no iptables rule: " + iptables.output());
        Commands.Result nft = LAB.tryExec(LAB.ns("edge"), "nft", "list", "ruleset");
        assertTrue(nft.ok(), nft.output());
        assertTrue(nft.output().isBlank(), "no nftables rule: " + nft.output());
        assertEquals(0, gateway.dataPlane().workerErrors(), () -> "worker error: " + gateway.dataPlane().lastWorkerError());
    }

    private static String seen(HttpProbe.Response r) {
        Matcher m = Pattern.compile("you are ([0-9.]+):([0-9]+)").matcher(r.body());
        assertTrue(m.find(), r.body());
        return m.group(1) + ":" + m.group(2);
    }

    @Test
    void theGatewayHostItselfReachesEveryForwardThroughItsAddressesAndLocalhostLiveAsTheyChange() throws Exception {
        for (String address : java.util.List.of("127.0.0.1", "192.168.1.2", "192.168.15.5")) {
            HttpProbe.Response r = HttpProbe.get(LAB.netns("edge"), address, 80, 3000);
            assertTrue(r.body().startsWith("hello from blue"), address + ": " + r.body());
            assertTrue(r.body().contains("you are 192.168.15.5:"),
                "blue sees the gateway's inside address, as docker-proxy's backends do: " + r.body());
        }
        // a keep-alive connection from the host shows among the flows while it lives
        try (java.net.Socket s = LAB.netns("edge").call(() -> new java.net.Socket("127.0.0.1", 80))) {
            long deadline = System.nanoTime() + 3_000_000_000L;
            LocalAccess.Connection c = null;
            while (c == null && System.nanoTime() < deadline) {
                c = gateway.localConnections().stream().filter(l -> l.client().getPort() == s.getLocalPort())
                    .findFirst().orElse(null); // the probes' connections above may still be closing
                Thread.sleep(20);
            }
            assertNotNull(c, "our connection listed: " + gateway.localConnections());
            assertEquals(80, c.reached().getPort());
            assertEquals("192.168.15.2", c.backend().getAddress().getHostAddress());
            assertEquals("127.0.0.1", c.client().getAddress().getHostAddress());
        }

        ForwardRule added = ForwardRule.parse("tcp:8081=192.168.15.2:80");
        ForwardRule bulk = ForwardRule.parse("tcp:5201=192.168.15.2:5201");
        gateway.addForward(added);
        gateway.addForward(bulk);
        try {
            assertTrue(HttpProbe.get(LAB.netns("edge"), "127.0.0.1", 8081, 3000).body().startsWith("hello from blue"),
                "a forward added live works from the host at once");
            // 64 MiB each way through the relay (backpressure: the reader waits for the writer); one direction at a time:
            // iperf3 --bidir tells its two data connections apart by the order the server accepts them, which a proxy
            // connecting from several threads does not keep (docker-proxy neither)
            for (String direction : java.util.List.of("-4", "-R")) {
                LAB.awaitListening(LAB.ns("blue"), 5201, LAB.start(LAB.ns("blue"), "iperf3", "-s", "-1", "-B",
                    "192.168.15.2"), Duration.ofSeconds(10));
                String run = LAB.exec(LAB.ns("edge"), "iperf3", "-c", "127.0.0.1", "-n", "64M", direction, "-J");
                assertFalse(run.contains("\"error\""), run);
                assertTrue(run.contains("\"sum_received\""), run);
            }
        } finally {
            assertTrue(gateway.removeForward(added));
            assertTrue(gateway.removeForward(bulk));
        }
        // a backend that sends 8 MiB and closes at once, to a client that reads late and has half-closed its side:
        // every byte arrives (what the proxy still holds is flushed before the FIN is passed on)
        ForwardRule blast = ForwardRule.parse("tcp:8085=192.168.15.2:8085");
        gateway.addForward(blast);
        try {
            Process server = LAB.start(LAB.ns("blue"), "python3", "-c", "import socket\n"
                + "s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)\n"
                + "s.bind(('192.168.15.2', 8085)); s.listen(1); c, _ = s.accept()\n"
                + "c.recv(16); c.sendall(b'x' * 8388608); c.close()\n");
            LAB.awaitListening(LAB.ns("blue"), 8085, server, Duration.ofSeconds(10));
            long received = LAB.netns("edge").call(() -> {
                try (java.net.Socket c = new java.net.Socket("127.0.0.1", 8085)) {
                    c.getOutputStream().write("go".getBytes());
                    Thread.sleep(300); // (a FIN sent before the backend connection is up is not passed on yet)
                    c.shutdownOutput();
                    Thread.sleep(1000); // the backend is done long before: the proxy holds the rest
                    return c.getInputStream().transferTo(java.io.OutputStream.nullOutputStream());
                }
            });
            assertEquals(8388608, received, "every byte the backend sent before closing");
        } finally {
            assertTrue(gateway.removeForward(blast));
        }
        Exception refused = assertThrows(Exception.class, () -> HttpProbe.get(LAB.netns("edge"), "127.0.0.1", 8081,
            2000));
        assertTrue(String.valueOf(refused.getMessage()).contains("refused"), "one deleted stops: " + refused);
        Exception other = assertThrows(Exception.class, () -> HttpProbe.get(LAB.netns("edge"), "127.0.0.1", 8082,
            2000));
        assertTrue(String.valueOf(other.getMessage()).contains("refused"), "no forward, no listener: " + other);
    }

    @Test
    void theLocalProxyServesTheHostOnlyNotClientsOfAnInterfaceTheDataPlaneDoesNotServe() throws Exception {
        // a management link into edge that nsgate does not serve: its clients reach the kernel, and so the listener
        String mgmt = LAB.addNamespace("mgmt");
        try {
            LAB.veth(LAB.ns("edge"), "mgmt0", mgmt, "eth0");
            LAB.address(LAB.ns("edge"), "mgmt0", "10.77.0.1/24");
            LAB.address(mgmt, "eth0", "10.77.0.2/24");
            String answer = LAB.inside(mgmt, () -> {
                try (java.net.Socket c = new java.net.Socket()) {
                    c.connect(new InetSocketAddress("10.77.0.1", 80), 3000);
                    c.setSoTimeout(3000);
                    c.getOutputStream().write("GET / HTTP/1.1\r\nHost: x\r\n\r\n".getBytes());
                    return new String(c.getInputStream().readAllBytes());
                } catch (java.io.IOException e) {
                    return "closed: " + e.getMessage();
                }
            });
            assertFalse(answer.contains("hello from blue"), "a client of another host is not the proxy's: " + answer);
            assertTrue(HttpProbe.get(LAB.netns("edge"), "10.77.0.1", 80, 3000).body().startsWith("hello from blue"),
                "the host itself, through that address, is");
        } finally {
            LAB.removeNamespace("mgmt");
        }
    }

    @Test
    void anAllowListedForwardAnswersItsSourcesAndDropsOthersCounted() throws Exception {
        ForwardRule closed = ForwardRule.parse("tcp:8083=192.168.15.2:80,from=10.0.0.0/8");
        gateway.addForward(closed);
        try {
            long before = gateway.dataPlane().stats().total(io.nsgate.dataplane.stats.DropReason.FORWARD_SOURCE_DENIED);
            Exception e = assertThrows(Exception.class, () -> HttpProbe.get(LAB.netns("lan"), "192.168.1.2", 8083,
                1500));
            assertTrue(String.valueOf(e.getMessage()).contains("timed out"),
                "dropped, not refused: the guard keeps the kernel from answering: " + e);
            assertTrue(gateway.dataPlane().stats().total(io.nsgate.dataplane.stats.DropReason.FORWARD_SOURCE_DENIED)
                > before, "counted");
        } finally {
            assertTrue(gateway.removeForward(closed));
        }
        ForwardRule open = ForwardRule.parse("tcp:8084=192.168.15.2:80,from=192.168.1.0/24");
        gateway.addForward(open);
        try {
            HttpProbe.Response r = HttpProbe.get(LAB.netns("lan"), "192.168.1.2", 8084, 3000);
            assertTrue(r.body().startsWith("hello from blue"), r.body());
            assertTrue(gateway.rules().forwards().stream().anyMatch(f -> f.toString().endsWith(",from=192.168.1.0/24")),
                "listed with its list: " + gateway.rules().forwards());
        } finally {
            assertTrue(gateway.removeForward(open));
        }
    }

    @Test
    void portForwardReachesBlueWhichSeesTheRealClient() throws Exception {
        HttpProbe.Response r = HttpProbe.get(LAB.netns("lan"), "192.168.1.2", 80, 3000);
        assertEquals(200, r.status());
        assertTrue(r.body().startsWith("hello from blue"), r.body());
        assertTrue(seen(r).startsWith("192.168.1.3:"), "blue saw " + seen(r));
    }

    @Test
    void blueReachesLanThroughMasqueradeWithAPortFromTheRange() throws Exception {
        HttpProbe.Response r = HttpProbe.get(LAB.netns("blue"), "192.168.1.3", 8080, 3000);
        assertTrue(r.body().startsWith("hello from lan"), r.body());
        String[] addr = seen(r).split(":");
        assertEquals("192.168.1.2", addr[0], "lan sees the gateway's address");
        assertTrue(PortRange.DEFAULT_NAT.contains(Integer.parseInt(addr[1])), "port " + addr[1] + " in the NAT range");
    }

    @Test
    void hairpinFromRedReachesBlueThroughTheGateway() throws Exception {
        HttpProbe.Response r = HttpProbe.get(LAB.netns("red"), "192.168.1.2", 80, 3000);
        assertTrue(r.body().startsWith("hello from blue"), r.body());
        assertTrue(seen(r).startsWith("192.168.15.5:"), "blue answers the gateway, not red directly: " + seen(r));
    }

    @Test
    void pingCrossesTheNat() throws Exception {
        Commands.Result ping = LAB.tryExec(LAB.ns("red"), "ping", "-c", "3", "-i", "0.2", "-W", "2",
            "192.168.1.3");
        assertTrue(ping.ok(), ping.output());
        assertTrue(ping.output().contains("3 received"), ping.output());
    }

    @Test
    void portUnreachableForAUdpFlowReachesRed() throws Exception {
        Exception error = LabTraffic.udpToAClosedPort(LAB, "192.168.15.1", "192.168.1.3");
        assertInstanceOf(PortUnreachableException.class, error,
            "lan's ICMP port unreachable came back translated to red's own socket");
    }

    @Test
    void fragmentationNeededReachesRedAfterTheLanLinkMtuIsLowered() throws Exception {
        String ping = LabTraffic.pingPastALoweredMtu(LAB, false, "192.168.1.3");
        assertTrue(ping.contains("mtu=1400") || ping.contains("mtu = 1400"),
            "red learnt the path MTU from the gateway's ICMP fragmentation-needed: " + ping);
        assertTrue(gateway.dataPlane().stats().total(Counter.ICMP_ERRORS_SENT) > 0);
    }

    @Test
    void lanGetsNothingInEvenWithARouteToTheInside() throws Exception {
        NetNs lan = LAB.netns("lan");
        try (EchoHttpService redWeb = EchoHttpService.start(LAB.netns("red"), "red", "192.168.15.1", 8081)) {
            Commands.ip("-n", LAB.ns("lan"), "route", "add", "192.168.15.0/24", "via", "192.168.1.2");
            try {
                for (String target : new String[] {"192.168.15.2:80", "192.168.15.1:8081"}) {
                    String[] t = target.split(":");
                    Exception e = assertThrows(Exception.class, () -> HttpProbe.get(lan, t[0], Integer.parseInt(t[1]), 1500),
                        "default deny: lan must not reach " + target);
                    assertFalse(e.getMessage() != null && e.getMessage().contains("hello"), e.toString());
                }
            } finally {
                Commands.ip("-n", LAB.ns("lan"), "route", "del", "192.168.15.0/24", "via", "192.168.1.2");
            }
        }
    }

    @Test
    void theGatewayHostsOwnServiceKeepsAnswering() throws Exception {
        HttpProbe.Response r = HttpProbe.get(LAB.netns("lan"), "192.168.1.2", 2222, 3000);
        assertTrue(r.body().startsWith("hello from edge"), r.body());
    }

    @Test
    void iperf3TcpBothWaysAndUdpCrossWithoutErrorsAsSuperFrames() throws Exception {
        ForwardRule iperfIn = ForwardRule.parse("tcp:5201=192.168.15.2:5201");
        gateway.addForward(iperfIn);
        try {
            long gsoBefore = gateway.dataPlane().stats().total(Counter.GSO_FRAMES);
            // in: lan -> 192.168.1.2:5201 -> blue
            LAB.awaitListening(LAB.ns("blue"), 5201,
                LAB.start(LAB.ns("blue"), "iperf3", "-s", "-1", "-B", "192.168.15.2"), Duration.ofSeconds(10));
            Commands.Result in = LAB.tryExec(LAB.ns("lan"), "iperf3", "-c", "192.168.1.2",
                "-t", "2", "-J");
            assertTrue(in.ok() && in.output().contains("\"bits_per_second\""), in.output());
            // out: blue -> lan, masqueraded
            LAB.awaitListening(LAB.ns("lan"), 5201,
                LAB.start(LAB.ns("lan"), "iperf3", "-s", "-1", "-B", "192.168.1.3"), Duration.ofSeconds(10));
            Commands.Result out = LAB.tryExec(LAB.ns("blue"), "iperf3", "-c", "192.168.1.3",
                "-t", "2", "-J");
            assertTrue(out.ok() && out.output().contains("\"bits_per_second\""), out.output());
            // UDP out
            LAB.awaitListening(LAB.ns("lan"), 5201,
                LAB.start(LAB.ns("lan"), "iperf3", "-s", "-1", "-B", "192.168.1.3"), Duration.ofSeconds(10));
            Commands.Result udp = LAB.tryExec(LAB.ns("blue"), "iperf3", "-c", "192.168.1.3",
                "-u", "-b", "50M", "-t", "2", "-J");
            assertTrue(udp.ok() && udp.output().contains("\"lost_percent\""), udp.output());
            assertTrue(gateway.dataPlane().stats().total(Counter.GSO_FRAMES) > gsoBefore, "super-frames crossed whole");
        } finally {
            gateway.removeForward(iperfIn);
        }
    }

    @Test
    void changingAnUnrelatedForwardDoesNotInterruptARunningFlow() throws Exception {
        LabTraffic.churnAnUnrelatedForwardUnderALiveFlow(LAB, gateway, "192.168.1.3",
            ForwardRule.parse("udp:9999=192.168.15.1:9999"));
    }
}
