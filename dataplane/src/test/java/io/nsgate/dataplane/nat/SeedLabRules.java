// The seed lab's rules as a RuleSet, plus a harness that runs frames through a Translator and checks them.
package io.nsgate.dataplane.nat;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;

import org.agrona.concurrent.UnsafeBuffer;

import io.nsgate.dataplane.conntrack.FlowTable;
import io.nsgate.dataplane.conntrack.FlowTable6;
import io.nsgate.dataplane.conntrack.FlowTimeouts;
import io.nsgate.dataplane.packet.Checksums;
import io.nsgate.dataplane.packet.FrameParser;
import io.nsgate.dataplane.packet.ParsedFrame;
import io.nsgate.dataplane.stats.WorkerCounters;
import io.nsgate.linux.net.Ipv4Address;
import io.nsgate.linux.net.Ipv4Prefix;
import io.nsgate.linux.net.Ipv6Address;
import io.nsgate.linux.net.Ipv6Prefix;

/**
 * Interfaces as in the seed lab: #0 lan0 (LAN, 192.168.1.2/24), #1 v-net-0 (inside, 192.168.15.5/24);
 * masquerade 192.168.15.0/24 out of lan0; forward tcp:80 to blue (192.168.15.2:80); NAT ports 61000-65535. Dual
 * stack: lan0 fd01::2/64, v-net-0 fd15::5/64, masquerade fd15::/64, forward tcp:80=[fd15::2]:80. Used by the NAT
 * tests and the kernel guard's.
 */
public final class SeedLabRules {
    public static final int LAN_IF = 0;
    public static final int INSIDE_IF = 1;
    public static final int GW_LAN = Ipv4Address.parse("192.168.1.2");
    public static final int GW_INSIDE = Ipv4Address.parse("192.168.15.5");
    public static final int LAN = Ipv4Address.parse("192.168.1.3");
    public static final int RED = Ipv4Address.parse("192.168.15.1");
    public static final int BLUE = Ipv4Address.parse("192.168.15.2");
    /** The gateway's IPv6 addresses in the dual-stack seed lab: the edge on the LAN, the bridge inside. */
    public static final Ipv6Address GW_LAN6 = Ipv6Address.parse("fd01::2");
    public static final Ipv6Address GW_INSIDE6 = Ipv6Address.parse("fd15::5");

    /** The seed lab's forward: tcp:80=192.168.15.2:80, on every LAN address. */
    public static final ForwardRule HTTP_TO_BLUE = forward(6, 0, PortRange.single(80), BLUE, PortRange.single(80));

    public static final Ipv6Address LAN6 = Ipv6Address.parse("fd01::3");
    public static final Ipv6Address RED6 = Ipv6Address.parse("fd15::1");
    public static final Ipv6Address BLUE6 = Ipv6Address.parse("fd15::2");
    /** The seed lab's IPv6 forward: tcp:80=[fd15::2]:80, on every LAN IPv6 address. */
    public static final ForwardRule HTTP6_TO_BLUE = ForwardRule.parse("tcp:80=[fd15::2]:80");

    private SeedLabRules() {
    }

    /** A forward with one backend. */
    public static ForwardRule forward(int proto, int externalAddress, PortRange external, int backend,
                                      PortRange backendPorts) {
        return new ForwardRule(proto, externalAddress, external,
            List.of(new ForwardRule.Backend(backend, backendPorts)));
    }

    /** The interfaces and the masquerade rule, without forwards. */
    public static RuleSet.Builder base() {
        return RuleSet.builder()
            .iface("lan0", GatewayInterface.Role.LAN, Ipv4Prefix.parse("192.168.1.2/24"), 1500)
            .iface("v-net-0", GatewayInterface.Role.INSIDE, Ipv4Prefix.parse("192.168.15.5/24"), 1500)
            .ipv6Addresses("lan0", List.of(Ipv6Prefix.parse("fd01::2/64"), Ipv6Prefix.parse("fe80::2/64")))
            .ipv6Addresses("v-net-0", List.of(Ipv6Prefix.parse("fd15::5/64")))
            .masquerade(MasqueradeRule.masquerade(Ipv4Prefix.parse("192.168.15.0/24"), "lan0"))
            .masquerade(MasqueradeRule.masquerade(Ipv6Prefix.parse("fd15::/64"), "lan0"));
    }

    /** The seed lab's rules, open for more: both forwards to blue's port 80, over IPv4 and IPv6. */
    public static RuleSet.Builder builder() {
        return base().forward(HTTP_TO_BLUE).forward(HTTP6_TO_BLUE);
    }

    public static RuleSet rules() {
        return builder().build();
    }

