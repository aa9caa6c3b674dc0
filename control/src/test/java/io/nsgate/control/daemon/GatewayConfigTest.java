// The gateway's configuration file: accepted whole, or refused with every problem named by field and value.
package io.nsgate.control.daemon;

import static org.junit.jupiter.api.Assertions.*;

import java.util.List;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.Test;

import io.nsgate.dataplane.conntrack.TcpState;
import io.nsgate.dataplane.conntrack.TcpTracking;
import io.nsgate.dataplane.nat.PortRange;
import io.nsgate.dataplane.nat.ReversePathFilter;

class GatewayConfigTest {
    private static final String LAB = """
        netns: edge
        lan: lan0
        inside: [v-net-0]
        masquerade: [192.168.15.0/24]
        forwards:
          - tcp:80=192.168.15.2:80
        workers: 2
        natPorts: 61000-65535
        flowTableSize: 65536
        timeouts:
          udp: 20
          tcpEstablished: 3600
        """;

    @Test
    void readsEveryField() {
        GatewayConfig c = GatewayConfig.parse(LAB, "lab.yaml");
        assertEquals("edge", c.netns());
        assertEquals("lan0", c.lan());
        assertEquals(List.of("v-net-0"), c.inside());
        assertEquals("192.168.15.0/24", c.masquerade().get(0).toString());
        assertEquals("tcp:80=192.168.15.2:80", c.forwards().get(0).toString());
        assertEquals(2, c.workers());
        assertEquals(PortRange.DEFAULT_NAT, c.natPorts());
        assertEquals(65536, c.flowTableSize());
        assertEquals(TimeUnit.SECONDS.toNanos(20), c.timeouts().udpUnrepliedNs());
        assertEquals(TimeUnit.SECONDS.toNanos(3600), c.timeouts().tcpNs(TcpState.ESTABLISHED));
        assertEquals(TimeUnit.SECONDS.toNanos(120), c.timeouts().udpRepliedNs(), "netfilter's default where unset");
    }

    @Test
    void savedConfigurationReadsBackTheSame() {
        GatewayConfig c = GatewayConfig.parse(LAB, "lab.yaml");
        assertEquals(c.toYaml(), GatewayConfig.parse(c.toYaml(), "saved").toYaml());
        assertEquals(c.forwards(), GatewayConfig.parse(c.toYaml(), "saved").forwards());
    }

    @Test
    void takesIpv6MasqueradeAndForwardsWrittenPlainInYaml() {
        GatewayConfig c = GatewayConfig.parse("lan: lan0\ninside: [br0]\nmasquerade: [192.168.15.0/24, fd15::/64]\n"
            + "forwards:\n  - tcp:80=[fd15::2]:80\n  - tcp:[fd01::2]:8080=[fd15::2]:80\n", "v6.yaml");
        assertEquals("fd15::/64", c.masquerade().get(1).toString());
        assertEquals(List.of("tcp:80=[fd15::2]:80", "tcp:[fd01::2]:8080=[fd15::2]:80"),
            c.forwards().stream().map(Object::toString).toList());
        assertEquals(c.forwards(), GatewayConfig.parse(c.toYaml(), "saved").forwards(), "saved and read back");
        GatewayConfigException e = assertThrows(GatewayConfigException.class, () -> GatewayConfig.parse(
            "lan: lan0\ninside: [br0]\nmasquerade: [fd15::/129]\nforwards: [tcp:80=fd15::2:80]\n", "bad.yaml"));
        assertTrue(e.problems().stream().anyMatch(p -> p.startsWith("masquerade[0] \"fd15::/129\"")), e.problems().toString());
        assertTrue(e.problems().stream().anyMatch(p -> p.startsWith("forwards[0]") && p.contains("brackets")),
            e.problems().toString());
    }

    @Test
    void defaultsFillWhatIsLeftOut() {
        GatewayConfig c = GatewayConfig.parse("lan: lan0\ninside: [br0]\n", "min.yaml");
        assertNull(c.netns());
        assertEquals(Runtime.getRuntime().availableProcessors(), c.workers());
        assertEquals(GatewayConfig.DEFAULT_FLOW_TABLE_SIZE, c.flowTableSize());
        assertTrue(c.forwards().isEmpty());
    }

    @Test
    void routerPoliciesDefaultToStrictSourcesAndNetfiltersTcpTrackingAndAreRefusedWhenUnknown() {
        GatewayConfig d = GatewayConfig.parse("lan: lan0\ninside: [br0]\n", "min.yaml");
        assertEquals(ReversePathFilter.STRICT, d.reversePathFilter());
        assertEquals(new TcpTracking(false, true), d.tcp());
        GatewayConfig c = GatewayConfig.parse(
            "lan: lan0\ninside: [br0]\nreversePathFilter: loose\ntcp:\n  liberal: true\n  loose: false\n", "p.yaml");
        assertEquals(ReversePathFilter.LOOSE, c.reversePathFilter());
        assertEquals(new TcpTracking(true, false), c.tcp());
        GatewayConfig saved = GatewayConfig.parse(c.toYaml(), "saved");
        assertEquals(ReversePathFilter.LOOSE, saved.reversePathFilter());
        assertEquals(c.tcp(), saved.tcp());
        GatewayConfigException e = assertThrows(GatewayConfigException.class,
            () -> GatewayConfig.parse("lan: lan0\ninside: [br0]\nreversePathFilter: sometimes\n", "bad.yaml"));
        assertTrue(e.getMessage().contains("reversePathFilter \"sometimes\": not a reverse-path filter"),
            e.getMessage());
    }

