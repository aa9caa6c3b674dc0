// IPv6 flows: masquerade, forward and hairpin tuples, their rewrites and checksum deltas, and digest collisions.
package io.nsgate.dataplane.conntrack;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;

import org.agrona.concurrent.UnsafeBuffer;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import io.nsgate.dataplane.packet.Checksums;
import io.nsgate.dataplane.packet.IpProtocol;
import io.nsgate.linux.net.Ipv6Address;

class FlowTable6Test {
    private static final Ipv6Address GW_LAN = Ipv6Address.parse("fd01::2");
    private static final Ipv6Address GW_INSIDE = Ipv6Address.parse("fd15::5");
    private static final Ipv6Address BLUE = Ipv6Address.parse("fd15::2");
    private static final Ipv6Address RED = Ipv6Address.parse("fd15::1");
    private static final Ipv6Address CLIENT = Ipv6Address.parse("fd01::3");
    private static final Ipv6Address REMOTE = Ipv6Address.parse("2001:db8::1");

    private final FlowTable6 table = new FlowTable6(1024, FlowTimeouts.DEFAULTS, 0, 42);
    private final FlowView view = new FlowView();
    private final FlowTable6.Rewrite rewrite = new FlowTable6.Rewrite();

    @AfterEach
    void close() {
        table.close();
    }

    private FlowTable6.Draft draft(Ipv6Address origSrc, Ipv6Address origDst, int sport, int dport,
                                   Ipv6Address replySrc, Ipv6Address replyDst, int rsport, int rdport, int natFlags) {
        return fill(table.newDraft(), origSrc, origDst, sport, dport, replySrc, replyDst, rsport, rdport, natFlags);
    }

    private static FlowTable6.Draft fill(FlowTable6.Draft d, Ipv6Address origSrc, Ipv6Address origDst, int sport,
                                         int dport, Ipv6Address replySrc, Ipv6Address replyDst, int rsport, int rdport,
                                         int natFlags) {
        d.flow.original(IpProtocol.TCP, 0, 0, sport, dport).reply(0, 0, rsport, rdport).route(0, 0, 1, 0);
        d.flow.natFlags = natFlags;
        d.flow.protoState = TcpState.SYN_SENT;
        d.origSrcHigh = origSrc.high();
        d.origSrcLow = origSrc.low();
        d.origDstHigh = origDst.high();
        d.origDstLow = origDst.low();
        d.replySrcHigh = replySrc.high();
        d.replySrcLow = replySrc.low();
        d.replyDstHigh = replyDst.high();
        d.replyDstLow = replyDst.low();
        return d;
    }

    private long lookup(Ipv6Address src, Ipv6Address dst, int sport, int dport) {
        return table.lookup(IpProtocol.TCP, src.high(), src.low(), dst.high(), dst.low(), sport, dport, view, rewrite);
    }

    private void assertRewrite(Ipv6Address newSrc, Ipv6Address newDst) {
        assertEquals(newSrc, new Ipv6Address(rewrite.newSrcHigh, rewrite.newSrcLow), "new source");
        assertEquals(newDst, new Ipv6Address(rewrite.newDstHigh, rewrite.newDstLow), "new destination");
    }

    @Test
    void aMasqueradedFlowIsFoundBothWaysWithItsRewrite() {
        table.gatewayAddresses(List.of(GW_LAN, GW_INSIDE));
        long h = table.insert(draft(BLUE, REMOTE, 40000, 443, REMOTE, GW_LAN, 443, 61000, FlowRecord.NAT_SNAT), 0,
            null);
        assertTrue(h >= 0, "inserted: " + h);
        assertEquals(h, lookup(BLUE, REMOTE, 40000, 443));
        assertEquals(0, view.direction);
        assertRewrite(GW_LAN, REMOTE);
        assertEquals(61000, view.newSrcPort);
        assertEquals(443, view.newDstPort);
        assertEquals(h, lookup(REMOTE, GW_LAN, 443, 61000));
        assertEquals(1, view.direction);
        assertRewrite(REMOTE, BLUE);
        assertEquals(40000, view.newDstPort);
        assertEquals(FlowTable.NOT_FOUND, lookup(RED, REMOTE, 40000, 443));
        assertEquals(FlowTable.NOT_FOUND, lookup(REMOTE, GW_INSIDE, 443, 61000));
        assertEquals(0, table.collisions());
    }

