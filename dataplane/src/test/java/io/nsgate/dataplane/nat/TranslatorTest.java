// Behaviour of the NAT translator on the seed lab's rules: masquerade, port forward, hairpin, router duties.
package io.nsgate.dataplane.nat;

import static io.nsgate.dataplane.nat.SeedLabRules.*;
import static io.nsgate.dataplane.testsupport.Frames.ACK;
import static io.nsgate.dataplane.testsupport.Frames.FIN;
import static io.nsgate.dataplane.testsupport.Frames.PSH;
import static io.nsgate.dataplane.testsupport.Frames.RST;
import static io.nsgate.dataplane.testsupport.Frames.SYN;
import static org.junit.jupiter.api.Assertions.*;

import java.util.HashSet;
import java.util.List;
import java.util.Set;

import org.agrona.concurrent.UnsafeBuffer;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import io.nsgate.dataplane.conntrack.FlowCursor;
import io.nsgate.dataplane.conntrack.FlowSnapshot;
import io.nsgate.dataplane.conntrack.FlowTable;
import io.nsgate.dataplane.conntrack.FlowTimeouts;
import io.nsgate.dataplane.conntrack.TcpState;
import io.nsgate.dataplane.conntrack.TcpTracking;
import io.nsgate.dataplane.packet.Checksums;
import io.nsgate.dataplane.packet.IcmpHeader;
import io.nsgate.dataplane.packet.ParsedFrame;
import io.nsgate.dataplane.packet.VirtioNetHeader;
import io.nsgate.dataplane.stats.Counter;
import io.nsgate.dataplane.stats.DropReason;
import io.nsgate.dataplane.testsupport.Frames;
import io.nsgate.linux.net.Ipv4Address;
import io.nsgate.linux.net.Ipv4Prefix;
import io.nsgate.linux.sys.Linux;

class TranslatorTest {
    private static final long S = 1_000_000_000L;
    private Harness h = new Harness(rules());

    @AfterEach
    void close() {
        h.close();
    }

    private static String ip(int address) {
        return Ipv4Address.format(address);
    }

    /** blue:40000 -> lan:80 SYN, masqueraded; returns the NAT port. */
    private int masqueradedSyn(int sport) {
        byte[] syn = Frames.tcp().src("192.168.15.2", sport).dst("192.168.1.3", 80).flags(SYN).build();
        assertEquals(Verdict.FORWARD, h.process(syn, INSIDE_IF), h.verdict::toString);
        return h.parse(syn).srcPort;
    }

    @Test
    void masqueradedSynLeavesWithTheGatewayAddressAndAPortFromTheRange() {
        byte[] syn = Frames.tcp().src("192.168.15.2", 40000).dst("192.168.1.3", 80).flags(SYN).ttl(64).build();
        assertEquals(Verdict.FORWARD, h.process(syn, INSIDE_IF));
        assertEquals(LAN_IF, h.verdict.egressInterface);
        assertEquals(LAN, h.verdict.nextHopIp);
        ParsedFrame p = h.parse(syn);
        assertEquals(GW_LAN, p.srcIp);
        assertEquals(LAN, p.dstIp);
        assertTrue(PortRange.DEFAULT_NAT.contains(p.srcPort), "port " + p.srcPort + " in the NAT range");
        assertEquals(80, p.dstPort);
        assertEquals(63, p.ttl);
        h.assertChecksumsValid(syn);
        assertEquals(1, h.counters.get(Counter.SNAT_FLOWS));
    }

    @Test
    void replyToAMasqueradedFlowReachesBlue() {
        int natPort = masqueradedSyn(40000);
        byte[] synAck = Frames.tcp().src("192.168.1.3", 80).dst("192.168.1.2", natPort).flags(SYN | ACK).build();
        assertEquals(Verdict.FORWARD, h.process(synAck, LAN_IF));
        assertEquals(INSIDE_IF, h.verdict.egressInterface);
        assertEquals(BLUE, h.verdict.nextHopIp);
        ParsedFrame p = h.parse(synAck);
        assertEquals(LAN, p.srcIp);
        assertEquals(80, p.srcPort);
        assertEquals(BLUE, p.dstIp);
        assertEquals(40000, p.dstPort);
        h.assertChecksumsValid(synAck);
    }

    @Test
    void keepsTheSourcePortWhenItIsInTheRangeAndFree() {
        assertEquals(61234, masqueradedSyn(61234));
        byte[] red = Frames.tcp().src("192.168.15.1", 61234).dst("192.168.1.3", 80).flags(SYN).build();
        h.process(red, INSIDE_IF);
        int other = h.parse(red).srcPort;
        assertNotEquals(61234, other, "the same port towards the same destination is taken");
        assertTrue(PortRange.DEFAULT_NAT.contains(other));
    }

    @Test
    void udpMappingIsEndpointIndependent() {
        byte[] toLan = Frames.udp().src("192.168.15.2", 5000).dst("192.168.1.3", 53).payload("q").build();
        byte[] toOther = Frames.udp().src("192.168.15.2", 5000).dst("192.168.1.4", 53).payload("q").build();
        byte[] fromRed = Frames.udp().src("192.168.15.1", 5000).dst("192.168.1.3", 53).payload("q").build();
        h.process(toLan, INSIDE_IF);
        h.process(toOther, INSIDE_IF);
        h.process(fromRed, INSIDE_IF);
        int port = h.parse(toLan).srcPort;
        assertEquals(port, h.parse(toOther).srcPort, "same inside ip:port keeps its outside port towards every host");
        assertNotEquals(port, h.parse(fromRed).srcPort, "another inside host gets another port");
        h.assertChecksumsValid(toOther);
        assertEquals(2, h.counters.get(Counter.MAPPINGS_CREATED));
        assertEquals(5, h.table.size(), "3 flows + 2 mappings");
        // when every flow of a mapping is gone, so is the mapping, and its port is free again
        assertEquals(3, h.table.expire(0, h.table.capacity(), h.now + 31 * S));
        assertEquals(0, h.table.size());
    }

    @Test
    void unsolicitedUdpToAMappedPortFromAnotherHostIsRefused() {
        byte[] toLan = Frames.udp().src("192.168.15.2", 5000).dst("192.168.1.3", 53).build();
        h.process(toLan, INSIDE_IF);
        int port = h.parse(toLan).srcPort;
        byte[] stranger = Frames.udp().src("192.168.1.9", 53).dst("192.168.1.2", port).build();
        assertEquals(Verdict.DROP, h.process(stranger, LAN_IF), "address-dependent filtering, like Linux");
        assertEquals(DropReason.NO_RULE.id, h.verdict.dropReason);
    }

