// IPv6 flows in the IPv4 table's lock-free design: keys of address digests, two full addresses beside each record.
package io.nsgate.dataplane.conntrack;

import java.util.List;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.atomic.LongAdder;

import org.agrona.concurrent.UnsafeBuffer;

import io.nsgate.dataplane.packet.Checksums;
import io.nsgate.linux.net.Ipv6Address;
import io.nsgate.linux.sys.OffHeapMemory;

/**
 * The IPv6 connection table: a {@link FlowTable} of its own whose 32-bit address fields hold keyed digests of the
 * IPv6 addresses, and beside each record a 32-byte <b>sidecar</b> with the two full addresses a digest cannot give
 * back.
 *
 * <h2>Theory of operation</h2>
 * <p>In every flow nsgate makes, one address of each direction is the gateway's own: masquerade rewrites the
 * source to a gateway address (the reply's destination), a forward is addressed to one (the original destination),
 * a hairpin both. The gateway's addresses are few ({@link #gatewayAddresses}) and known by digest, so a flow needs
 * only two addresses kept in full: the originator (the original source) and the far end (the original destination
 * when only the source is translated, else the reply's source: the backend). Which positions are the gateway's
 * follows from the NAT flags:
 * <pre>
 *             orig src   orig dst       reply src      reply dst
 *  SNAT       A          B              B              gateway
 *  DNAT       A          gateway        B              A
 *  both       A          gateway        B              gateway
 *  mapping    A          B (::)         B (::)         gateway      (endpoint-independent mapping records)
 * </pre>
 * Memory per connection: the table's 160 bytes and the 32-byte sidecar: <b>192 bytes</b>.
 *
 * <p><b>Lookups</b> find the flow by digests, read its sidecar, rebuild the tuple of the packet's direction and
 * compare it with the packet's full addresses, then check that the record is still the generation the lookup saw
 * ({@link FlowTable#isCurrent}): the sidecar is written before the flow's keys can be found
 * ({@link FlowTable.BeforePublish}) and only rewritten after the record was freed, which moves its generation, so a
 * sidecar read under an unchanged generation is the flow's own. <b>Digest collisions</b> (two different tuples with
 * the same digests and ports: with a random 64-bit seed about one new flow in 2^44 at a million flows) fail safe:
 * the lookup answers "not found" and counts it ({@link #collisions()}), and inserting the second tuple is refused
 * ({@link FlowTable#ORIG_EXISTS}) as if its key were taken: a connection is refused, never joined to another.
 *
 * <p>The record's checksum deltas are the IPv6 ones: the addresses' delta is worked out here from the full addresses
 * ({@link FlowDraft#addressDelta}: the pseudo header's, which a frame with a partial checksum needs alone), the ports'
 * and the L4 delta by the table as for IPv4. Deletion, expiry, eviction, TCP tracking and listing are the inner table's
 * ({@link #table()}).
 */
public final class FlowTable6 implements AutoCloseable {
    /** Bytes kept beside each record: two IPv6 addresses. */
    public static final int SIDECAR_SIZE = 32;
    /** Gateway addresses a table resolves by digest. */
    public static final int MAX_GATEWAY_ADDRESSES = 64;
    /** Distinct routers (next hops other than the destination itself) flows may go through. */
    public static final int MAX_ROUTERS = 255;

    private final FlowTable table;
    private final OffHeapMemory sidecarMemory;
    private final UnsafeBuffer sidecar;
    private final long seed;
    private volatile Gateways gateways = new Gateways(new int[0], new long[0], new long[0]);
    private final LongAdder collisions = new LongAdder();
    /** Router addresses by id 1..{@link #MAX_ROUTERS} (0: on the link); appended, never removed. */
    private final long[] routerHigh = new long[MAX_ROUTERS + 1];
    private final long[] routerLow = new long[MAX_ROUTERS + 1];
    private volatile int routers;
    /** Where the router list is kept as well, for the next process (entry i at 16 * i, the count at 0), or null. */
    private final UnsafeBuffer routerStore;
    /** Bytes of a router list kept in a state file. */
    public static final int ROUTER_STORE_SIZE = (MAX_ROUTERS + 1) * 16;

