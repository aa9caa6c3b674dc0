// Behaviour of the flow table on one thread: insertion by both tuples, rewrites, state, expiry, eviction.
package io.nsgate.dataplane.conntrack;

import static io.nsgate.linux.net.Ipv4Address.parse;
import static org.junit.jupiter.api.Assertions.*;

import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import io.nsgate.dataplane.packet.Checksums;
import io.nsgate.dataplane.packet.TcpHeader;
import io.nsgate.dataplane.packet.TcpSegment;

class FlowTableTest {
    private static final long S = 1_000_000_000L;
    private static final int TCP = 6;
    private static final int UDP = 17;
    private static final int ICMP = 1;

    private static final int BLUE = parse("192.168.15.2");
    private static final int RED = parse("192.168.15.1");
    private static final int GW_LAN = parse("192.168.1.2");
    private static final int LAN = parse("192.168.1.3");

    private final FlowDraft draft = new FlowDraft();
    private final FlowView view = new FlowView();
    private FlowTable table;
    private long now = 1_000 * S;

    @AfterEach
    void close() {
        if (table != null) {
            table.close();
        }
    }

    private FlowTable table(int capacity) {
        table = new FlowTable(capacity, FlowTimeouts.DEFAULTS, 0, 42);
        return table;
    }

    /** blue:sport -> lan:80 masqueraded as GW_LAN:natPort. */
    private long masquerade(int proto, int sport, int natPort) {
        draft.original(proto, BLUE, LAN, sport, 80).reply(LAN, GW_LAN, 80, natPort).route(1, LAN, 0, BLUE);
        draft.natFlags = FlowRecord.NAT_SNAT;
        draft.protoState = proto == TCP ? TcpState.SYN_SENT : 0;
        return table.insert(draft, now, view);
    }

    private int homeBucket(long hash) {
        return (int) (((hash & 0xFFFF_FFFFL) * table.bucketCount()) >>> 32);
    }

    /**
     * Keys crowding one home bucket are placed along its probe sequence, up to {@link FlowTable#MAX_PROBE_BUCKETS}
     * buckets (the old bound of 8 refused keys of a 10M-flow table filled to capacity now and then); one more is
     * refused and counted, and nothing already there is lost.
     */
    @Test
    void keysCrowdingOneBucketFillItsWholeProbeWindowThenOneMoreIsRefusedAndCounted() {
        table(4096);
        final int home = 100;
        final int window = FlowTable.MAX_PROBE_BUCKETS * 8;
        // original keys blue+k:40000 -> lan:80 homed in bucket `home`; reply keys homed far from its window
        int[] srcs = new int[window + 1];
        int[] natPorts = new int[window + 1];
        int found = 0;
        int natPort = 1024;
        for (int k = 0; found <= window; k++) {
            int src = BLUE + k;
            if (homeBucket(table.hashKey(TCP, src, LAN, 40000, 80)) != home) {
                continue;
            }
            while (Math.floorMod(homeBucket(table.hashKey(TCP, LAN, GW_LAN, 80, natPort)) - home, table.bucketCount())
                < 4 * FlowTable.MAX_PROBE_BUCKETS) {
                natPort++;
            }
            srcs[found] = src;
            natPorts[found++] = natPort++;
        }
        for (int i = 0; i < window; i++) {
            draft.original(TCP, srcs[i], LAN, 40000, 80).reply(LAN, GW_LAN, 80, natPorts[i]).route(1, LAN, 0, srcs[i]);
            assertTrue(table.insert(draft, now, null) >= 0, "key " + i + " of " + window + " homed in one bucket");
        }
        draft.original(TCP, srcs[window], LAN, 40000, 80).reply(LAN, GW_LAN, 80, natPorts[window])
            .route(1, LAN, 0, srcs[window]);
        assertEquals(FlowTable.TABLE_FULL, table.insert(draft, now, null), "its probe window is full");
        assertEquals(1, table.probeWindowFullTotal());
        for (int i = 0; i < window; i++) {
            assertTrue(table.lookup(TCP, srcs[i], LAN, 40000, 80, view) >= 0, "key " + i);
            assertTrue(table.lookup(TCP, LAN, GW_LAN, 80, natPorts[i], view) >= 0, "reply key " + i);
        }
        assertEquals(FlowTable.NOT_FOUND, table.lookup(TCP, srcs[window], LAN, 40000, 80, view));
        assertEquals(FlowTable.NOT_FOUND, table.lookup(TCP, LAN, GW_LAN, 80, natPorts[window], view),
            "the refused flow's reply key was taken back");
        assertEquals(window, table.size());
    }