    @Test
    void martianDestinationsAreNeverForwarded() {
        h.translator.rules(builder().route(Ipv4Prefix.ANY, "lan0", GW_LAN + 1).build()); // a default route
        for (String dst : new String[] {"127.0.0.1", "127.255.0.9", "0.0.0.0", "0.1.2.3"}) {
            byte[] syn = Frames.tcp().src("192.168.15.2", 40000).dst(dst, 80).flags(SYN).build();
            assertEquals(Verdict.DROP, h.process(syn, INSIDE_IF), dst);
            assertEquals(DropReason.MARTIAN_DESTINATION.id, h.verdict.dropReason, dst);
        }
        assertEquals(4, h.counters.get(DropReason.MARTIAN_DESTINATION));
        assertEquals(0, h.table.size(), "no flow for any of them");
        byte[] fine = Frames.tcp().src("192.168.15.2", 40000).dst("8.8.8.8", 80).flags(SYN).build();
        assertEquals(Verdict.FORWARD, h.process(fine, INSIDE_IF), "the same SYN elsewhere leaves");
    }

    @Test
    void pingThroughTheNatMapsTheIdentifier() {
        byte[] ping = Frames.icmpEchoRequest().src("192.168.15.2").dst("192.168.1.3").icmpId(7).icmpSeq(1)
            .payload("hello").build();
        assertEquals(Verdict.FORWARD, h.process(ping, INSIDE_IF));
        ParsedFrame p = h.parse(ping);
        int id = p.srcPort;
        assertEquals(GW_LAN, p.srcIp);
        assertTrue(PortRange.DEFAULT_NAT.contains(id));
        h.assertChecksumsValid(ping);

        byte[] pong = Frames.icmpEchoReply().src("192.168.1.3").dst("192.168.1.2").icmpId(id).icmpSeq(1)
            .payload("hello").build();
        assertEquals(Verdict.FORWARD, h.process(pong, LAN_IF));
        p = h.parse(pong);
        assertEquals(BLUE, p.dstIp);
        assertEquals(7, p.dstPort, "echo reply carries the original identifier again");
        h.assertChecksumsValid(pong);
    }

    @Test
    void portForwardReachesBlueWithTheRealClientAddress() {
        byte[] syn = Frames.tcp().src("192.168.1.3", 50000).dst("192.168.1.2", 80).flags(SYN).build();
        assertEquals(Verdict.FORWARD, h.process(syn, LAN_IF));
        assertEquals(INSIDE_IF, h.verdict.egressInterface);
        assertEquals(BLUE, h.verdict.nextHopIp);
        ParsedFrame p = h.parse(syn);
        assertEquals(LAN, p.srcIp, "blue sees the real client");
        assertEquals(50000, p.srcPort);
        assertEquals(BLUE, p.dstIp);
        assertEquals(80, p.dstPort);
        h.assertChecksumsValid(syn);

        byte[] synAck = Frames.tcp().src("192.168.15.2", 80).dst("192.168.1.3", 50000).flags(SYN | ACK).build();
        assertEquals(Verdict.FORWARD, h.process(synAck, INSIDE_IF));
        assertEquals(LAN_IF, h.verdict.egressInterface);
        p = h.parse(synAck);
        assertEquals(GW_LAN, p.srcIp, "the answer comes from the address the client called");
        assertEquals(80, p.srcPort);
        assertEquals(LAN, p.dstIp);
        h.assertChecksumsValid(synAck);
        assertEquals(1, h.counters.get(Counter.DNAT_FLOWS));
    }

    @Test
    void hairpinFromRedToTheForwardedPortLandsOnBlueAndComesBack() {
        byte[] syn = Frames.tcp().src("192.168.15.1", 40000).dst("192.168.1.2", 80).flags(SYN).build();
        assertEquals(Verdict.FORWARD, h.process(syn, INSIDE_IF));
        assertEquals(INSIDE_IF, h.verdict.egressInterface);
        assertEquals(BLUE, h.verdict.nextHopIp);
        ParsedFrame p = h.parse(syn);
        assertEquals(GW_INSIDE, p.srcIp, "SNAT so blue answers through the gateway, not straight to red");
        int natPort = p.srcPort;
        assertEquals(BLUE, p.dstIp);
        assertEquals(80, p.dstPort);
        h.assertChecksumsValid(syn);

        byte[] synAck = Frames.tcp().src("192.168.15.2", 80).dst("192.168.15.5", natPort).flags(SYN | ACK).build();
        assertEquals(Verdict.FORWARD, h.process(synAck, INSIDE_IF));
        assertEquals(RED, h.verdict.nextHopIp);
        p = h.parse(synAck);
        assertEquals(GW_LAN, p.srcIp);
        assertEquals(80, p.srcPort);
        assertEquals(RED, p.dstIp);
        assertEquals(40000, p.dstPort);
        h.assertChecksumsValid(synAck);
        assertEquals(1, h.counters.get(Counter.HAIRPIN_FLOWS));
    }

    @Test
    void aForwardsAllowListAdmitsItsSourcesAndDropsAndCountsTheRest() {
        h.translator.rules(SeedLabRules.base()
            .forward(ForwardRule.parse("tcp:22=192.168.15.2:22,from=10.0.0.0/8+192.168.1.0/24")).build());
        byte[] allowed = Frames.tcp().src("192.168.1.3", 50000).dst("192.168.1.2", 22).flags(SYN).build();
        assertEquals(Verdict.FORWARD, h.process(allowed, LAN_IF), h.verdict::toString);
        assertEquals(BLUE, h.parse(allowed).dstIp);
        byte[] denied = Frames.tcp().src("192.168.1.9", 50001).dst("192.168.1.2", 22).flags(SYN).build();
        h.translator.rules(SeedLabRules.base()
            .forward(ForwardRule.parse("tcp:22=192.168.15.2:22,from=10.0.0.0/8")).build());
        assertEquals(Verdict.DROP, h.process(denied, LAN_IF));
        assertEquals(DropReason.FORWARD_SOURCE_DENIED.id, h.verdict.dropReason);
        assertEquals(1, h.counters.get(DropReason.FORWARD_SOURCE_DENIED));
        // the connection admitted before the list narrowed goes on: the list judges new connections only
        byte[] ack = Frames.tcp().src("192.168.1.3", 50000).dst("192.168.1.2", 22).flags(ACK).build();
        assertEquals(Verdict.FORWARD, h.process(ack, LAN_IF), h.verdict::toString);
        // a hairpin client is a client like any other
        byte[] fromRed = Frames.tcp().src("192.168.15.1", 40000).dst("192.168.1.2", 22).flags(SYN).build();
        assertEquals(Verdict.DROP, h.process(fromRed, INSIDE_IF));
        assertEquals(DropReason.FORWARD_SOURCE_DENIED.id, h.verdict.dropReason);
    }

