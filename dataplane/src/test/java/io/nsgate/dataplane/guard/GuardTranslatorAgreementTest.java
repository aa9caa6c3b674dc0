// Property test: on random frames the guard program and the NAT Translator agree on who owns what.
package io.nsgate.dataplane.guard;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;

import org.agrona.concurrent.UnsafeBuffer;
import org.junit.jupiter.api.Test;

import io.nsgate.dataplane.conntrack.FlowTable;
import io.nsgate.dataplane.conntrack.FlowTimeouts;
import io.nsgate.dataplane.nat.ForwardedPorts;
import io.nsgate.dataplane.nat.GatewayInterface;
import io.nsgate.dataplane.nat.PortRange;
import io.nsgate.dataplane.nat.RuleSet;
import io.nsgate.dataplane.nat.SeedLabRules;
import io.nsgate.dataplane.nat.Translator;
import io.nsgate.dataplane.nat.Verdict;
import io.nsgate.dataplane.packet.FrameParser;
import io.nsgate.dataplane.packet.IpProtocol;
import io.nsgate.dataplane.packet.ParsedFrame;
import io.nsgate.dataplane.testsupport.Frames;
import io.nsgate.linux.net.Ipv4Address;
import io.nsgate.linux.net.Ipv4Prefix;
import io.nsgate.testkit.RequiresBpf;

/**
 * For many random frames (fixed seed) under several rule sets, each frame goes through a Translator with an empty
 * flow table (a fresh one: rebuilt after any frame that created a flow) and through the guard program:
 * <ul>
 *   <li>Translator LOCAL (the host's) ⇒ the program passes it: the guard never steals the host's traffic;</li>
 *   <li>Translator FORWARD, DROP or EMIT for a well-formed, unfragmented (or first-fragment), untagged TCP or UDP
 *       frame to one of the gateway's addresses ⇒ the program drops it: otherwise the kernel would answer it;</li>
 *   <li>a well-formed, untagged IPv6 frame that the Translator does not leave to the host (transit: denied) ⇒ the
 *       program drops it: otherwise the kernel, with IPv6 forwarding switched on, would route it.</li>
 * </ul>
 * Each disagreement is reported with the frame in hex. Coverage counters make sure both properties were
 * exercised many times, so the test cannot pass vacuously.
 */
@RequiresBpf
class GuardTranslatorAgreementTest {
    private static final int FRAMES_PER_RULE_SET = 12_000;
    private static final long SEED = 0x6E73_6761_7465L;

    private static final int[] PROTOS = {47, 2, 132, 50};

    @Test
    void seedLab() {
        check("seed lab", SeedLabRules.rules());
    }

    @Test
    void portRangesSpecificAddressesAndACustomNatRange() {
        check("ranges", SeedLabRules.base()
            .iface("lan1", GatewayInterface.Role.LAN, Ipv4Prefix.parse("10.1.0.1/16"), 1500)
            .iface("p2p", GatewayInterface.Role.INSIDE, Ipv4Prefix.parse("10.99.0.0/31"), 1500)
            .forward(SeedLabRules.forward(17, SeedLabRules.GW_LAN, PortRange.single(53), SeedLabRules.BLUE,
                PortRange.single(53)))
            .forward(SeedLabRules.forward(6, 0, new PortRange(8000, 8010),
                SeedLabRules.BLUE, new PortRange(9000, 9010)))
            .forward(SeedLabRules.HTTP_TO_BLUE)
            .natPorts(new PortRange(40000, 40999))
            .build());
    }

    @Test
    void forwardsOnInsideAddressesAndHairpins() {
        check("inside forwards", SeedLabRules.base()
            .forward(SeedLabRules.forward(6, SeedLabRules.GW_INSIDE, PortRange.single(8080), SeedLabRules.RED,
                PortRange.single(80)))
            .forward(SeedLabRules.forward(17, 0, new PortRange(5000, 5100),
                SeedLabRules.BLUE, new PortRange(5000, 5100)))
            .forward(SeedLabRules.HTTP_TO_BLUE)
            .build());
    }