    @Test
    void findsAFlowByItsOriginalAndByItsReplyTuple() {
        table(1024);
        long handle = masquerade(TCP, 40000, 61000);
        assertTrue(handle >= 0);

        assertEquals(handle, table.lookup(TCP, BLUE, LAN, 40000, 80, view));
        assertEquals(0, view.direction);
        assertEquals(GW_LAN, view.newSrcIp);
        assertEquals(LAN, view.newDstIp);
        assertEquals(61000, view.newSrcPort);
        assertEquals(80, view.newDstPort);
        assertEquals(1, view.egressInterface);
        assertEquals(LAN, view.nextHopIp);

        assertEquals(handle, table.lookup(TCP, LAN, GW_LAN, 80, 61000, view));
        assertEquals(1, view.direction);
        assertEquals(LAN, view.newSrcIp);
        assertEquals(BLUE, view.newDstIp);
        assertEquals(80, view.newSrcPort);
        assertEquals(40000, view.newDstPort);
        assertEquals(0, view.egressInterface);
        assertEquals(BLUE, view.nextHopIp);

        assertEquals(FlowTable.NOT_FOUND, table.lookup(TCP, LAN, GW_LAN, 80, 61001, view));
        assertEquals(FlowTable.NOT_FOUND, table.lookup(UDP, BLUE, LAN, 40000, 80, view), "protocol is part of the key");
    }

    @Test
    void checksumDeltasAreWorkedOutOnceAndNegatedForReplies() {
        table(64);
        masquerade(TCP, 40000, 61000);
        int expectedIp = Checksums.addDeltas(Checksums.delta32(BLUE, GW_LAN), Checksums.delta32(LAN, LAN));
        int expectedL4 = Checksums.addDeltas(expectedIp,
            Checksums.addDeltas(Checksums.delta16(40000, 61000), Checksums.delta16(80, 80)));
        table.lookup(TCP, BLUE, LAN, 40000, 80, view);
        assertEquals(expectedIp, view.ipDelta);
        assertEquals(expectedL4, view.l4Delta);
        table.lookup(TCP, LAN, GW_LAN, 80, 61000, view);
        assertEquals(Checksums.negateDelta(expectedIp), view.ipDelta);
        assertEquals(Checksums.negateDelta(expectedL4), view.l4Delta);
    }

    @Test
    void icmpDeltaCoversOnlyTheIdentifier() {
        table(64);
        draft.original(ICMP, BLUE, LAN, 7, 0).reply(LAN, GW_LAN, 0, 61007).route(1, LAN, 0, BLUE);
        table.insert(draft, now, view);
        assertEquals(Checksums.delta16(7, 61007), view.l4Delta);
    }

    @Test
    void refusesASecondFlowWithTheSameOriginalTupleOrTheSameReplyTuple() {
        table(1024);
        assertTrue(masquerade(TCP, 40000, 61000) >= 0);
        assertEquals(FlowTable.ORIG_EXISTS, masquerade(TCP, 40000, 61001));
        assertEquals(FlowTable.REPLY_TAKEN, masquerade(TCP, 40001, 61000));
        assertTrue(masquerade(TCP, 40001, 61001) >= 0);
        assertEquals(2, table.size());
    }

    @Test
    void deleteRemovesBothKeysAndStalesTheHandle() {
        table(64);
        long handle = masquerade(UDP, 5000, 61000);
        assertTrue(table.delete(handle));
        assertFalse(table.delete(handle), "already gone");
        assertEquals(FlowTable.NOT_FOUND, table.lookup(UDP, BLUE, LAN, 5000, 80, view));
        assertEquals(FlowTable.NOT_FOUND, table.lookup(UDP, LAN, GW_LAN, 80, 61000, view));
        long again = masquerade(UDP, 5000, 61000);
        assertTrue(again >= 0, "both keys are free again");
        assertEquals(FlowTable.flowIdOf(handle), FlowTable.flowIdOf(again), "the record was recycled");
        assertNotEquals(FlowTable.generationOf(handle), FlowTable.generationOf(again));
        assertFalse(table.delete(handle), "a stale handle never deletes the new flow");
        assertEquals(again, table.lookup(UDP, BLUE, LAN, 5000, 80, view));
    }

