// A lab builds namespaces joined by a veth pair, runs commands and threads inside them, and leaves nothing behind.
package io.nsgate.testkit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.Test;

import io.nsgate.linux.sys.Syscalls;

@RequiresNamespaces
class NetnsLabTest {
    @Test
    void twoNamespacesJoinedByAVethPairTalkAndAreGoneAfterClose() throws Exception {
        NetnsLab lab = NetnsLab.create();
        String prefix = lab.prefix();
        try {
            String a = lab.addNamespace("a");
            String b = lab.addNamespace("b");
            assertEquals(List.of(a, b), TestPrefix.namespaces(prefix));
            lab.veth(a, "va", b, "vb");
            lab.address(a, "va", "10.77.0.1/30");
            lab.address(b, "vb", "10.77.0.2/30");
            assertTrue(lab.tryExec(a, "ping", "-c", "1", "-W", "2", "10.77.0.2").ok(), "a reaches b over the pair");
            assertEquals("1", lab.exec(a, "cat", "/proc/sys/net/ipv6/conf/all/disable_ipv6").strip(), "IPv6 off");
            assertTrue(lab.mac(b, "vb").matches("([0-9a-f]{2}:){5}[0-9a-f]{2}"), lab.mac(b, "vb"));
            assertTrue(lab.packets(b, "vb", "rx") > 0);
            assertEquals(lab.mac(b, "vb"), lab.neighbourMac(a, "10.77.0.2"), "a learnt b's MAC");

            int index = lab.inside(a, () -> Syscalls.interfaceIndex("va"));
            assertEquals(Commands.ipJson("-n", a, "link", "show", "dev", "va").get(0).path("ifindex").asInt(), index,
                "the lab's thread for a lives in a");
            Process sleeper = lab.start(b, "sleep", "60");
            assertTrue(sleeper.isAlive());
            lab.close();
            assertTrue(sleeper.waitFor(5, TimeUnit.SECONDS), "stopped on close, by pid");
        } finally {
            lab.close();
        }
        assertEquals(List.of(), TestPrefix.namespaces(prefix), "nothing left with the prefix");
        assertTrue(Files.notExists(Path.of("/run/netns", prefix + "a")));
    }

    @Test
    void theLabRefusesNamespacesThatAreNotItsOwn() {
        try (NetnsLab lab = NetnsLab.create()) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> lab.exec("somebody-else", "true"));
            assertEquals("somebody-else is not a namespace of lab " + lab.prefix() + " (use ns(name))", e.getMessage());
            assertThrows(IllegalArgumentException.class, () -> lab.veth(lab.ns("a"), "x", "other", "y"));
            IllegalArgumentException missing = assertThrows(IllegalArgumentException.class, () -> lab.adopt("nope"));
            assertEquals("no namespace " + lab.ns("nope") + " to adopt (ip netns list shows what exists)",
                missing.getMessage());
        }
    }

    @Test
    void aProcessInsideIsAwaitedWithItsOutput() {
        try (NetnsLab lab = NetnsLab.create()) {
            String a = lab.addNamespace("a");
            Process p = lab.start(a, "sh", "-c", "ip -o link | wc -l");
            assertEquals("1", lab.await(p, Duration.ofSeconds(10)).strip(), "only lo in a fresh namespace");
        }
    }
}
