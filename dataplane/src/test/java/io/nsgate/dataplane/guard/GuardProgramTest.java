// Runs the guard program (BPF_PROG_TEST_RUN) over frames for every branch of the ownership rule, in the seed lab.
package io.nsgate.dataplane.guard;

import static io.nsgate.dataplane.nat.SeedLabRules.BLUE;
import static io.nsgate.dataplane.nat.SeedLabRules.GW_INSIDE;
import static io.nsgate.dataplane.nat.SeedLabRules.GW_LAN;
import static io.nsgate.dataplane.nat.SeedLabRules.LAN;
import static io.nsgate.dataplane.nat.SeedLabRules.RED;
import static io.nsgate.dataplane.testsupport.Frames.ACK;
import static io.nsgate.dataplane.testsupport.Frames.SYN;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import io.nsgate.dataplane.nat.ForwardRule;
import io.nsgate.dataplane.nat.GatewayInterface;
import io.nsgate.dataplane.nat.Ownership;
import io.nsgate.dataplane.nat.PortRange;
import io.nsgate.dataplane.nat.RuleSet;
import io.nsgate.dataplane.nat.SeedLabRules;
import io.nsgate.dataplane.testsupport.Frames;
import io.nsgate.linux.net.Ipv4Address;
import io.nsgate.linux.net.Ipv4Prefix;
import io.nsgate.linux.net.Ipv6Address;
import io.nsgate.linux.sys.Bpf;
import io.nsgate.linux.sys.Errno;
import io.nsgate.linux.sys.SyscallException;
import io.nsgate.linux.sys.Syscalls;
import io.nsgate.testkit.RequiresBpf;

@RequiresBpf
class GuardProgramTest {
    private static KernelGuard guard;

    @BeforeAll
    static void loadSeedLabGuard() {
        guard = KernelGuard.load(SeedLabRules.rules().ownership());
    }

    @AfterAll
    static void close() {
        if (guard != null) {
            guard.close();
        }
    }

    private static void assertVerdict(KernelGuard g, int expected, byte[] frame, String what) {
        assertEquals(name(expected), name(g.verdict(frame)), what + ": " + Frames.hex(frame));
    }

    private static void assertDrop(byte[] frame, String what) {
        assertVerdict(guard, GuardProgram.DROP, frame, what);
    }

    private static void assertPass(byte[] frame, String what) {
        assertVerdict(guard, GuardProgram.PASS, frame, what);
    }

    /**
     * For IPv4 frames shorter than 14 + 20 bytes: kernels with the 2026 fix to {@code bpf_prog_test_run_skb}
     * ("reject the input earlier if the Ethernet frame carries IPv4/IPv6 EtherType but the L3 header is too
     * short") refuse to build such a test skb (EINVAL), so the program cannot be run on them here; older kernels
     * run it, and then it must pass the frame.
     */
    private static void assertPassOrUntestable(byte[] frame, String what) {
        assertPassOrUntestable(frame, 14 + 20, what);
    }

    /** As above for a frame that needs {@code headerEnd} bytes for its IP header (14 + 40 for IPv6). */
    private static void assertPassOrUntestable(byte[] frame, int headerEnd, String what) {
        try {
            assertPass(frame, what);
        } catch (SyscallException e) {
            assertEquals(Errno.EINVAL, e.errno(), what + ": " + e.getMessage());
            assertTrue(frame.length < headerEnd, what + ": refused although it holds an IP header: " + e.getMessage());
        }
    }

    private static String name(int verdict) {
        return verdict == GuardProgram.DROP ? "DROP" : verdict == GuardProgram.PASS ? "PASS (TCX_NEXT)" : "?" + verdict;
    }

    private static byte[] syn(int dst, int port) {
        return Frames.tcp().src(LAN, 50000).dst(dst, port).flags(SYN).build();
    }

    private static byte[] arpRequestForTheGateway() {
        return Frames.arpRequest("02:00:00:00:00:03", Ipv4Address.format(LAN), Ipv4Address.format(GW_LAN));
    }

    private static byte[] withEthertype(byte[] frame, int ethertype) {
        frame[12] = (byte) (ethertype >>> 8);
        frame[13] = (byte) ethertype;
        return frame;
    }