    /** The rewrite of a packet found in the table: its new addresses (the ports are in the {@link FlowView}). */
    public static final class Rewrite {
        public long newSrcHigh;
        public long newSrcLow;
        public long newDstHigh;
        public long newDstLow;
    }

    /** A draft bound to this table: one per worker, reused ({@link #insert} allocates nothing). */
    public Draft newDraft() {
        return new Draft();
    }

    /**
     * A new IPv6 flow: everything but the addresses in {@link #flow}, the four addresses here. It also writes the
     * new record's sidecar when the inner table asks ({@link FlowTable.BeforePublish}), so an insert allocates
     * nothing.
     */
    public final class Draft implements FlowTable.BeforePublish {
        /** Protocol, ports, egress, next hops, NAT flags and state, as for IPv4 (its addresses are ignored). */
        public final FlowDraft flow = new FlowDraft();
        public long origSrcHigh;
        public long origSrcLow;
        public long origDstHigh;
        public long origDstLow;
        public long replySrcHigh;
        public long replySrcLow;
        public long replyDstHigh;
        public long replyDstLow;
        private long keptHigh;
        private long keptLow;

        private Draft() {
        }

        @Override
        public void write(int flowId) {
            final int at = flowId * SIDECAR_SIZE;
            sidecar.putLong(at, origSrcHigh);
            sidecar.putLong(at + 8, origSrcLow);
            sidecar.putLong(at + 16, keptHigh);
            sidecar.putLong(at + 24, keptLow);
        }
    }

    private record Gateways(int[] digests, long[] high, long[] low) {
        @Override
        public String toString() {
            StringBuilder b = new StringBuilder("[");
            for (int i = 0; i < digests.length; i++) {
                b.append(i == 0 ? "" : ", ").append(new Ipv6Address(high[i], low[i]));
            }
            return b.append(']').toString();
        }

        int indexOf(int digest) {
            for (int i = 0; i < digests.length; i++) {
                if (digests[i] == digest) {
                    return i;
                }
            }
            return -1;
        }
    }

    public FlowTable6(int capacity, FlowTimeouts timeouts, long epochNs) {
        this(capacity, timeouts, epochNs, ThreadLocalRandom.current().nextLong());
    }

    /** As above with a fixed seed for the digests and the table's hash (tests). */
    public FlowTable6(int capacity, FlowTimeouts timeouts, long epochNs, long seed) {
        this(capacity, timeouts, epochNs, seed, null, null, null, null, null);
    }

    /**
     * A table in a {@link FlowState} file's regions: records, per-packet lines, sidecar and the router list
     * ({@link #ROUTER_STORE_SIZE} bytes), zeroed or a previous process's (then {@code table().recover} rebuilds it;
     * the routers are read back here, so the ids the records hold keep naming the same routers).
     */
    public FlowTable6(int capacity, FlowTimeouts timeouts, long epochNs, long seed, OffHeapMemory recordsRegion,
                      OffHeapMemory countersRegion, OffHeapMemory controlRegion, OffHeapMemory sidecarRegion,
                      OffHeapMemory routerRegion) {
        this.table = new FlowTable(capacity, timeouts, epochNs, seed * 0x9E37_79B9_7F4A_7C15L + 1, recordsRegion,
            countersRegion, controlRegion);
        this.seed = seed;
        this.sidecarMemory = sidecarRegion != null ? sidecarRegion
            : OffHeapMemory.allocate((long) capacity * SIDECAR_SIZE, "IPv6 flow table addresses");
        this.sidecar = new UnsafeBuffer(sidecarMemory.address(), capacity * SIDECAR_SIZE);
        this.routerStore = routerRegion == null ? null : new UnsafeBuffer(routerRegion.address(), ROUTER_STORE_SIZE);
        if (routerStore != null) {
            final int n = Math.min(MAX_ROUTERS, Math.max(0, routerStore.getInt(0)));
            for (int i = 1; i <= n; i++) {
                routerHigh[i] = routerStore.getLong(i * 16);
                routerLow[i] = routerStore.getLong(i * 16 + 8);
            }
            routers = n;
        }
    }

