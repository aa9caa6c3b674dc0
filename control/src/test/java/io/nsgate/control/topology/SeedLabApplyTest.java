// Applying the seed lab builds exactly the design's lab, as `ip -j` sees it, and real packets cross the bridge.
package io.nsgate.control.topology;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

import com.fasterxml.jackson.databind.JsonNode;

import io.nsgate.control.testsupport.SeedLab;
import io.nsgate.testkit.Commands;

class SeedLabApplyTest {
    @RegisterExtension
    static final SeedLab LAB = new SeedLab();

    @Test
    void firstApplyPrintsEveryCreation() {
        List<String> lines = LAB.applied().lines();
        String p = LAB.prefix();
        assertEquals(List.of(
            "+ netns edge (" + p + "edge)",
            "+ sysctl edge/net.ipv4.ip_forward=0",
            "+ sysctl edge/net.ipv6.conf.all.forwarding=0",
            "+ netns red (" + p + "red)",
            "+ netns blue (" + p + "blue)",
            "+ netns lan (" + p + "lan)",
            "+ link edge/v-net-0 (bridge)",
            "+ link red/eth0 (veth, peer edge/veth-red-br)",
            "+ link blue/eth0 (veth, peer edge/veth-blue-br)",
            "+ link edge/lan0 (veth, peer lan/lan0)",
            "+ addr edge/v-net-0 192.168.15.5/24",
            "+ addr edge/v-net-0 fd15::5/64",
            "+ addr red/eth0 192.168.15.1/24",
            "+ addr red/eth0 fd15::1/64",
            "+ addr blue/eth0 192.168.15.2/24",
            "+ addr blue/eth0 fd15::2/64",
            "+ addr edge/lan0 192.168.1.2/24",
            "+ addr edge/lan0 fd01::2/64",
            "+ addr lan/lan0 192.168.1.3/24",
            "+ addr lan/lan0 fd01::3/64",
            "+ route red/default via 192.168.15.5",
            "+ route red/default via fd15::5",
            "+ route blue/default via 192.168.15.5",
            "+ route blue/default via fd15::5"), lines);
    }

    @Test
    void namespacesAreListedByIp() {
        List<String> listed = Commands.ip("netns", "list").lines().map(l -> l.split(" ")[0])
            .filter(n -> n.startsWith(LAB.prefix())).sorted().toList();
        assertEquals(List.of(LAB.ns("blue"), LAB.ns("edge"), LAB.ns("lan"), LAB.ns("red")), listed);
    }

    @Test
    void linksMatchTheDesignAccordingToIp() {
        Map<String, JsonNode> edge = links("edge");
        assertEquals(List.of("lan0", "lo", "v-net-0", "veth-blue-br", "veth-red-br"), new ArrayList<>(edge.keySet()));
        assertEquals("bridge", edge.get("v-net-0").get("linkinfo").get("info_kind").asText());
        assertEquals("v-net-0", edge.get("veth-red-br").get("master").asText());
        assertEquals("v-net-0", edge.get("veth-blue-br").get("master").asText());
        assertFalse(edge.get("lan0").has("master"));
        for (String ns : List.of("edge", "red", "blue", "lan")) {
            for (JsonNode l : links(ns).values()) {
                assertTrue(l.get("flags").toString().contains("\"UP\""), ns + "/" + l.get("ifname") + " is up");
                assertEquals("nsgate:seed-lab", l.path("ifalias").asText(), ns + "/" + l.get("ifname") + " is marked");
                if (!l.get("ifname").asText().equals("lo")) {
                    assertEquals("UP", l.get("operstate").asText(), ns + "/" + l.get("ifname") + " has carrier");
                }
            }
        }
        assertEquals(List.of("eth0", "lo"), new ArrayList<>(links("red").keySet()));
        assertEquals(List.of("eth0", "lo"), new ArrayList<>(links("blue").keySet()));
        assertEquals(List.of("lan0", "lo"), new ArrayList<>(links("lan").keySet()));
        assertEquals("veth", links("red").get("eth0").get("linkinfo").get("info_kind").asText());
        // the peers: red/eth0 <-> edge/veth-red-br, edge/lan0 <-> lan/lan0
        assertEquals(edge.get("veth-red-br").get("ifindex").asInt(), links("red").get("eth0").get("link_index").asInt());
        assertEquals(edge.get("lan0").get("ifindex").asInt(), links("lan").get("lan0").get("link_index").asInt());
    }