    @Test
    void removedForwardsThatStillLinger() {
        RuleSet.Builder b = SeedLabRules.base()
            .forward(SeedLabRules.forward(17, SeedLabRules.GW_LAN, new PortRange(5000, 5010), SeedLabRules.BLUE,
                new PortRange(5000, 5010)))
            .forward(SeedLabRules.HTTP_TO_BLUE);
        b.removeForward(SeedLabRules.HTTP_TO_BLUE);
        RuleSet rules = b.build();
        assertEquals(List.of(SeedLabRules.HTTP_TO_BLUE), rules.lingeringForwards());
        check("lingering", rules);
    }

    // ---------------------------------------------------------------- the property

    private void check(String name, RuleSet rules) {
        SplittableRandom random = new SplittableRandom(SEED ^ name.hashCode());
        FrameParser parser = new FrameParser();
        ParsedFrame parsed = new ParsedFrame();
        Verdict verdict = new Verdict();
        List<String> disagreements = new ArrayList<>();
        int local = 0;
        int owned = 0;
        int ownedDropped = 0;
        int transitDrops = 0;
        int ipv6Local = 0;
        int ipv6Denied = 0;
        SeedLabRules.Harness harness = harness(rules);
        try (KernelGuard guard = KernelGuard.load(rules.ownership())) {
            for (int i = 0; i < FRAMES_PER_RULE_SET; i++) {
                byte[] frame = randomFrame(random, rules);
                int ingress = random.nextInt(rules.interfaceCount());
                int action = harness.translator.process(new UnsafeBuffer(frame.clone()), 0, frame.length, ingress, 0,
                    0, 0, 1_000_000_000L, verdict);
                if (action == Verdict.FORWARD) {
                    harness.close(); // a flow now exists: the next frame gets an empty table again
                    harness = harness(rules);
                }
                int program;
                try {
                    program = guard.verdict(frame);
                } catch (RuntimeException e) {
                    throw new AssertionError("test run of " + Frames.hex(frame) + ": " + e.getMessage(), e);
                }
                boolean wellFormed = parser.parse(new UnsafeBuffer(frame), 0, frame.length, parsed) == 0;
                boolean ipv6 = wellFormed && parsed.kind == ParsedFrame.KIND_IPV6 && parsed.vlanTci < 0;
                if (ipv6 && action == Verdict.LOCAL) {
                    ipv6Local++;
                } else if (ipv6) {
                    ipv6Denied++;
                    if (program != GuardProgram.DROP) {
                        disagreements.add(describe(frame, ingress, verdict, program,
                            "IPv6 transit the data plane denies, the guard lets the kernel route it"));
                    }
                }
                if (action == Verdict.LOCAL) {
                    local++;
                    if (program != GuardProgram.PASS) {
                        disagreements.add(describe(frame, ingress, verdict, program,
                            "the Translator leaves it to the host, the guard drops it"));
                    }
                } else if (action != Verdict.ARP && wellFormed && ownedCandidate(parsed, rules)) {
                    owned++;
                    if (program == GuardProgram.DROP) {
                        ownedDropped++;
                    } else {
                        disagreements.add(describe(frame, ingress, verdict, program,
                            "the data plane owns it, the guard lets the kernel answer it"));
                    }
                } else if (program == GuardProgram.DROP) {
                    transitDrops++;
                }
                if (disagreements.size() >= 10) {
                    break;
                }
            }
        } finally {
            harness.close();
        }
        assertTrue(disagreements.isEmpty(), name + ": " + disagreements.size() + " disagreement(s):\n"
            + String.join("\n", disagreements));
        System.out.printf("%s: %d frames, %d LOCAL (all passed), %d owned TCP/UDP to the gateway (all dropped),"
            + " %d other drops%n", name, FRAMES_PER_RULE_SET, local, ownedDropped, transitDrops);
        assertTrue(local > FRAMES_PER_RULE_SET / 10, name + ": only " + local + " LOCAL frames generated");
        assertTrue(owned > FRAMES_PER_RULE_SET / 20, name + ": only " + owned + " owned frames generated");
        assertTrue(ipv6Local > FRAMES_PER_RULE_SET / 50, name + ": only " + ipv6Local + " IPv6 frames for the host");
        assertTrue(ipv6Denied > FRAMES_PER_RULE_SET / 50, name + ": only " + ipv6Denied + " IPv6 transit frames");
    }