    /** The inner table: deletion, expiry, eviction, per-packet state, listing. */
    public FlowTable table() {
        return table;
    }

    /** Bytes of off-heap memory per connection: the table's and the sidecar. */
    public static int bytesPerConnection() {
        return FlowTable.bytesPerConnection() + SIDECAR_SIZE;
    }

    /** Lookups that matched digests but not the full addresses (counted, answered "not found"). */
    public long collisions() {
        return collisions.sum();
    }

    /**
     * Replaces the gateway's own IPv6 addresses: those the NAT rewrites to or is addressed on. Flows keep working for
     * the addresses they were made with only while those stay listed.
     *
     * @throws IllegalArgumentException more than {@value #MAX_GATEWAY_ADDRESSES}, or two with the same digest
     */
    public void gatewayAddresses(List<Ipv6Address> addresses) {
        if (addresses.size() > MAX_GATEWAY_ADDRESSES) {
            throw new IllegalArgumentException(addresses.size() + " gateway IPv6 addresses, at most "
                + MAX_GATEWAY_ADDRESSES);
        }
        int[] digests = new int[addresses.size()];
        long[] high = new long[digests.length];
        long[] low = new long[digests.length];
        for (int i = 0; i < digests.length; i++) {
            Ipv6Address a = addresses.get(i);
            digests[i] = digest(a.high(), a.low());
            high[i] = a.high();
            low[i] = a.low();
            for (int j = 0; j < i; j++) {
                if (digests[j] == digests[i] && !addresses.get(j).equals(a)) {
                    throw new IllegalArgumentException("gateway addresses " + addresses.get(j) + " and " + a
                        + " have the same digest; restart to draw another seed");
                }
            }
        }
        gateways = new Gateways(digests, high, low);
    }

    /** The 32-bit keyed digest of an address that stands for it in the inner table's keys. */
    public int digest(long high, long low) {
        long h = (high ^ seed) * 0x9E37_79B9_7F4A_7C15L;
        h = Long.rotateLeft(h, 31) + (low ^ Long.rotateLeft(seed, 17)) * 0xC2B2_AE3D_27D4_EB4FL;
        h ^= h >>> 29;
        h *= 0xBF58_476D_1CE4_E5B9L;
        h ^= h >>> 32;
        return (int) h;
    }

    // ================================================================= insertion (slow path)

