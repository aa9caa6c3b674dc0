// Idempotency, drift repair, show, destroy, ownership and rollback of topology applies, on real namespaces.
package io.nsgate.control.topology;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Pattern;

import org.junit.jupiter.api.Test;

import com.fasterxml.jackson.databind.JsonNode;

import io.nsgate.control.netns.NetNs;
import io.nsgate.control.testsupport.RequiresNetns;
import io.nsgate.testkit.Commands;
import io.nsgate.testkit.FreshPrefix;
import org.junit.jupiter.api.extension.RegisterExtension;

@RequiresNetns
class TopologyLifecycleTest {
    /** Other test runs on this machine (other worktrees) use prefixes like these; their namespaces come and go. */
    private static final Pattern OTHER_RUNS = Pattern.compile("ng[a-z]{1,4}[0-9a-f]{4}-.*");

    private final Topology lab = Topology.seedLab();
    @RegisterExtension
    final FreshPrefix prefix = FreshPrefix.perTest();

    @Test
    void secondApplyChangesNothingAndSaysSo() {
        assertTrue(TopologyApplier.apply(lab, prefix.get()).changed());
        TopologyReport again = TopologyApplier.apply(lab, prefix.get());
        assertFalse(again.changed());
        assertEquals("no changes", again.render());
        assertEquals("no changes", TopologyApplier.plan(lab, prefix.get()).render());
    }

    @Test
    void deletedVethComesBack() {
        TopologyApplier.apply(lab, prefix.get());
        Commands.ip("-n", prefix.ns("red"), "link", "del", "eth0"); // takes edge/veth-red-br with it
        assertEquals(List.of(
            "+ link red/eth0 (veth, peer edge/veth-red-br)",
            "+ addr red/eth0 192.168.15.1/24",
            "+ addr red/eth0 fd15::1/64",
            "+ route red/default via 192.168.15.5",
            "+ route red/default via fd15::5"), TopologyApplier.plan(lab, prefix.get()).lines());
        assertFalse(Commands.ip("-n", prefix.ns("red"), "link").contains("eth0"), "show changed nothing");
        assertEquals(List.of(
            "+ link red/eth0 (veth, peer edge/veth-red-br)",
            "+ addr red/eth0 192.168.15.1/24",
            "+ addr red/eth0 fd15::1/64",
            "+ route red/default via 192.168.15.5",
            "+ route red/default via fd15::5"), TopologyApplier.apply(lab, prefix.get()).lines());
        JsonNode port = Commands.ipJson("-n", prefix.ns("edge"), "link", "show", "veth-red-br").get(0);
        assertEquals("v-net-0", port.get("master").asText());
        ping(prefix.ns("red"), "192.168.15.2");
        assertEquals("no changes", TopologyApplier.apply(lab, prefix.get()).render());
    }

    @Test
    void driftIsRepaired() {
        TopologyApplier.apply(lab, prefix.get());
        Commands.ip("-n", prefix.ns("lan"), "addr", "del", "192.168.1.3/24", "dev", "lan0");
        Commands.ip("-n", prefix.ns("lan"), "addr", "add", "10.0.0.1/24", "dev", "lan0");
        Commands.ip("-n", prefix.ns("blue"), "link", "set", "eth0", "down");
        Commands.ip("-n", prefix.ns("edge"), "link", "set", "veth-red-br", "nomaster");
        Commands.ip("-n", prefix.ns("edge"), "link", "set", "v-net-0", "mtu", "1400");
        Commands.ip("-n", prefix.ns("lan"), "route", "add", "192.168.15.0/24", "via", "10.0.0.2");
        Commands.ip("-n", prefix.ns("red"), "route", "replace", "default", "via", "192.168.15.9");
        Commands.ip("-n", prefix.ns("edge"), "addr", "add", "192.168.15.77/24", "dev", "v-net-0");
        Commands.run(Commands.inNetns(prefix.ns("edge"), "sysctl", "-qw", "net.ipv4.ip_forward=1"));

        TopologyReport r = TopologyApplier.apply(lab, prefix.get());
        assertEquals(List.of(
            "~ sysctl edge/net.ipv4.ip_forward=0 (was 1)",
            "~ link edge/veth-red-br master v-net-0 (was none)",
            "~ link blue/eth0 up (was down)",
            "- addr edge/v-net-0 192.168.15.77/24",
            "+ addr blue/eth0 fd15::2/64", // the kernel drops IPv6 addresses of a link set down
            "~ addr lan/lan0 192.168.1.3/24 (was 10.0.0.1/24)",
            "~ route red/default via 192.168.15.5 (was via 192.168.15.9 dev eth0)",
            "+ route blue/default via 192.168.15.5",
            "+ route blue/default via fd15::5",
            "- route lan/192.168.15.0/24 via 10.0.0.2 dev lan0"), r.lines());
        // the bridge's MTU is not declared in the seed lab, so 1400 is left as it is (nothing to converge to)
        assertEquals("no changes", TopologyApplier.apply(lab, prefix.get()).render());
        ping(prefix.ns("red"), "192.168.15.2");
        ping(prefix.ns("blue"), "192.168.15.5");
        assertEquals("0", NetNsSysctl.read(prefix.ns("edge"), "net.ipv4.ip_forward"));
    }

