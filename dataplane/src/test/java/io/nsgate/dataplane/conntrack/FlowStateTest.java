package io.nsgate.dataplane.conntrack;

import static io.nsgate.linux.net.Ipv4Address.parse;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.util.List;

import org.agrona.concurrent.UnsafeBuffer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import io.nsgate.dataplane.packet.IpProtocol;
import io.nsgate.dataplane.packet.TcpHeader;
import io.nsgate.dataplane.packet.TcpSegment;
import io.nsgate.linux.net.Ipv6Address;

/** The flow tables in a state file: what a second process finds, what it mends, when it starts clean. */
class FlowStateTest {
    private static final int TCP = IpProtocol.TCP;
    private static final int UDP = IpProtocol.UDP;
    private static final int BLUE = parse("192.168.15.2");
    private static final int REMOTE = parse("192.168.1.1");
    private static final int GW_LAN = parse("192.168.1.2");
    private static final int CAP4 = 1024;
    private static final int CAP6 = 256;
    private static final List<String> IFACES = List.of("lan0", "v-net-0");
    private static final long NETNS = 4026531840L;
    private static final Ipv6Address BLUE6 = Ipv6Address.parse("fd15::2");
    private static final Ipv6Address REMOTE6 = Ipv6Address.parse("fd01::1");
    private static final Ipv6Address GW6 = Ipv6Address.parse("fd01::2");

    @TempDir
    Path dir;

    private final FlowDraft draft = new FlowDraft();
    private final FlowView view = new FlowView();
    private final long now = System.nanoTime();

    private FlowState open(int cap4, List<String> interfaces, long netns) {
        return FlowState.open(dir.resolve("flows"), cap4, CAP6, interfaces, netns);
    }

    /** blue:40000 -> remote:443 masqueraded to gw:61000; out through lan0 (interface 0), back through v-net-0 (1). */
    private long masquerade(FlowTable table, int sport, int natPort) {
        draft.original(TCP, BLUE, REMOTE, sport, 443).reply(REMOTE, GW_LAN, 443, natPort).route(0, REMOTE, 1, BLUE);
        draft.natFlags = FlowRecord.NAT_SNAT;
        draft.mappingId = -1;
        draft.protoState = TcpState.ESTABLISHED;
        return table.insert(draft, now, view);
    }

    private long mapping(FlowTable table, int sport, int natPort) {
        draft.original(UDP, BLUE, GW_LAN, sport, 0).reply(0, GW_LAN, 0, natPort).route(0, 0, 0, 0);
        draft.natFlags = FlowRecord.KIND_MAPPING;
        draft.mappingId = -1;
        draft.protoState = 0;
        return table.insert(draft, now, view);
    }

    private long udpVia(FlowTable table, int mappingId, int remote, int sport, int natPort) {
        draft.original(UDP, BLUE, remote, sport, 53).reply(remote, GW_LAN, 53, natPort).route(0, remote, 1, BLUE);
        draft.natFlags = FlowRecord.NAT_SNAT;
        draft.mappingId = mappingId;
        draft.protoState = 0;
        return table.insert(draft, now, view);
    }