    /**
     * Creates a flow (or mapping record) from {@code d}: its inner draft gets the digests and the IPv6 checksum
     * delta, the sidecar the two kept addresses.
     *
     * @return the handle, or {@link FlowTable#ORIG_EXISTS} (also for a digest collision), {@link FlowTable#REPLY_TAKEN},
     *     {@link FlowTable#TABLE_FULL}
     * @throws IllegalArgumentException when a position the NAT flags give to the gateway holds no gateway address, or
     *     the tuples do not fit the flags (the translator's bug, never the traffic's)
     */
    public long insert(Draft d, long nowNs, FlowView view) {
        final FlowDraft f = d.flow;
        final boolean snat = (f.natFlags & (FlowRecord.NAT_SNAT | FlowRecord.KIND_MAPPING)) != 0;
        final boolean dnat = (f.natFlags & FlowRecord.NAT_DNAT) != 0;
        if (dnat) {
            requireGateway(d.origDstHigh, d.origDstLow, "original destination");
            d.keptHigh = d.replySrcHigh;
            d.keptLow = d.replySrcLow;
        } else {
            requireSame(d.replySrcHigh, d.replySrcLow, d.origDstHigh, d.origDstLow, "reply source",
                "original destination");
            d.keptHigh = d.origDstHigh;
            d.keptLow = d.origDstLow;
        }
        if (snat) {
            requireGateway(d.replyDstHigh, d.replyDstLow, "reply destination");
        } else {
            requireSame(d.replyDstHigh, d.replyDstLow, d.origSrcHigh, d.origSrcLow, "reply destination",
                "original source");
        }
        f.origSrcIp = digest(d.origSrcHigh, d.origSrcLow);
        f.origDstIp = digest(d.origDstHigh, d.origDstLow);
        f.replySrcIp = digest(d.replySrcHigh, d.replySrcLow);
        f.replyDstIp = digest(d.replyDstHigh, d.replyDstLow);
        f.addressDelta = Checksums.addDeltas(
            Checksums.delta128(d.origSrcHigh, d.origSrcLow, d.replyDstHigh, d.replyDstLow),
            Checksums.delta128(d.origDstHigh, d.origDstLow, d.replySrcHigh, d.replySrcLow));
        return table.insert(f, nowNs, view, d);
    }

    /**
     * Creates a translated flow ({@link FlowRecord#NAT_64}): an IPv6 client's flow to an IPv4 backend. The original
     * tuple is IPv6 ({@code d}'s original addresses: the client and one of the gateway's IPv6 addresses, keyed by
     * digest as usual); the reply tuple is real IPv4, in {@code d.flow}'s reply fields (the backend, and the gateway's
     * IPv4 address it answers). The checksum delta is the pseudo headers' change from the IPv6 pair to the IPv4 pair.
     *
     * @return as {@link #insert}
     */
    public long insert64(Draft d, long nowNs, FlowView view) {
        final FlowDraft f = d.flow;
        requireGateway(d.origDstHigh, d.origDstLow, "original destination");
        f.natFlags = FlowRecord.NAT_DNAT | FlowRecord.NAT_SNAT | FlowRecord.NAT_64;
        f.origSrcIp = digest(d.origSrcHigh, d.origSrcLow);
        f.origDstIp = digest(d.origDstHigh, d.origDstLow);
        d.keptHigh = 0;
        d.keptLow = IPV4_MAPPED | (f.replySrcIp & 0xFFFF_FFFFL); // the backend, for listings
        f.addressDelta = Checksums.addDeltas(
            Checksums.delta128(d.origSrcHigh, d.origSrcLow, 0, f.replyDstIp & 0xFFFF_FFFFL),
            Checksums.delta128(d.origDstHigh, d.origDstLow, 0, f.replySrcIp & 0xFFFF_FFFFL));
        return table.insert(f, nowNs, view, d);
    }

    /** ::ffff:0:0/96, the IPv4-mapped prefix's low half: how an IPv4 address stands among IPv6 ones. */
    public static final long IPV4_MAPPED = 0x0000_FFFF_0000_0000L;

    private void requireGateway(long high, long low, String position) {
        final Gateways g = gateways;
        final int i = g.indexOf(digest(high, low));
        if (i < 0 || g.high[i] != high || g.low[i] != low) {
            throw new IllegalArgumentException("the " + position + " " + new Ipv6Address(high, low)
                + " is not one of the gateway's addresses " + g);
        }
    }

    private static void requireSame(long aHigh, long aLow, long bHigh, long bLow, String a, String b) {
        if (aHigh != bHigh || aLow != bLow) {
            throw new IllegalArgumentException("the " + a + " " + new Ipv6Address(aHigh, aLow) + " is not the " + b
                + " " + new Ipv6Address(bHigh, bLow) + ", and no NAT flag says why");
        }
    }

    // ================================================================= lookup (fast path)

    private static final int MAX_RETRIES = 8;