    @Test
    void defaultDenyDropsWhatNoRuleAllows() {
        byte[] lanToBlue = Frames.tcp().src("192.168.1.3", 50000).dst("192.168.15.2", 22).flags(SYN).build();
        assertEquals(Verdict.DROP, h.process(lanToBlue, LAN_IF), "LAN with a route to the inside gets nothing in");
        assertEquals(DropReason.NO_RULE.id, h.verdict.dropReason);

        byte[] lanToRedUdp = Frames.udp().src("192.168.1.3", 5000).dst("192.168.15.1", 53).build();
        assertEquals(Verdict.DROP, h.process(lanToRedUdp, LAN_IF));

        byte[] lateReply = Frames.tcp().src("192.168.1.3", 80).dst("192.168.1.2", 61500).flags(ACK).build();
        assertEquals(Verdict.DROP, h.process(lateReply, LAN_IF), "a NAT port with no flow is ours to drop");
        assertEquals(DropReason.TCP_NO_FLOW.id, h.verdict.dropReason);

        h.translator.rules(builder().natPorts(PortRange.DEFAULT_NAT).build());
        byte[] redToRed2 = Frames.udp().src("192.168.15.1", 5000).dst("10.9.9.9", 53).build();
        assertEquals(Verdict.DROP, h.process(redToRed2, INSIDE_IF), "no route, no masquerade to nowhere");
        assertEquals(0, h.table.size(), "nothing denied left a flow behind");
    }

    @Test
    void theHostsOwnTrafficIsLeftToTheKernel() {
        byte[] ssh = Frames.tcp().src("192.168.1.3", 50000).dst("192.168.1.2", 22).flags(SYN).build();
        assertEquals(Verdict.LOCAL, h.process(ssh, LAN_IF));
        byte[] pingGateway = Frames.icmpEchoRequest().src("192.168.1.3").dst("192.168.1.2").build();
        assertEquals(Verdict.LOCAL, h.process(pingGateway, LAN_IF));
        byte[] toInsideAddress = Frames.tcp().src("192.168.15.1", 40000).dst("192.168.15.5", 80).flags(SYN).build();
        assertEquals(Verdict.LOCAL, h.process(toInsideAddress, INSIDE_IF),
            "the forward serves the LAN address, not the bridge address");
        byte[] broadcast = Frames.udp().src("192.168.15.1", 68).dst("255.255.255.255", 67).build();
        assertEquals(Verdict.LOCAL, h.process(broadcast, INSIDE_IF));
        assertEquals(Verdict.ARP, h.process(Frames.arpRequest("02:00:00:00:00:09", "192.168.1.3", "192.168.1.2"), LAN_IF));
        byte[] vlan = Frames.tcp().src("192.168.15.2", 40000).dst("192.168.1.3", 80).flags(SYN).vlan(42).build();
        assertEquals(Verdict.LOCAL, h.process(vlan, INSIDE_IF));
        assertEquals(0, h.table.size());
    }

    @Test
    void malformedFramesAreDroppedWithTheParsersReason() {
        byte[] bad = Frames.tcp().flags(SYN).ihl(4).build();
        assertEquals(Verdict.DROP, h.process(bad, INSIDE_IF));
        assertEquals(DropReason.BAD_IHL.id, h.verdict.dropReason);
        assertEquals(1, h.counters.get(DropReason.BAD_IHL));
        byte[] truncated = Frames.truncate(Frames.tcp().build(), 30);
        assertEquals(Verdict.DROP, h.process(truncated, INSIDE_IF));
        assertEquals(2, h.counters.get(Counter.DROPPED));
    }

    @Test
    void tcpFlowsStartOnlyWithABareSynOrAPickedUpAckAndInvalidFlagsAreDropped() {
        h.table.tcpTracking(new TcpTracking(false, false));
        byte[] ack = Frames.tcp().src("192.168.15.2", 40000).dst("192.168.1.3", 80).flags(ACK).build();
        assertEquals(Verdict.DROP, h.process(ack, INSIDE_IF));
        assertEquals(DropReason.TCP_NO_FLOW.id, h.verdict.dropReason);
        byte[] fin = Frames.tcp().src("192.168.15.2", 40000).dst("192.168.1.3", 80).flags(FIN | ACK).build();
        byte[] rst = Frames.tcp().src("192.168.15.2", 40000).dst("192.168.1.3", 80).flags(RST).build();
        h.table.tcpTracking(TcpTracking.DEFAULTS);
        for (byte[] closing : List.of(fin, rst)) {
            assertEquals(Verdict.DROP, h.process(closing, INSIDE_IF), "FIN and RST never open a flow");
            assertEquals(DropReason.TCP_NO_FLOW.id, h.verdict.dropReason);
        }
        assertEquals(Verdict.FORWARD, h.process(ack, INSIDE_IF), "loose tracking picks a connection up mid-stream");
        FlowSnapshot picked = snapshotOfOnlyFlow();
        assertEquals(TcpState.ESTABLISHED, picked.protoState);
        assertFalse(picked.assured(), "not assured before its first reply: evictable, and a short timeout");
        assertEquals(1, h.counters.get(Counter.TCP_PICKUPS));
        h.table.delete(FlowTable.handle(picked.flowId, picked.generation));
        byte[] synFin = Frames.tcp().src("192.168.15.2", 40000).dst("192.168.1.3", 80).flags(SYN | FIN).build();
        assertEquals(Verdict.DROP, h.process(synFin, INSIDE_IF));
        assertEquals(DropReason.TCP_INVALID_FLAGS.id, h.verdict.dropReason);
        masqueradedSyn(40000);
        byte[] noFlags = Frames.tcp().src("192.168.15.2", 40000).dst("192.168.1.3", 80).flags(0).build();
        assertEquals(Verdict.DROP, h.process(noFlags, INSIDE_IF), "invalid flags on a live flow");
        assertEquals(DropReason.TCP_INVALID_FLAGS.id, h.verdict.dropReason);
        byte[] zeroPort = Frames.udp().src("192.168.15.2", 0).dst("192.168.1.3", 53).build();
        assertEquals(Verdict.DROP, h.process(zeroPort, INSIDE_IF));
        assertEquals(DropReason.ZERO_PORT.id, h.verdict.dropReason);
    }

    /** lan (192.168.1.3:50000) opens a connection to the forward and exchanges a request and an answer. */
    private void establishForwardedConnection() {
        assertEquals(Verdict.FORWARD, h.process(fromLan(SYN, 1000, 0, 0), LAN_IF));
        assertEquals(Verdict.FORWARD, h.process(fromBlue(SYN | ACK, 7000, 1001, 0), INSIDE_IF));
        assertEquals(Verdict.FORWARD, h.process(fromLan(ACK, 1001, 7001, 100), LAN_IF));
        assertEquals(Verdict.FORWARD, h.process(fromBlue(ACK, 7001, 1101, 300), INSIDE_IF));
        assertTrue(snapshotOfOnlyFlow().assured());
    }

    private static byte[] fromLan(int flags, long seq, long ack, int payload) {
        return Frames.tcp().src("192.168.1.3", 50000).dst("192.168.1.2", 80).flags(flags).seq(seq).ack(ack)
            .window(29200).payloadLength(payload).build();
    }