    /**
     * Not the seed lab: every table of {@link Ownership} at its limit, for the guard's worst case.
     * {@link Ownership#MAX_ADDRESSES} NAT addresses 10.0.i.1 with their broadcasts 10.0.i.255, and
     * {@link Ownership#MAX_FORWARDS} forwards of {@code proto} on ports 1000, 1001 ... to any of them; NAT ports
     * 61000-65535. The last address is 10.0.(MAX_ADDRESSES - 1).1.
     */
    public static Ownership fullTables(int proto) {
        Ownership.Builder b = Ownership.builder().natPorts(new PortRange(61000, 65535));
        for (int i = 0; i < Ownership.MAX_ADDRESSES; i++) {
            b.address(Ipv4Address.parse("10.0." + i + ".1"), true);
            b.broadcast(Ipv4Address.parse("10.0." + i + ".255"));
        }
        for (int i = 0; i < Ownership.MAX_FORWARDS; i++) {
            b.forward(proto, 0, PortRange.single(1000 + i));
        }
        return b.build();
    }

    /** One worker's translator over its own table, with helpers to push frames through it. */
    public static final class Harness implements AutoCloseable {
        public final FlowTable table;
        public final FlowTable6 table6 = new FlowTable6(4096, FlowTimeouts.DEFAULTS, 0, 7);
        public final FragmentTable fragments = new FragmentTable(1024);
        public final WorkerCounters counters = new WorkerCounters();
        public final Translator translator;
        public final Verdict verdict = new Verdict();
        final FrameParser parser = new FrameParser();
        final ParsedFrame parsed = new ParsedFrame();
        long now = 1_000_000_000_000L;

        public Harness(RuleSet rules) {
            this(rules, new FlowTable(4096, FlowTimeouts.DEFAULTS, 0, 5));
        }

        public Harness(RuleSet rules, FlowTable table) {
            this.table = table;
            this.table6.gatewayAddresses(rules.ownership().ipv6Addresses());
            this.translator = new Translator(table, table6, fragments, counters, rules, 99);
        }

        /** Swaps the rules, as the data plane does (the IPv6 table learns the gateway's addresses first). */
        public void rules(RuleSet rules) {
            table6.gatewayAddresses(rules.ownership().ipv6Addresses());
            translator.rules(rules);
        }

        /** Runs {@code frame} (rewritten in place) through the translator. */
        public int process(byte[] frame, int ingress) {
            return process(frame, ingress, 0, 0, 0);
        }

        int process(byte[] frame, int ingress, int vnetFlags, int gsoType, int gsoSize) {
            return translator.process(new UnsafeBuffer(frame), 0, frame.length, ingress, vnetFlags, gsoType, gsoSize,
                now, verdict);
        }

        /** Parses {@code frame} (after translation) so tests can read its fields. */
        ParsedFrame parse(byte[] frame) {
            assertEquals(0, parser.parse(new UnsafeBuffer(frame), 0, frame.length, parsed), "translated frame parses");
            return parsed;
        }

        /** Recomputes every checksum of an IPv4 frame in full and checks the stored ones. */
        void assertChecksumsValid(byte[] frame) {
            ParsedFrame p = parse(frame);
            UnsafeBuffer b = new UnsafeBuffer(frame);
            assertTrue(Checksums.verifyIpv4Header(b, p.l3Offset, p.ipHeaderLength), "IPv4 header checksum");
            int l4Sum;
            switch (p.ipProto) {
                case 6:
                case 17:
                    if (p.ipProto == 17 && b.getShort(p.l4Offset + 6) == 0) {
                        return; // UDP without checksum
                    }
                    l4Sum = Checksums.fold(Checksums.sum(b, p.l4Offset, p.l4Length,
                        Checksums.pseudoHeaderSum(p.srcIp, p.dstIp, p.ipProto, p.l4Length)));
                    assertEquals(0xFFFF, l4Sum, "TCP/UDP checksum verifies");
                    break;
                case 1:
                    l4Sum = Checksums.fold(Checksums.sum(b, p.l4Offset, p.l4Length, 0));
                    assertEquals(0xFFFF, l4Sum, "ICMP checksum verifies");
                    if (p.icmpError) {
                        assertTrue(Checksums.verifyIpv4Header(b, p.innerL3Offset, p.innerIpHeaderLength),
                            "quoted IPv4 header checksum");
                    }
                    break;
                default:
                    break;
            }
        }

        /** Recomputes the TCP, UDP or ICMPv6 checksum of an IPv6 frame in full and checks the stored one. */
        void assertChecksumsValid6(byte[] frame) {
            ParsedFrame p = parse(frame);
            UnsafeBuffer b = new UnsafeBuffer(frame);
            int sum = Checksums.fold(Checksums.sum(b, p.l4Offset, p.l4Length, Checksums.pseudoHeaderSum6(p.src6High,
                p.src6Low, p.dst6High, p.dst6Low, p.ipProto, p.l4Length)));
            assertEquals(0xFFFF, sum, "upper-layer checksum over IPv6 verifies");
        }

        @Override
        public void close() {
            table.close();
            table6.close();
            fragments.close();
        }
    }
}
