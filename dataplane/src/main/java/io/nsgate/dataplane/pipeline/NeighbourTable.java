// Which MAC answers for which next hop on each interface: the data plane's own ARP (or IPv6 neighbour) cache.
package io.nsgate.dataplane.pipeline;

import org.agrona.UnsafeApi;
import org.agrona.concurrent.UnsafeBuffer;

/**
 * The data plane resolves next hops itself (ARP requests through its own sockets, learning from every ARP frame it
 * sees) rather than asking the kernel, which does not resolve for traffic it does not forward. The daemon seeds it
 * from the kernel's neighbour table at start.
 *
 * <p>Open addressing over 64-byte entries keyed by (interface, address: IPv4 as the low half of 128 bits, IPv6
 * whole), fixed capacity, shared by every worker: an ARP reply may reach any worker's socket (fanout), and the frame
 * waiting for it may sit on another. IPv4 and IPv6 neighbours live in two instances, so that neither family's
 * traffic can crowd the other's out.
 * Lookups are lock-free seqlock reads; writers take an entry's sequence number with CAS (odd while writing).
 * Entries are never emptied, only refreshed or, once stale past {@link #STALE_LIMIT_NS}, reused for another
 * neighbour, so a probe stops at the first empty entry.
 *
 * <pre>
 *  0 seq (long, odd while written) | 8 interface + 1 (0: empty) | 16 address high | 24 address low
 *  32 mac (long, 48 bits) | 40 confirmed ns | 48 unused
 * </pre>
 *
 * <p>An entry confirmed within {@link #REACHABLE_NS} is used as is; an older one is still used (the neighbour has
 * probably not moved) but the worker that uses it sends a refresh request, at most once per
 * {@link #REFRESH_INTERVAL_NS}; one older than {@link #STALE_LIMIT_NS} is treated as unknown.
 */
public final class NeighbourTable implements AutoCloseable {
    /** Linux's base_reachable_time is 30 s. */
    public static final long REACHABLE_NS = 30_000_000_000L;
    /** Past this an entry is not trusted any more (Linux's gc_stale_time is 60 s; flows are busier than hosts). */
    public static final long STALE_LIMIT_NS = 10 * 60_000_000_000L;
    /** One refresh request per neighbour per second at most. */
    public static final long REFRESH_INTERVAL_NS = 1_000_000_000L;
    private static final int ENTRY = 64;
    private static final int TAG = 8;
    private static final int HIGH = 16;
    private static final int LOW = 24;
    private static final int MAC = 32;
    private static final int CONFIRMED = 40;
    private static final int MAX_PROBE = 64;

    /** Lookup results (besides a MAC >= 0). */
    public static final long UNKNOWN = -1;
    /** Known, but stale: use it and send a refresh request. */
    public static final long STALE_BIT = 1L << 62;

    private final int mask;
    private final long address;
    private final UnsafeBuffer entries;
    private final long[] lastRequestNs;
    private boolean closed;

    /** @param capacity a power of two */
    public NeighbourTable(int capacity) {
        if (Integer.bitCount(capacity) != 1 || capacity < 16) {
            throw new IllegalArgumentException("neighbour table capacity " + capacity + " must be a power of two >= 16");
        }
        this.mask = capacity - 1;
        this.address = UnsafeApi.allocateMemory((long) capacity * ENTRY + 64);
        this.entries = new UnsafeBuffer((address + 63) & ~63L, capacity * ENTRY);
        this.entries.setMemory(0, capacity * ENTRY, (byte) 0);
        this.lastRequestNs = new long[capacity];
    }

    /** The entry's tag: the interface + 1 (0 marks an empty entry). */
    private static long tag(int iface) {
        return iface + 1L;
    }

    private int home(long tag, long high, long low) {
        long h = (tag * 0x9E37_79B9_7F4A_7C15L) ^ (high * 0xC2B2_AE3D_27D4_EB4FL) ^ low;
        h *= 0xBF58_476D_1CE4_E5B9L;
        return (int) (h >>> 40) & mask;
    }

    /**
     * The MAC of {@code ip} on interface {@code iface}: a value >= 0 (with {@link #STALE_BIT} set when it should be
     * refreshed), or {@link #UNKNOWN}.
     */
    public long lookup(int iface, int ip, long nowNs) {
        return lookup(iface, 0, ip & 0xFFFF_FFFFL, nowNs);
    }