    private static byte[] fromBlue(int flags, long seq, long ack, int payload) {
        return Frames.tcp().src("192.168.15.2", 80).dst("192.168.1.3", 50000).flags(flags).seq(seq).ack(ack)
            .window(29200).payloadLength(payload).build();
    }

    @Test
    void aBlindResetOrFinOutsideTheWindowIsDroppedAndTheConnectionLivesOn() {
        establishForwardedConnection();
        for (byte[] blind : List.of(fromLan(RST, 1101 + 0x4000_0000L, 0, 0), fromLan(RST | ACK, 900_000, 7301, 0),
            fromLan(FIN | ACK, 1101 + 0x7000_0000L, 7301, 0), fromLan(ACK, 1101 + 0x2000_0000L, 7301, 500),
            fromLan(SYN, 555, 0, 0))) {
            int verdict = h.process(blind, LAN_IF);
            FlowSnapshot s = snapshotOfOnlyFlow();
            assertEquals(TcpState.ESTABLISHED, s.protoState, "the state is untouched");
            if (verdict == Verdict.DROP) {
                assertEquals(DropReason.TCP_OUT_OF_WINDOW.id, h.verdict.dropReason);
            }
        }
        assertEquals(4, h.counters.get(DropReason.TCP_OUT_OF_WINDOW), "RST, RST+ACK, FIN and data out of window");
        assertEquals(Verdict.FORWARD, h.process(fromLan(ACK, 1101, 7301, 50), LAN_IF), "the connection goes on");
    }

    @Test
    void aForgedIcmpErrorQuotingASequenceNumberTheConnectionNeverSentIsDropped() {
        establishForwardedConnection();
        // what lan received from the gateway: blue's segment, translated (192.168.1.2:80 -> 192.168.1.3:50000)
        byte[] seen = Frames.tcp().src("192.168.1.2", 80).dst("192.168.1.3", 50000).flags(ACK).seq(7001).ack(1101)
            .payloadLength(300).build();
        byte[] genuine = Frames.icmpError(3, 3, seen).src("192.168.1.3").dst("192.168.1.2").build();
        assertEquals(Verdict.FORWARD, h.process(genuine, LAN_IF), "about a segment blue sent: translated for blue");
        byte[] offPath = Frames.tcp().src("192.168.1.2", 80).dst("192.168.1.3", 50000).flags(ACK)
            .seq(7001 + 0x3000_0000L).ack(1101).build();
        byte[] forged = Frames.icmpError(3, 3, offPath).src("192.168.1.3").dst("192.168.1.2").build();
        assertEquals(Verdict.DROP, h.process(forged, LAN_IF));
        assertEquals(DropReason.ICMP_ERROR_OUT_OF_WINDOW.id, h.verdict.dropReason);
        assertEquals(TcpState.ESTABLISHED, snapshotOfOnlyFlow().protoState);
    }

    @Test
    void anInexactResetInTheWindowPassesForAChallengeAckAndOnlyTheExactOneCloses() {
        establishForwardedConnection();
        assertEquals(Verdict.FORWARD, h.process(fromLan(RST, 1101 + 5000, 0, 0), LAN_IF),
            "in the window: the backend decides (it answers with a challenge ACK)");
        FlowSnapshot s = snapshotOfOnlyFlow();
        assertEquals(TcpState.ESTABLISHED, s.protoState);
        assertEquals(FlowTimeouts.DEFAULTS.tcpNs(TcpState.CLOSE), h.table.timeouts().timeoutNs(6, s.protoState,
            s.flagsOrRefCount), "until the next segment, the flow lives only as long as a closed one");
        assertEquals(Verdict.FORWARD, h.process(fromBlue(ACK, 7301, 1101, 0), INSIDE_IF), "the challenge ACK");
        s = snapshotOfOnlyFlow();
        assertEquals(FlowTimeouts.DEFAULTS.tcpNs(TcpState.ESTABLISHED),
            h.table.timeouts().timeoutNs(6, s.protoState, s.flagsOrRefCount), "a segment after the RST restores the timeout");
        assertEquals(Verdict.FORWARD, h.process(fromLan(RST, 1101, 0, 0), LAN_IF));
        assertEquals(TcpState.CLOSE, snapshotOfOnlyFlow().protoState, "the exact RST closes");
    }

    private int processAs(byte[] frame, int ingress, int packetType) {
        return h.translator.process(new UnsafeBuffer(frame), 0, frame.length, ingress, packetType, 0, 0, 0, h.now,
            h.verdict);
    }

    @Test
    void arpCannotRedirectTrafficNorFillTheNeighbourTable() {
        // claims from the LAN to be an inside host, or the gateway itself, or with a multicast MAC: nothing learnt
        for (byte[] poison : List.of(Frames.arpReply("02:00:00:00:66:66", "192.168.15.2", "02:00:00:00:01:02",
                "192.168.1.2"), Frames.arpRequest("02:00:00:00:66:66", "192.168.1.2", "192.168.1.3"),
            Frames.arpRequest("03:00:00:00:66:66", "192.168.1.9", "192.168.1.2"))) {
            assertEquals(Verdict.ARP, h.process(poison, LAN_IF));
            assertEquals(0, h.verdict.neighbourIp, "not learnt: " + Frames.hex(poison));
        }
        assertEquals(3, h.counters.get(Counter.ARP_REFUSED));
        assertEquals(Verdict.ARP, h.process(Frames.arpRequest("02:00:00:00:01:09", "192.168.1.9", "192.168.1.9"),
            LAN_IF));
        assertEquals(Ipv4Address.parse("192.168.1.9"), h.verdict.neighbourIp);
        assertFalse(h.verdict.neighbourCreate, "gratuitous ARP only refreshes an entry the table has");
        assertEquals(Verdict.ARP, h.process(Frames.arpRequest("02:00:00:00:01:09", "192.168.1.9", "192.168.1.2"),
            LAN_IF));
        assertTrue(h.verdict.neighbourCreate, "an ARP addressed to the gateway may add one");
    }

    @Test
    void framesForOtherHostsAndLinkBroadcastsAreNeverRouted() {
        byte[] synToForward = Frames.tcp().src("192.168.1.3", 50000).dst("192.168.1.2", 80).flags(SYN).build();
        assertEquals(Verdict.DROP, processAs(synToForward.clone(), LAN_IF, Linux.PACKET_OTHERHOST));
        assertEquals(DropReason.OTHER_HOST.id, h.verdict.dropReason);
        byte[] arpForOthers = Frames.arpReply("02:00:00:00:01:09", "192.168.1.9", "02:00:00:00:00:99", "192.168.1.3");
        assertEquals(Verdict.DROP, processAs(arpForOthers, LAN_IF, Linux.PACKET_OTHERHOST), "not learnt either");
        for (int broadcast : new int[] {Linux.PACKET_BROADCAST, Linux.PACKET_MULTICAST}) {
            assertEquals(Verdict.DROP, processAs(synToForward.clone(), LAN_IF, broadcast));
            assertEquals(DropReason.LINK_BROADCAST.id, h.verdict.dropReason);
        }
        byte[] dhcp = Frames.udp().src("0.0.0.0", 68).dst("255.255.255.255", 67).build();
        assertEquals(Verdict.LOCAL, processAs(dhcp, INSIDE_IF, Linux.PACKET_BROADCAST), "the host's own broadcast");
        assertEquals(0, h.table.size(), "no flow for any of them");
        assertEquals(Verdict.FORWARD, processAs(synToForward.clone(), LAN_IF, Linux.PACKET_HOST));
    }