    // ---------------------------------------------------------------- not plain IPv4

    @Test
    void passesArpIpv6AndOtherEthertypes() {
        assertPass(arpRequestForTheGateway(), "ARP request for the gateway");
        assertPass(Frames.arpReply("02:00:00:00:00:03", Ipv4Address.format(LAN), "02:00:00:00:00:02",
            Ipv4Address.format(GW_LAN)), "ARP reply");
        assertPass(withEthertype(syn(GW_LAN, 80), 0x86DD), "IPv6 ethertype");
        assertPass(withEthertype(syn(GW_LAN, 80), 0x88CC), "LLDP ethertype");
    }

    // ---------------------------------------------------------------- IPv6

    @Test
    void dropsIpv6TransitAndPassesWhatIsTheHosts() {
        assertDrop(Frames.ipv6(58, "fd01::3", "fd15::2", 16), "IPv6 from the LAN to an inside host");
        assertDrop(Frames.ipv6(6, "fd15::2", "2001:db8::1", 20), "IPv6 from inside to the outside");
        assertDrop(Frames.ipv6(17, "fd01::3", "fd15::6", 8), "IPv6 to an address next to the gateway's");
        assertDrop(Frames.ipv6(0, "fd01::3", "fd15::2", 8), "IPv6 transit behind a hop-by-hop header");
        assertPass(Frames.ipv6(58, "fd01::3", "fd01::2", 16), "IPv6 to the gateway's LAN address");
        assertPass(Frames.ipv6(6, "fd15::2", "fd15::5", 20), "IPv6 to the gateway's inside address");
        assertPass(Frames.ipv6(58, "fe80::3", "ff02::1:ff00:2", 32), "neighbour solicitation (multicast)");
        assertPass(Frames.ipv6(58, "fe80::3", "ff02::2", 16), "router solicitation");
        assertPass(Frames.ipv6(58, "fe80::3", "fe80::2", 32), "link-local unicast");
        assertPass(Frames.ipv6(58, "fe80::3", "febf::2", 32), "link-local, the /10's last /16");
        assertPass(Frames.ipv6(58, "fd01::3", "::1", 8), "loopback destination: the kernel drops it");
        assertPass(Frames.ipv6(58, "::", "::", 8), "unspecified destination: the kernel drops it");
        byte[] v4 = Frames.ipv6(58, "fd01::3", "fd15::2", 16);
        v4[14] = 0x45;
        assertPass(v4, "IPv6 ethertype, version 4 in the header");
        assertPassOrUntestable(Frames.truncate(Frames.ipv6(58, "fd01::3", "fd15::2", 16), 14 + 39), 14 + 40,
            "IPv6 fixed header cut short");
    }

    @Test
    void scansEveryIpv6AddressToTheLast() {
        RuleSet.Builder b = SeedLabRules.base();
        List<io.nsgate.linux.net.Ipv6Prefix> many = new java.util.ArrayList<>();
        for (int i = 1; i <= Ownership.MAX_IPV6_ADDRESSES; i++) {
            many.add(io.nsgate.linux.net.Ipv6Prefix.parse("2001:db8::" + Integer.toHexString(i) + "/64"));
        }
        b.ipv6Addresses("lan0", many).ipv6Addresses("v-net-0", List.of());
        try (KernelGuard full = KernelGuard.load(b.build().ownership())) {
            assertVerdict(full, GuardProgram.PASS, Frames.ipv6(6, "fd01::3", "2001:db8::40", 20), "the 64th address");
            assertVerdict(full, GuardProgram.PASS, Frames.ipv6(6, "fd01::3", "2001:db8::1", 20), "the first");
            assertVerdict(full, GuardProgram.DROP, Frames.ipv6(6, "fd01::3", "2001:db8::41", 20), "the 65th: none");
            assertVerdict(full, GuardProgram.DROP, Frames.ipv6(6, "fd01::3", "fd01::2", 20), "an address removed");
        }
    }