    @Test
    void countsPacketsAndBytesPerDirection() {
        table(64);
        long h = masquerade(UDP, 5000, 61000);
        table.lookup(UDP, BLUE, LAN, 5000, 80, view);
        table.onPacket(view, seg(0), 100, now);
        table.onPacket(view, seg(0), 50, now);
        table.lookup(UDP, LAN, GW_LAN, 80, 61000, view);
        table.onPacket(view, seg(0), 1000, now);
        FlowSnapshot s = new FlowSnapshot();
        assertTrue(table.snapshot(FlowTable.flowIdOf(h), s));
        assertEquals(2, s.origPackets);
        assertEquals(150, s.origBytes);
        assertEquals(1, s.replyPackets);
        assertEquals(1000, s.replyBytes);
        assertTrue(s.replied());
        assertEquals("REPLIED", s.stateName());
    }

    @Test
    void tcpFlowFollowsTheHandshakeAndBecomesAssured() {
        table(64);
        long h = masquerade(TCP, 40000, 61000);
        FlowSnapshot s = new FlowSnapshot();
        table.lookup(TCP, LAN, GW_LAN, 80, 61000, view);
        assertEquals(FlowTable.PACKET_OK, table.onPacket(view, seg(TcpHeader.SYN | TcpHeader.ACK), 60, now));
        table.snapshot(FlowTable.flowIdOf(h), s);
        assertEquals(TcpState.SYN_RECV, s.protoState);
        assertFalse(s.assured());
        table.lookup(TCP, BLUE, LAN, 40000, 80, view);
        assertEquals(FlowTable.PACKET_OK, table.onPacket(view, seg(TcpHeader.ACK), 52, now));
        table.snapshot(FlowTable.flowIdOf(h), s);
        assertEquals(TcpState.ESTABLISHED, s.protoState);
        assertTrue(s.assured());
        assertEquals(FlowTable.PACKET_OUT_OF_STATE, table.onPacket(view, seg(TcpHeader.SYN | TcpHeader.ACK), 52, now),
            "a client SYN/ACK on an established flow contradicts the state");
    }

    @Test
    void staleViewCannotChangeARecycledRecord() {
        table(16);
        masquerade(UDP, 5000, 61000);
        table.lookup(UDP, BLUE, LAN, 5000, 80, view);
        FlowView old = new FlowView();
        old.flowId = view.flowId;
        old.generation = view.generation;
        old.direction = 1;
        old.proto = UDP;
        table.delete(view.handle());
        masquerade(UDP, 5001, 61001);
        assertEquals(FlowTable.PACKET_STALE, table.onPacket(old, seg(0), 10, now));
    }

    @Test
    void tcpTimeoutsFollowTheState() {
        table(64);
        masquerade(TCP, 40000, 61000);
        long t0 = now;
        // SYN_SENT lives 120 s
        assertEquals(0, table.expire(0, 64, t0 + 119 * S));
        assertEquals(1, table.expire(0, 64, t0 + 121 * S));

        masquerade(TCP, 40000, 61000);
        table.lookup(TCP, LAN, GW_LAN, 80, 61000, view);
        table.onPacket(view, seg(TcpHeader.SYN | TcpHeader.ACK), 60, now);
        table.lookup(TCP, BLUE, LAN, 40000, 80, view);
        table.onPacket(view, seg(TcpHeader.ACK), 60, now);
        assertEquals(0, table.expire(0, 64, now + 4 * 24 * 3600 * S), "ESTABLISHED lives 5 days");
        assertEquals(1, table.expire(0, 64, now + 5 * 24 * 3600 * S + S));

        masquerade(TCP, 40000, 61000);
        table.lookup(TCP, BLUE, LAN, 40000, 80, view);
        table.onPacket(view, seg(TcpHeader.RST), 40, now);
        assertEquals(0, table.expire(0, 64, now + 9 * S));
        assertEquals(1, table.expire(0, 64, now + 11 * S), "CLOSE lives 10 s");
    }

    @Test
    void udpLives30SecondsUnrepliedAnd120Replied() {
        table(64);
        masquerade(UDP, 5000, 61000);
        masquerade(UDP, 5001, 61001);
        table.lookup(UDP, LAN, GW_LAN, 80, 61001, view);
        table.onPacket(view, seg(0), 10, now);
        assertEquals(1, table.expire(0, 64, now + 31 * S));
        assertTrue(table.contains(UDP, BLUE, LAN, 5001, 80));
        assertEquals(0, table.expire(0, 64, now + 119 * S));
        assertEquals(1, table.expire(0, 64, now + 121 * S));
    }

