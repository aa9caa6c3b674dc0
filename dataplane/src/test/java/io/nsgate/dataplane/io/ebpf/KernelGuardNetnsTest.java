// End to end in namespaces: with the guard attached the kernel never sees an owned SYN (no RST), the rest works.
package io.nsgate.dataplane.io.ebpf;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.net.ConnectException;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.util.List;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import io.nsgate.dataplane.nat.ForwardRule;
import io.nsgate.dataplane.nat.GatewayInterface;
import io.nsgate.dataplane.nat.Ipv4Prefix;
import io.nsgate.dataplane.nat.PortRange;
import io.nsgate.dataplane.nat.RuleSet;
import io.nsgate.dataplane.sys.Errno;
import io.nsgate.dataplane.sys.SyscallException;
import io.nsgate.dataplane.testsupport.NetnsThread;
import io.nsgate.dataplane.testsupport.RequiresBpf;
import io.nsgate.dataplane.testsupport.TestNetns;

/**
 * Two namespaces, {@code ngtXXXX-gw} (10.9.0.1/24 on veth0) and {@code ngtXXXX-cl} (10.9.0.2/24 on veth1), joined
 * by a veth pair created inside them. The guard is attached at veth0's tcx ingress, owning tcp:8080 (a forward)
 * and the NAT range; no data plane runs, so an owned SYN simply goes unanswered, which is what proves the kernel
 * never saw it: without the guard the gateway's kernel answers it with RST at once. A client connect therefore
 * reads as CONNECTED (a listener answered), REFUSED (the kernel sent RST) or UNANSWERED (timed out).
 */
@RequiresBpf
class KernelGuardNetnsTest {
    private static final String GW_IP = "10.9.0.1";
    private static final int CONNECT_TIMEOUT_MS = 800;
    private static final int FORWARDED = 8080;
    private static final int CLOSED = 8081;
    private static final int HOST_SERVICE = 8082;
    private static final int NAT_PORT = 61000;

    private static String prefix;
    private static NetnsThread gw;
    private static NetnsThread cl;

    enum Outcome { CONNECTED, REFUSED, UNANSWERED }

    @BeforeAll
    static void twoNamespacesAndAVethPair() {
        TestNetns.requireAvailable("KernelGuardNetnsTest");
        prefix = TestNetns.freshPrefix();
        String gwName = prefix + "gw";
        String clName = prefix + "cl";
        TestNetns.add(gwName);
        TestNetns.add(clName);
        TestNetns.ip("-n", gwName, "link", "add", "veth0", "type", "veth", "peer", "name", "veth1", "netns", clName);
        TestNetns.ip("-n", gwName, "addr", "add", GW_IP + "/24", "dev", "veth0");
        TestNetns.ip("-n", clName, "addr", "add", "10.9.0.2/24", "dev", "veth1");
        for (String[] up : new String[][] {{gwName, "veth0"}, {gwName, "lo"}, {clName, "veth1"}, {clName, "lo"}}) {
            TestNetns.ip("-n", up[0], "link", "set", up[1], "up");
        }
        gw = NetnsThread.enter(gwName);
        cl = NetnsThread.enter(clName);
    }

    @AfterAll
    static void removeNamespaces() {
        if (gw != null) {
            gw.close();
        }
        if (cl != null) {
            cl.close();
        }
        if (prefix != null) {
            TestNetns.sweep(prefix);
            assertTrue(TestNetns.list().stream().noneMatch(n -> n.startsWith(prefix)), "namespaces left behind");
        }
    }

    private static RuleSet rules(boolean withForward) {
        RuleSet.Builder b = RuleSet.builder()
            .iface("veth0", GatewayInterface.Role.LAN, Ipv4Prefix.parse(GW_IP + "/24"), 1500)
            .natPorts(PortRange.DEFAULT_NAT);
        if (withForward) {
            b.forward(GuardLab.forward(6, 0, PortRange.single(FORWARDED), "10.9.0.3", PortRange.single(80)));
        }
        return b.build();
    }

    /** A TCP connect from the client namespace to the gateway. */
    private static Outcome connect(int port) {
        return cl.call(() -> {
            long start = System.nanoTime();
            try (Socket s = new Socket()) {
                s.connect(new InetSocketAddress(GW_IP, port), CONNECT_TIMEOUT_MS);
                return Outcome.CONNECTED;
            } catch (SocketTimeoutException e) {
                return Outcome.UNANSWERED;
            } catch (ConnectException e) {
                long ms = (System.nanoTime() - start) / 1_000_000;
                assertTrue(e.getMessage().contains("refused"), "port " + port + ": " + e.getMessage());
                assertTrue(ms < CONNECT_TIMEOUT_MS / 2, "port " + port + ": RST took " + ms + " ms");
                return Outcome.REFUSED;
            }
        });
    }