    @Test
    void aForwardAndAHairpinAreFoundBothWays() {
        table.gatewayAddresses(List.of(GW_LAN, GW_INSIDE));
        long forward = table.insert(draft(CLIENT, GW_LAN, 50000, 80, BLUE, CLIENT, 80, 50000, FlowRecord.NAT_DNAT), 0,
            null);
        assertTrue(forward >= 0);
        assertEquals(forward, lookup(CLIENT, GW_LAN, 50000, 80));
        assertRewrite(CLIENT, BLUE);
        assertEquals(forward, lookup(BLUE, CLIENT, 80, 50000));
        assertRewrite(GW_LAN, CLIENT);

        long hairpin = table.insert(draft(RED, GW_LAN, 50001, 80, BLUE, GW_INSIDE, 80, 61001,
            FlowRecord.NAT_SNAT | FlowRecord.NAT_DNAT), 0, null);
        assertTrue(hairpin >= 0);
        assertEquals(hairpin, lookup(RED, GW_LAN, 50001, 80));
        assertRewrite(GW_INSIDE, BLUE);
        assertEquals(hairpin, lookup(BLUE, GW_INSIDE, 80, 61001));
        assertRewrite(GW_LAN, RED);
    }

    @Test
    void theRecordsChecksumDeltaIsTheIpv6RewritesDelta() {
        table.gatewayAddresses(List.of(GW_LAN));
        table.insert(draft(BLUE, REMOTE, 40000, 443, REMOTE, GW_LAN, 443, 61000, FlowRecord.NAT_SNAT), 0, null);
        Random random = new Random(3);
        byte[] segment = new byte[60];
        random.nextBytes(segment);
        segment[0] = (byte) (40000 >>> 8);
        segment[1] = (byte) 40000;
        segment[2] = 1;
        segment[3] = (byte) 187; // 443
        UnsafeBuffer buf = new UnsafeBuffer(segment);
        int before = Checksums.l4Checksum6(buf, 0, segment.length, BLUE.high(), BLUE.low(), REMOTE.high(), REMOTE.low(),
            IpProtocol.TCP);
        lookup(BLUE, REMOTE, 40000, 443);
        segment[0] = (byte) (61000 >>> 8);
        segment[1] = (byte) 61000;
        int after = Checksums.l4Checksum6(buf, 0, segment.length, GW_LAN.high(), GW_LAN.low(), REMOTE.high(),
            REMOTE.low(), IpProtocol.TCP);
        assertEquals(after, Checksums.applyToChecksum(before, view.l4Delta), "delta applied = recomputed");
        // a frame with a partial checksum (NEEDS_CSUM) carries only the pseudo header's sum: the addresses' delta
        int partialBefore = Checksums.pseudoHeaderSum6(BLUE.high(), BLUE.low(), REMOTE.high(), REMOTE.low(),
            IpProtocol.TCP, segment.length);
        int partialAfter = Checksums.pseudoHeaderSum6(GW_LAN.high(), GW_LAN.low(), REMOTE.high(), REMOTE.low(),
            IpProtocol.TCP, segment.length);
        assertEquals(partialAfter % 0xFFFF, Checksums.applyToPartial(partialBefore, view.ipDelta) % 0xFFFF,
            "the addresses' delta alone updates a partial checksum");
    }

    @Test
    void aDigestCollisionFailsSafe() {
        table.gatewayAddresses(List.of(GW_LAN));
        // two remote addresses with the same digest (a birthday search over 32 bits)
        Map<Integer, Ipv6Address> seen = new HashMap<>();
        Ipv6Address a = null;
        Ipv6Address b = null;
        for (long i = 1; a == null; i++) {
            Ipv6Address x = new Ipv6Address(0x2001_0db8_0000_0000L, i);
            Ipv6Address earlier = seen.putIfAbsent(table.digest(x.high(), x.low()), x);
            if (earlier != null) {
                a = earlier;
                b = x;
            }
        }
        long h = table.insert(draft(BLUE, a, 40000, 443, a, GW_LAN, 443, 61000, FlowRecord.NAT_SNAT), 0, null);
        assertTrue(h >= 0);
        assertEquals(FlowTable.NOT_FOUND, lookup(BLUE, b, 40000, 443), "b's packet is not a's flow");
        assertEquals(1, table.collisions());
        assertEquals(FlowTable.NOT_FOUND, lookup(b, GW_LAN, 443, 61000), "nor is b's reply");
        assertEquals(FlowTable.ORIG_EXISTS, table.insert(draft(BLUE, b, 40000, 443, b, GW_LAN, 443, 61002,
            FlowRecord.NAT_SNAT), 0, null), "b's flow is refused, never joined to a's");
        assertEquals(h, lookup(BLUE, a, 40000, 443), "a's flow is untouched");
    }