    @Test
    void martianSourcesAndDestinationsAreDroppedFromEitherSide() {
        for (String martian : List.of("0.1.2.3", "127.0.0.1", "224.0.0.9", "240.0.0.1", "255.255.255.255")) {
            for (int ingress : new int[] {LAN_IF, INSIDE_IF}) {
                String dst = ingress == LAN_IF ? "192.168.1.2" : "192.168.1.3";
                byte[] syn = Frames.tcp().src(martian, 50000).dst(dst, 80).flags(SYN).build();
                assertEquals(Verdict.DROP, h.process(syn, ingress), martian);
                assertEquals(DropReason.BAD_SOURCE_ADDRESS.id, h.verdict.dropReason, martian);
            }
        }
        for (String gatewayAddress : List.of("192.168.1.2", "192.168.15.5")) {
            byte[] spoofed = Frames.tcp().src(gatewayAddress, 50000).dst("192.168.1.2", 80).flags(SYN).build();
            assertEquals(Verdict.DROP, h.process(spoofed, LAN_IF));
            assertEquals(DropReason.GATEWAY_SOURCE.id, h.verdict.dropReason, gatewayAddress);
        }
        byte[] toLoopback = Frames.tcp().src("192.168.15.2", 50000).dst("127.0.0.1", 80).flags(SYN).build();
        assertEquals(Verdict.DROP, h.process(toLoopback, INSIDE_IF));
        assertEquals(DropReason.MARTIAN_DESTINATION.id, h.verdict.dropReason);
        assertEquals(Verdict.DROP, h.process(toLoopback.clone(), LAN_IF), "from the LAN side too");
        byte[] directed = Frames.udp().src("192.168.1.3", 5000).dst("192.168.15.255", 7).build();
        assertEquals(Verdict.DROP, h.process(directed, LAN_IF), "an inside subnet's broadcast, from the LAN");
        assertEquals(DropReason.DIRECTED_BROADCAST.id, h.verdict.dropReason);
        byte[] ownBroadcast = Frames.udp().src("192.168.15.2", 5000).dst("192.168.15.255", 7).build();
        assertEquals(Verdict.LOCAL, h.process(ownBroadcast, INSIDE_IF), "its own subnet's: the host's");
        assertEquals(0, h.table.size());
    }

    @Test
    void aLanFrameClaimingAnInsideSourceIsRefusedUnlessTheFilterIsLoosened() {
        byte[] spoofed = Frames.tcp().src("192.168.15.7", 50000).dst("192.168.1.2", 80).flags(SYN).build();
        assertEquals(Verdict.DROP, h.process(spoofed.clone(), LAN_IF));
        assertEquals(DropReason.SPOOFED_SOURCE.id, h.verdict.dropReason);
        byte[] unroutable = Frames.tcp().src("10.20.30.40", 50000).dst("192.168.1.2", 80).flags(SYN).build();
        assertEquals(Verdict.DROP, h.process(unroutable.clone(), LAN_IF), "no route back at all");
        assertEquals(DropReason.SPOOFED_SOURCE.id, h.verdict.dropReason);
        assertEquals(0, h.table.size());

        h.translator.rules(rules().toBuilder().reversePathFilter(ReversePathFilter.LOOSE).build());
        assertEquals(Verdict.FORWARD, h.process(spoofed.clone(), LAN_IF), "loose: a route back exists, elsewhere");
        assertEquals(Verdict.DROP, h.process(unroutable.clone(), LAN_IF), "loose still wants a route back");
        h.translator.rules(rules().toBuilder().reversePathFilter(ReversePathFilter.OFF).build());
        assertEquals(Verdict.FORWARD, h.process(unroutable.clone(), LAN_IF), "off: no check");
    }

    @Test
    void aTrackedFlowsTupleArrivingFromTheWrongSideIsASpoofedSource() {
        masqueradedSyn(40000);
        byte[] sameTupleFromLan = Frames.tcp().src("192.168.15.2", 40000).dst("192.168.1.3", 80).flags(ACK).build();
        assertEquals(Verdict.DROP, h.process(sameTupleFromLan, LAN_IF));
        assertEquals(DropReason.SPOOFED_SOURCE.id, h.verdict.dropReason);
        assertEquals(TcpState.SYN_SENT, snapshotOfOnlyFlow().protoState, "the flow did not see it");
    }

    @Test
    void aWholeTcpConnectionWalksTheStatesAndCounts() {
        int natPort = masqueradedSyn(40000);
        h.process(Frames.tcp().src("192.168.1.3", 80).dst("192.168.1.2", natPort).flags(SYN | ACK).build(), LAN_IF);
        h.process(Frames.tcp().src("192.168.15.2", 40000).dst("192.168.1.3", 80).flags(ACK).build(), INSIDE_IF);
        byte[] data = Frames.tcp().src("192.168.15.2", 40000).dst("192.168.1.3", 80).flags(ACK | PSH)
            .payload("GET / HTTP/1.1\r\n\r\n").build();
        assertEquals(Verdict.FORWARD, h.process(data, INSIDE_IF));
        h.assertChecksumsValid(data);
        FlowSnapshot s = snapshotOfOnlyFlow();
        assertEquals(TcpState.ESTABLISHED, s.protoState);
        assertTrue(s.assured());
        assertEquals(3, s.origPackets);
        assertEquals(1, s.replyPackets);
        h.process(Frames.tcp().src("192.168.15.2", 40000).dst("192.168.1.3", 80).flags(FIN | ACK).build(), INSIDE_IF);
        assertEquals(TcpState.FIN_WAIT, snapshotOfOnlyFlow().protoState);
    }

    private FlowSnapshot snapshotOfOnlyFlow() {
        for (FlowCursor flows = h.table.cursor(); flows.next(); ) {
            if (!flows.flow().mapping) {
                return flows.flow();
            }
        }
        throw new AssertionError("no flow");
    }

