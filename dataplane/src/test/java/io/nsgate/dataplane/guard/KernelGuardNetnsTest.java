// End to end in namespaces: with the guard attached the kernel never sees an owned SYN (no RST), the rest works.
package io.nsgate.dataplane.guard;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.net.ConnectException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import io.nsgate.dataplane.nat.GatewayInterface;
import io.nsgate.dataplane.nat.PortRange;
import io.nsgate.dataplane.nat.RuleSet;
import io.nsgate.dataplane.nat.SeedLabRules;
import io.nsgate.linux.net.Ipv4Address;
import io.nsgate.linux.net.Ipv4Prefix;
import io.nsgate.linux.sys.Errno;
import io.nsgate.linux.sys.Linux;
import io.nsgate.linux.sys.SyscallException;
import io.nsgate.linux.sys.Syscalls;
import io.nsgate.testkit.NetnsLab;
import io.nsgate.testkit.RequiresBpf;
import io.nsgate.testkit.RequiresNamespaces;
import io.nsgate.testkit.TestPrefix;

/**
 * Two namespaces, {@code ngtXXXX-gw} (10.9.0.1/24 on veth0) and {@code ngtXXXX-cl} (10.9.0.2/24 on veth1), joined
 * by a veth pair created inside them. The guard is attached at veth0's tcx ingress, owning tcp:8080 (a forward)
 * and the NAT range; no data plane runs, so an owned SYN simply goes unanswered, which is what proves the kernel
 * never saw it: without the guard the gateway's kernel answers it with RST at once. A client connect therefore
 * reads as CONNECTED (a listener answered), REFUSED (the kernel sent RST) or UNANSWERED (timed out).
 */
@RequiresBpf
@RequiresNamespaces
class KernelGuardNetnsTest {
    private static final String GW_IP = "10.9.0.1";
    private static final int CONNECT_TIMEOUT_MS = 800;
    private static final int FORWARDED = 8080;
    private static final int CLOSED = 8081;
    private static final int HOST_SERVICE = 8082;
    private static final int NAT_PORT = 61000;
    private static final int ETH_P_ALL = 0x0003;
    private static final int ETH_P_IP = 0x0800;

    private static NetnsLab lab;
    private static String gw;
    private static String cl;

    enum Outcome { CONNECTED, REFUSED, UNANSWERED }

    @BeforeAll
    static void twoNamespacesAndAVethPair() {
        lab = NetnsLab.create();
        gw = lab.addNamespace("gw");
        cl = lab.addNamespace("cl");
        lab.veth(gw, "veth0", cl, "veth1");
        lab.address(gw, "veth0", GW_IP + "/24");
        lab.address(cl, "veth1", "10.9.0.2/24");
    }

    @AfterAll
    static void removeNamespaces() {
        if (lab != null) {
            lab.close();
            assertTrue(TestPrefix.namespaces(lab.prefix()).isEmpty(), "namespaces left behind");
        }
    }

    private static RuleSet rules(boolean withForward) {
        RuleSet.Builder b = RuleSet.builder()
            .iface("veth0", GatewayInterface.Role.LAN, Ipv4Prefix.parse(GW_IP + "/24"), 1500)
            .natPorts(PortRange.DEFAULT_NAT);
        if (withForward) {
            b.forward(SeedLabRules.forward(6, 0, PortRange.single(FORWARDED), Ipv4Address.parse("10.9.0.3"),
                PortRange.single(80)));
        }
        return b.build();
    }

    /** The forward removed, its flows still alive: it lingers. */
    private static RuleSet forwardRemovedButLingering() {
        RuleSet with = rules(true);
        RuleSet.Builder b = with.toBuilder();
        assertTrue(b.removeForward(with.forwards().get(0)));
        return b.build();
    }

