// IPv6 between the LAN and the inside is denied while nsgate forwards none: even with IPv6 forwarding switched on.
package io.nsgate.control.daemon;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

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
import io.nsgate.dataplane.stats.DropReason;
import io.nsgate.testkit.Commands;

/**
 * A dual-stack seed lab of its own (edge lan0 fd01::2, the bridge fd15::5, lan fd01::3, blue fd15::2 with a default
 * route through the bridge), lan given a route to fd15::/64 through the edge, and IPv6 forwarding switched on in edge,
 * as Docker or an operator might have left it. Without nsgate the kernel routes lan ↔ blue; with nsgate nothing
 * crosses but what nsgate translates (blue's requests to lan, masqueraded), while the gateway's own IPv6 addresses
 * stay reachable, also when forwarding is switched on again behind nsgate's back (the guard) and for an address added
 * while it runs (followed).
 */
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class Ipv6HoleTest {
    @RegisterExtension
    static final SeedLab LAB = new SeedLab();

    private static final String FORWARDING = "net.ipv6.conf.all.forwarding";
    private static Gateway gateway;
    private static final List<String> log = new ArrayList<>();

    @BeforeAll
    static void forwardingOnAndARouteFromTheLan() throws InterruptedException {
        // the seed lab is dual-stack (edge fd01::2 and fd15::5, lan fd01::3, blue fd15::2 with its default route);
        // lan gets a route to the inside as an attacker on the LAN would add it
        Commands.ip("-n", LAB.ns("lan"), "-6", "route", "add", "fd15::/64", "via", "fd01::2");
        LAB.netns("edge").setSysctl(FORWARDING, "1");
        for (String ns : new String[] {"edge", "lan", "blue"}) {
            awaitNoTentativeAddress(ns);
        }
    }

    /** Duplicate address detection of the link-local addresses: neighbour discovery waits for it to end. */
    private static void awaitNoTentativeAddress(String ns) throws InterruptedException {
        long deadline = System.nanoTime() + 10_000_000_000L;
        while (!Commands.ip("-n", LAB.ns(ns), "-6", "address", "show", "tentative").isBlank()
            && System.nanoTime() < deadline) {
            Thread.sleep(50);
        }
        assertEquals("", Commands.ip("-n", LAB.ns(ns), "-6", "address", "show", "tentative").strip(),
            ns + ": duplicate address detection still running");
    }

    @AfterAll
    static void stop() {
        if (gateway != null) {
            gateway.close();
        }
    }

    private static boolean ping(String from, String to) {
        Commands.Result r = LAB.tryExec(LAB.ns(from), "ping", "-6", "-c", "2", "-i", "0.2", "-W", "1", to);
        return r.ok() && r.output().contains(" 2 received");
    }

    private static final boolean FORCE_FORWARDING =
        java.nio.file.Files.exists(java.nio.file.Path.of("/proc/sys/net/ipv6/conf/all/force_forwarding"));

    @Test
    @Order(1)
    void withoutNsgateTheKernelRoutesIpv6AcrossTheEdge() {
        assertTrue(ping("lan", "fd15::2"), "the hole this test is about: lan reaches blue through edge's kernel");
        if (FORCE_FORWARDING) {
            // kernel 6.17+: forwarding per ingress interface, whatever all.forwarding says
            LAB.netns("edge").setSysctl(FORWARDING, "0");
            LAB.netns("edge").setSysctl("net.ipv6.conf.lan0.force_forwarding", "1");
            LAB.netns("edge").setSysctl("net.ipv6.conf.v-net-0.force_forwarding", "1");
            assertTrue(ping("lan", "fd15::2"), "the same hole through force_forwarding alone");
        }
    }

    @Test
    @Order(2)
    void nsgateSwitchesIpv6ForwardingOffAndNothingCrosses() throws Exception {
        gateway = Gateway.start(LabCommand.labConfig(LAB.prefix(), 2), line -> {
            synchronized (log) {
                log.add(line);
            }
        });
        assertEquals("0", LAB.netns("edge").sysctl(FORWARDING));
        if (FORCE_FORWARDING) {
            // all.forwarding was 0 already (order 1 left the hole to force_forwarding): nsgate switched that off
            for (String dev : new String[] {"lan0", "v-net-0"}) {
                assertEquals("0", LAB.netns("edge").sysctl("net.ipv6.conf." + dev + ".force_forwarding"));
                assertTrue(logged("  set net.ipv6.conf." + dev + ".force_forwarding=0 (was on)"),
                    String.join("\n", log));
            }
        } else {
            assertTrue(logged("  set " + FORWARDING + "=0 (was 1)"), String.join("\n", log));
        }
        long deniedBefore = denied();
        assertFalse(ping("lan", "fd15::2"), "lan -> blue over IPv6");
        assertEquals("fd01::2", lanSeesBlueAs(), "blue -> lan crosses only through nsgate's NAT66");
        assertTrue(denied() > deniedBefore, "the data plane counted the denied IPv6 as no_rule");
        assertTrue(ping("lan", "fd01::2"), "the gateway's own LAN address answers");
        assertTrue(ping("blue", "fd15::5"), "the gateway's own inside address answers");
    }

    @Test
    @Order(3)
    void forwardingSwitchedOnBehindNsgatesBackStillLetsNothingCross() {
        LAB.netns("edge").setSysctl(FORWARDING, "1");
        try {
            assertFalse(ping("lan", "fd15::2"), "lan -> blue: the guard drops what the kernel would route");
            assertEquals("fd01::2", lanSeesBlueAs(), "blue -> lan: only through NAT66, never routed by the kernel");
            assertTrue(ping("lan", "fd01::2"), "the gateway's own address still answers");
        } finally {
            LAB.netns("edge").setSysctl(FORWARDING, "0");
        }
    }

    @Test
    @Order(4)
    void anAddressAddedWhileRunningIsTheHostsAtOnce() throws Exception {
        LAB.netns("edge").setSysctl(FORWARDING, "1"); // so the guard alone decides
        try {
            Commands.ip("-n", LAB.ns("edge"), "-6", "address", "add", "fd01::20/64", "dev", "lan0", "nodad");
            long deadline = System.nanoTime() + 10_000_000_000L;
            while (!logged("interface lan0: IPv6 addresses") && System.nanoTime() < deadline) {
                Thread.sleep(20);
            }
            assertTrue(logged("interface lan0: IPv6 addresses"), String.join("\n", log));
            assertTrue(ping("lan", "fd01::20"), "the new address answers: the guard learnt it is the host's");
            assertFalse(ping("lan", "fd15::2"), "and transit is still dropped");
        } finally {
            LAB.netns("edge").setSysctl(FORWARDING, "0");
        }
    }

    /** The address lan's web service sees a request from blue come from. */
    private static String lanSeesBlueAs() {
        try (EchoHttpService web = EchoHttpService.start(LAB.netns("lan"), "lan", "fd01::3", 8080)) {
            return LabCommand.seenAddress(HttpProbe.get(LAB.netns("blue"), "fd01::3", 8080, 3000));
        } catch (Exception e) {
            throw new AssertionError("blue -> lan over HTTP: " + e, e);
        }
    }

    private static long denied() {
        return gateway.dataPlane().stats().total(DropReason.NO_RULE);
    }

    private static boolean logged(String line) {
        synchronized (log) {
            return log.stream().anyMatch(l -> l.startsWith(line));
        }
    }
}