    @Test
    void passesVlanTaggedFramesEvenToOwnedPorts() {
        assertDrop(syn(GW_LAN, 80), "control: untagged");
        assertPass(Frames.tcp().src(LAN, 50000).dst(GW_LAN, 80).flags(SYN).vlan(42).build(), "802.1Q");
        assertPass(withEthertype(Frames.tcp().dst(GW_LAN, 80).flags(SYN).vlan(42).build(), 0x88A8), "802.1ad");
        assertPass(Frames.udp().dst("8.8.8.8", 53).vlan(7).build(), "tagged transit");
    }

    @Test
    void passesMalformedOrTruncatedIpv4Headers() {
        byte[] owned = syn(GW_LAN, 80);
        assertDrop(owned, "control: well-formed");
        assertPass(Frames.tcp().dst(GW_LAN, 80).flags(SYN).ihl(4).build(), "IHL 4");
        assertPass(Frames.tcp().dst(GW_LAN, 80).flags(SYN).ihl(0).build(), "IHL 0");
        assertPass(Frames.tcp().dst(GW_LAN, 80).flags(SYN).ipVersion(6).build(), "version 6 behind ethertype 0x0800");
        assertPass(Frames.tcp().dst(GW_LAN, 80).flags(SYN).ipTotalLength(19).build(), "total length below IHL*4");
        assertPassOrUntestable(Frames.truncate(owned, 14), "Ethernet header only");
        assertPassOrUntestable(Frames.truncate(owned, 14 + 19), "IPv4 header cut short");
        assertPass(Frames.tcp().dst(GW_LAN, 80).flags(SYN).ihl(15).build(), "IHL beyond the frame's options");
        assertPass(Frames.truncate(owned, 14 + 20 + 3), "destination port cut short");
        assertDrop(Frames.truncate(owned, 14 + 20 + 4), "ports complete: enough to judge");
        assertDrop(Frames.truncate(syn(Ipv4Address.parse("8.8.8.8"), 80), 14 + 20),
            "transit: header complete, no ports needed");
    }

    @Test
    void judgesPortsBehindIpOptions() {
        byte[] options = {(byte) 0x94, 4, 0, 0, 1, 1, 1, 0}; // router alert, NOPs, EOL
        assertDrop(Frames.tcp().dst(GW_LAN, 80).flags(SYN).ipOptions(options).build(), "forward behind options");
        assertPass(Frames.tcp().dst(GW_LAN, 22).flags(SYN).ipOptions(options).build(), "host port behind options");
        assertDrop(Frames.udp().dst(GW_LAN, 62000).ipOptions(new byte[40]).build(), "NAT port behind 40 option bytes");
    }

    // ---------------------------------------------------------------- fragments

    @Test
    void passesNonFirstFragmentsToTheGatewayAndJudgesFirstOnes() {
        assertPass(Frames.tcp().dst(GW_LAN, 80).fragmentOffset(1480).payloadLength(100).build(),
            "non-first fragment to the gateway: no ports");
        assertPass(Frames.udp().dst(GW_LAN, 62000).fragmentOffset(8).moreFragments().payloadLength(64).build(),
            "middle fragment to the gateway");
        assertDrop(Frames.tcp().dst(GW_LAN, 80).flags(SYN).moreFragments().payloadLength(64).build(),
            "first fragment to a forwarded port");
        assertPass(Frames.udp().dst(GW_LAN, 53).moreFragments().payloadLength(64).build(),
            "first fragment to a host port");
        assertDrop(Frames.udp().src(RED, 4000).dst("8.8.8.8", 53).fragmentOffset(1480).payloadLength(100).build(),
            "non-first fragment in transit: the data plane's");
    }

    // ---------------------------------------------------------------- broadcast, multicast, transit

    @Test
    void passesBroadcastAndMulticastWhateverThePort() {
        assertPass(Frames.udp().src("0.0.0.0", 68).dst("255.255.255.255", 67).build(), "DHCP discover");
        assertPass(Frames.udp().dst("255.255.255.255", 62000).build(), "limited broadcast to a NAT port");
        assertPass(Frames.udp().dst("192.168.1.255", 137).build(), "lan0's directed broadcast");
        assertPass(Frames.udp().dst("192.168.15.255", 62000).build(), "v-net-0's directed broadcast, NAT port");
        assertPass(Frames.udp().dst("224.0.0.251", 5353).build(), "mDNS");
        assertPass(Frames.udp().dst("239.255.255.250", 1900).build(), "SSDP");
        assertPass(Frames.ipv4(2).dst("224.0.0.1").payloadLength(8).build(), "IGMP");
    }