    @Test
    void aRecycledRecordIsFoundOnlyUnderItsNewTuple() {
        table.gatewayAddresses(List.of(GW_LAN));
        long first = table.insert(draft(BLUE, REMOTE, 40000, 443, REMOTE, GW_LAN, 443, 61000, FlowRecord.NAT_SNAT), 0,
            null);
        assertTrue(table.table().delete(first));
        long second = table.insert(draft(RED, REMOTE, 40001, 443, REMOTE, GW_LAN, 443, 61001, FlowRecord.NAT_SNAT), 0,
            null);
        assertEquals(FlowTable.flowIdOf(first), FlowTable.flowIdOf(second), "the record was reused");
        assertEquals(FlowTable.NOT_FOUND, lookup(BLUE, REMOTE, 40000, 443));
        assertEquals(second, lookup(RED, REMOTE, 40001, 443));
        assertRewrite(GW_LAN, REMOTE);
        assertEquals(second, lookup(REMOTE, GW_LAN, 443, 61001));
        assertRewrite(REMOTE, RED);
    }

    @Test
    void tuplesThatDoNotFitTheirNatFlagsAreRefused() {
        table.gatewayAddresses(List.of(GW_LAN));
        IllegalArgumentException notGateway = assertThrows(IllegalArgumentException.class, () -> table.insert(
            draft(BLUE, REMOTE, 40000, 443, REMOTE, CLIENT, 443, 61000, FlowRecord.NAT_SNAT), 0, null));
        assertEquals("the reply destination fd01::3 is not one of the gateway's addresses [fd01::2]",
            notGateway.getMessage());
        IllegalArgumentException noFlag = assertThrows(IllegalArgumentException.class, () -> table.insert(
            draft(BLUE, REMOTE, 40000, 443, CLIENT, BLUE, 443, 40000, 0), 0, null));
        assertEquals("the reply source fd01::3 is not the original destination 2001:db8::1, and no NAT flag says why",
            noFlag.getMessage());
        assertEquals(0, table.table().size());
    }

    @Test
    void costs192BytesPerConnection() {
        assertEquals(192, FlowTable6.bytesPerConnection());
    }

    @Test
    void lookupsRacingRecycledRecordsNeverSeeAnotherFlowsAddresses() throws Exception {
        try (FlowTable6 small = new FlowTable6(16, FlowTimeouts.DEFAULTS, 0, 7)) {
            small.gatewayAddresses(List.of(GW_LAN));
            final int tuples = 8;
            final AtomicBoolean stop = new AtomicBoolean();
            final AtomicReference<String> wrong = new AtomicReference<>();
            final AtomicLong found = new AtomicLong();
            Thread writer = new Thread(() -> {
                FlowTable6.Draft d = small.newDraft();
                long[] handles = new long[tuples];
                java.util.Arrays.fill(handles, -1);
                // at least 200k recycles, and on until the readers have found flows 1000 times (whatever the
                // scheduling), within a cap
                for (int round = 0; (round < 200_000 || found.get() < 1000) && round < 50_000_000
                    && wrong.get() == null; round++) {
                    int i = round % tuples;
                    if (handles[i] >= 0) {
                        small.table().delete(handles[i]);
                        handles[i] = -1;
                    } else {
                        fill(d, new Ipv6Address(BLUE.high(), 0x100 + i), REMOTE, 40000, 443, REMOTE, GW_LAN, 443,
                            61000 + i, FlowRecord.NAT_SNAT);
                        handles[i] = small.insert(d, 0, null);
                    }
                }
                stop.set(true);
            });
            Runnable reader = () -> {
                FlowView v = new FlowView();
                FlowTable6.Rewrite r = new FlowTable6.Rewrite();
                Random random = new Random();
                while (!stop.get() && wrong.get() == null) {
                    int i = random.nextInt(tuples);
                    long h = small.lookup(IpProtocol.TCP, REMOTE.high(), REMOTE.low(), GW_LAN.high(), GW_LAN.low(), 443,
                        61000 + i, v, r);
                    if (h >= 0) {
                        found.incrementAndGet();
                        if (r.newDstHigh != BLUE.high() || r.newDstLow != 0x100 + i || v.newDstPort != 40000) {
                            wrong.set("reply to port " + (61000 + i) + " rewritten to "
                                + new Ipv6Address(r.newDstHigh, r.newDstLow) + " port " + v.newDstPort);
                        }
                    }
                }
            };
            Thread r1 = new Thread(reader);
            Thread r2 = new Thread(reader);
            writer.start();
            r1.start();
            r2.start();
            writer.join();
            r1.join();
            r2.join();
            assertEquals(null, wrong.get());
            assertTrue(found.get() >= 1000, "the readers found flows " + found.get() + " times");
            assertEquals(0, small.collisions(), "a recycled record is retried, not taken for a collision");
        }
    }
}
