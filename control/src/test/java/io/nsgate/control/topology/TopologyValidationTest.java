// Bad topology files are rejected before anything changes, naming the field, the value and what would be valid.
package io.nsgate.control.topology;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;

import org.junit.jupiter.api.Test;

class TopologyValidationTest {

    private static List<String> problems(String yaml) {
        return problems(yaml, "");
    }

    private static List<String> problems(String yaml, String prefix) {
        TopologyException e = assertThrows(TopologyException.class,
            () -> TopologyValidator.validate(Topology.parse(yaml, "t.yaml"), prefix));
        return e.problems();
    }

    private static String seedWith(String from, String to) {
        String yaml = Topology.seedLabYaml();
        assertTrue(yaml.contains(from), from);
        return yaml.replace(from, to);
    }

    @Test
    void seedLabIsValid() {
        Topology t = Topology.seedLab();
        TopologyValidator.validate(t, "ngt0000-");
        assertEquals("seed-lab", t.name());
        assertEquals(List.of("edge", "red", "blue", "lan"), t.namespaces().stream().map(Topology.Namespace::name).toList());
        assertEquals("0", t.namespaces().get(0).sysctls().get("net.ipv4.ip_forward"));
        assertEquals(3, t.veths().size());
        assertEquals("nsgate:seed-lab", t.ownerMark());
    }

    @Test
    void seedLabIsDualStack() {
        Topology t = Topology.seedLab();
        assertEquals(List.of("192.168.15.5/24", "fd15::5/64"), t.bridges().get(0).addresses());
        assertEquals(4, t.routes().size());
        assertEquals("0", t.namespaces().get(0).sysctls().get("net.ipv6.conf.all.forwarding"));
    }

    @Test
    void ipv6AddressesMustBeUnicastHostAddressesWithALength() {
        assertEquals(List.of(
            "veths[1].a.addresses[1] \"fd15::2\": no prefix length; expected an IPv6 address with prefix length like "
                + "fd15::1/64"), problems(seedWith("\"fd15::2/64\"", "\"fd15::2\"")));
        assertEquals(List.of("veths[1].a.addresses[1] \"fd15::/64\": this is the subnet-router anycast address of "
            + "fd15::/64; use a host address"), problems(seedWith("\"fd15::2/64\"", "\"fd15::/64\"")));
        assertEquals(List.of("veths[1].a.addresses[1] \"ff02::2/64\": not a unicast address"),
            problems(seedWith("\"fd15::2/64\"", "\"ff02::2/64\"")));
        assertEquals(List.of("veths[1].a.addresses[1] \"fe80::2/64\": link-local addresses are the kernel's (every "
            + "interface has one); use a global or ULA address"), problems(seedWith("\"fd15::2/64\"", "\"fe80::2/64\"")));
        assertEquals(List.of("veths[1].a.addresses[1] \"fd15::zz/64\": fd15::zz is not an IPv6 address (group zz is "
            + "not hex)"), problems(seedWith("\"fd15::2/64\"", "\"fd15::zz/64\"")));
        assertEquals(List.of("veths[1].a.addresses[2] \"fd15::2/64\": duplicate address in namespace blue (also "
            + "veths[1].a.addresses[1])"), problems(seedWith("[192.168.15.2/24, \"fd15::2/64\"]",
            "[192.168.15.2/24, \"fd15::2/64\", \"fd15::2/64\"]")));
    }