    private static boolean ping() {
        return TestNetns.execIn(cl.namespace(), "ping", "-c", "1", "-W", "1", GW_IP).exitCode() == 0;
    }

    private static void assertOutcome(Outcome expected, int port, String when) {
        assertEquals(expected, connect(port), when + ": connect to " + GW_IP + ":" + port);
    }

    @Test
    void ownedPortsGoUnansweredWhileTheHostKeepsItsOwnTraffic() throws IOException {
        ServerSocket hostService = gw.call(() -> new ServerSocket(HOST_SERVICE, 50,
            java.net.InetAddress.getByName(GW_IP)));
        KernelGuard guard = null;
        try {
            assertOutcome(Outcome.REFUSED, FORWARDED, "before the guard");
            assertOutcome(Outcome.CONNECTED, HOST_SERVICE, "before the guard");

            guard = gw.call(() -> KernelGuard.attach("veth0", GuardSpec.from(rules(true), List.of())));
            assertTrue(guard.isAttached());
            assertTrue(guard.ifindex() > 0);
            assertOutcome(Outcome.UNANSWERED, FORWARDED, "guarded forward: the kernel never saw the SYN");
            assertOutcome(Outcome.UNANSWERED, NAT_PORT, "guarded NAT port");
            assertOutcome(Outcome.REFUSED, CLOSED, "closed port nobody owns: the kernel's RST");
            assertOutcome(Outcome.CONNECTED, HOST_SERVICE, "the host's own service");
            assertTrue(ping(), "ping to the gateway with the guard attached (ICMP and ARP pass)");

            guard.update(GuardSpec.from(rules(false), List.of()));
            assertOutcome(Outcome.REFUSED, FORWARDED, "after update() without the forward");
            assertOutcome(Outcome.UNANSWERED, NAT_PORT, "after update(): the NAT range is still owned");

            guard.update(GuardSpec.from(rules(false), List.of(rules(true).forwards().get(0))));
            assertOutcome(Outcome.UNANSWERED, FORWARDED, "lingering forward");

            guard.close();
            assertFalse(guard.isAttached());
            assertOutcome(Outcome.REFUSED, NAT_PORT, "after close(): the kernel sees everything again");
            assertOutcome(Outcome.REFUSED, FORWARDED, "after close()");
            assertTrue(ping(), "ping after close()");
            KernelGuard closed = guard;
            assertThrows(IllegalStateException.class, () -> closed.update(closed.spec()));
        } finally {
            if (guard != null) {
                guard.close();
            }
            hostService.close();
        }
    }

    @Test
    void interfaceNamesAndIndexesResolveInTheCallingThreadsNamespace() {
        assertTrue(gw.call(() -> KernelGuard.interfaceIndex("veth0")) > 0);
        // veth0 exists in the gateway namespace only: from the client namespace it is unknown
        SyscallException e = assertThrows(SyscallException.class,
            () -> cl.call(() -> KernelGuard.attach("veth0", GuardSpec.from(rules(true), List.of()))));
        assertEquals(Errno.ENODEV, e.errno());
        assertTrue(e.getMessage().startsWith("ioctl(SIOCGIFINDEX veth0): ENODEV"), e.getMessage());
        assertTrue(e.getMessage().contains("in this thread's network namespace"), e.getMessage());

        e = assertThrows(SyscallException.class,
            () -> gw.call(() -> KernelGuard.attach(9999, GuardSpec.from(rules(true), List.of()))));
        assertEquals(Errno.ENODEV, e.errno());
        assertTrue(e.getMessage().startsWith("bpf(BPF_LINK_CREATE tcx ingress of ifindex 9999): ENODEV"),
            e.getMessage());
    }

    @Test
    void passingMeansNextSoALaterTcxProgramStillDecides() {
        // the first guard owns nothing on 8080 and returns TCX_NEXT; the second, attached after it, drops it.
        // Had the first returned TCX_PASS, the chain would have ended there and the kernel would send RST.
        KernelGuard first = gw.call(() -> KernelGuard.attach("veth0", GuardSpec.from(rules(false), List.of())));
        try {
            KernelGuard second = gw.call(() -> KernelGuard.attach("veth0", GuardSpec.from(rules(true), List.of())));
            try {
                assertOutcome(Outcome.UNANSWERED, FORWARDED, "first passes on, second drops");
                assertOutcome(Outcome.REFUSED, CLOSED, "both pass on: the kernel answers");
            } finally {
                second.close();
            }
            assertOutcome(Outcome.REFUSED, FORWARDED, "the first guard alone, which does not own 8080");
            assertOutcome(Outcome.UNANSWERED, NAT_PORT, "the first guard alone still owns the NAT range");
        } finally {
            first.close();
        }
        assertOutcome(Outcome.REFUSED, NAT_PORT, "both closed");
    }
}
