// Which MAC answers for which next hop on each interface: the data plane's own ARP cache, shared by workers.
package io.nsgate.dataplane.pipeline;

import org.agrona.UnsafeApi;
import org.agrona.concurrent.UnsafeBuffer;

/**
 * The data plane resolves next hops itself (ARP requests through its own sockets, learning from every ARP frame it
 * sees) rather than asking the kernel, which does not resolve for traffic it does not forward. The daemon seeds it
 * from the kernel's neighbour table at start.
 *
 * <p>Open addressing over 32-byte entries keyed by (interface, IPv4 address), fixed capacity, shared by every
 * worker: an ARP reply may reach any worker's socket (fanout), and the frame waiting for it may sit on another.
 * Lookups are lock-free seqlock reads; writers take an entry's sequence number with CAS (odd while writing).
 * Entries are never emptied, only refreshed or, once stale past {@link #STALE_LIMIT_NS}, reused for another
 * neighbour, so a probe stops at the first empty entry.
 *
 * <pre>
 *  0 seq (long, odd while written) | 8 key: interface << 32 | ip (long) | 16 mac (long, 48 bits) | 24 confirmed ns
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
    private static final int ENTRY = 32;
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

    private static long key(int iface, int ip) {
        // +1 keeps every real key non-zero: 0 marks an empty entry
        return ((long) (iface + 1) << 32) | (ip & 0xFFFF_FFFFL);
    }

    private int home(long key) {
        long h = key * 0x9E37_79B9_7F4A_7C15L;
        return (int) (h >>> 40) & mask;
    }

    /**
     * The MAC of {@code ip} on interface {@code iface}: a value >= 0 (with {@link #STALE_BIT} set when it should be
     * refreshed), or {@link #UNKNOWN}.
     */
    public long lookup(int iface, int ip, long nowNs) {
        final long key = key(iface, ip);
        int i = home(key);
        for (int probe = 0; probe < MAX_PROBE; probe++, i = (i + 1) & mask) {
            final int e = i * ENTRY;
            for (int attempt = 0; attempt < 8; attempt++) {
                final long seq = entries.getLongAcquire(e);
                final long k = entries.getLong(e + 8);
                final long mac = entries.getLong(e + 16);
                final long confirmed = entries.getLong(e + 24);
                UnsafeApi.loadFence();
                if ((seq & 1) != 0 || entries.getLongAcquire(e) != seq) {
                    continue; // being written: read again
                }
                if (k == 0) {
                    return UNKNOWN;
                }
                if (k != key) {
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
        final long key = key(iface, ip);
        int free = -1;
        int i = home(key);
        for (int probe = 0; probe < MAX_PROBE; probe++, i = (i + 1) & mask) {
            final int e = i * ENTRY;
            final long k = entries.getLongVolatile(e + 8);
            if (k == key) {
                write(e, key, mac, nowNs, key);
                return;
            }
            if (k == 0) {
                if (free < 0) {
                    free = e;
                }
                break; // a probe ends at the first empty entry: the key is not further on
            }
            if (free < 0 && nowNs - entries.getLongVolatile(e + 24) > STALE_LIMIT_NS) {
                free = e;
            }
        }
        if (create && free >= 0) {
            write(free, key, mac, nowNs, entries.getLongVolatile(free + 8));
        }
    }

    /** Writes entry {@code e} if it still holds {@code expectedKey} (0 for empty) and no other writer is on it. */
    private void write(int e, long key, long mac, long nowNs, long expectedKey) {
        final long seq = entries.getLongVolatile(e);
        if ((seq & 1) != 0 || !entries.compareAndSetLong(e, seq, seq + 1)) {
            return; // another writer is on it: its answer is as good as ours
        }
        if (entries.getLong(e + 8) != expectedKey) {
            entries.putLongRelease(e, seq + 2); // taken for another key meanwhile: lossy, by design
            return;
        }
        entries.putLong(e + 8, key);
        entries.putLong(e + 16, mac & 0xFFFF_FFFF_FFFFL);
        entries.putLong(e + 24, nowNs);
        entries.putLongRelease(e, seq + 2); // publish the fields
    }

    /**
     * True when an ARP request for {@code ip} on {@code iface} should be sent now (at most one per
     * {@link #REFRESH_INTERVAL_NS} per neighbour, across workers; a racy check is fine: a duplicate request is
     * harmless).
     */
    public boolean shouldRequest(int iface, int ip, long nowNs) {
        final int slot = home(key(iface, ip));
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