    /** A well-formed, untagged TCP/UDP frame to one of the gateway's addresses that has ports to judge by. */
    private static boolean ownedCandidate(ParsedFrame p, RuleSet rules) {
        return p.kind == ParsedFrame.KIND_IPV4 && p.vlanTci < 0
            && (p.ipProto == IpProtocol.TCP || p.ipProto == IpProtocol.UDP)
            && rules.ownership().isGatewayAddress(p.dstIp);
    }

    private static String describe(byte[] frame, int ingress, Verdict verdict, int program, String what) {
        return "  " + what + ": ingress #" + ingress + ", Translator " + verdict + ", guard "
            + (program == GuardProgram.DROP ? "DROP" : program == GuardProgram.PASS ? "PASS" : "?" + program)
            + ", frame " + Frames.hex(frame);
    }

    // ---------------------------------------------------------------- random frames

    private static byte[] randomFrame(SplittableRandom r, RuleSet rules) {
        int kind = r.nextInt(100);
        if (kind < 3) {
            return Frames.arpRequest("02:00:00:00:00:03", address(r, rules), address(r, rules));
        }
        if (kind < 13) {
            return ipv6Frame(r, rules);
        }
        if (kind < 15) {
            byte[] frame = Frames.udp().src(address(r, rules), port(r, rules)).dst(address(r, rules), port(r, rules))
                .payloadLength(32).build(); // at least an IPv6 header's 40 bytes behind the ethertype
            frame[12] = (byte) 0x86;
            frame[13] = (byte) 0xDD; // IPv6 ethertype, IPv4 bytes behind: the kernel's business either way
            return frame;
        }
        Frames.Builder b;
        if (kind < 45) {
            b = Frames.tcp().flags(tcpFlags(r));
        } else if (kind < 80) {
            b = Frames.udp();
        } else if (kind < 88) {
            b = Frames.icmpEchoRequest().icmpId(r.nextInt(65536));
        } else if (kind < 91) {
            b = Frames.icmpEchoReply().icmpId(r.nextInt(65536));
        } else if (kind < 95) {
            byte[] offending = Frames.udp().src(address(r, rules), port(r, rules)).dst(address(r, rules),
                port(r, rules)).build();
            b = Frames.icmpPortUnreachable(offending);
        } else {
            b = Frames.ipv4(PROTOS[r.nextInt(PROTOS.length)]).payloadLength(8 + r.nextInt(40));
        }
        if (kind < 91 || kind >= 95) {
            b.src(address(r, rules)).dst(address(r, rules));
        }
        b.srcPort(port(r, rules)).dstPort(port(r, rules));
        int twist = r.nextInt(100);
        if (twist < 3) {
            b.vlan(r.nextInt(4096));
        } else if (twist < 6) {
            b.ipOptions(new byte[4 * (1 + r.nextInt(10))]);
        } else if (twist < 8) {
            b.ttl(r.nextInt(2));
        } else if (twist < 10) {
            b.moreFragments().payloadLength(64);
        } else if (twist < 13) {
            b.fragmentOffset(8 * (1 + r.nextInt(200))).payloadLength(16);
        } else if (twist < 15) {
            b.padTo(60);
        } else if (twist < 16) {
            b.ipChecksum(r.nextInt(65536));
        } else if (twist < 17) {
            b.ihl(r.nextInt(16));
        } else if (twist < 20) {
            b.payloadLength(r.nextInt(1400));
        } else if (twist < 21) {
            b.df().payloadLength(1600); // larger than the MTU with DF: ICMP "fragmentation needed"
        }
        byte[] frame = b.build();
        if (r.nextInt(100) < 2 && frame.length > 34) {
            frame = Frames.truncate(frame, 34 + r.nextInt(frame.length - 34));
        }
        return frame;
    }

    private static final int[] NEXT_HEADERS = {6, 17, 58, 0, 43, 44, 60, 59};