    /**
     * Finds the flow of a packet from {@code src} to {@code dst} and fills {@code view} (ports, state, direction) and
     * {@code rewrite} (its new addresses). Lock-free, allocation-free.
     *
     * @return the flow's handle, or {@link FlowTable#NOT_FOUND} (also when only the digests matched)
     */
    public long lookup(int proto, long srcHigh, long srcLow, long dstHigh, long dstLow, int srcPort, int dstPort,
                       FlowView view, Rewrite rewrite) {
        final int srcDigest = digest(srcHigh, srcLow);
        final int dstDigest = digest(dstHigh, dstLow);
        for (int attempt = 0; attempt < MAX_RETRIES; attempt++) {
            final long h = table.lookup(proto, srcDigest, dstDigest, srcPort, dstPort, view);
            if (h < 0) {
                return h;
            }
            final int at = view.flowId * SIDECAR_SIZE;
            final long aHigh = sidecar.getLong(at);
            final long aLow = sidecar.getLong(at + 8);
            final long bHigh = sidecar.getLong(at + 16);
            final long bLow = sidecar.getLong(at + 24);
            if (!table.isCurrent(h)) {
                continue; // the record was recycled while we read: look again
            }
            final Gateways g = gateways;
            if ((view.natFlags & FlowRecord.NAT_64) != 0) {
                // a translated flow: only its IPv6 side (direction 0) is found by IPv6 addresses; the rewrite is to
                // IPv4 (the view's new addresses)
                final int gi = g.indexOf(dstDigest);
                if (view.direction != 0 || srcHigh != aHigh || srcLow != aLow || gi < 0 || g.high[gi] != dstHigh
                    || g.low[gi] != dstLow) {
                    return FlowTable.NOT_FOUND;
                }
                return h;
            }
            final boolean snat = (view.natFlags & (FlowRecord.NAT_SNAT | FlowRecord.KIND_MAPPING)) != 0;
            final boolean dnat = (view.natFlags & FlowRecord.NAT_DNAT) != 0;
            // the packet's own tuple, rebuilt: direction 0 is (orig src, orig dst), direction 1 (reply src, reply dst)
            // a gateway position whose digest no longer names a listed address: the flow is not used (not counted as
            // a collision), as a masqueraded flow ends when the address it was made with goes
            final boolean srcGone = (view.direction == 0 ? snat : dnat) && g.indexOf(view.newSrcIp) < 0;
            final boolean dstGone = (view.direction == 0 ? dnat : snat) && g.indexOf(dstDigest) < 0;
            if (srcGone || dstGone) {
                return FlowTable.NOT_FOUND;
            }
            final boolean matches;
            if (view.direction == 0) {
                // (orig src, orig dst) = (A, the gateway when DNAT else B); new source = reply dst (the gateway when
                // SNAT, else A), new destination = reply src = B
                matches = srcHigh == aHigh && srcLow == aLow
                    && isAddress(dnat, g, dstDigest, dstHigh, dstLow, bHigh, bLow);
            } else {
                // (reply src, reply dst) = (B, the gateway when SNAT else A); new source = orig dst (the gateway when
                // DNAT, else B), new destination = orig src = A
                matches = srcHigh == bHigh && srcLow == bLow
                    && isAddress(snat, g, dstDigest, dstHigh, dstLow, aHigh, aLow);
            }
            fillRewrite(view, snat, dnat, g, aHigh, aLow, bHigh, bLow, rewrite);
            if (!matches) {
                collisions.increment(); // the digests matched, the addresses did not
                return FlowTable.NOT_FOUND;
            }
            return h;
        }
        return FlowTable.NOT_FOUND;
    }

    /** The new addresses of a packet of {@code view}'s direction. */
    private static void fillRewrite(FlowView view, boolean snat, boolean dnat, Gateways g, long aHigh, long aLow,
                                    long bHigh, long bLow, Rewrite rewrite) {
        if (view.direction == 0) {
            newSource(rewrite, snat, g, view.newSrcIp, aHigh, aLow);
            rewrite.newDstHigh = bHigh;
            rewrite.newDstLow = bLow;
        } else {
            newSource(rewrite, dnat, g, view.newSrcIp, bHigh, bLow);
            rewrite.newDstHigh = aHigh;
            rewrite.newDstLow = aLow;
        }
    }