    @Test
    void ipv6AddressesAndRoutesAreAppliedAndTheirDriftRepaired() {
        TopologyApplier.apply(lab, prefix.get());
        String blueAddresses = Commands.ip("-n", prefix.ns("blue"), "-6", "addr", "show", "dev", "eth0");
        assertTrue(blueAddresses.contains("inet6 fd15::2/64 scope global nodad"), blueAddresses);
        String blueRoutes = Commands.ip("-n", prefix.ns("blue"), "-6", "route");
        assertTrue(blueRoutes.contains("default via fd15::5 dev eth0 proto static"), blueRoutes);
        ping(prefix.ns("blue"), "fd15::5");
        ping(prefix.ns("lan"), "fd01::2");

        Commands.ip("-n", prefix.ns("blue"), "-6", "addr", "del", "fd15::2/64", "dev", "eth0");
        Commands.ip("-n", prefix.ns("blue"), "-6", "addr", "add", "fd15::99/64", "dev", "eth0", "nodad");
        Commands.ip("-n", prefix.ns("red"), "-6", "route", "del", "default");
        Commands.ip("-n", prefix.ns("lan"), "-6", "route", "add", "fd15::/64", "via", "fd01::2");
        Commands.ip("-n", prefix.ns("edge"), "-6", "addr", "add", "fd01::77/64", "dev", "lan0", "nodad");
        assertEquals(List.of(
            "~ addr blue/eth0 fd15::2/64 (was fd15::99/64)",
            "- addr edge/lan0 fd01::77/64",
            "+ route red/default via fd15::5",
            "- route lan/fd15::/64 via fd01::2 dev lan0"), TopologyApplier.apply(lab, prefix.get()).lines());
        assertEquals("no changes", TopologyApplier.apply(lab, prefix.get()).render());
        ping(prefix.ns("red"), "fd15::2");
        ping(prefix.ns("red"), "fd15::5");
        String link = Commands.ip("-n", prefix.ns("blue"), "-6", "addr", "show", "dev", "eth0");
        assertTrue(link.contains("fe80::"), "the kernel's link-local address stays: " + link);
        // an address with a lifetime, as SLAAC makes them, is the kernel's too: not removed, no churn
        Commands.ip("-n", prefix.ns("blue"), "-6", "addr", "add", "fd15::abcd/64", "dev", "eth0", "nodad",
            "valid_lft", "600", "preferred_lft", "600");
        assertEquals("no changes", TopologyApplier.apply(lab, prefix.get()).render());
        assertTrue(Commands.ip("-n", prefix.ns("blue"), "-6", "addr", "show", "dev", "eth0").contains("fd15::abcd/64"));
    }

    @Test
    void destroyLeavesNamespacesAndLinksExactlyAsBefore() {
        Set<String> netnsBefore = netnsList();
        String linksBefore = rootLinks();
        TopologyApplier.apply(lab, prefix.get());
        assertEquals(4, NetNs.list().stream().filter(n -> n.startsWith(prefix.get())).count());

        TopologyReport r = TopologyApplier.destroy(lab, prefix.get());
        assertEquals(List.of(
            "- link edge/v-net-0 (bridge)",
            "- link edge/veth-red-br (veth, peer red/eth0)",
            "- link edge/veth-blue-br (veth, peer blue/eth0)",
            "- link edge/lan0 (veth, peer lan/lan0)",
            "- netns edge (" + prefix.ns("edge") + ")",
            "- netns red (" + prefix.ns("red") + ")",
            "- netns blue (" + prefix.ns("blue") + ")",
            "- netns lan (" + prefix.ns("lan") + ")"), r.lines());
        assertEquals(netnsBefore, netnsList());
        assertEquals(linksBefore, rootLinks());
        assertEquals("no changes", TopologyApplier.destroy(lab, prefix.get()).render());
    }