    @Test
    void addressesMatchTheDesignAccordingToIp() {
        assertEquals(Map.of("v-net-0", List.of("192.168.15.5/24"), "lan0", List.of("192.168.1.2/24"),
            "lo", List.of("127.0.0.1/8")), addresses("edge"));
        assertEquals(Map.of("eth0", List.of("192.168.15.1/24"), "lo", List.of("127.0.0.1/8")), addresses("red"));
        assertEquals(Map.of("eth0", List.of("192.168.15.2/24"), "lo", List.of("127.0.0.1/8")), addresses("blue"));
        assertEquals(Map.of("lan0", List.of("192.168.1.3/24"), "lo", List.of("127.0.0.1/8")), addresses("lan"));
    }

    @Test
    void routesMatchTheDesignAccordingToIp() {
        assertEquals(List.of("192.168.1.0/24 dev lan0", "192.168.15.0/24 dev v-net-0"), routes("edge"));
        assertEquals(List.of("192.168.15.0/24 dev eth0", "default via 192.168.15.5 dev eth0"), routes("red"));
        assertEquals(List.of("192.168.15.0/24 dev eth0", "default via 192.168.15.5 dev eth0"), routes("blue"));
        assertEquals(List.of("192.168.1.0/24 dev lan0"), routes("lan"), "lan has no route to 192.168.15.0/24");
    }

    @Test
    void edgeDoesNotForwardInTheKernel() {
        Commands.Result r = Commands.run(Commands.inNetns(LAB.ns("edge"), "cat", "/proc/sys/net/ipv4/ip_forward"));
        assertEquals("0", r.stdout().trim());
    }

    @Test
    void redAndBlueReachEachOtherAndTheGatewayAcrossTheBridge() {
        ping("red", "192.168.15.2");
        ping("blue", "192.168.15.1");
        ping("red", "192.168.15.5");
        ping("blue", "192.168.15.5");
        ping("edge", "192.168.1.3");
        ping("lan", "192.168.1.2");
    }

    @Test
    void lanCannotReachRedWithoutNat() {
        Commands.Result r = Commands.run(Commands.inNetns(LAB.ns("lan"), "ping", "-c", "1", "-W", "1",
            "192.168.15.1"));
        assertTrue(r.exitCode() != 0, "no route: " + r.stdout() + r.stderr());
    }

    static void ping(String fromNs, String address) {
        Commands.Result r = Commands.run(Commands.inNetns(LAB.ns(fromNs), "ping", "-c", "1", "-W", "2", address));
        assertEquals(0, r.exitCode(), fromNs + " -> " + address + ": " + r.stdout() + r.stderr());
    }

    private static Map<String, JsonNode> links(String ns) {
        Map<String, JsonNode> m = new TreeMap<>();
        for (JsonNode l : Commands.ipJson("-d", "-n", LAB.ns(ns), "link")) {
            m.put(l.get("ifname").asText(), l);
        }
        return m;
    }

    private static Map<String, List<String>> addresses(String ns) {
        Map<String, List<String>> m = new TreeMap<>();
        for (JsonNode l : Commands.ipJson("-4", "-n", LAB.ns(ns), "addr")) {
            List<String> list = new ArrayList<>();
            for (JsonNode a : l.get("addr_info")) {
                list.add(a.get("local").asText() + "/" + a.get("prefixlen").asInt());
            }
            m.put(l.get("ifname").asText(), list);
        }
        return m;
    }

    private static List<String> routes(String ns) {
        List<String> out = new ArrayList<>();
        for (JsonNode r : Commands.ipJson("-4", "-n", LAB.ns(ns), "route")) {
            out.add(r.get("dst").asText() + (r.has("gateway") ? " via " + r.get("gateway").asText() : "")
                + " dev " + r.get("dev").asText());
        }
        out.sort(null);
        return out;
    }
}