    /** As {@link #lookup(int, int, long)} for an IPv6 neighbour (a table of IPv6 neighbours: keep the families apart). */
    public long lookup(int iface, long high, long low, long nowNs) {
        final long tag = tag(iface);
        int i = home(tag, high, low);
        for (int probe = 0; probe < MAX_PROBE; probe++, i = (i + 1) & mask) {
            final int e = i * ENTRY;
            for (int attempt = 0; attempt < 8; attempt++) {
                final long seq = entries.getLongAcquire(e);
                final long t = entries.getLong(e + TAG);
                final long h = entries.getLong(e + HIGH);
                final long l = entries.getLong(e + LOW);
                final long mac = entries.getLong(e + MAC);
                final long confirmed = entries.getLong(e + CONFIRMED);
                UnsafeApi.loadFence();
                if ((seq & 1) != 0 || entries.getLongAcquire(e) != seq) {
                    continue; // being written: read again
                }
                if (t == 0) {
                    return UNKNOWN;
                }
                if (t != tag || h != high || l != low) {
                    break;
                }
                final long age = nowNs - confirmed;
                if (age > STALE_LIMIT_NS) {
                    return UNKNOWN;
                }
                return age > REACHABLE_NS ? mac | STALE_BIT : mac;
            }
        }
        return UNKNOWN;
    }

    /** Records that {@code ip} on {@code iface} is at {@code mac}, confirmed now (creating the entry if needed). */
    public void learn(int iface, int ip, long mac, long nowNs) {
        learn(iface, ip, mac, nowNs, true);
    }

    /**
     * Records that {@code ip} on {@code iface} is at {@code mac}, confirmed now. With {@code create} false only an
     * entry the table has is refreshed (gratuitous ARP, ARP between others: Linux's arp_accept=0). A new entry takes
     * the first free slot of its probe sequence, or one whose neighbour has not been confirmed for
     * {@link #STALE_LIMIT_NS} (such an entry is unknown to lookups anyway), so the table never fills for good.
     * Lossy under contention, by design.
     */
    public void learn(int iface, int ip, long mac, long nowNs, boolean create) {
        learn(iface, 0, ip & 0xFFFF_FFFFL, mac, nowNs, create);
    }

    /** As {@link #learn(int, int, long, long, boolean)} for an IPv6 neighbour. */
    public void learn(int iface, long high, long low, long mac, long nowNs, boolean create) {
        final long tag = tag(iface);
        int free = -1;
        int i = home(tag, high, low);
        for (int probe = 0; probe < MAX_PROBE; probe++, i = (i + 1) & mask) {
            final int e = i * ENTRY;
            final long t = entries.getLongVolatile(e + TAG);
            if (t == tag && entries.getLongVolatile(e + HIGH) == high && entries.getLongVolatile(e + LOW) == low) {
                write(e, tag, high, low, mac, nowNs, true);
                return;
            }
            if (t == 0) {
                if (free < 0) {
                    free = e;
                }
                break; // a probe ends at the first empty entry: the key is not further on
            }
            if (free < 0 && nowNs - entries.getLongVolatile(e + CONFIRMED) > STALE_LIMIT_NS) {
                free = e;
            }
        }
        if (create && free >= 0) {
            write(free, tag, high, low, mac, nowNs, false);
        }
    }

    /**
     * Writes entry {@code e} if no other writer is on it and it still holds the key ({@code same}) or, for a new one,
     * is still empty or stale.
     */
    private void write(int e, long tag, long high, long low, long mac, long nowNs, boolean same) {
        final long seq = entries.getLongVolatile(e);
        if ((seq & 1) != 0 || !entries.compareAndSetLong(e, seq, seq + 1)) {
            return; // another writer is on it: its answer is as good as ours
        }
        final long t = entries.getLong(e + TAG);
        final boolean holdsKey = t == tag && entries.getLong(e + HIGH) == high && entries.getLong(e + LOW) == low;
        final boolean reusable = t == 0 || nowNs - entries.getLong(e + CONFIRMED) > STALE_LIMIT_NS;
        if (same ? !holdsKey : !(holdsKey || reusable)) {
            entries.putLongRelease(e, seq + 2); // taken for another key meanwhile: lossy, by design
            return;
        }
        entries.putLong(e + TAG, tag);
        entries.putLong(e + HIGH, high);
        entries.putLong(e + LOW, low);
        entries.putLong(e + MAC, mac & 0xFFFF_FFFF_FFFFL);
        entries.putLong(e + CONFIRMED, nowNs);
        entries.putLongRelease(e, seq + 2); // publish the fields
    }

    /**
     * True when an ARP request for {@code ip} on {@code iface} should be sent now (at most one per
     * {@link #REFRESH_INTERVAL_NS} per neighbour, across workers; a racy check is fine: a duplicate request is
     * harmless).
     */
    public boolean shouldRequest(int iface, int ip, long nowNs) {
        return shouldRequest(iface, 0, ip & 0xFFFF_FFFFL, nowNs);
    }

    /** As {@link #shouldRequest(int, int, long)} for a neighbour solicitation. */
    public boolean shouldRequest(int iface, long high, long low, long nowNs) {
        final int slot = home(tag(iface), high, low);
        final long last = lastRequestNs[slot];
        if (last != 0 && nowNs - last < REFRESH_INTERVAL_NS) {
            return false;
        }
        lastRequestNs[slot] = nowNs;
        return true;
    }

    @Override
    public void close() {
        if (!closed) {
            closed = true;
            UnsafeApi.freeMemory(address);
        }
    }
}