    /**
     * Fills {@code view} and {@code rewrite} for direction {@code direction} of flow {@code handle} (a fragment's flow,
     * found by id): false when the flow is gone or its gateway address no longer listed.
     */
    public boolean view(long handle, int direction, FlowView view, Rewrite rewrite) {
        if (!table.view(handle, direction, view)) {
            return false;
        }
        final int at = view.flowId * SIDECAR_SIZE;
        final long aHigh = sidecar.getLong(at);
        final long aLow = sidecar.getLong(at + 8);
        final long bHigh = sidecar.getLong(at + 16);
        final long bLow = sidecar.getLong(at + 24);
        if (!table.isCurrent(handle)) {
            return false;
        }
        final boolean snat = (view.natFlags & (FlowRecord.NAT_SNAT | FlowRecord.KIND_MAPPING)) != 0;
        final boolean dnat = (view.natFlags & FlowRecord.NAT_DNAT) != 0;
        final Gateways g = gateways;
        if ((direction == 0 ? snat : dnat) && g.indexOf(view.newSrcIp) < 0) {
            return false;
        }
        fillRewrite(view, snat, dnat, g, aHigh, aLow, bHigh, bLow, rewrite);
        return true;
    }

    // ================================================================= listing

    /**
     * The full addresses of a flow copied from {@link #table()}'s cursor, for listing: {@code out} gets (high, low) of
     * the original source, original destination, reply source and reply destination, in that order (8 longs). A
     * gateway address no longer listed reads as {@code ::}. Allocation-free.
     *
     * @return false when the record was recycled since it was copied (skip it)
     */
    public boolean addresses(FlowSnapshot s, long[] out) {
        final int at = s.flowId * SIDECAR_SIZE;
        final long aHigh = sidecar.getLong(at);
        final long aLow = sidecar.getLong(at + 8);
        final long bHigh = sidecar.getLong(at + 16);
        final long bLow = sidecar.getLong(at + 24);
        if (!table.isCurrent(FlowTable.handle(s.flowId, s.generation))) {
            return false;
        }
        final boolean snat = (s.natFlags & (FlowRecord.NAT_SNAT | FlowRecord.KIND_MAPPING)) != 0 || s.mapping;
        final boolean dnat = (s.natFlags & FlowRecord.NAT_DNAT) != 0;
        final Gateways g = gateways;
        out[0] = aHigh;
        out[1] = aLow;
        if ((s.natFlags & FlowRecord.NAT_64) != 0) {
            // the reply side is IPv4: shown as IPv4-mapped addresses
            gateway(g, s.origDstIp, out, 2);
            out[4] = 0;
            out[5] = IPV4_MAPPED | (s.replySrcIp & 0xFFFF_FFFFL);
            out[6] = 0;
            out[7] = IPV4_MAPPED | (s.replyDstIp & 0xFFFF_FFFFL);
            return true;
        }
        if (dnat) {
            gateway(g, s.origDstIp, out, 2);
        } else {
            out[2] = bHigh;
            out[3] = bLow;
        }
        out[4] = bHigh;
        out[5] = bLow;
        if (snat) {
            gateway(g, s.replyDstIp, out, 6);
        } else {
            out[6] = aHigh;
            out[7] = aLow;
        }
        return true;
    }

    private static void gateway(Gateways g, int digest, long[] out, int at) {
        final int i = g.indexOf(digest);
        out[at] = i < 0 ? 0 : g.high[i];
        out[at + 1] = i < 0 ? 0 : g.low[i];
    }

    // ================================================================= routers