    @Test
    void trafficKeepsAFlowAlive() {
        table(64);
        masquerade(UDP, 5000, 61000);
        for (int i = 1; i <= 10; i++) {
            table.lookup(UDP, BLUE, LAN, 5000, 80, view);
            table.onPacket(view, seg(0), 10, now + i * 20 * S);
            assertEquals(0, table.expire(0, 64, now + i * 20 * S + 25 * S));
        }
    }

    @Test
    void timeoutsAreConfigurable() {
        table(64);
        table.timeouts(FlowTimeouts.DEFAULTS.toBuilder().udpUnreplied(5, TimeUnit.SECONDS).build());
        masquerade(UDP, 5000, 61000);
        assertEquals(1, table.expire(0, 64, now + 6 * S));
        assertThrows(IllegalArgumentException.class,
            () -> FlowTimeouts.builder().icmp(0, TimeUnit.SECONDS));
    }

    @Test
    void fullTableEvictsUnrepliedFlowsButNeverAssuredOnes() {
        table(16);
        // 8 established (assured) flows, 8 unreplied ones
        for (int i = 0; i < 8; i++) {
            masquerade(TCP, 30000 + i, 61000 + i);
            table.lookup(TCP, LAN, GW_LAN, 80, 61000 + i, view);
            table.onPacket(view, seg(TcpHeader.SYN | TcpHeader.ACK), 60, now);
            table.lookup(TCP, BLUE, LAN, 30000 + i, 80, view);
            table.onPacket(view, seg(TcpHeader.ACK), 60, now);
        }
        for (int i = 0; i < 8; i++) {
            now += S;
            assertTrue(masquerade(UDP, 5000 + i, 62000 + i) >= 0);
        }
        // a flood of new flows replaces unreplied ones, oldest first
        now += S;
        assertTrue(masquerade(UDP, 6000, 63000) >= 0);
        assertEquals(1, table.evictedTotal());
        assertFalse(table.contains(UDP, BLUE, LAN, 5000, 80), "the oldest unreplied flow went first");
        for (int i = 0; i < 100; i++) {
            masquerade(UDP, 7000 + i, 64000 + i);
        }
        for (int i = 0; i < 8; i++) {
            assertTrue(table.contains(TCP, BLUE, LAN, 30000 + i, 80), "established flow " + i + " survived");
        }
    }

    @Test
    void fullTableOfAssuredFlowsRefusesNewOnes() {
        table(16);
        for (int i = 0; i < 16; i++) {
            masquerade(UDP, 5000 + i, 61000 + i);
            table.lookup(UDP, LAN, GW_LAN, 80, 61000 + i, view);
            table.onPacket(view, seg(0), 10, now);
        }
        for (int i = 0; i < 10; i++) {
            assertEquals(FlowTable.TABLE_FULL, masquerade(TCP, 40000 + i, 62000 + i));
        }
        assertEquals(16, table.size());
        assertEquals(0, table.evictedTotal());
    }

    @Test
    void mappingLivesUntilItsLastFlowIsGone() {
        table(64);
        draft.original(UDP, BLUE, GW_LAN, 5000, 0).reply(0, GW_LAN, 0, 61000);
        draft.natFlags = FlowRecord.KIND_MAPPING;
        long mapping = table.insert(draft, now, view);
        assertTrue(mapping >= 0);
        assertEquals(61000, view.newSrcPort, "a mapping's view names its outside port");
        int mappingId = FlowTable.flowIdOf(mapping);
        assertEquals(1, table.mappingRefCount(mappingId));
        assertTrue(table.acquireMapping(mapping));
        assertEquals(2, table.mappingRefCount(mappingId));

        // two flows through the same mapping (the creator's reference and the acquired one)
        long f1 = masqueradeVia(mappingId, LAN, 53);
        long f2 = masqueradeVia(mappingId, parse("192.168.1.4"), 53);
        assertTrue(f1 >= 0 && f2 >= 0);
        table.delete(f1);
        assertEquals(1, table.mappingRefCount(mappingId));
        assertTrue(table.contains(UDP | FlowRecord.MAPPING_PROTO_BIT, 0, GW_LAN, 0, 61000));
        table.delete(f2);
        assertEquals(0, table.mappingRefCount(mappingId));
        assertFalse(table.contains(UDP | FlowRecord.MAPPING_PROTO_BIT, 0, GW_LAN, 0, 61000), "port key freed");
        assertFalse(table.acquireMapping(mapping), "a dead mapping cannot be revived");
        assertEquals(0, table.size());
    }