    /** IPv6 to and from the gateway's addresses, multicast, link-local, inside and outside hosts; a few malformed. */
    private static byte[] ipv6Frame(SplittableRandom r, RuleSet rules) {
        List<String> candidates = new ArrayList<>(List.of("ff02::1", "ff02::1:ff00:2", "ff05::2", "fe80::1",
            "fe80::2", "febf::9", "fd15::2", "fd15::1", "fd01::3", "2001:db8::1", "::", "::1", "::2", "fd15::6"));
        rules.ownership().ipv6Addresses().forEach(a -> {
            candidates.add(a.toString());
            candidates.add(a.toString());
        });
        String src = candidates.get(r.nextInt(candidates.size()));
        String dst = candidates.get(r.nextInt(candidates.size()));
        int nextHeader = NEXT_HEADERS[r.nextInt(NEXT_HEADERS.length)];
        byte[] upper = Frames.concat(Frames.tcpHeader(port(r, rules), port(r, rules), tcpFlags(r)), new byte[r.nextInt(32)]);
        byte[] payload = switch (nextHeader) {
            case 6 -> upper;
            case 17 -> new byte[] {0x13, (byte) 0x88, 0, 53, 0, 8, 0, 0};
            case 58 -> Frames.icmp6(r.nextBoolean() ? 128 : 135, 0, new byte[20]);
            case 0, 43, 60 -> Frames.concat(Frames.ipv6Extension(6, r.nextInt(3)), upper);
            case 44 -> Frames.concat(Frames.ipv6Fragment(6, r.nextBoolean() ? 0 : 1448, true, r.nextInt()), upper);
            default -> new byte[r.nextInt(64)];
        };
        byte[] frame = Frames.ipv6(nextHeader, src, dst, payload);
        // (no fixed header cut short: kernels with the 2026 test-run fix refuse such a test skb; GuardProgramTest has it)
        if (r.nextInt(100) < 4) {
            frame[14] = (byte) ((r.nextInt(16) << 4) | (frame[14] & 0x0F)); // another version, mostly
        }
        return frame;
    }

    private static int tcpFlags(SplittableRandom r) {
        switch (r.nextInt(6)) {
            case 0:
            case 1:
                return Frames.SYN;
            case 2:
                return Frames.SYN | Frames.ACK;
            case 3:
                return Frames.ACK;
            case 4:
                return Frames.RST;
            default:
                return r.nextInt(256);
        }
    }

    private static String address(SplittableRandom r, RuleSet rules) {
        int pick = r.nextInt(100);
        if (pick < 40) {
            GatewayInterface i = rules.iface(r.nextInt(rules.interfaceCount()));
            return Ipv4Address.format(i.ip());
        }
        if (pick < 45) {
            GatewayInterface i = rules.iface(r.nextInt(rules.interfaceCount()));
            return Ipv4Address.format(i.address().broadcast());
        }
        String[] others = {"255.255.255.255", "224.0.0.251", "239.1.2.3", Ipv4Address.format(SeedLabRules.LAN),
            Ipv4Address.format(SeedLabRules.RED), Ipv4Address.format(SeedLabRules.BLUE), "8.8.8.8", "10.0.0.1",
            "0.0.0.0", "127.0.0.1", "10.99.0.1", "192.168.1.254"};
        return others[r.nextInt(others.length)];
    }

    private static int port(SplittableRandom r, RuleSet rules) {
        int pick = r.nextInt(100);
        List<ForwardedPorts> forwards = rules.ownership().forwards(); // lingering ones too
        if (pick < 25 && !forwards.isEmpty()) {
            PortRange ports = forwards.get(r.nextInt(forwards.size())).ports();
            return ports.first() + r.nextInt(ports.size() + 1) - (r.nextBoolean() ? 0 : 1); // edges, one past
        }
        if (pick < 45) {
            PortRange nat = rules.natPorts();
            return Math.max(0, Math.min(65535, nat.first() + r.nextInt(nat.size() + 2) - 1));
        }
        int[] common = {22, 53, 67, 68, 80, 443, 5353, 8080, 60999, 61000, 65535, 40000, 40999, 0, 1};
        if (pick < 70) {
            return common[r.nextInt(common.length)];
        }
        return r.nextInt(65536);
    }

    /** A Translator over an empty flow table. */
    private static SeedLabRules.Harness harness(RuleSet rules) {
        return new SeedLabRules.Harness(rules, new FlowTable(64, FlowTimeouts.DEFAULTS, 0, 5));
    }
}