    @Test
    void aSecondProcessFindsEveryConnectionMappingAndIpv6FlowWhereTheFirstLeftThem() {
        long tcp;
        int mappingId;
        try (FlowState state = open(CAP4, IFACES, NETNS)) {
            assertEquals("new state file", state.startedClean());
            FlowTable t = state.table4(FlowTimeouts.DEFAULTS);
            tcp = masquerade(t, 40000, 61000);
            assertTrue(tcp >= 0);
            t.lookup(TCP, BLUE, REMOTE, 40000, 443, view);
            assertEquals(FlowTable.PACKET_OK, t.onPacket(view, ack(), 1500, now));
            long m = mapping(t, 5000, 61001);
            mappingId = FlowTable.flowIdOf(m);
            assertTrue(udpVia(t, mappingId, REMOTE, 5000, 61001) >= 0);
            assertTrue(t.acquireMapping(m));
            assertTrue(udpVia(t, mappingId, parse("192.168.1.9"), 5000, 61001) >= 0);
            FlowTable6 t6 = state.table6(FlowTimeouts.DEFAULTS);
            t6.gatewayAddresses(List.of(GW6));
            FlowTable6.Draft d6 = t6.newDraft();
            d6.flow.original(TCP, 0, 0, 40000, 443).reply(0, 0, 443, 61000).route(0, 0, 1, 0);
            d6.flow.natFlags = FlowRecord.NAT_SNAT;
            d6.flow.protoState = TcpState.ESTABLISHED;
            d6.origSrcHigh = BLUE6.high();
            d6.origSrcLow = BLUE6.low();
            d6.origDstHigh = REMOTE6.high();
            d6.origDstLow = REMOTE6.low();
            d6.replySrcHigh = REMOTE6.high();
            d6.replySrcLow = REMOTE6.low();
            d6.replyDstHigh = GW6.high();
            d6.replyDstLow = GW6.low();
            assertTrue(t6.insert(d6, now, view) >= 0);
            assertEquals(1, t6.routerId(REMOTE6.high(), REMOTE6.low()));
            t.close();
            t6.close();
        }

        try (FlowState state = open(CAP4, IFACES, NETNS)) {
            assertNull(state.startedClean(), "same boot, sizes, namespace: taken over");
            FlowTable t = state.table4(FlowTimeouts.DEFAULTS);
            FlowTable6 t6 = state.table6(FlowTimeouts.DEFAULTS);
            t6.gatewayAddresses(List.of(GW6));
            assertTrue(state.summary().contains("took over 3 IPv4 and 1 IPv6 connections, 1 endpoint-independent"),
                state.summary());
            assertTrue(state.summary().contains("stopped cleanly"), state.summary());
            assertEquals(4, t.size(), "three flows and the mapping");
            assertEquals(tcp, t.lookup(TCP, BLUE, REMOTE, 40000, 443, view), "same flow, same generation");
            assertEquals(61000, view.newSrcPort);
            assertEquals(0, view.egressInterface);
            assertEquals(tcp, t.lookup(TCP, REMOTE, GW_LAN, 443, 61000, view), "found by its reply");
            FlowSnapshot snap = new FlowSnapshot();
            assertTrue(t.snapshot(FlowTable.flowIdOf(tcp), snap));
            assertEquals(1500, snap.origBytes, "counters kept");
            assertEquals(2, t.mappingRefCount(mappingId), "references counted again");
            // the ports are still taken: a new flow may not have the same reply tuple
            assertEquals(FlowTable.REPLY_TAKEN, masquerade(t, 40001, 61000));
            assertEquals(FlowTable.ORIG_EXISTS, masquerade(t, 40000, 62000));
            FlowTable6.Rewrite rewrite = new FlowTable6.Rewrite();
            assertTrue(t6.lookup(TCP, REMOTE6.high(), REMOTE6.low(), GW6.high(), GW6.low(), 443, 61000, view,
                rewrite) >= 0, "IPv6 flow found by its full addresses");
            assertEquals(BLUE6, new Ipv6Address(rewrite.newDstHigh, rewrite.newDstLow));
            assertEquals(1, t6.routerId(REMOTE6.high(), REMOTE6.low()), "router ids kept");
            // the free list works: the table fills to its capacity
            int added = 0;
            for (int i = 0; i < CAP4 - 4; i++) {
                if (masquerade(t, 1000 + i, 1000 + i) >= 0) {
                    added++;
                }
            }
            assertEquals(CAP4 - 4, added);
            t.close();
            t6.close();
        }
    }

    @Test
    void interfacesAreMatchedByNameAndFlowsOfAGoneOneDropped() {
        try (FlowState state = open(CAP4, IFACES, NETNS)) {
            FlowTable t = state.table4(FlowTimeouts.DEFAULTS);
            assertTrue(masquerade(t, 40000, 61000) >= 0);
            t.close();
        }
        try (FlowState state = open(CAP4, List.of("v-net-0", "lan0"), NETNS)) {
            FlowTable t = state.table4(FlowTimeouts.DEFAULTS);
            state.table6(FlowTimeouts.DEFAULTS); // a run takes both over (the data plane opens both)
            assertTrue(t.lookup(TCP, BLUE, REMOTE, 40000, 443, view) >= 0);
            assertEquals(1, view.egressInterface, "lan0 is interface 1 now");
            t.lookup(TCP, REMOTE, GW_LAN, 443, 61000, view);
            assertEquals(0, view.egressInterface, "v-net-0 is interface 0 now");
            t.close();
        }
        try (FlowState state = open(CAP4, List.of("lan0", "v-net-9"), NETNS)) {
            FlowTable t = state.table4(FlowTimeouts.DEFAULTS);
            state.table6(FlowTimeouts.DEFAULTS);
            assertEquals(0, t.size(), "v-net-0 is no longer served: its flow went");
            assertTrue(state.summary().contains("dropped 1"), state.summary());
            assertTrue(masquerade(t, 40000, 61000) >= 0, "its ports are free again");
            t.close();
        }
        // a run killed halfway through its takeover (one table renumbered, not the other) leaves no half-renumbered
        // state to the next: it starts clean
        try (FlowState state = open(CAP4, List.of("v-net-9", "lan0"), NETNS)) {
            state.table4(FlowTimeouts.DEFAULTS);
            state.abandonForTest();
        }
        try (FlowState state = open(CAP4, List.of("v-net-9", "lan0"), NETNS)) {
            assertEquals("a previous run was killed while taking the tables over", state.startedClean());
        }
    }

