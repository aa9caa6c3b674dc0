// Named namespaces made by nsgate behave like iproute2's: listed, usable by `ip -n`, enterable, deletable.
package io.nsgate.control.netns;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import org.junit.jupiter.api.Test;

import com.fasterxml.jackson.databind.JsonNode;

import io.nsgate.control.testsupport.RequiresNetns;
import io.nsgate.testkit.Commands;
import io.nsgate.testkit.FreshPrefix;
import org.junit.jupiter.api.extension.RegisterExtension;

@RequiresNetns
class NetNsTest {
    @RegisterExtension
    static final FreshPrefix PREFIX = FreshPrefix.perClass();

    @Test
    void createdNamespaceIsListedByIpAndHasOnlyLoopback() {
        String name = PREFIX.ns("a");
        try (NetNs ns = NetNs.create(name)) {
            assertEquals(name, ns.name());
            assertTrue(Commands.ip("netns", "list").lines().anyMatch(l -> l.split(" ")[0].equals(name)));
            assertTrue(NetNs.list().contains(name));
            JsonNode links = Commands.ipJson("-n", name, "link");
            assertEquals(1, links.size(), links.toString());
            assertEquals("lo", links.get(0).get("ifname").asText());
            // ip netns exec works too (it setns()es into our bind mount)
            Commands.Result r = Commands.run(Commands.inNetns(name, "cat", "/proc/sys/net/ipv4/ip_forward"));
            assertEquals(0, r.exitCode(), r.stderr());
        } finally {
            NetNs.delete(name);
        }
        assertFalse(NetNs.exists(name));
        assertFalse(Commands.ip("netns", "list").contains(name));
    }

    @Test
    void runDirIsASharedMountLikeIproute2Makes() throws Exception {
        String name = PREFIX.ns("m");
        NetNs.create(name).close();
        try {
            String mountinfo = Files.readString(Path.of("/proc/self/mountinfo"), StandardCharsets.UTF_8);
            assertTrue(mountinfo.lines().anyMatch(l -> l.split(" ")[4].equals("/run/netns") && l.contains("shared:")),
                "/run/netns is a shared mount point");
        } finally {
            NetNs.delete(name);
        }
    }

    @Test
    void codeRunsInsideTheNamespaceAndTheCallerNeverMoves() throws Exception {
        String name = PREFIX.ns("b");
        NetNs.create(name).close();
        try {
            String inside = NetNs.run(name,
                () -> Files.readSymbolicLink(Path.of("/proc/thread-self/ns/net")).toString());
            String here = Files.readSymbolicLink(Path.of("/proc/thread-self/ns/net")).toString();
            assertNotEquals(here, inside);
            // the namespace the task saw is the one bind-mounted on /run/netns/NAME (same inode)
            assertEquals("net:[" + Files.getAttribute(NetNs.path(name), "unix:ino") + "]", inside);
            // and the caller's thread never moved
            assertEquals(here, Files.readSymbolicLink(Path.of("/proc/thread-self/ns/net")).toString());
        } finally {
            NetNs.delete(name);
        }
    }

    @Test
    void tasksRunInTheNamespaceTheyAskForEvenWhenNested() throws Exception {
        String a = PREFIX.ns("na");
        String b = PREFIX.ns("nb");
        try (NetNs na = NetNs.create(a); NetNs nb = NetNs.create(b)) {
            String inoA = "net:[" + Files.getAttribute(NetNs.path(a), "unix:ino") + "]";
            String inoB = "net:[" + Files.getAttribute(NetNs.path(b), "unix:ino") + "]";
            assertEquals(inoA, na.call(NetNsTest::here));
            assertEquals(inoB, nb.call(NetNsTest::here));
            String[] seen = na.call(() -> new String[] {here(), nb.call(NetNsTest::here), here()});
            assertEquals(List.of(inoA, inoB, inoA), List.of(seen));
            assertEquals(inoA, na.call(NetNsTest::here));
            // a failing task does not leave the namespace thread behind
            assertThrows(IllegalStateException.class, () -> nb.call(() -> {
                throw new IllegalStateException("boom");
            }));
            assertEquals(inoA, na.call(NetNsTest::here));
        } finally {
            NetNs.delete(a);
            NetNs.delete(b);
        }
    }