    @Test
    void dropsTransitTraffic() {
        assertDrop(Frames.tcp().src(RED, 40000).dst("8.8.8.8", 443).flags(SYN).build(), "inside to the internet");
        assertDrop(Frames.udp().src(RED, 40000).dst("1.1.1.1", 53).build(), "UDP to the internet");
        assertDrop(Frames.icmpEchoRequest().src(RED).dst("8.8.8.8").build(), "ping through the gateway");
        assertDrop(Frames.ipv4(47).src(RED).dst("10.0.0.1").payloadLength(8).build(), "GRE through the gateway");
        assertDrop(Frames.tcp().src(LAN, 40000).dst(BLUE, 80).flags(SYN).build(),
            "LAN to an inside address directly");
        assertDrop(Frames.udp().dst("192.168.1.254", 53).build(), "another host on the LAN subnet");
        assertDrop(Frames.icmpPortUnreachable(Frames.udp().src(RED, 5000).dst("8.8.8.8", 53).build())
            .src("8.8.8.8").dst(RED).build(), "ICMP error in transit");
    }

    // ---------------------------------------------------------------- to the gateway

    @Test
    void passesTheHostsOwnTraffic() {
        assertPass(Frames.icmpEchoRequest().src(LAN).dst(GW_LAN).build(), "ping to the gateway");
        assertPass(Frames.icmpEchoReply().src("8.8.8.8").dst(GW_LAN).build(), "echo reply to the gateway");
        assertPass(Frames.icmpPortUnreachable(Frames.udp().src(GW_LAN, 40000).dst(LAN, 53).build()).build(),
            "ICMP error to the gateway");
        assertPass(syn(GW_LAN, 22), "sshd on the LAN address");
        assertPass(syn(GW_INSIDE, 22), "sshd on the inside address");
        assertPass(Frames.tcp().src("8.8.8.8", 443).dst(GW_LAN, 45000).flags(SYN | ACK).build(),
            "reply to the host's own connection (ephemeral port)");
        assertPass(syn(GW_LAN, 60999), "just below the NAT range");
        assertPass(syn(GW_LAN, 0), "port 0");
        assertPass(Frames.ipv4(47).dst(GW_LAN).payloadLength(8).build(), "GRE to the gateway");
        assertPass(Frames.udp().dst(GW_LAN, 80).build(), "udp:80 is not forwarded");
        assertPass(syn(GW_LAN, 81), "tcp:81 is not forwarded");
    }

    @Test
    void dropsRepliesToNatPortsOnEveryGatewayAddress() {
        assertDrop(Frames.tcp().src("8.8.8.8", 443).dst(GW_LAN, 61000).flags(SYN | ACK).build(), "first NAT port");
        assertDrop(Frames.udp().src("8.8.8.8", 53).dst(GW_LAN, 65535).build(), "last NAT port");
        assertDrop(Frames.udp().src(BLUE, 80).dst(GW_INSIDE, 62000).build(), "hairpin reply on the inside address");
        assertDrop(Frames.tcp().src("8.8.8.8", 443).dst(GW_LAN, 63000).flags(Frames.RST).build(), "late RST");
    }

    @Test
    void dropsForwardedPortsOnLanAddressesOnly() {
        assertDrop(syn(GW_LAN, 80), "forward without an address: the LAN address");
        assertDrop(Frames.tcp().src(RED, 40000).dst(GW_LAN, 80).flags(ACK).build(), "hairpin client, any flags");
        assertPass(syn(GW_INSIDE, 80), "a forward without an address does not serve inside addresses");
    }