    @Test
    void ipv6RoutesTakeTheirFamilyFromDestinationOrGateway() {
        assertEquals(List.of("routes[3].via \"fd16::5\": not on any IPv6 subnet declared in namespace blue "
            + "(fd15::/64)"), problems(seedWith("{namespace: blue, to: default, via: \"fd15::5\"}",
            "{namespace: blue, to: default, via: \"fd16::5\"}")));
        assertEquals(List.of("routes[3].via \"192.168.15.5\": an IPv4 gateway for the IPv6 destination fd01::/64"),
            problems(seedWith("{namespace: blue, to: default, via: \"fd15::5\"}",
                "{namespace: blue, to: \"fd01::/64\", via: 192.168.15.5}")));
        assertEquals(List.of("routes[3].to \"fd01::1/64\": host bits set; did you mean fd01::/64?"),
            problems(seedWith("{namespace: blue, to: default, via: \"fd15::5\"}",
                "{namespace: blue, to: \"fd01::1/64\", via: \"fd15::5\"}")));
        assertEquals(List.of("routes[3].dev: missing; a link-local gateway (fe80::1) needs the interface it is on"),
            problems(seedWith("{namespace: blue, to: default, via: \"fd15::5\"}",
                "{namespace: blue, to: default, via: \"fe80::1\"}")));
        TopologyValidator.validate(Topology.parse(seedWith("{namespace: blue, to: default, via: \"fd15::5\"}",
            "{namespace: blue, to: default, via: \"fe80::1\", dev: eth0}"), "t.yaml"), ""); // valid
        assertEquals(List.of("routes[3].via \"fd15::2\": is an address of namespace blue itself; the gateway must be "
            + "another host on the subnet"), problems(seedWith("{namespace: blue, to: default, via: \"fd15::5\"}",
            "{namespace: blue, to: default, via: \"fd15::2\"}")));
        assertEquals(List.of("routes[4].to \"default\": duplicate route in namespace blue (already default via "
            + "fd15::5)"), problems(seedWith("  - {namespace: blue, to: default, via: \"fd15::5\"}",
            "  - {namespace: blue, to: default, via: \"fd15::5\"}\n  - {namespace: blue, to: default, via: \"fd15::6\"}")));
    }

    @Test
    void yamlRoundTripsThroughTheModel() {
        Topology t = Topology.seedLab();
        assertEquals(t, Topology.parse(t.toYaml(), "round trip"));
    }

    @Test
    void unknownFieldIsNamedWithItsPathAndTheValidOnes() {
        TopologyException e = assertThrows(TopologyException.class, () -> Topology.parse(
            seedWith("b: {namespace: edge, name: veth-blue-br, master: v-net-0}",
                "b: {namespace: edge, nam: veth-blue-br, master: v-net-0}"), "t.yaml"));
        assertEquals(List.of("t.yaml: veths[1].b: unknown field \"nam\" (valid: addresses, master, mtu, name, namespace)"),
            e.problems());
    }

    @Test
    void unknownTopLevelFieldIsNamed() {
        TopologyException e = assertThrows(TopologyException.class,
            () -> Topology.parse("name: x\nnamespace: [a]\n", "t.yaml"));
        assertEquals("t.yaml: (top level): unknown field \"namespace\" (valid: bridges, name, namespaces, routes, veths)",
            e.getMessage());
    }

    @Test
    void wrongTypeIsNamed() {
        TopologyException e = assertThrows(TopologyException.class, () -> Topology.parse(
            seedWith("name: v-net-0\n", "name: v-net-0\n    mtu: big\n"), "t.yaml"));
        assertEquals("t.yaml: bridges[0].mtu \"big\": expected a whole number", e.getMessage());
    }

    @Test
    void duplicateKeysAreRejected() {
        TopologyException e = assertThrows(TopologyException.class,
            () -> Topology.parse("name: a\nname: b\nnamespaces: [{name: x}]\n", "t.yaml"));
        assertTrue(e.getMessage().contains("Duplicate field 'name'"), e.getMessage());
    }

    @Test
    void interfaceNameLongerThan15IsRejected() {
        assertEquals(List.of("veths[1].b.name \"veth-blue-bridge-0\": longer than 15 characters"),
            problems(seedWith("name: veth-blue-br,", "name: veth-blue-bridge-0,")));
    }

    @Test
    void duplicateNamespaceIsRejected() {
        // namespaces: edge, red, blue, red, lan
        assertEquals(List.of("namespaces[3].name \"red\": duplicate namespace (also namespaces[1].name)"),
            problems(seedWith("  - name: lan\n", "  - name: red\n  - name: lan\n")));
    }

    @Test
    void duplicateInterfaceInANamespaceIsRejected() {
        assertEquals(List.of("veths[1].b.name \"veth-red-br\": duplicate interface in namespace edge "
            + "(also veths[0].b.name)"), problems(seedWith("name: veth-blue-br,", "name: veth-red-br,")));
    }