    @Test
    void foreignSameNamedInterfaceIsLeftAloneWithAMessage() {
        TopologyApplier.apply(lab, prefix.get());
        Commands.ip("-n", prefix.ns("lan"), "link", "del", "lan0");
        Commands.ip("-n", prefix.ns("lan"), "link", "add", "lan0", "type", "bridge"); // someone else's, no nsgate alias

        TopologyApplyException refused = assertThrows(TopologyApplyException.class,
            () -> TopologyApplier.apply(lab, prefix.get()));
        assertEquals(List.of("! link lan/lan0 exists but was not created by nsgate (alias none): remove or rename it, "
            + "or change the file"), refused.conflicts().stream().map(Change::toString).toList());
        assertTrue(refused.getMessage().startsWith("nothing changed: 1 conflict"), refused.getMessage());
        assertTrue(Commands.tryIp("-n", prefix.ns("edge"), "link", "show", "lan0").exitCode() != 0,
            "nothing was created");

        TopologyReport r = TopologyApplier.destroy(lab, prefix.get());
        assertTrue(r.notes().stream().map(Change::toString).toList().containsAll(List.of(
            "! link lan/lan0 was not created by nsgate (alias none), left alone",
            "! netns lan (" + prefix.ns("lan") + ") kept: it holds interfaces nsgate did not create (lan0)")),
            r.render());
        assertTrue(NetNs.exists(prefix.ns("lan")));
        JsonNode lan0 = Commands.ipJson("-d", "-n", prefix.ns("lan"), "link", "show", "lan0").get(0);
        assertEquals("bridge", lan0.get("linkinfo").get("info_kind").asText());
        assertFalse(NetNs.exists(prefix.ns("edge")));
        assertFalse(NetNs.exists(prefix.ns("red")));
    }

    @Test
    void foreignSameNamedNamespaceIsLeftAloneWithAMessage() {
        Commands.ip("netns", "add", prefix.ns("blue"));
        TopologyApplyException refused = assertThrows(TopologyApplyException.class,
            () -> TopologyApplier.apply(lab, prefix.get()));
        assertEquals(List.of("! netns blue (" + prefix.ns("blue")
            + ") exists but was not created by nsgate for seed-lab "
            + "(lo alias none): delete it, or use another --prefix"),
            refused.conflicts().stream().map(Change::toString).toList());
        assertEquals(List.of(prefix.ns("blue")), NetNs.list().stream().filter(n -> n.startsWith(prefix.get())).toList(),
            "nothing was created");
        TopologyReport r = TopologyApplier.destroy(lab, prefix.get());
        assertEquals("no changes\n! netns blue (" + prefix.ns("blue")
            + ") was not created by nsgate for seed-lab (lo alias none), "
            + "left alone", r.render());
        assertTrue(NetNs.exists(prefix.ns("blue")));
    }

    @Test
    void kernelErrorMidwayRollsBackWhatThisApplyCreated() {
        Topology bad = Topology.parse(Topology.seedLabYaml().replace("  - name: lan\n",
            "  - name: lan\n    sysctls:\n      net.ipv4.no_such_knob: \"1\"\n"), "bad.yaml");
        TopologyApplyException e = assertThrows(TopologyApplyException.class,
            () -> TopologyApplier.apply(bad, prefix.get()));
        assertEquals("+ sysctl lan/net.ipv4.no_such_knob=1", e.failedAt().toString());
        assertTrue(e.getMessage().contains("sysctl net.ipv4.no_such_knob does not exist in " + prefix.ns("lan")),
            e.getMessage());
        assertTrue(e.getMessage().contains("rolled back 6 of 6 changes"), e.getMessage());
        assertTrue(e.rollbackFailures().isEmpty(), e.rollbackFailures().toString());
        assertEquals(List.of(), NetNs.list().stream().filter(n -> n.startsWith(prefix.get())).toList());
    }

    @Test
    void eexistFromAnInterfaceThatIsNotOursRollsBack() {
        Set<String> before = netnsList();
        TopologyApplyException e = assertThrows(TopologyApplyException.class,
            () -> TopologyApplier.apply(lab, prefix.get(),
            change -> {
                if (change.toString().equals("+ link edge/lan0 (veth, peer lan/lan0)")) {
                    // someone else grabs the name between plan and execution
                    Commands.ip("-n", prefix.ns("lan"), "link", "add", "lan0", "type", "bridge");
                }
            }));
        assertEquals("+ link edge/lan0 (veth, peer lan/lan0)", e.failedAt().toString());
        assertTrue(e.getCause() instanceof io.nsgate.control.netlink.NetlinkException, String.valueOf(e.getCause()));
        assertTrue(e.getMessage().contains("RTM_NEWLINK(veth lan0 <-> lan0 in " + prefix.ns("edge") + "): EEXIST"),
            e.getMessage());
        assertTrue(e.getMessage().contains("rolled back 9 of 9 changes"), e.getMessage());
        assertEquals(List.of(
            "+ link blue/eth0 (veth, peer edge/veth-blue-br)",
            "+ link red/eth0 (veth, peer edge/veth-red-br)",
            "+ link edge/v-net-0 (bridge)",
            "+ netns lan (" + prefix.ns("lan") + ")",
            "+ netns blue (" + prefix.ns("blue") + ")",
            "+ netns red (" + prefix.ns("red") + ")",
            "+ sysctl edge/net.ipv6.conf.all.forwarding=0",
            "+ sysctl edge/net.ipv4.ip_forward=0",
            "+ netns edge (" + prefix.ns("edge") + ")"), e.rolledBack().stream().map(Change::toString).toList());
        assertEquals(before, netnsList());
    }