    @Test
    void expiringTtlSendsTimeExceededAndCreatesNoFlow() {
        byte[] syn = Frames.tcp().src("192.168.15.2", 40000).dst("192.168.1.3", 80).flags(SYN).ttl(1).build();
        byte[] original = syn.clone();
        assertEquals(Verdict.EMIT, h.process(syn, INSIDE_IF));
        assertEquals(DropReason.TTL_EXCEEDED.id, h.verdict.dropReason);
        assertEquals(INSIDE_IF, h.verdict.egressInterface, "back where it came from");
        byte[] error = emitted();
        ParsedFrame p = h.parse(error);
        assertTrue(p.icmpError);
        assertEquals(IcmpHeader.TYPE_TIME_EXCEEDED, p.icmpType);
        assertEquals(GW_INSIDE, p.srcIp, "from the address of the interface it arrived on");
        assertEquals(BLUE, p.dstIp);
        assertEquals(BLUE, p.innerSrcIp, "quotes the datagram as blue sent it");
        assertEquals(40000, p.innerSrcPort);
        assertArrayEquals(slice(original, 6, 6), slice(error, 0, 6), "to the MAC it came from");
        h.assertChecksumsValid(error);
        assertEquals(0, h.table.size());
        assertEquals(1, h.counters.get(Counter.ICMP_ERRORS_SENT));
    }

    private byte[] emitted() {
        byte[] out = new byte[h.verdict.emitLength];
        h.verdict.emitBuffer.getBytes(0, out);
        return out;
    }

    private static byte[] slice(byte[] b, int from, int length) {
        byte[] out = new byte[length];
        System.arraycopy(b, from, out, 0, length);
        return out;
    }

    @Test
    void dfFrameOverTheEgressMtuGetsFragmentationNeeded() {
        h.translator.rules(RuleSet.builder()
            .iface("lan0", GatewayInterface.Role.LAN, Ipv4Prefix.parse("192.168.1.2/24"), 1400)
            .iface("v-net-0", GatewayInterface.Role.INSIDE, Ipv4Prefix.parse("192.168.15.5/24"), 1500)
            .masquerade(MasqueradeRule.masquerade(Ipv4Prefix.parse("192.168.15.0/24"), "lan0"))
            .build());
        byte[] big = Frames.udp().src("192.168.15.2", 5000).dst("192.168.1.3", 9000).df().payloadLength(1472).build();
        assertEquals(Verdict.EMIT, h.process(big, INSIDE_IF));
        ParsedFrame p = h.parse(emitted());
        assertEquals(IcmpHeader.TYPE_DESTINATION_UNREACHABLE, p.icmpType);
        assertEquals(IcmpHeader.CODE_FRAGMENTATION_NEEDED, p.icmpCode);
        assertEquals(1400, new UnsafeBuffer(emitted()).getShort(p.l4Offset + 6, java.nio.ByteOrder.BIG_ENDIAN));
        h.assertChecksumsValid(emitted());
        assertEquals(0, h.table.size());

        byte[] bigNoDf = Frames.udp().src("192.168.15.2", 5000).dst("192.168.1.3", 9000).payloadLength(1472).build();
        assertEquals(Verdict.DROP, h.process(bigNoDf, INSIDE_IF));
        assertEquals(DropReason.TOO_BIG.id, h.verdict.dropReason);

        byte[] fits = Frames.udp().src("192.168.15.2", 5000).dst("192.168.1.3", 9000).df().payloadLength(1372).build();
        assertEquals(Verdict.FORWARD, h.process(fits, INSIDE_IF));
    }

    @Test
    void gsoSuperFrameIsJudgedBySegmentSizeAndForwardedWhole() {
        byte[] superFrame = Frames.tcp().src("192.168.15.2", 40000).dst("192.168.1.3", 80).flags(SYN).build();
        h.process(superFrame, INSIDE_IF);
        int natPort = h.parse(superFrame).srcPort;
        byte[] big = Frames.tcp().src("192.168.15.2", 40000).dst("192.168.1.3", 80).flags(ACK).df()
            .payloadLength(40_000).checksumPartial().build();
        assertEquals(Verdict.FORWARD, h.process(big, INSIDE_IF, VirtioNetHeader.FLAG_NEEDS_CSUM, 1, 1448));
        assertEquals(1, h.counters.get(Counter.GSO_FRAMES));
        assertEquals(1, h.counters.get(Counter.PARTIAL_CHECKSUM_FRAMES));
        ParsedFrame p = h.parse(big);
        assertEquals(natPort, p.srcPort);
        int stored = new UnsafeBuffer(big).getShort(p.l4Offset + 16, java.nio.ByteOrder.BIG_ENDIAN) & 0xFFFF;
        assertEquals(Checksums.pseudoHeaderSum(GW_LAN, LAN, 6, p.l4Length), stored,
            "a partial checksum field holds the pseudo-header sum of the new addresses");

        byte[] tooBigSegments = Frames.tcp().src("192.168.15.2", 40000).dst("192.168.1.3", 80).flags(ACK).df()
            .payloadLength(40_000).checksumPartial().build();
        assertEquals(Verdict.EMIT, h.process(tooBigSegments, INSIDE_IF, VirtioNetHeader.FLAG_NEEDS_CSUM, 1, 1600),
            "1600-byte segments do not fit a 1500 MTU");
    }

    @Test
    void partialChecksumFrameGetsOnlyTheAddressChange() {
        byte[] syn = Frames.tcp().src("192.168.15.2", 40000).dst("192.168.1.3", 80).flags(SYN).checksumPartial().build();
        assertEquals(Verdict.FORWARD, h.process(syn, INSIDE_IF, VirtioNetHeader.FLAG_NEEDS_CSUM, 0, 0));
        ParsedFrame p = h.parse(syn);
        int stored = new UnsafeBuffer(syn).getShort(p.l4Offset + 16, java.nio.ByteOrder.BIG_ENDIAN) & 0xFFFF;
        assertEquals(Checksums.pseudoHeaderSum(GW_LAN, LAN, 6, p.l4Length), stored);
        byte[] udp = Frames.udp().src("192.168.15.2", 5000).dst("192.168.1.3", 53).payload("abc").checksumPartial().build();
        h.process(udp, INSIDE_IF, VirtioNetHeader.FLAG_NEEDS_CSUM, 0, 0);
        p = h.parse(udp);
        stored = new UnsafeBuffer(udp).getShort(p.l4Offset + 6, java.nio.ByteOrder.BIG_ENDIAN) & 0xFFFF;
        assertEquals(Checksums.pseudoHeaderSum(GW_LAN, LAN, 17, p.l4Length), stored);
    }

    @Test
    void portUnreachableForAMasqueradedUdpFlowReachesBlueTranslated() {
        byte[] probe = Frames.udp().src("192.168.15.2", 5000).dst("192.168.1.3", 9999).payload("x").build();
        h.process(probe, INSIDE_IF);
        int natPort = h.parse(probe).srcPort;
        byte[] error = Frames.icmpPortUnreachable(probe).build(); // lan -> gateway, quoting what lan received
        assertEquals(Verdict.FORWARD, h.process(error, LAN_IF));
        assertEquals(INSIDE_IF, h.verdict.egressInterface);
        ParsedFrame p = h.parse(error);
        assertEquals(LAN, p.srcIp);
        assertEquals(BLUE, p.dstIp);
        assertEquals(BLUE, p.innerSrcIp);
        assertEquals(5000, p.innerSrcPort);
        assertEquals(LAN, p.innerDstIp);
        assertEquals(9999, p.innerDstPort);
        assertNotEquals(natPort, p.innerSrcPort);
        h.assertChecksumsValid(error);
        assertEquals(1, h.counters.get(Counter.ICMP_ERRORS_TRANSLATED));
    }