    @Test
    void invalidCidrsAreRejected() {
        assertEquals(List.of("veths[0].a.addresses[0] \"192.168.15.300/24\": 192.168.15.300 is not an IPv4 address "
            + "(300 is not an octet 0-255)"), problems(seedWith("[192.168.15.1/24,", "[192.168.15.300/24,")));
        assertEquals(List.of("veths[0].a.addresses[0] \"192.168.15.1\": no prefix length; expected an IPv4 address "
            + "with prefix length like 192.168.15.1/24"), problems(seedWith("[192.168.15.1/24,", "[192.168.15.1,")));
        assertEquals(List.of("veths[0].a.addresses[0] \"192.168.15.1/33\": prefix length 33 is not in 0..32"),
            problems(seedWith("[192.168.15.1/24,", "[192.168.15.1/33,")));
        assertEquals(List.of("veths[0].a.addresses[0] \"192.168.15.0/24\": this is the network address of "
            + "192.168.15.0/24; use a host address"), problems(seedWith("[192.168.15.1/24,", "[192.168.15.0/24,")));
    }

    @Test
    void vethEndInUndeclaredNamespaceIsRejected() {
        assertEquals(List.of("veths[0].a.namespace \"green\": not a declared namespace (declared: edge, red, blue, lan)"),
            problems(seedWith("a: {namespace: red, name: eth0", "a: {namespace: green, name: eth0")
                .replace("  - {namespace: red, to: default, via: 192.168.15.5}\n", "")
                .replace("  - {namespace: red, to: default, via: \"fd15::5\"}\n", "")));
    }

    @Test
    void gatewayOnNoDeclaredSubnetIsRejected() {
        assertEquals(List.of("routes[1].via \"10.0.0.1\": not on any subnet declared in namespace blue "
            + "(192.168.15.0/24)"), problems(seedWith("{namespace: blue, to: default, via: 192.168.15.5}",
            "{namespace: blue, to: default, via: 10.0.0.1}")));
    }

    @Test
    void routeProblemsAreNamed() {
        assertEquals(List.of("routes[0].to \"192.168.7.1/24\": host bits set; did you mean 192.168.7.0/24?"),
            problems(seedWith("{namespace: red, to: default, via: 192.168.15.5}",
                "{namespace: red, to: 192.168.7.1/24, via: 192.168.15.5}")));
        assertEquals(List.of("routes[0].dev \"eth9\": no interface of that name in namespace red (declared there: eth0)"),
            problems(seedWith("{namespace: red, to: default, via: 192.168.15.5}",
                "{namespace: red, to: default, via: 192.168.15.5, dev: eth9}")));
        assertEquals(List.of("routes[2].to \"default\": duplicate route in namespace red (already default via 192.168.15.5)"),
            problems(seedWith("  - {namespace: blue, to: default, via: 192.168.15.5}\n",
                "  - {namespace: blue, to: default, via: 192.168.15.5}\n  - {namespace: red, to: default, via: 192.168.15.2}\n")));
    }

    @Test
    void masterMustBeABridgeOfTheSameNamespace() {
        assertEquals(List.of("veths[0].b.master \"v-net-1\": no bridge of that name in namespace edge "
            + "(bridges there: v-net-0)"), problems(seedWith("name: veth-red-br, master: v-net-0",
            "name: veth-red-br, master: v-net-1")));
    }

    @Test
    void sysctlsMustBePerNamespace() {
        assertEquals(List.of("namespaces[0].sysctls \"kernel.pid_max\": not a per-namespace sysctl key; expected "
            + "net.* such as net.ipv4.ip_forward"), problems(seedWith("net.ipv4.ip_forward: \"0\"",
            "kernel.pid_max: \"4096\"")));
    }

    @Test
    void everyProblemIsReportedAtOnce() {
        List<String> p = problems(seedWith("name: veth-blue-br,", "name: veth-blue-bridge-0,")
            .replace("[192.168.1.3/24,", "[192.168.1.3/99,"));
        assertEquals(2, p.size(), p.toString());
    }

    @Test
    void badPrefixIsRejected() {
        assertEquals(List.of("--prefix \"a/b\": use at most 64 letters, digits, '.', '_' or '-'"),
            problems(Topology.seedLabYaml(), "a/b"));
    }

    @Test
    void emptyAndMissingPiecesAreNamed() {
        TopologyException e = assertThrows(TopologyException.class, () -> Topology.parse("", "t.yaml"));
        assertEquals("t.yaml: empty topology file", e.getMessage());
        assertEquals(List.of("namespaces[0].name: missing"), problems("name: x\nnamespaces: [{sysctls: {}}]\n"));
        assertEquals(List.of("name: missing; give the topology a name (it marks what nsgate creates)"),
            problems("namespaces: [{name: a}]\n"));
    }
}