    /** A TCP connect from the client namespace to the gateway. */
    private static Outcome connect(int port) {
        return lab.inside(cl, () -> {
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
        return lab.tryExec(cl, "ping", "-c", "1", "-W", "1", GW_IP).ok();
    }

    private static void assertOutcome(Outcome expected, int port, String when) {
        assertEquals(expected, connect(port), when + ": connect to " + GW_IP + ":" + port);
    }

    @Test
    void ownedPortsGoUnansweredWhileTheHostKeepsItsOwnTraffic() throws IOException {
        ServerSocket hostService = lab.inside(gw, () -> new ServerSocket(HOST_SERVICE, 50,
            InetAddress.getByName(GW_IP)));
        KernelGuard guard = null;
        try {
            assertOutcome(Outcome.REFUSED, FORWARDED, "before the guard");
            assertOutcome(Outcome.CONNECTED, HOST_SERVICE, "before the guard");

            guard = lab.inside(gw, () -> KernelGuard.attach("veth0", rules(true).ownership()));
            assertTrue(guard.isAttached());
            assertTrue(guard.ifindex() > 0);
            assertOutcome(Outcome.UNANSWERED, FORWARDED, "guarded forward: the kernel never saw the SYN");
            assertOutcome(Outcome.UNANSWERED, NAT_PORT, "guarded NAT port");
            assertOutcome(Outcome.REFUSED, CLOSED, "closed port nobody owns: the kernel's RST");
            assertOutcome(Outcome.CONNECTED, HOST_SERVICE, "the host's own service");
            assertTrue(ping(), "ping to the gateway with the guard attached (ICMP and ARP pass)");

            guard.update(rules(false).ownership());
            assertOutcome(Outcome.REFUSED, FORWARDED, "after update() without the forward");
            assertOutcome(Outcome.UNANSWERED, NAT_PORT, "after update(): the NAT range is still owned");

            guard.update(forwardRemovedButLingering().ownership());
            assertOutcome(Outcome.UNANSWERED, FORWARDED, "lingering forward");

            guard.close();
            assertFalse(guard.isAttached());
            assertOutcome(Outcome.REFUSED, NAT_PORT, "after close(): the kernel sees everything again");
            assertOutcome(Outcome.REFUSED, FORWARDED, "after close()");
            assertTrue(ping(), "ping after close()");
            KernelGuard closed = guard;
            assertThrows(IllegalStateException.class, () -> closed.update(closed.ownership()));
        } finally {
            if (guard != null) {
                guard.close();
            }
            hostService.close();
        }
    }

    @Test
    void interfaceNamesAndIndexesResolveInTheCallingThreadsNamespace() {
        assertTrue(lab.inside(gw, () -> Syscalls.interfaceIndex("veth0")) > 0);
        // veth0 exists in the gateway namespace only: from the client namespace it is unknown
        SyscallException e = assertThrows(SyscallException.class,
            () -> lab.inside(cl, () -> KernelGuard.attach("veth0", rules(true).ownership())));
        assertEquals(Errno.ENODEV, e.errno());
        assertTrue(e.getMessage().startsWith("ioctl(SIOCGIFINDEX, veth0): ENODEV"), e.getMessage());
        assertTrue(e.getMessage().contains("in this thread's network namespace"), e.getMessage());

        e = assertThrows(SyscallException.class,
            () -> lab.inside(gw, () -> KernelGuard.attach(9999, rules(true).ownership())));
        assertEquals(Errno.ENODEV, e.errno());
        assertTrue(e.getMessage().startsWith("bpf(BPF_LINK_CREATE tcx ingress of ifindex 9999): ENODEV"),
            e.getMessage());
    }

    @Test
    void passingMeansNextSoALaterTcxProgramStillDecides() {
        // the first guard owns nothing on 8080 and returns TCX_NEXT; the second, attached after it, drops it.
        // Had the first returned TCX_PASS, the chain would have ended there and the kernel would send RST.
        KernelGuard first = lab.inside(gw, () -> KernelGuard.attach("veth0", rules(false).ownership()));
        try {
            KernelGuard second = lab.inside(gw,
                () -> KernelGuard.attach("veth0", rules(true).ownership()));
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

    @Test
    void aPinnedGuardOutlivesItsProcessUntilTheNextOneTakesItOverOrThePinGoes() {
        java.nio.file.Path pin = lab.bpfFileSystem().resolve("net-test").resolve("veth0");
        int ifindex = lab.inside(gw, () -> Syscalls.interfaceIndex("veth0"));
        KernelGuard first = lab.inside(gw, () -> KernelGuard.load(rules(true).ownership()));
        assertEquals(KernelGuard.Attachment.NEW, lab.inside(gw, () -> first.attachTo(ifindex, "veth0", pin)));
        first.close(); // as a process stopping (or dying): its descriptors go, the pin keeps the link
        assertEquals(ifindex, KernelGuard.pinnedInterface(pin));
        assertOutcome(Outcome.UNANSWERED, FORWARDED, "the pinned guard still drops the forward's SYN");
        assertOutcome(Outcome.REFUSED, CLOSED, "and passes what it does not own");

        // the next process: its guard (without the forward) takes the link over in place
        KernelGuard second = lab.inside(gw, () -> KernelGuard.load(rules(false).ownership()));
        try {
            assertEquals(KernelGuard.Attachment.TAKEN_OVER,
                lab.inside(gw, () -> second.attachTo(ifindex, "veth0", pin)));
            assertOutcome(Outcome.REFUSED, FORWARDED, "the new program decides: the forward is gone");
            assertOutcome(Outcome.UNANSWERED, NAT_PORT, "one guard, the new one, owning the NAT range");
        } finally {
            second.close();
        }
        assertOutcome(Outcome.UNANSWERED, NAT_PORT, "still pinned after the second process");
        assertTrue(KernelGuard.unpin(pin));
        assertOutcome(Outcome.REFUSED, NAT_PORT, "pin removed, no descriptor: detached");
        assertFalse(KernelGuard.unpin(pin));
    }

    @Test
    void aPinOfAnotherInterfaceIsReplacedNotTakenOver() {
        java.nio.file.Path pin = lab.bpfFileSystem().resolve("net-test").resolve("other");
        int ifindex = lab.inside(gw, () -> Syscalls.interfaceIndex("veth0"));
        int loIndex = lab.inside(gw, () -> Syscalls.interfaceIndex("lo"));
        KernelGuard onLo = lab.inside(gw, () -> KernelGuard.load(rules(false).ownership()));
        lab.inside(gw, () -> onLo.attachTo(loIndex, "lo", pin));
        onLo.close();
        KernelGuard guard = lab.inside(gw, () -> KernelGuard.load(rules(true).ownership()));
        try {
            assertEquals(KernelGuard.Attachment.NEW, lab.inside(gw, () -> guard.attachTo(ifindex, "veth0", pin)));
            assertEquals(ifindex, KernelGuard.pinnedInterface(pin), "the pin names veth0's link now; lo's went");
            assertOutcome(Outcome.UNANSWERED, FORWARDED, "veth0 guarded");
        } finally {
            guard.close();
            KernelGuard.unpin(pin);
        }
        assertOutcome(Outcome.REFUSED, FORWARDED, "unpinned and closed");
    }

    @Test
    void packetTapsOfAllProtocolsStillSeeWhatTheGuardDrops() {
        int ifindex = lab.inside(gw, () -> Syscalls.interfaceIndex("veth0"));
        int tapAll = lab.inside(gw, () -> openTap(ETH_P_ALL, ifindex));
        int tapIp = lab.inside(gw, () -> openTap(ETH_P_IP, ifindex));
        KernelGuard guard = null;
        try {
            guard = lab.inside(gw, () -> KernelGuard.attach("veth0", rules(true).ownership()));
            assertOutcome(Outcome.UNANSWERED, FORWARDED, "guarded forward");
            assertTrue(synsTo(tapAll, FORWARDED) >= 1,
                "an ETH_P_ALL tap (ptype_all, delivered before tcx ingress) receives the SYN the guard drops");
            assertEquals(0, synsTo(tapIp, FORWARDED),
                "an ETH_P_IP tap (ptype_base, delivered after tcx ingress) never sees it: the data plane's"
                    + " AF_PACKET sockets must bind ETH_P_ALL");
            guard.close();
            assertOutcome(Outcome.REFUSED, FORWARDED, "unguarded");
            assertTrue(synsTo(tapIp, FORWARDED) >= 1, "without the guard the ETH_P_IP tap sees it too");
        } finally {
            if (guard != null) {
                guard.close();
            }
            Syscalls.closeQuietly(tapAll);
            Syscalls.closeQuietly(tapIp);
        }
    }

    /** An AF_PACKET raw socket for {@code protocol} bound to {@code ifindex} (sockaddr_ll, 20 bytes). */
    private static int openTap(int protocol, int ifindex) {
        int networkOrder = Short.toUnsignedInt(Short.reverseBytes((short) protocol)); // htons, little-endian host
        int fd = Syscalls.socket(Linux.AF_PACKET, Linux.SOCK_RAW | Linux.SOCK_CLOEXEC, networkOrder, "tap on veth0");
        ByteBuffer sll = ByteBuffer.allocateDirect(20).order(ByteOrder.nativeOrder());
        sll.putShort(0, (short) Linux.AF_PACKET);
        sll.putShort(2, (short) networkOrder);
        sll.putInt(4, ifindex);
        Syscalls.bind(fd, sll, "tap on veth0");
        return fd;
    }

    /** Drains a tap; counts TCP SYNs to the gateway's {@code port} among the frames received. */
    private static int synsTo(int tap, int port) {
        ByteBuffer frame = ByteBuffer.allocateDirect(2048);
        int syns = 0;
        while (true) {
            frame.clear();
            int n = Syscalls.recv(tap, frame, Linux.MSG_DONTWAIT, "tap");
            if (n == Syscalls.WOULD_BLOCK) {
                return syns;
            }
            if (n >= 14 + 20 + 20 && frame.getShort(12) == 0x0800 && frame.get(23) == 6
                && frame.getInt(30) == 0x0A09_0001) {
                int l4 = 14 + (frame.get(14) & 0x0F) * 4;
                if (n >= l4 + 14 && (frame.getShort(l4 + 2) & 0xFFFF) == port && (frame.get(l4 + 13) & 0x12) == 0x02) {
                    syns++;
                }
            }
        }
    }
}