    @Test
    void fragmentationNeededFromARouterOnTheLanReachesBlue() {
        byte[] data = Frames.tcp().src("192.168.15.2", 40000).dst("192.168.1.3", 80).flags(SYN).df().build();
        h.process(data, INSIDE_IF);
        byte[] error = Frames.icmpFragmentationNeeded(data, 1280).src("192.168.1.1").build();
        assertEquals(Verdict.FORWARD, h.process(error, LAN_IF));
        ParsedFrame p = h.parse(error);
        assertEquals(Ipv4Address.parse("192.168.1.1"), p.srcIp, "a router's address is not translated");
        assertEquals(BLUE, p.dstIp);
        assertEquals(BLUE, p.innerSrcIp);
        assertEquals(40000, p.innerSrcPort);
        h.assertChecksumsValid(error);
    }

    @Test
    void anErrorFromBlueAboutAForwardedFlowLeavesFromTheGatewayAddress() {
        h.translator.rules(builder().forward(new ForwardRule(17, 0, PortRange.single(53),
            List.of(new ForwardRule.Backend(BLUE, PortRange.single(5353))))).build());
        byte[] query = Frames.udp().src("192.168.1.3", 40000).dst("192.168.1.2", 53).payload("q").build();
        assertEquals(Verdict.FORWARD, h.process(query, LAN_IF));
        byte[] error = Frames.icmpPortUnreachable(query).build(); // blue -> lan quoting lan -> blue:5353
        assertEquals(Verdict.FORWARD, h.process(error, INSIDE_IF));
        ParsedFrame p = h.parse(error);
        assertEquals(GW_LAN, p.srcIp);
        assertEquals(LAN, p.dstIp);
        assertEquals(GW_LAN, p.innerDstIp);
        assertEquals(53, p.innerDstPort);
        h.assertChecksumsValid(error);
    }

    @Test
    void anErrorAboutNoFlowIsDroppedOrLeftToTheKernel() {
        byte[] stray = Frames.udp().src("192.168.1.2", 61111).dst("192.168.1.3", 53).build();
        byte[] error = Frames.icmpPortUnreachable(stray).build();
        assertEquals(Verdict.LOCAL, h.process(error, LAN_IF), "about the host's own traffic");
        byte[] transit = Frames.icmpPortUnreachable(Frames.udp().src("192.168.15.2", 1).dst("10.0.0.1", 2).build())
            .src("10.0.0.1").dst("192.168.15.2").build();
        assertEquals(Verdict.DROP, h.process(transit, LAN_IF));
        assertEquals(DropReason.ICMP_ERROR_NO_FLOW.id, h.verdict.dropReason);
    }

    @Test
    void laterFragmentsFollowTheFirst() {
        byte[] first = Frames.udp().src("192.168.15.2", 5000).dst("192.168.1.3", 9000).ipId(777).moreFragments()
            .payloadLength(1472).build();
        assertEquals(Verdict.FORWARD, h.process(first, INSIDE_IF));
        byte[] second = Frames.ipv4(17).src("192.168.15.2").dst("192.168.1.3").ipId(777).fragmentOffset(1480)
            .payloadLength(100).build();
        assertEquals(Verdict.FORWARD, h.process(second, INSIDE_IF));
        assertEquals(LAN_IF, h.verdict.egressInterface);
        UnsafeBuffer b = new UnsafeBuffer(second);
        int l3 = Frames.l3Offset(second);
        assertEquals(GW_LAN, b.getInt(l3 + 12, java.nio.ByteOrder.BIG_ENDIAN));
        assertTrue(Checksums.verifyIpv4Header(b, l3, 20));
        assertEquals(1, h.counters.get(Counter.FRAGMENTS_FORWARDED));

        byte[] orphan = Frames.ipv4(17).src("192.168.15.2").dst("192.168.1.3").ipId(778).fragmentOffset(1480)
            .payloadLength(100).build();
        assertEquals(Verdict.DROP, h.process(orphan, INSIDE_IF));
        assertEquals(DropReason.FRAGMENT_NO_FLOW.id, h.verdict.dropReason);
    }

    @Test
    void synsToAFullTableAreRefusedAndCounted() {
        h.close();
        h = new Harness(rules(), new FlowTable(16, FlowTimeouts.DEFAULTS, 0, 3));
        // fill with established (assured) connections
        for (int i = 0; i < 16; i++) {
            int natPort = masqueradedSyn(30000 + i);
            h.process(Frames.tcp().src("192.168.1.3", 80).dst("192.168.1.2", natPort).flags(SYN | ACK).build(), LAN_IF);
            h.process(Frames.tcp().src("192.168.15.2", 30000 + i).dst("192.168.1.3", 80).flags(ACK).build(), INSIDE_IF);
        }
        long before = h.counters.get(DropReason.TABLE_FULL);
        for (int i = 0; i < 10; i++) {
            byte[] syn = Frames.tcp().src("192.168.1.3", 50000 + i).dst("192.168.1.2", 80).flags(SYN).build();
            assertEquals(Verdict.DROP, h.process(syn, LAN_IF));
        }
        assertEquals(10, h.counters.get(DropReason.TABLE_FULL) - before, "10 SYNs to a full table -> TABLE_FULL += 10");
        assertEquals(16, h.table.size(), "no established flow was lost");
    }

    @Test
    void aSynFloodIntoASmallTableEvictsOnlyFlowsThatNeverProvedThemselvesAndTheEstablishedOneLivesOn() {
        h.close();
        h = new Harness(rules(), new FlowTable(64, FlowTimeouts.DEFAULTS, 0, 3));
        establishForwardedConnection();
        java.util.Random random = new java.util.Random(10);
        int answered = 0;
        for (int i = 0; i < 2000; i++) {
            String source = "192.168.1." + (4 + random.nextInt(250));
            int sport = 1024 + random.nextInt(60000);
            byte[] syn = Frames.tcp().src(source, sport).dst("192.168.1.2", 80).flags(SYN).seq(random.nextInt())
                .build();
            if (h.process(syn, LAN_IF) == Verdict.FORWARD && i % 2 == 0) {
                // half the flood is answered by blue (SYN_RECV: replied, not assured): evictable all the same
                h.process(Frames.tcp().src("192.168.15.2", 80).dst(source, sport).flags(SYN | ACK).seq(5).build(),
                    INSIDE_IF);
                answered++;
            }
        }
        assertTrue(h.table.evictedTotal() > 1000, "the flood went on by early drop: " + h.table.evictedTotal());
        assertTrue(answered > 900, "answered " + answered);
        int establishedState = -1;
        for (FlowCursor flows = h.table.cursor(); flows.next(); ) {
            if (flows.flow().origSrcPort == 50000 && flows.flow().origSrcIp == LAN) {
                establishedState = flows.flow().protoState; // the cursor reuses its snapshot: read it now
            }
        }
        assertEquals(TcpState.ESTABLISHED, establishedState, "the established connection was never evicted");
        assertEquals(Verdict.FORWARD, h.process(fromLan(ACK, 1101, 7301, 10), LAN_IF), "and still forwards");
    }