    @Test
    void showPrintsTheDifferenceWithoutChanging() {
        TopologyReport plan = TopologyApplier.plan(lab, prefix.get());
        assertEquals(24, plan.changes().size());
        assertEquals("+ netns edge (" + prefix.ns("edge") + ")", plan.lines().get(0));
        assertTrue(NetNs.list().stream().noneMatch(n -> n.startsWith(prefix.get())));
    }

    @Test
    void linksRemovedFromTheFileAreRemovedOnApply() {
        TopologyApplier.apply(lab, prefix.get());
        Topology smaller = Topology.parse(Topology.seedLabYaml()
            .replace("  - a: {namespace: blue, name: eth0, addresses: [192.168.15.2/24, \"fd15::2/64\"]}\n"
                + "    b: {namespace: edge, name: veth-blue-br, master: v-net-0}\n", "")
            .replace("  - {namespace: blue, to: default, via: 192.168.15.5}\n", "")
            .replace("  - {namespace: blue, to: default, via: \"fd15::5\"}\n", ""), "smaller.yaml");
        assertEquals(List.of(
            "- link edge/veth-blue-br (veth, no longer in the file)",
            "- link blue/eth0 (veth, no longer in the file)",
            "- route blue/default via 192.168.15.5 dev eth0",
            "- route blue/default via fd15::5 dev eth0"), TopologyApplier.plan(smaller, prefix.get()).lines());
        TopologyApplier.apply(smaller, prefix.get());
        assertEquals(List.of("lo"), Commands.ipJson("-n", prefix.ns("blue"), "link").findValuesAsText("ifname"));
        assertEquals("no changes", TopologyApplier.apply(smaller, prefix.get()).render());
    }

    @Test
    void badInputChangesNothing() {
        Topology bad = Topology.parse(Topology.seedLabYaml().replace("via: 192.168.15.5}\n  - {namespace: blue",
            "via: 10.1.1.1}\n  - {namespace: blue"), "bad.yaml");
        TopologyException e = assertThrows(TopologyException.class, () -> TopologyApplier.apply(bad, prefix.get()));
        assertEquals(List.of("routes[0].via \"10.1.1.1\": not on any subnet declared in namespace red (192.168.15.0/24)"),
            e.problems());
        assertTrue(NetNs.list().stream().noneMatch(n -> n.startsWith(prefix.get())));
    }

    private static Set<String> netnsList() {
        Set<String> s = new TreeSet<>();
        for (String line : Commands.ip("netns", "list").split("\n")) {
            String name = line.split(" ")[0];
            if (!name.isEmpty() && !OTHER_RUNS.matcher(name).matches()) {
                s.add(name);
            }
        }
        return s;
    }

    /** The links of the test process's own namespace, read only (never changed by these tests). */
    private static String rootLinks() {
        StringBuilder b = new StringBuilder();
        for (JsonNode l : Commands.ipJson("link")) {
            b.append(l.get("ifindex").asInt()).append(':').append(l.get("ifname").asText()).append(':')
                .append(l.get("flags")).append('\n');
        }
        return b.toString();
    }

    private static void ping(String ns, String address) {
        Commands.Result r = Commands.run(Commands.inNetns(ns, "ping", "-c", "1", "-W", "2", address));
        assertEquals(0, r.exitCode(), ns + " -> " + address + ": " + r.stdout() + r.stderr());
    }

    /** Reads a sysctl through `ip netns exec` (independent of NetNs). */
    static final class NetNsSysctl {
        static String read(String ns, String key) {
            Commands.Result r = Commands.run(Commands.inNetns(ns, "sysctl", "-n", key));
            assertEquals(0, r.exitCode(), r.stderr());
            return r.stdout().trim();
        }
    }
}