    @Test
    void aStateFileKeepsConnectionsWithPinsInTheDefaultPlaceUnlessToldAndBadPathsAreNamed() {
        GatewayConfig none = GatewayConfig.parse("lan: lan0\ninside: [br0]\n", "min.yaml");
        assertFalse(none.keepsState());
        assertNull(none.pinDirectory());
        GatewayConfig kept = GatewayConfig.parse("lan: lan0\ninside: [br0]\nstateFile: /run/nsgate/flows\n", "s.yaml");
        assertTrue(kept.keepsState());
        assertEquals(java.nio.file.Path.of("/run/nsgate/flows"), kept.stateFile());
        assertEquals(GatewayConfig.DEFAULT_PIN_DIRECTORY, kept.pinDirectory());
        assertEquals(kept.toYaml(), GatewayConfig.parse(kept.toYaml(), "saved").toYaml(), "saved and read back");
        GatewayConfig own = GatewayConfig.parse("lan: lan0\ninside: [br0]\nstateFile: /run/x/flows\n"
            + "pinDirectory: /sys/fs/bpf/x\n", "s.yaml");
        assertEquals(java.nio.file.Path.of("/sys/fs/bpf/x"), own.pinDirectory());
        GatewayConfigException e = assertThrows(GatewayConfigException.class, () -> GatewayConfig.parse(
            "lan: lan0\ninside: [br0]\nstateFile: flows\npinDirectory: /sys/fs/bpf/x\n", "bad.yaml"));
        assertEquals(java.util.List.of("stateFile \"flows\": must be an absolute path (of at most 200 characters)",
            "pinDirectory \"/sys/fs/bpf/x\": only used with stateFile (pins keep the guards between two runs that "
                + "share a state file)"), e.problems());
    }

    @Test
    void everyProblemIsReportedWithItsFieldAndValue() {
        GatewayConfigException e = assertThrows(GatewayConfigException.class, () -> GatewayConfig.parse("""
            inside: [v-net-0, a-name-longer-than-15, v-net-0]
            masquerade: [192.168.15.0/33]
            forwards: ["tcp:80=192.168.15.300:80", "sctp:9=1.2.3.4:9"]
            workers: 0
            natPorts: 70000
            flowTableSize: 10
            timeouts: {udp: -1}
            """, "bad.yaml"));
        List<String> p = e.problems();
        assertTrue(p.contains("lan: missing (the LAN-side interface, e.g. lan0)"), p::toString);
        assertTrue(p.contains("inside[1] \"a-name-longer-than-15\": longer than 15 characters (IFNAMSIZ)"), p::toString);
        assertTrue(p.contains("inside[2] \"v-net-0\": listed twice (or also the lan interface)"), p::toString);
        assertTrue(p.contains("masquerade[0] \"192.168.15.0/33\": prefix length 33 is not in 0..32"),
            p::toString);
        assertTrue(p.contains("forwards[0] forward \"tcp:80=192.168.15.300:80\": 192.168.15.300 is not an IPv4 address "
            + "(300 is not an octet 0-255)"), p::toString);
        assertTrue(p.stream().anyMatch(s -> s.startsWith("forwards[1] forward \"sctp:9=1.2.3.4:9\": protocol \"sctp\"")),
            p::toString);
        assertTrue(p.contains("workers 0: must be 1..64"), p::toString);
        assertTrue(p.stream().anyMatch(s -> s.startsWith("natPorts \"70000\"")), p::toString);
        assertTrue(p.stream().anyMatch(s -> s.startsWith("flowTableSize 10: must be 1024..")), p::toString);
        assertTrue(p.contains("timeouts.udp -1: must be a positive number of seconds"), p::toString);
        assertTrue(e.getMessage().startsWith("bad.yaml rejected, nothing started:"));
    }

    @Test
    void unknownFieldsAndWrongTypesAreRefusedWithTheirPath() {
        GatewayConfigException unknown = assertThrows(GatewayConfigException.class,
            () -> GatewayConfig.parse("lan: lan0\ninside: [x]\nforward: [tcp:80=1.2.3.4:80]\n", "typo.yaml"));
        assertTrue(unknown.getMessage().contains("typo.yaml: (top level): unknown field \"forward\" (valid: "),
            unknown.getMessage());
        GatewayConfigException type = assertThrows(GatewayConfigException.class,
            () -> GatewayConfig.parse("lan: lan0\ninside: [x]\nworkers: many\n", "type.yaml"));
        assertTrue(type.getMessage().contains("type.yaml: workers \"many\": expected a whole number"), type.getMessage());
    }
}