    @Test
    void exhaustedPortRangeRefusesNewMappings() {
        h.translator.rules(builder().natPorts(new PortRange(61000, 61001)).build());
        for (int i = 0; i < 2; i++) {
            byte[] q = Frames.udp().src("192.168.15." + (10 + i), 5000).dst("192.168.1.3", 53).build();
            assertEquals(Verdict.FORWARD, h.process(q, INSIDE_IF));
        }
        byte[] third = Frames.udp().src("192.168.15.12", 5000).dst("192.168.1.3", 53).build();
        assertEquals(Verdict.DROP, h.process(third, INSIDE_IF));
        assertEquals(DropReason.PORTS_EXHAUSTED.id, h.verdict.dropReason);
    }

    @Test
    void swappingRulesKeepsLiveFlowsAndAppliesToNewOnes() {
        byte[] syn = Frames.tcp().src("192.168.1.3", 50000).dst("192.168.1.2", 80).flags(SYN).build();
        assertEquals(Verdict.FORWARD, h.process(syn, LAN_IF));
        int natPort = masqueradedSyn(40000);

        h.translator.rules(RuleSet.builder()
            .iface("lan0", GatewayInterface.Role.LAN, Ipv4Prefix.parse("192.168.1.2/24"), 1500)
            .iface("v-net-0", GatewayInterface.Role.INSIDE, Ipv4Prefix.parse("192.168.15.5/24"), 1500)
            .build()); // no forward, no masquerade any more

        byte[] ack = Frames.tcp().src("192.168.1.3", 50000).dst("192.168.1.2", 80).flags(ACK).build();
        assertEquals(Verdict.FORWARD, h.process(ack, LAN_IF), "the live forwarded connection keeps working");
        assertEquals(BLUE, h.parse(ack).dstIp);
        byte[] reply = Frames.tcp().src("192.168.1.3", 80).dst("192.168.1.2", natPort).flags(SYN | ACK).build();
        assertEquals(Verdict.FORWARD, h.process(reply, LAN_IF), "the live masqueraded connection keeps working");

        byte[] newSyn = Frames.tcp().src("192.168.1.3", 50001).dst("192.168.1.2", 80).flags(SYN).build();
        assertEquals(Verdict.LOCAL, h.process(newSyn, LAN_IF), "new connections no longer forwarded");
        byte[] newOut = Frames.tcp().src("192.168.15.2", 40001).dst("192.168.1.3", 80).flags(SYN).build();
        assertEquals(Verdict.DROP, h.process(newOut, INSIDE_IF), "new connections no longer masqueraded");
    }

    @Test
    void portForwardRangesMapByOffset() {
        h.translator.rules(builder().forward(new ForwardRule(6, 0, new PortRange(8000, 8010),
            List.of(new ForwardRule.Backend(RED, new PortRange(9000, 9010))))).build());
        byte[] syn = Frames.tcp().src("192.168.1.3", 50000).dst("192.168.1.2", 8003).flags(SYN).build();
        assertEquals(Verdict.FORWARD, h.process(syn, LAN_IF));
        assertEquals(RED, h.parse(syn).dstIp);
        assertEquals(9003, h.parse(syn).dstPort);
    }

    @Test
    void aClientAlwaysLandsOnTheSameBackendAndClientsSpreadOverAll() {
        List<ForwardRule.Backend> three = List.of(
            new ForwardRule.Backend(Ipv4Address.parse("192.168.15.10"), PortRange.single(80)),
            new ForwardRule.Backend(Ipv4Address.parse("192.168.15.11"), PortRange.single(80)),
            new ForwardRule.Backend(Ipv4Address.parse("192.168.15.12"), PortRange.single(80)));
        ForwardRule rule = new ForwardRule(6, 0, PortRange.single(80), three);
        int[] share = new int[3];
        for (int c = 0; c < 3000; c++) {
            int client = Ipv4Address.parse("10.1.0.0") + c;
            ForwardRule.Backend b = rule.backendFor(client);
            assertEquals(b, rule.backendFor(client), "stable for a client");
            share[three.indexOf(b)]++;
        }
        for (int s : share) {
            assertTrue(s > 800 && s < 1200, "spread over every backend: " + java.util.Arrays.toString(share));
        }
        // removing a backend moves only the clients it served
        ForwardRule two = new ForwardRule(6, 0, PortRange.single(80), three.subList(0, 2));
        for (int c = 0; c < 3000; c++) {
            int client = Ipv4Address.parse("10.1.0.0") + c;
            ForwardRule.Backend before = rule.backendFor(client);
            if (!before.equals(three.get(2))) {
                assertEquals(before, two.backendFor(client));
            }
        }

        h.translator.rules(builder().forward(new ForwardRule(6, 0, PortRange.single(8080), three)).build());
        Set<Integer> reached = new HashSet<>();
        for (int c = 0; c < 60; c++) {
            byte[] syn = Frames.tcp().src(ip(Ipv4Address.parse("192.168.1.100") + c), 50000).dst("192.168.1.2", 8080)
                .flags(SYN).build();
            assertEquals(Verdict.FORWARD, h.process(syn, LAN_IF));
            reached.add(h.parse(syn).dstIp);
        }
        assertEquals(3, reached.size());
    }

    @Test
    void unknownInterfaceIsRefused() {
        assertEquals(Verdict.DROP, h.process(Frames.tcp().flags(SYN).build(), 7));
        assertEquals(DropReason.UNKNOWN_INTERFACE.id, h.verdict.dropReason);
    }

    @Test
    void aTunnelSuperFrameLabelledTcpIsDroppedBeforeItCanBlockATransmitRing() {
        // VXLAN: UDP outside, but this kernel labels the super-frame GSO TCPV4; it could never be sent again
        byte[] vxlan = Frames.udp().src("192.168.15.2", 40000).dst("192.168.1.3", 4789).df().payloadLength(20_000)
            .build();
        assertEquals(Verdict.DROP, h.process(vxlan, INSIDE_IF, VirtioNetHeader.FLAG_NEEDS_CSUM, 1, 1400));
        assertEquals(DropReason.GSO_UNSUPPORTED.id, h.verdict.dropReason);
        assertEquals(0, h.table.size(), "no flow made for it");
        byte[] uso = Frames.udp().src("192.168.15.2", 40000).dst("192.168.1.3", 4789).payloadLength(8_000).build();
        assertEquals(Verdict.FORWARD, h.process(uso, INSIDE_IF, 0, 5, 1400), "UDP segmentation offload is fine");
    }
}