    @Test
    void whatAKilledProcessLeftHalfDoneIsMended() {
        int mappingId;
        int initId;
        try (FlowState state = open(CAP4, IFACES, NETNS)) {
            FlowTable t = state.table4(FlowTimeouts.DEFAULTS);
            long m = mapping(t, 5000, 61001);
            mappingId = FlowTable.flowIdOf(m);
            assertTrue(udpVia(t, mappingId, REMOTE, 5000, 61001) >= 0);
            long orphan = mapping(t, 5001, 61002); // a mapping whose flow never made it in
            assertTrue(orphan >= 0);
            long half = masquerade(t, 40000, 61000);
            initId = FlowTable.flowIdOf(half);
            // as if killed mid-way: a flow still INIT, and a reference count that no longer adds up
            UnsafeBuffer records = recordsOf(t);
            long word = records.getLong(FlowRecord.offset(initId));
            records.putLong(FlowRecord.offset(initId), FlowRecord.withRecordState(word, FlowRecord.INIT));
            long mw = records.getLong(FlowRecord.offset(mappingId));
            records.putLong(FlowRecord.offset(mappingId), FlowRecord.withFlags(mw, 7));
            // no close of the table or the state: the process died
            state.abandonForTest();
        }
        try (FlowState state = open(CAP4, IFACES, NETNS)) {
            FlowTable t = state.table4(FlowTimeouts.DEFAULTS);
            assertTrue(state.summary().contains("did not stop cleanly"), state.summary());
            assertEquals(FlowTable.NOT_FOUND, t.lookup(TCP, BLUE, REMOTE, 40000, 443, view), "half-made flow gone");
            assertEquals(1, t.mappingRefCount(mappingId), "counted again from its one flow");
            assertEquals(2, t.size(), "the UDP flow and its mapping; the orphan mapping freed");
            assertTrue(masquerade(t, 40000, 61000) >= 0, "the half-made flow's tuples are free");
            t.close();
        }
    }

    @Test
    void aChangedSizeOrNamespaceOrLayoutStartsCleanAndSaysWhy() {
        try (FlowState state = open(CAP4, IFACES, NETNS)) {
            assertTrue(masquerade(state.table4(FlowTimeouts.DEFAULTS), 40000, 61000) >= 0);
        }
        try (FlowState state = open(CAP4 * 2, IFACES, NETNS)) {
            assertEquals("flow table size changed from 1024 (IPv6 256) to 2048 (IPv6 256)", state.startedClean());
            assertEquals(0, state.table4(FlowTimeouts.DEFAULTS).size());
            assertTrue(masquerade(state.table4(FlowTimeouts.DEFAULTS), 40000, 61000) >= 0);
        }
        try (FlowState state = open(CAP4 * 2, IFACES, NETNS + 1)) {
            assertEquals("written for another network namespace", state.startedClean());
        }
        try (FlowState state = open(CAP4 * 2, IFACES, NETNS + 1)) {
            state.headerForTest().putInt(FlowState.VERSION_OFFSET, FlowState.LAYOUT_VERSION + 1);
        }
        try (FlowState state = open(CAP4 * 2, IFACES, NETNS + 1)) {
            assertEquals("layout version " + (FlowState.LAYOUT_VERSION + 1) + ", this nsgate keeps version "
                + FlowState.LAYOUT_VERSION, state.startedClean());
            assertTrue(state.summary().startsWith("state file " + dir.resolve("flows")
                + ": starting with empty flow tables"), state.summary());
        }
        try (FlowState state = open(CAP4 * 2, IFACES, NETNS + 1)) {
            state.headerForTest().putLong(FlowState.BOOT_ID_OFFSET, 42);
        }
        try (FlowState state = open(CAP4 * 2, IFACES, NETNS + 1)) {
            assertEquals("written before the last reboot", state.startedClean());
        }
    }

    @Test
    void twoProcessesNeverHoldTheFileAtOnce() {
        try (FlowState state = open(CAP4, IFACES, NETNS)) {
            assertNotNull(state);
            IllegalStateException e = assertThrows(IllegalStateException.class, () -> open(CAP4, IFACES, NETNS));
            assertTrue(e.getMessage().contains("in use by another process"), e.getMessage());
        }
    }

    private static TcpSegment ack() {
        TcpSegment segment = new TcpSegment();
        segment.flags = TcpHeader.ACK;
        segment.windowScale = -1;
        return segment;
    }

    private static UnsafeBuffer recordsOf(FlowTable t) {
        return t.recordsForTest();
    }
}