    @Test
    void matchesForwardAddressesProtocolsAndRanges() {
        RuleSet rules = SeedLabRules.base()
            .iface("lan1", GatewayInterface.Role.LAN, Ipv4Prefix.parse("10.1.0.1/16"), 1500)
            .forward(SeedLabRules.forward(17, GW_INSIDE, new PortRange(5000, 5010), BLUE, new PortRange(6000, 6010)))
            .forward(SeedLabRules.forward(6, 0, new PortRange(8000, 8002), BLUE, PortRange.single(80)))
            .natPorts(new PortRange(40000, 40999))
            .build();
        try (KernelGuard g = KernelGuard.load(rules.ownership())) {
            assertVerdict(g, GuardProgram.DROP, Frames.udp().dst(GW_INSIDE, 5000).build(), "first port, own address");
            assertVerdict(g, GuardProgram.DROP, Frames.udp().dst(GW_INSIDE, 5010).build(), "last port");
            assertVerdict(g, GuardProgram.PASS, Frames.udp().dst(GW_INSIDE, 4999).build(), "below the range");
            assertVerdict(g, GuardProgram.PASS, Frames.udp().dst(GW_INSIDE, 5011).build(), "above the range");
            assertVerdict(g, GuardProgram.PASS, Frames.udp().dst(GW_LAN, 5005).build(), "another address");
            assertVerdict(g, GuardProgram.PASS, syn(GW_INSIDE, 5005), "another protocol");
            assertVerdict(g, GuardProgram.DROP, syn(GW_LAN, 8001), "no address: first LAN address");
            assertVerdict(g, GuardProgram.DROP, syn(Ipv4Address.parse("10.1.0.1"), 8002),
                "no address: second LAN address");
            assertVerdict(g, GuardProgram.PASS, syn(GW_INSIDE, 8001), "no address: not an inside address");
            assertVerdict(g, GuardProgram.PASS, syn(GW_LAN, 80), "the seed lab's forward is not in these rules");
            assertVerdict(g, GuardProgram.DROP, Frames.udp().dst("10.1.0.1", 40999).build(), "custom NAT range");
            assertVerdict(g, GuardProgram.PASS, Frames.udp().dst("10.1.0.1", 62000).build(), "default range unused");
            assertVerdict(g, GuardProgram.PASS, Frames.udp().dst("10.1.255.255", 40000).build(), "lan1's broadcast");
        }
    }

    @Test
    void scansFullTablesToTheirLastEntry() {
        try (KernelGuard g = KernelGuard.load(SeedLabRules.fullTables(17))) {
            assertVerdict(g, GuardProgram.DROP, Frames.udp().dst("10.0.63.1", 1063).build(), "last address, forward");
            assertVerdict(g, GuardProgram.PASS, Frames.udp().dst("10.0.63.1", 1064).build(), "past the last forward");
            assertVerdict(g, GuardProgram.PASS, Frames.udp().dst("10.0.63.255", 1000).build(), "last broadcast");
            assertVerdict(g, GuardProgram.DROP, Frames.udp().dst("10.0.64.1", 22).build(), "not an address: transit");
        }
    }

    // ---------------------------------------------------------------- lingering forwards and updates

    @Test
    void keepsDroppingLingeringForwards() {
        RuleSet.Builder removed = SeedLabRules.rules().toBuilder();
        assertTrue(removed.removeForward(SeedLabRules.HTTP_TO_BLUE));
        RuleSet lingering = removed.build();
        assertEquals(List.of(SeedLabRules.HTTP_TO_BLUE), lingering.lingeringForwards());
        try (KernelGuard g = KernelGuard.load(lingering.ownership())) {
            assertVerdict(g, GuardProgram.DROP, syn(GW_LAN, 80), "removed forward whose flows still live");
            assertVerdict(g, GuardProgram.PASS, syn(GW_INSIDE, 80), "lingering entries match as forwards do");
            g.update(lingering.toBuilder().retainLingering(f -> false).build().ownership());
            assertVerdict(g, GuardProgram.PASS, syn(GW_LAN, 80), "flows gone, entry dropped: the host's again");
        }
    }