    /**
     * The id (1..{@value #MAX_ROUTERS}) a flow record keeps as its next hop for the router at this address, assigned
     * on first use and kept for the table's life; -1 when all ids are taken. Lock-free for a known router; the first
     * sighting of a new one takes a lock (slow path, as often as there are routers).
     */
    public int routerId(long high, long low) {
        final int known = routers;
        for (int i = 1; i <= known; i++) {
            if (routerHigh[i] == high && routerLow[i] == low) {
                return i;
            }
        }
        synchronized (routerHigh) {
            final int n = routers;
            for (int i = known + 1; i <= n; i++) {
                if (routerHigh[i] == high && routerLow[i] == low) {
                    return i;
                }
            }
            if (n == MAX_ROUTERS) {
                return -1;
            }
            routerHigh[n + 1] = high;
            routerLow[n + 1] = low;
            if (routerStore != null) {
                routerStore.putLong((n + 1) * 16, high);
                routerStore.putLong((n + 1) * 16 + 8, low);
                routerStore.putIntVolatile(0, n + 1);
            }
            routers = n + 1; // publishes the entry before any flow can carry its id
            return n + 1;
        }
    }

    /** The router of id {@code id} (from a flow record made after {@link #routerId} gave it). */
    public long routerHigh(int id) {
        return routerHigh[id];
    }

    public long routerLow(int id) {
        return routerLow[id];
    }

    /**
     * Finds the translated flow ({@link FlowRecord#NAT_64}) of an IPv4 packet from its backend: {@code rewrite} gets
     * the IPv6 addresses it goes back with (from the gateway's IPv6 address the client used, to the client).
     *
     * @return the handle, or {@link FlowTable#NOT_FOUND} (also for an IPv4 packet of an IPv6 flow's digests, or when
     *     the gateway address is no longer listed)
     */
    public long lookup4(int proto, int srcIp, int dstIp, int srcPort, int dstPort, FlowView view, Rewrite rewrite) {
        for (int attempt = 0; attempt < MAX_RETRIES; attempt++) {
            final long h = table.lookup(proto, srcIp, dstIp, srcPort, dstPort, view);
            if (h < 0) {
                return h;
            }
            final int at = view.flowId * SIDECAR_SIZE;
            final long aHigh = sidecar.getLong(at);
            final long aLow = sidecar.getLong(at + 8);
            if (!table.isCurrent(h)) {
                continue;
            }
            if ((view.natFlags & FlowRecord.NAT_64) == 0 || view.direction != 1) {
                return FlowTable.NOT_FOUND;
            }
            final Gateways g = gateways;
            final int i = g.indexOf(view.newSrcIp); // direction 1's new source: the original destination's digest
            if (i < 0) {
                return FlowTable.NOT_FOUND;
            }
            rewrite.newSrcHigh = g.high[i];
            rewrite.newSrcLow = g.low[i];
            rewrite.newDstHigh = aHigh;
            rewrite.newDstLow = aLow;
            return h;
        }
        return FlowTable.NOT_FOUND;
    }

    /** Whether (high, low) is what the position holds: the gateway address of that digest, or the kept one. */
    private static boolean isAddress(boolean gateway, Gateways g, int digest, long high, long low, long keptHigh,
                                     long keptLow) {
        if (!gateway) {
            return high == keptHigh && low == keptLow;
        }
        final int i = g.indexOf(digest); // listed: checked before
        return g.high[i] == high && g.low[i] == low;
    }

    /** Sets the new source: the (listed) gateway address of {@code digest}, or the kept address. */
    private static void newSource(Rewrite r, boolean gateway, Gateways g, int digest, long keptHigh, long keptLow) {
        if (gateway) {
            final int i = g.indexOf(digest);
            r.newSrcHigh = g.high[i];
            r.newSrcLow = g.low[i];
        } else {
            r.newSrcHigh = keptHigh;
            r.newSrcLow = keptLow;
        }
    }

    @Override
    public void close() {
        table.close();
        sidecarMemory.close();
    }
}
