// Remembers which flow a fragmented datagram belongs to, so its later fragments (no ports) follow the first.
package io.nsgate.dataplane.nat;

import org.agrona.UnsafeApi;
import org.agrona.concurrent.UnsafeBuffer;

/**
 * A small lossy cache from (source, destination, protocol, IP id) to the flow of the datagram's first
 * fragment. Non-first fragments carry no ports, so they can only be translated by following the first one
 * (netfilter defragments instead; a forwarder that never reassembles keeps latency and memory flat).
 *
 * <p>Direct-mapped, one 64-byte line per entry, shared by all workers (the kernel's fanout hash of a non-first
 * fragment differs from its first fragment's). Writers take an entry with CAS on its sequence number (odd while
 * writing) and simply give up if another writer holds it; readers copy the entry and re-check the sequence (a
 * seqlock). A lost or overwritten entry only means the datagram's later fragments are dropped and counted
 * ({@code FRAGMENT_NO_FLOW}), as they would be had they arrived first.
 *
 * <pre>
 *  0 seq (long) | 8 src | 12 dst | 16 proto<<16 | id | 20 flow ref (id<<1|dir) | 24 generation | 32 expires ns
 * </pre>
 */
public final class FragmentTable implements AutoCloseable {
    static final int ENTRY = 64;
    /** Fragments of one datagram arrive within this (Linux reassembly waits up to ipfrag_time, 30 s). */
    public static final long ENTRY_LIFETIME_NS = 30_000_000_000L;

    private final int mask;
    private final long address;
    private final UnsafeBuffer entries;
    private boolean closed;

    /** @param entries a power of two */
    public FragmentTable(int entries) {
        if (Integer.bitCount(entries) != 1 || entries < 16) {
            throw new IllegalArgumentException("fragment table size " + entries + " must be a power of two >= 16");
        }
        this.mask = entries - 1;
        int bytes = entries * ENTRY;
        this.address = UnsafeApi.allocateMemory(bytes + 64L);
        this.entries = new UnsafeBuffer((address + 63) & ~63L, bytes);
        this.entries.setMemory(0, bytes, (byte) 0);
    }

    private int slot(int src, int dst, int proto, int ipId) {
        int h = src * 0x9E3779B1 ^ Integer.rotateLeft(dst * 0x85EBCA77, 13) ^ ((proto << 16) | ipId) * 0xC2B2AE3D;
        h ^= h >>> 15;
        return (h & mask) * ENTRY;
    }

    /** Records that datagram (src, dst, proto, ipId) belongs to {@code flowRef}/{@code generation}. */
    public void remember(int src, int dst, int proto, int ipId, int flowRef, int generation, long nowNs) {
        final int e = slot(src, dst, proto, ipId);
        final long seq = entries.getLongVolatile(e);
        if ((seq & 1) != 0 || !entries.compareAndSetLong(e, seq, seq + 1)) {
            return; // another writer holds it: lossy by design
        }
        entries.putInt(e + 8, src);
        entries.putInt(e + 12, dst);
        entries.putInt(e + 16, (proto << 16) | ipId);
        entries.putInt(e + 20, flowRef);
        entries.putInt(e + 24, generation);
        entries.putLong(e + 32, nowNs + ENTRY_LIFETIME_NS);
        entries.putLongRelease(e, seq + 2); // publish the fields
    }

    /**
     * @return {@code (generation << 32) | flowRef} of the datagram's flow, or -1 when unknown or expired
     */
    public long find(int src, int dst, int proto, int ipId, long nowNs) {
        final int e = slot(src, dst, proto, ipId);
        final long seq = entries.getLongAcquire(e);
        if ((seq & 1) != 0 || seq == 0) {
            return -1;
        }
        final boolean match = entries.getInt(e + 8) == src && entries.getInt(e + 12) == dst
            && entries.getInt(e + 16) == ((proto << 16) | ipId) && entries.getLong(e + 32) - nowNs > 0;
        final int ref = entries.getInt(e + 20);
        final int generation = entries.getInt(e + 24);
        UnsafeApi.loadFence();
        if (!match || entries.getLongAcquire(e) != seq) {
            return -1;
        }
        return ((long) generation << 32) | (ref & 0xFFFF_FFFFL);
    }

    @Override
    public void close() {
        if (!closed) {
            closed = true;
            UnsafeApi.freeMemory(address);
        }
    }
}