    @Test
    void openAllVisitsEveryNamespaceInOneTrip() {
        List<String> names = List.of(PREFIX.ns("o1"), PREFIX.ns("o2"), PREFIX.ns("o3"));
        names.forEach(n -> NetNs.create(n).close());
        try {
            List<NetNs> handles = NetNs.openAll(names);
            try {
                for (NetNs h : handles) {
                    assertEquals(List.of("lo"), h.rtnetlink().links().stream().map(l -> l.name()).toList());
                }
            } finally {
                handles.forEach(NetNs::close);
            }
            assertThrows(NetNsException.class, () -> NetNs.openAll(List.of(PREFIX.ns("o1"), PREFIX.ns("nope"))));
        } finally {
            names.forEach(NetNs::delete);
        }
    }

    private static String here() throws java.io.IOException {
        return Files.readSymbolicLink(Path.of("/proc/thread-self/ns/net")).toString();
    }

    @Test
    void sysctlsAreSetInsideTheNamespaceOnly() {
        String name = PREFIX.ns("c");
        try (NetNs ns = NetNs.create(name)) {
            String rootForward = readRoot("net/ipv4/ip_forward");
            ns.setSysctl("net.ipv4.ip_forward", "1");
            assertEquals("1", ns.sysctl("net.ipv4.ip_forward"));
            ns.setSysctl("net.ipv4.ip_local_reserved_ports", "40000-40100");
            assertEquals("40000-40100", ns.sysctl("net.ipv4.ip_local_reserved_ports"));
            assertEquals(rootForward, readRoot("net/ipv4/ip_forward"));
            Commands.Result r = Commands.run(Commands.inNetns(name, "cat", "/proc/sys/net/ipv4/ip_forward"));
            assertEquals("1", r.stdout().trim());
            NetNsException e = assertThrows(NetNsException.class, () -> ns.sysctl("net.ipv4.no_such_knob"));
            assertTrue(e.getMessage().contains("net.ipv4.no_such_knob does not exist in " + name), e.getMessage());
        } finally {
            NetNs.delete(name);
        }
    }

    @Test
    void processesStartedFromTheHandleLiveInTheNamespace() throws Exception {
        String name = PREFIX.ns("p");
        try (NetNs ns = NetNs.create(name)) {
            Process p = ns.startProcess(new ProcessBuilder("ip", "-o", "link"));
            String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            assertEquals(0, p.waitFor());
            assertEquals(1, out.lines().count(), out);
            assertTrue(out.contains(": lo:"), out);
        } finally {
            NetNs.delete(name);
        }
    }

    @Test
    void creatingAnExistingNameFailsAndNamesIt() {
        String name = PREFIX.ns("d");
        NetNs.create(name).close();
        try {
            NetNsException e = assertThrows(NetNsException.class, () -> NetNs.create(name));
            assertEquals("network namespace " + name + " already exists (/run/netns/" + name + ")",
                e.getMessage().substring(0, e.getMessage().indexOf(')') + 1));
        } finally {
            NetNs.delete(name);
        }
    }

    @Test
    void openingAMissingNamespaceSaysSo() {
        NetNsException e = assertThrows(NetNsException.class, () -> NetNs.open(PREFIX.ns("missing")));
        assertTrue(e.getMessage().startsWith("network namespace " + PREFIX.ns("missing") + " does not exist"),
            e.getMessage());
        assertFalse(NetNs.delete(PREFIX.ns("missing")));
    }

    @Test
    void rejectsNamesThatAreNotFileNames() {
        assertThrows(IllegalArgumentException.class, () -> NetNs.path("a/b"));
        assertThrows(IllegalArgumentException.class, () -> NetNs.path(".."));
        assertThrows(IllegalArgumentException.class, () -> NetNs.path(""));
    }

    private static String readRoot(String rel) {
        try {
            return Files.readString(Path.of("/proc/sys", rel)).trim();
        } catch (java.io.IOException e) {
            throw new AssertionError(e);
        }
    }
}