    @Test
    void updatesFlipBetweenSlotsAndApplyAtOnce() {
        Ownership withHttp = SeedLabRules.rules().ownership();
        ForwardRule ssh = SeedLabRules.forward(6, GW_LAN, PortRange.single(2222), BLUE,
            PortRange.single(22));
        Ownership withSsh = SeedLabRules.base().forward(ssh).build().ownership();
        byte[] http = syn(GW_LAN, 80);
        byte[] sshSyn = syn(GW_LAN, 2222);
        try (KernelGuard g = KernelGuard.load(withHttp)) {
            assertEquals(1, g.generation());
            assertEquals(withHttp, g.ownershipInKernel());
            for (int round = 1; round <= 5; round++) {
                g.update(withSsh);
                assertVerdict(g, GuardProgram.PASS, http, "round " + round + ": http no longer forwarded");
                assertVerdict(g, GuardProgram.DROP, sshSyn, "round " + round + ": ssh forwarded");
                assertEquals(withSsh, g.ownershipInKernel());
                g.update(withHttp);
                assertVerdict(g, GuardProgram.DROP, http, "round " + round + ": http forwarded again");
                assertVerdict(g, GuardProgram.PASS, sshSyn, "round " + round + ": ssh the host's again");
                assertEquals(withHttp, g.ownershipInKernel());
            }
            assertEquals(11, g.generation());
        }
    }

    // ---------------------------------------------------------------- the program itself

    @Test
    void verifierAcceptsTheProgramWithoutExploringPathsBeyondBudget() {
        BpfAssembler program = GuardProgram.generate(guard.programFd(), guard.programFd());
        assertEquals(guard.instructionCount(), program.instructionCount());
        // the map fds must be real maps for the verifier: load a twin of the guard's program with a log
        String log = Bpf.progVerifierLog(Bpf.BPF_PROG_TYPE_SCHED_CLS,
            GuardProgram.generate(mapFd("active"), mapFd("config")).build(), GuardProgram.LICENSE, "nsgate_check",
            Bpf.BPF_LOG_STATS);
        Matcher m = Pattern.compile("processed (\\d+) insns").matcher(log);
        assertTrue(m.find(), log);
        int processed = Integer.parseInt(m.group(1));
        System.out.println("guard program: " + program.instructionCount() + " instructions, verifier processed "
            + processed + " (" + log.replace('\n', ' ') + ")");
        assertTrue(processed < 100_000, "verifier work " + processed + " instructions: state pruning lost?");
    }

    @Test
    void fullTablesDecideTcpRightAtTheirLastEntries() {
        // what the program costs per frame is measured by bench/run guard, not here
        try (KernelGuard full = KernelGuard.load(SeedLabRules.fullTables(6))) {
            int last = Ipv4Address.parse("10.0." + (Ownership.MAX_ADDRESSES - 1) + ".1");
            int lastForward = 1000 + Ownership.MAX_FORWARDS - 1;
            assertVerdict(full, GuardProgram.PASS, syn(last, 22), "no forward on 22: the host's");
            assertVerdict(full, GuardProgram.PASS, syn(last, 999), "below the first forward");
            assertVerdict(full, GuardProgram.DROP, syn(last, 1000), "the first forward");
            assertVerdict(full, GuardProgram.DROP, syn(last, lastForward), "the last forward");
            assertVerdict(full, GuardProgram.PASS, syn(last, lastForward + 1), "past the last forward");
            assertVerdict(full, GuardProgram.DROP, syn(last, 61000), "the first NAT port");
            assertVerdict(full, GuardProgram.DROP, syn(last, 65535), "the last NAT port");
            int broadcast = Ipv4Address.parse("10.0." + (Ownership.MAX_ADDRESSES - 1) + ".255");
            assertVerdict(full, GuardProgram.PASS, syn(broadcast, 1000), "the last broadcast address: the host's");
        }
    }

    private static final Map<String, Integer> MAPS = new HashMap<>();

    private static int mapFd(String which) {
        return MAPS.computeIfAbsent(which, w -> w.equals("active")
            ? Bpf.mapCreate(Bpf.BPF_MAP_TYPE_ARRAY, 4, 4, 1, Bpf.BPF_F_RDONLY_PROG, -1, "nsgate_t_act")
            : Bpf.mapCreate(Bpf.BPF_MAP_TYPE_ARRAY, 4, GuardSlot.ENCODED_SIZE, 2, Bpf.BPF_F_RDONLY_PROG, -1,
                "nsgate_t_cfg"));
    }

    @AfterAll
    static void closeMaps() {
        MAPS.values().forEach(Syscalls::closeQuietly);
    }
}