    private long masqueradeVia(int mappingId, int remote, int remotePort) {
        draft.original(UDP, BLUE, remote, 5000, remotePort).reply(remote, GW_LAN, remotePort, 61000).route(1, remote, 0, BLUE);
        draft.mappingId = mappingId;
        return table.insert(draft, now, view);
    }

    @Test
    void sweepingAMillionFlowsIsBoundedPerSlice() {
        int n = 1_000_000;
        table(n);
        for (int i = 0; i < n; i++) {
            draft.original(UDP, 0x0A000000 + i, LAN, 1000 + (i & 0x3FFF), 53).reply(LAN, GW_LAN, 53, 1 + (i % 65000))
                .route(1, LAN, 0, 0);
            draft.replyDstIp = 0x0B000000 + i; // unique reply tuples
            assertTrue(table.insert(draft, now, null) >= 0, "insert " + i);
        }
        assertEquals(n, table.size());
        long later = now + 31 * S;
        int slice = 4096;
        long total = 0;
        for (int from = 0; from < n; from += slice) {
            int expired = table.expire(from, from + slice, later);
            assertTrue(expired <= slice);
            total += expired;
        }
        assertEquals(n, total);
        assertEquals(0, table.size());
        draft.original(UDP, BLUE, LAN, 5000, 53).reply(LAN, GW_LAN, 53, 61000);
        assertTrue(table.insert(draft, later, null) >= 0, "the table is reusable after mass expiry");
    }

    @Test
    void connectionCostsExactlyARecordAPacketLineAndFourIndexSlots() {
        // 64-byte record + 64-byte line of counters and TCP windows + 4 x 8-byte index slots
        assertEquals(160, FlowTable.bytesPerConnection());
    }

    @Test
    void rejectsCapacitiesOutOfRange() {
        assertThrows(IllegalArgumentException.class, () -> new FlowTable(8, FlowTimeouts.DEFAULTS, 0));
        assertThrows(IllegalArgumentException.class,
            () -> new FlowTable(FlowTable.MAX_CAPACITY + 1, FlowTimeouts.DEFAULTS, 0));
    }

    @Test
    void compactionTurnsTombstonesBackIntoEmptySlotsUnderChurn() {
        table(1024);
        FlowSnapshot snap = new FlowSnapshot();
        long[] ring = new long[800];
        int next = 0;
        for (int i = 0; i < ring.length; i++) {
            ring[i] = churnInsert(next++);
        }
        for (int round = 0; round < 20_000; round++) { // steady churn at 800 live flows
            int p = round % ring.length;
            assertTrue(table.delete(ring[p]));
            ring[p] = churnInsert(next++);
        }
        int[] before = table.slotCensus();
        assertEquals(1600, before[FlowTable.SLOT_MEMBER]);
        assertTrue(before[FlowTable.SLOT_EMPTY] < before[FlowTable.SLOT_TOMBSTONE],
            "without compaction tombstones pile up: " + java.util.Arrays.toString(before));

        int cleaned = table.compactIndex(0, table.bucketCount());
        int[] after = table.slotCensus();
        assertTrue(cleaned > 0);
        assertEquals(1600, after[FlowTable.SLOT_MEMBER], "no key lost");
        assertTrue(after[FlowTable.SLOT_EMPTY] > 2 * after[FlowTable.SLOT_TOMBSTONE],
            "most tombstones became empty slots: " + java.util.Arrays.toString(after));
        for (int i = 0; i < ring.length; i++) {
            int id = FlowTable.flowIdOf(ring[i]);
            assertTrue(table.snapshot(id, snap));
            assertEquals(ring[i], table.lookup(17, snap.origSrcIp, LAN, 5000, 53, view), "found by original tuple");
            assertEquals(ring[i], table.lookup(17, LAN, GW_LAN, 53, snap.replyDstPort, view), "found by reply tuple");
        }
    }

    private long churnInsert(int n) {
        draft.original(17, 0x0A000000 + n, LAN, 5000, 53).reply(LAN, GW_LAN, 53, 1 + n % 65535);
        long h = table.insert(draft, now, null);
        assertTrue(h >= 0, "insert " + n + ": " + h);
        return h;
    }

    /** A segment with only these flags (sequence numbers 0): state-machine tests, whose windows stay trivially open. */
    private static TcpSegment seg(int flags) {
        TcpSegment segment = new TcpSegment();
        segment.flags = flags;
        segment.windowScale = -1;
        return segment;
    }
}
