// The connection tracking table: off-heap, fixed capacity, lock-free, found by original or reply tuple.
package io.nsgate.dataplane.conntrack;

import static io.nsgate.dataplane.conntrack.FlowRecord.*;

import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.atomic.LongAdder;

import org.agrona.UnsafeApi;
import org.agrona.concurrent.UnsafeBuffer;

import io.nsgate.dataplane.packet.Checksums;
import io.nsgate.dataplane.packet.IpProtocol;
import io.nsgate.dataplane.packet.TcpHeader;
import io.nsgate.dataplane.packet.TcpSegment;
import io.nsgate.linux.sys.OffHeapMemory;

/**
 * The flow table shared by every worker.
 *
 * <h2>Theory of operation</h2>
 * <p>Two kinds of off-heap arrays. <b>Records</b> ({@link FlowRecord}: 64 bytes, one cache line, with 32 bytes of
 * per-packet counters in a parallel array, so a lookup touches exactly one line) hold a connection's two tuples,
 * its rewrite and state; a record is named by its index, the flow id, and is recycled through a lock-free free
 * list (a Treiber stack whose head carries an ABA stamp). The <b>index</b> maps a tuple to
 * {@code (flow id, direction)}: every flow has two keys, its original tuple (direction 0) and its reply tuple
 * (direction 1), so a packet finds its flow whichever way it travels, and a reply tuple that is already taken
 * cannot be handed out again: that is what makes port allocation atomic with flow insertion.
 *
 * <p>The index is open addressing over 64-byte buckets of eight 8-byte slots, sized at four slots per flow
 * (load at most 0.5 when the table is full), probing at most {@value #MAX_PROBE_BUCKETS} consecutive buckets.
 * A slot is one long:
 * <pre>
 *  63                              32 31                            2 1   0
 * +----------------------------------+-------------------------------+-----+
 * |      tag (32 bits of the hash)   |  flow id (29) | direction (1) |state|
 * +----------------------------------+-------------------------------+-----+
 * </pre>
 * with state EMPTY, INSERTING, MEMBER or TOMBSTONE. The tag lets a probe skip foreign slots without touching
 * their records; the full key is compared in the record. Slots go EMPTY -> INSERTING -> MEMBER -> TOMBSTONE;
 * a TOMBSTONE may be claimed again, and index compaction ({@link #compactIndex}) turns it back to EMPTY when no
 * present key has it before its own slot. Both keep one invariant: no present key has an EMPTY slot before its
 * own in its probe sequence, so a probe may stop at the first EMPTY slot. Each key visits a bucket's slots from
 * a hash-chosen start, so most hits take a single probe.
 *
 * <p><b>Unique insertion without locks</b> (after Purcell and Harris, "Non-blocking hashtables with open
 * addressing"): an inserter claims the first free slot of its probe sequence with CAS as INSERTING, then scans
 * the probe sequence for another INSERTING or MEMBER slot with the same key. A MEMBER means the key exists: it
 * backs off. An INSERTING competitor earlier in the probe sequence wins: it backs off; a later one is killed
 * (CAS to TOMBSTONE). Finally it publishes with CAS INSERTING -> MEMBER, which fails if it was killed. Because
 * both competitors write their slot before scanning (volatile CAS, then volatile reads), at least one sees the
 * other, so two MEMBERs never hold the same key. Nobody waits for anybody: a thread that backs off retries or
 * reports the key as taken.
 *
 * <p><b>Readers</b> never write and never wait. A lookup reads the record's state word, compares the key,
 * copies what the fast path needs into a {@link FlowView}, then re-reads the state word: if the generation
 * moved, the record was recycled under it and the lookup starts again (a seqlock read).
 *
 * <p><b>Expiry</b> is an incremental sweep, never a stop-the-world scan: each worker calls
 * {@link #expire(int, int, long)} on a bounded slice of records per duty cycle ({@code ExpirySweeper}).
 * <b>When full</b>, {@link #insert} evicts an unreplied, unassured flow found in a bounded scan (netfilter's
 * early drop); assured flows are never evicted, so established connections survive a flood of new ones.
 *
 * <p>Memory per connection: a 64-byte record (one cache line), a 64-byte line of counters and TCP window state, and
 * 32 bytes of index = 160 bytes (netfilter's nf_conn is ~300).
 */
public final class FlowTable implements AutoCloseable {
    // ---------------------------------------------------------------- index layout
    static final int SLOT_BYTES = 8;
    static final int SLOTS_PER_BUCKET = 8;
    static final int BUCKET_BYTES = SLOT_BYTES * SLOTS_PER_BUCKET;
    /** Index slots per flow: two keys at load 0.5. */
    static final int SLOTS_PER_FLOW = 4;
    /**
     * Longest probe sequence in buckets (128 slots). Probes stop at the first EMPTY slot, so the bound only matters
     * in the worst case: filling a table of 10M flows to capacity (load 0.5) gives a longest probe of 45-50 slots,
     * and a 64-slot bound refused a key now and then (one fill in six in the JMH runs); past 128 slots the odds are
     * far below one in 10^12 per key.
     */
    public static final int MAX_PROBE_BUCKETS = 16;

    static final int SLOT_EMPTY = 0;
    static final int SLOT_INSERTING = 1;
    static final int SLOT_MEMBER = 2;
    static final int SLOT_TOMBSTONE = 3;
    /**
     * A tombstone the compactor is about to turn EMPTY: free to claim like any tombstone, but an inserter that
     * sees it before its own slot treats it as EMPTY (retries), see {@link #compactIndex}.
     */
    static final long SLOT_EMPTYING = (0x3FFF_FFFFL << 2) | SLOT_TOMBSTONE;

    /** Records scanned for an eviction candidate when the table is full. */
    static final int EVICTION_SCAN = 64;
    /** Windows tried when concurrent evictors keep taking the chosen victim. */
    static final int EVICTION_ROUNDS = 4;
    private static final int NOTHING_EVICTABLE = -1;
    private static final int LOST_RACE = -2;
    /** lastSeen is only rewritten when it moved by more than this, to keep the record's line clean. */
    static final long TOUCH_GRANULARITY_NS = 1_000_000L;
    /** Largest capacity whose records fit one buffer. */
    public static final int MAX_CAPACITY = Integer.MAX_VALUE / FlowRecord.SIZE;

    // ---------------------------------------------------------------- results
    /** {@link #lookup} and {@link #insert}: nothing found / no handle. */
    public static final long NOT_FOUND = -1;
    /** {@link #insert}: a flow with this original tuple already exists (look it up and use it). */
    public static final long ORIG_EXISTS = -2;
    /** {@link #insert}: the reply tuple is taken by another flow (pick another port). */
    public static final long REPLY_TAKEN = -3;
    /** {@link #insert}: no free record and nothing evictable, or the key's probe window is full. */
    public static final long TABLE_FULL = -4;

    /** {@link #onPacket} results. */
    public static final int PACKET_OK = 0;
    /** The segment contradicts the TCP state (netfilter's INVALID); forwarded anyway, liberal. */
    public static final int PACKET_OUT_OF_STATE = 1;
    /** The record was recycled since the lookup. */
    public static final int PACKET_STALE = 2;
    /** The segment lies outside the TCP window ({@link TcpWindow#INVALID}): nothing changed; drop it. */
    public static final int PACKET_OUT_OF_WINDOW = 3;
    /** The window check ignored the segment ({@link TcpWindow#IGNORE}): nothing changed; forward it. */
    public static final int PACKET_IGNORED = 4;

    private static final int KEY_CONFLICT = -1;
    private static final int KEY_FULL = -2;
    private static final int MAX_LOOKUP_RETRIES = 16;
    /** Bytes of the control block: the free list's head and the fresh mark, each on a cache line of its own. */
    public static final int CONTROL_SIZE = 256;
    private static final int FREE_LIST_OFFSET = 64; // own cache line in `control`
    /** The lowest record never handed out: records from here on are taken in order once the free list is empty. */
    private static final int FRESH_OFFSET = 128; // own cache line in `control`

    static {
        // fillView reads the record's byte and short fields word-wide, in native (x86: little-endian) order
        if (java.nio.ByteOrder.nativeOrder() != java.nio.ByteOrder.LITTLE_ENDIAN) {
            throw new ExceptionInInitializerError("FlowTable's record layout assumes a little-endian host");
        }
    }

    private final int capacity;
    private final int buckets;
    /** Buckets in a probe sequence: {@link #MAX_PROBE_BUCKETS}, or every bucket of a smaller index (no slot twice). */
    private final int probeBuckets;
    /** Slots in a probe sequence. */
    private final int window;
    private final long seed;
    private final long epochNs;
    private final OffHeapMemory recordsMemory;
    private final OffHeapMemory countersMemory;
    private final OffHeapMemory indexMemory;
    private final OffHeapMemory controlMemory;
    private final UnsafeBuffer records;
    private final UnsafeBuffer counters;
    private final UnsafeBuffer index;
    private final UnsafeBuffer control;
    private volatile FlowTimeouts timeouts;
    private volatile TcpTracking tcpTracking = TcpTracking.DEFAULTS;
    private volatile boolean closed;

    private final LongAdder inserted = new LongAdder();
    private final LongAdder deleted = new LongAdder();
    private final LongAdder evicted = new LongAdder();
    private final LongAdder probeWindowFull = new LongAdder();

    /**
     * @param capacity  most flows (and mapping records) alive at once, 16 .. {@link #MAX_CAPACITY}
     * @param timeouts  idle timeouts; may be replaced later with {@link #timeouts(FlowTimeouts)}
     * @param epochNs   the clock reading that "created" timestamps are counted from
     */
    public FlowTable(int capacity, FlowTimeouts timeouts, long epochNs) {
        this(capacity, timeouts, epochNs, ThreadLocalRandom.current().nextLong());
    }

    /** As above with a fixed hash seed (tests). Production seeds randomly so tuples cannot be chosen to collide. */
    public FlowTable(int capacity, FlowTimeouts timeouts, long epochNs, long seed) {
        this(capacity, timeouts, epochNs, seed, null, null, null);
    }

    /**
     * A table whose records and per-packet lines live in the given regions ({@link FlowState}'s file) rather than in
     * memory of its own. The regions must be zeroed (a new table) or hold a previous process's table, which
     * {@link #recover} then rebuilds; see there. The index is always new (anonymous, on huge pages). The control
     * region ({@link #CONTROL_SIZE} bytes) keeps the free list's head and the fresh mark, so that a recovery only
     * looks at records that were ever used.
     */
    public FlowTable(int capacity, FlowTimeouts timeouts, long epochNs, long seed, OffHeapMemory recordsRegion,
                     OffHeapMemory countersRegion, OffHeapMemory controlRegion) {
        if (capacity < 16 || capacity > MAX_CAPACITY) {
            throw new IllegalArgumentException(
                "flow table capacity " + capacity + " out of range 16.." + MAX_CAPACITY);
        }
        this.capacity = capacity;
        this.buckets = (int) (((long) capacity * SLOTS_PER_FLOW + SLOTS_PER_BUCKET - 1) / SLOTS_PER_BUCKET);
        this.probeBuckets = Math.min(MAX_PROBE_BUCKETS, buckets);
        this.window = probeBuckets * SLOTS_PER_BUCKET;
        this.seed = seed;
        this.epochNs = epochNs;
        this.timeouts = timeouts;

        int recordBytes = capacity * FlowRecord.SIZE;
        long indexBytes = (long) buckets * BUCKET_BYTES;
        if (indexBytes > Integer.MAX_VALUE) {
            throw new IllegalArgumentException("flow table capacity " + capacity + ": index too large");
        }
        // zeroed by the kernel, on huge pages when it agrees: random lookups over GBs miss the TLB far less
        this.recordsMemory = recordsRegion != null ? recordsRegion
            : OffHeapMemory.allocate(recordBytes, "flow table records");
        this.countersMemory = countersRegion != null ? countersRegion
            : OffHeapMemory.allocate((long) capacity * COUNTERS_SIZE, "flow table counters");
        this.indexMemory = OffHeapMemory.allocate(indexBytes, "flow table index");
        this.controlMemory = controlRegion != null ? controlRegion
            : OffHeapMemory.allocate(CONTROL_SIZE, "flow table control");
        this.records = new UnsafeBuffer(recordsMemory.address(), recordBytes);
        this.counters = new UnsafeBuffer(countersMemory.address(), capacity * COUNTERS_SIZE);
        this.index = new UnsafeBuffer(indexMemory.address(), (int) indexBytes);
        this.control = new UnsafeBuffer(controlMemory.address(), CONTROL_SIZE);

        // Zeroed records are FREE and have never been used: they are handed out from the fresh mark, in address order,
        // once the free list (recycled records) is empty. So a new table costs no pass over its records. (A zeroed
        // control block is that: an empty free list, the fresh mark at 0; a kept one is rebuilt by recover.)
    }

    /**
     * The free list again after {@link #recover}: every FREE record below the last one in use, in address order (links
     * hold id + 1; 0 ends the list); the fresh mark just past that one. Single-threaded.
     */
    private void rebuildFreeList(int used) {
        int fresh = used;
        while (fresh > 0 && records.getLong(offset(fresh - 1) + STATE_WORD_OFFSET) == 0) {
            fresh--; // never used (a used record's generation moved when it was freed, so its word is not 0)
        }
        int next = 0;
        for (int id = fresh - 1; id >= 0; id--) {
            final int rec = offset(id);
            if (recordState(records.getLong(rec + STATE_WORD_OFFSET)) == FREE) {
                records.putInt(rec + LINK_OFFSET, next);
                next = id + 1;
            }
        }
        control.putLongVolatile(FREE_LIST_OFFSET, next); // stamp 0
        control.putLongVolatile(FRESH_OFFSET, fresh);
    }

    // ================================================================= recovery (a previous process's records)

    /** What {@link #recover} kept and dropped. */
    public record Recovery(int flows, int mappings, int dropped) {
    }

    /**
     * Makes the records a previous process left (in a {@link FlowState} file) a working table again: every live flow
     * and endpoint-independent mapping is kept with its tuples, rewrite, counters, TCP window and last-seen time (the
     * monotonic clock runs on across processes of one boot), and the index and free list are built anew. It also
     * mends what a process killed mid-operation leaves: records half inserted (INIT) or half deleted (DYING) are
     * freed, mapping reference counts are counted again from the flows, a flow whose mapping is gone is dropped, and
     * a mapping no flow uses is freed. Single-threaded, before any worker runs.
     *
     * @param egressMap the current index of each interface index the records use ({@code egressMap[old]}), -1 for an
     *                  interface no longer served: its flows are dropped. Indexes past the array's end are gone too.
     */
    public Recovery recover(int[] egressMap) {
        int dropped = 0;
        // records past the fresh mark were never used: nothing to look at there
        final int used = (int) Math.max(0, Math.min(capacity, control.getLongVolatile(FRESH_OFFSET)));
        // 1. finish what a killed process left half done; renumber the interfaces; zero the mapping references
        for (int id = 0; id < used; id++) {
            final int rec = offset(id);
            final long word = records.getLong(rec + STATE_WORD_OFFSET);
            final int state = recordState(word);
            if (state == FREE) {
                continue;
            }
            if (state != LIVE) {
                retire(id, generation(word));
                dropped++;
                continue;
            }
            if ((records.getByte(rec + NAT_FLAGS_OFFSET) & KIND_MAPPING) != 0) {
                records.putLong(rec + STATE_WORD_OFFSET, withFlags(word, 0));
                continue;
            }
            final int orig = remap(egressMap, records.getByte(rec + EGRESS_ORIG_OFFSET) & 0xFF);
            final int reply = remap(egressMap, records.getByte(rec + EGRESS_REPLY_OFFSET) & 0xFF);
            if (orig < 0 || reply < 0) {
                retire(id, generation(word));
                dropped++;
                continue;
            }
            records.putByte(rec + EGRESS_ORIG_OFFSET, (byte) orig);
            records.putByte(rec + EGRESS_REPLY_OFFSET, (byte) reply);
        }
        // 2. the index: both keys of every live record (a duplicate key, which no table makes, drops the second)
        for (int id = 0; id < used; id++) {
            final int rec = offset(id);
            final long word = records.getLong(rec + STATE_WORD_OFFSET);
            if (recordState(word) != LIVE) {
                continue;
            }
            final int proto = records.getByte(rec + PROTO_OFFSET) & 0xFF;
            final int replySlot = insertKey(hash(proto, records.getInt(rec + REPLY_SRC_IP_OFFSET),
                records.getInt(rec + REPLY_DST_IP_OFFSET), records.getInt(rec + REPLY_PORTS_OFFSET)), proto,
                records.getInt(rec + REPLY_SRC_IP_OFFSET), records.getInt(rec + REPLY_DST_IP_OFFSET),
                records.getInt(rec + REPLY_PORTS_OFFSET), id, 1);
            if (replySlot < 0) {
                retire(id, generation(word));
                dropped++;
                continue;
            }
            final int origSlot = insertKey(hash(proto, records.getInt(rec + ORIG_SRC_IP_OFFSET),
                records.getInt(rec + ORIG_DST_IP_OFFSET), records.getInt(rec + ORIG_PORTS_OFFSET)), proto,
                records.getInt(rec + ORIG_SRC_IP_OFFSET), records.getInt(rec + ORIG_DST_IP_OFFSET),
                records.getInt(rec + ORIG_PORTS_OFFSET), id, 0);
            if (origSlot < 0) {
                tombstone(replySlot, id, 1);
                retire(id, generation(word));
                dropped++;
            }
        }
        // 3. mapping references, counted from the flows that hold them
        for (int id = 0; id < used; id++) {
            final int rec = offset(id);
            final long word = records.getLong(rec + STATE_WORD_OFFSET);
            final int link = records.getInt(rec + LINK_OFFSET);
            if (recordState(word) != LIVE || (records.getByte(rec + NAT_FLAGS_OFFSET) & KIND_MAPPING) != 0
                || link <= 0) {
                continue;
            }
            final int mapping = link - 1;
            final long mappingWord = mapping < capacity ? records.getLong(offset(mapping) + STATE_WORD_OFFSET) : 0;
            if (mapping >= capacity || recordState(mappingWord) != LIVE
                || (records.getByte(offset(mapping) + NAT_FLAGS_OFFSET) & KIND_MAPPING) == 0
                || refCount(mappingWord) >= 0xFFFF) {
                records.putInt(rec + LINK_OFFSET, 0); // the mapping is not there: the flow goes, its port with it
                deleteWord(id, word, false);
                dropped++;
                continue;
            }
            records.putLong(offset(mapping) + STATE_WORD_OFFSET, withFlags(mappingWord, refCount(mappingWord) + 1));
        }
        // 4. mappings no flow holds any more
        int flows = 0;
        int mappings = 0;
        for (int id = 0; id < used; id++) {
            final int rec = offset(id);
            final long word = records.getLong(rec + STATE_WORD_OFFSET);
            if (recordState(word) != LIVE) {
                continue;
            }
            if ((records.getByte(rec + NAT_FLAGS_OFFSET) & KIND_MAPPING) == 0) {
                flows++;
            } else if (refCount(word) == 0) {
                deleteWord(id, word, false);
            } else {
                mappings++;
            }
        }
        rebuildFreeList(used);
        inserted.reset();
        deleted.reset();
        evicted.reset();
        inserted.add(flows + mappings);
        return new Recovery(flows, mappings, dropped);
    }

    private static int remap(int[] egressMap, int index) {
        return index < egressMap.length ? egressMap[index] : -1;
    }

    public int capacity() {
        return capacity;
    }

    public FlowTimeouts timeouts() {
        return timeouts;
    }

    /** Replaces the timeouts; applies to every flow from its next expiry check. */
    public void timeouts(FlowTimeouts timeouts) {
        this.timeouts = timeouts;
    }

    /** True when the table's memory is backed by transparent huge pages. */
    public boolean hugePages() {
        return recordsMemory.hugePages() && indexMemory.hugePages();
    }

    /** Bytes of off-heap memory per connection (record + index share). */
    public static int bytesPerConnection() {
        return FlowRecord.SIZE + FlowRecord.COUNTERS_SIZE + SLOTS_PER_FLOW * SLOT_BYTES;
    }

    /** Flows and mappings currently allocated (approximate while writers run). */
    public long size() {
        return inserted.sum() - deleted.sum();
    }

    public long insertedTotal() {
        return inserted.sum();
    }

    public long deletedTotal() {
        return deleted.sum();
    }

    public long evictedTotal() {
        return evicted.sum();
    }

    /** Insertions refused because a key's whole probe window was taken (should stay 0 at load <= 0.5). */
    public long probeWindowFullTotal() {
        return probeWindowFull.sum();
    }

    // ================================================================= handles

    /** Packs a flow id and the generation it was seen with. */
    public static long handle(int flowId, int generation) {
        return ((long) (generation & 0x7FFF_FFFF) << 32) | (flowId & 0xFFFF_FFFFL);
    }

    public static int flowIdOf(long handle) {
        return (int) handle;
    }

    public static int generationOf(long handle) {
        return (int) (handle >>> 32);
    }

    // ================================================================= hashing

    long hash(int proto, int srcIp, int dstIp, int ports) {
        long a = ((long) srcIp << 32) | (dstIp & 0xFFFF_FFFFL);
        long b = ((long) ports << 32) | (proto & 0xFF);
        long h = seed ^ (a * 0x9E37_79B9_7F4A_7C15L);
        h = Long.rotateLeft(h, 29) + b * 0xC2B2_AE3D_27D4_EB4FL;
        h ^= h >>> 32;
        h *= 0xD6E8_FEB8_6659_FD93L;
        h ^= h >>> 32;
        return h;
    }

    /**
     * Home bucket and start slot come from the 32-bit tag a slot stores, so the index can be reasoned about from
     * its slots alone ({@link #compactIndex}): the bucket from the tag's high bits, the start from its low bits.
     */
    private int homeBucket(long hash) {
        return (int) (((hash & 0xFFFF_FFFFL) * buckets) >>> 32);
    }

    private int homeBucketOfTag(int tag) {
        return (int) (((tag & 0xFFFF_FFFFL) * buckets) >>> 32);
    }

    private static int slotState(long slot) {
        return (int) (slot & 3);
    }

    private static int slotTag(long slot) {
        return (int) (slot >>> 32);
    }

    private static int slotRef(long slot) {
        return (int) ((slot >>> 2) & 0x3FFF_FFFF);
    }

    private static long slotValue(int tag, int ref, int state) {
        return ((long) tag << 32) | ((long) ref << 2) | state;
    }

    /** First slot a key visits in each bucket: spreads keys over a bucket's slots so most hits take one probe. */
    private static int startSlot(long hash) {
        return (int) hash & (SLOTS_PER_BUCKET - 1);
    }

    /**
     * Byte offset of the i-th slot of a key's probe sequence: buckets home, home+1, ... and in each bucket the
     * slots from {@code start} round. The sequence is fixed per key, which is all the insertion protocol needs.
     */
    private int probeOffset(int home, int start, int i) {
        int bucket = home + i / SLOTS_PER_BUCKET;
        if (bucket >= buckets) {
            bucket -= buckets;
        }
        return bucket * BUCKET_BYTES + ((start + i) & (SLOTS_PER_BUCKET - 1)) * SLOT_BYTES;
    }

    // ================================================================= lookup (fast path)

    /**
     * Finds the flow a packet with this tuple belongs to and copies the rewrite for its direction into
     * {@code view}. Lock-free, allocation-free.
     *
     * @return the flow's handle, or {@link #NOT_FOUND}
     */
    public long lookup(int proto, int srcIp, int dstIp, int srcPort, int dstPort, FlowView view) {
        final int ports = ports(srcPort, dstPort);
        return lookup(hash(proto, srcIp, dstIp, ports), proto, srcIp, dstIp, ports, view);
    }

    // ---------------------------------------------------------------- batched lookups
    //
    // A lone lookup in a table of millions pays two DRAM misses (index bucket, then record) back to back. A
    // worker holding a block of frames does better in three passes: hashKey + touchBucket for every frame, then
    // touchRecord for every frame, then lookup(hash, ...) for every frame. The touches are plain loads whose
    // results the caller folds into a sink; they are independent, so the CPU keeps many of them in flight and
    // the final lookups hit the cache (VPP's prefetch stages, without a prefetch instruction).

    /** The hash of a key, for {@link #touchBucket}, {@link #touchRecord} and {@link #lookup(long, int, int, int,
     *  int, int, FlowView)}. */
    public long hashKey(int proto, int srcIp, int dstIp, int srcPort, int dstPort) {
        return hash(proto, srcIp, dstIp, ports(srcPort, dstPort));
    }

    /** Batch pass 1: loads the key's home bucket. Fold the result into a sink so the load is kept. */
    public long touchBucket(long hash) {
        return index.getLong(probeOffset(homeBucket(hash), startSlot(hash), 0));
    }

    /** Batch pass 2: loads the record of the first live slot in the home bucket whose tag matches. */
    public long touchRecord(long hash) {
        return touchRecord(hash, false);
    }

    /**
     * Batch pass 2 for a packet about to be forwarded: the record as {@link #touchRecord(long)} does, and its
     * counters, which the packet's accounting then writes.
     */
    public long touchRecordAndCounters(long hash) {
        return touchRecord(hash, true);
    }

    private long touchRecord(long hash, boolean andCounters) {
        final int home = homeBucket(hash);
        final int start = startSlot(hash);
        final int tag = (int) hash;
        for (int i = 0; i < SLOTS_PER_BUCKET; i++) {
            final long slot = index.getLong(probeOffset(home, start, i));
            if (slotState(slot) == SLOT_MEMBER && slotTag(slot) == tag) {
                final int id = slotRef(slot) >>> 1;
                final long word = records.getLong(offset(id) + ORIG_SRC_IP_OFFSET);
                return andCounters ? word ^ counters.getLong(countersOffset(id)) : word;
            }
            if (slotState(slot) == SLOT_EMPTY) {
                return 0;
            }
        }
        return 0;
    }

    /** Batch pass 3 (or any lookup whose hash is known): as {@link #lookup(int, int, int, int, int, FlowView)}. */
    public long lookup(long hash, int proto, int srcIp, int dstIp, int srcPort, int dstPort, FlowView view) {
        return lookup(hash, proto, srcIp, dstIp, ports(srcPort, dstPort), view);
    }

    private long lookup(long h, int proto, int srcIp, int dstIp, int ports, FlowView view) {
        final int home = homeBucket(h);
        final int start = startSlot(h);
        final int tag = (int) h;
        for (int attempt = 0; attempt < MAX_LOOKUP_RETRIES; attempt++) {
            long result = probe(home, start, tag, proto, srcIp, dstIp, ports, view);
            if (result != RETRY) {
                return result;
            }
        }
        return NOT_FOUND;
    }

    private static final long RETRY = Long.MIN_VALUE;

    private long probe(int home, int start, int tag, int proto, int srcIp, int dstIp, int ports, FlowView view) {
        for (int i = 0; i < window; i++) {
            final long slot = index.getLongAcquire(probeOffset(home, start, i));
            final int state = slotState(slot);
            if (state != SLOT_MEMBER) {
                if (state == SLOT_EMPTY) {
                    return NOT_FOUND; // no present key has an EMPTY slot before its own (compaction keeps it so)
                }
                continue;
            }
            if (slotTag(slot) != tag) {
                continue;
            }
            final int ref = slotRef(slot);
            final int id = ref >>> 1;
            final int direction = ref & 1;
            final int rec = offset(id);
            final long before = records.getLongAcquire(rec + STATE_WORD_OFFSET);
            final int recordState = recordState(before);
            if ((recordState != LIVE && recordState != DYING)
                || !keyEquals(records, rec, direction, proto, srcIp, dstIp, ports)) {
                continue;
            }
            if (view != null) {
                fillView(rec, id, direction, before, view);
            }
            UnsafeApi.loadFence(); // the copies above happen before the generation re-check
            final long after = records.getLongAcquire(rec + STATE_WORD_OFFSET);
            if (generation(after) != generation(before)) {
                return RETRY; // recycled while we read it
            }
            return handle(id, generation(before));
        }
        return NOT_FOUND;
    }

    private void fillView(int rec, int id, int direction, long word, FlowView view) {
        // word-wide reads (native byte order): protocol, egress orig/reply, NAT flags; both checksum deltas
        final int misc = records.getInt(rec + PROTO_OFFSET);
        final int deltas = records.getInt(rec + IP_DELTA_OFFSET);
        view.flowId = id;
        view.generation = generation(word);
        view.direction = direction;
        view.proto = misc & 0xFF;
        view.natFlags = misc >>> 24;
        view.protoState = protoState(word);
        view.flags = flags(word);
        if (direction == 0) {
            final int replyPorts = records.getInt(rec + REPLY_PORTS_OFFSET);
            view.newSrcIp = records.getInt(rec + REPLY_DST_IP_OFFSET);
            view.newDstIp = records.getInt(rec + REPLY_SRC_IP_OFFSET);
            view.newSrcPort = dstPortOf(replyPorts);
            view.newDstPort = srcPortOf(replyPorts);
            view.ipDelta = deltas & 0xFFFF;
            view.l4Delta = deltas >>> 16;
            view.egressInterface = (misc >>> 8) & 0xFF;
            view.ingressInterface = (misc >>> 16) & 0xFF;
            view.nextHopIp = records.getInt(rec + NEXT_HOP_ORIG_OFFSET);
        } else {
            final int origPorts = records.getInt(rec + ORIG_PORTS_OFFSET);
            view.newSrcIp = records.getInt(rec + ORIG_DST_IP_OFFSET);
            view.newDstIp = records.getInt(rec + ORIG_SRC_IP_OFFSET);
            view.newSrcPort = dstPortOf(origPorts);
            view.newDstPort = srcPortOf(origPorts);
            view.ipDelta = ~deltas & 0xFFFF; // one's-complement negation: the inverse rewrite
            view.l4Delta = (~deltas >>> 16) & 0xFFFF;
            view.egressInterface = (misc >>> 16) & 0xFF;
            view.ingressInterface = (misc >>> 8) & 0xFF;
            view.nextHopIp = records.getInt(rec + NEXT_HOP_REPLY_OFFSET);
        }
    }

    /**
     * Copies the rewrite of flow {@code handle} for {@code direction} into {@code view}, if the flow is still
     * that generation (fragments and ICMP errors reach their flow this way).
     */
    public boolean view(long handle, int direction, FlowView view) {
        final int id = flowIdOf(handle);
        if (id < 0 || id >= capacity) {
            return false;
        }
        final int rec = offset(id);
        final long before = records.getLongAcquire(rec + STATE_WORD_OFFSET);
        final int recordState = recordState(before);
        if ((recordState != LIVE && recordState != DYING) || generation(before) != generationOf(handle)) {
            return false;
        }
        fillView(rec, id, direction, before, view);
        return isCurrent(handle);
    }

    /**
     * Whether flow {@code handle} is still that generation: what was read about it since its lookup (a load fence
     * orders those reads first) belonged to it, not to a flow that took its record since.
     */
    public boolean isCurrent(long handle) {
        UnsafeApi.loadFence();
        final long word = records.getLongAcquire(offset(flowIdOf(handle)) + STATE_WORD_OFFSET);
        return generation(word) == generationOf(handle);
    }

    /** True when a live flow or mapping holds this key (a probe for port allocation). */
    public boolean contains(int proto, int srcIp, int dstIp, int srcPort, int dstPort) {
        return lookup(proto, srcIp, dstIp, srcPort, dstPort, null) != NOT_FOUND;
    }

    // ================================================================= per-packet state

    /**
     * Accounts a packet to the flow {@code view} describes and advances its protocol state: TCP per netfilter's
     * table ({@link TcpState}) and window ({@link TcpWindow}), UDP/ICMP "replied" on the first reply. Counters and
     * last-seen are single-writer per direction (see {@link FlowRecord}); state changes are CAS on the state word,
     * checked against the generation.
     *
     * <p>TCP, as {@code nf_conntrack_tcp_packet}: a segment that contradicts the state changes nothing
     * ({@link #PACKET_OUT_OF_STATE}); one outside the window changes nothing and is refused
     * ({@link #PACKET_OUT_OF_WINDOW}) unless the tracking is liberal; one the window check ignores changes nothing
     * ({@link #PACKET_IGNORED}). A RST in the window closes an established, assured connection only when its sequence
     * number is exact (RFC 5961 3.2); otherwise it passes, for the receiver's challenge ACK, and only shortens the
     * flow's timeout to CLOSE's until the next segment.
     *
     * @param segment the TCP segment (its flags, sequence space and options); ignored for other protocols
     * @return {@link #PACKET_OK}, {@link #PACKET_OUT_OF_STATE}, {@link #PACKET_OUT_OF_WINDOW},
     *     {@link #PACKET_IGNORED} or {@link #PACKET_STALE}
     */
    public int onPacket(FlowView view, TcpSegment segment, int bytes, long nowNs) {
        final int rec = offset(view.flowId);
        final int direction = view.direction;
        final int stateWordOffset = rec + STATE_WORD_OFFSET;
        long word = records.getLongVolatile(stateWordOffset);
        if (generation(word) != view.generation) {
            return PACKET_STALE;
        }
        final boolean tcp = view.proto == IpProtocol.TCP;
        final int tcpFlags = tcp ? segment.flags : 0;
        boolean keepState = false;
        boolean ignored = false;
        int firstNext = NO_STATE; // the TCP transition judged below, reused by the loop's first pass
        if (tcp) {
            final int state = protoState(word);
            final int next = TcpState.next(state, direction, tcpFlags);
            if (next == TcpState.INVALID) {
                account(rec, view, bytes, nowNs); // forwarded all the same (liberal)
                return PACKET_OUT_OF_STATE;
            }
            firstNext = next;
            if (next == TcpState.IGNORE) {
                // netfilter's ignored segments (a SYN on an established connection, a retransmitted SYN/ACK): passed,
                // for the endpoint to answer (a challenge ACK); no window check and no state change
                ignored = true;
            } else {
                final int windowBase = countersOffset(view.flowId) + WINDOW_OFFSET;
                if (next == TcpState.SYN_SENT && (state == TcpState.TIME_WAIT || state == TcpState.CLOSE)) {
                    TcpWindow.init(counters, windowBase, 0); // reopened: a new connection's sequence space
                }
                // judged before the check, which moves the sender's end to the RST's
                keepState = (tcpFlags & TcpHeader.RST) != 0 && state == TcpState.ESTABLISHED
                    && (flags(word) & FLAG_ASSURED) != 0
                    && !TcpWindow.isExactReset(counters, windowBase, direction, segment.seq);
                final int verdict = TcpWindow.check(counters, windowBase, direction, state, segment,
                    tcpTracking.liberal());
                if (verdict == TcpWindow.INVALID) {
                    return PACKET_OUT_OF_WINDOW; // refused: neither counted nor keeping the flow alive, as in netfilter
                }
                ignored = verdict == TcpWindow.IGNORE;
            }
        }
        account(rec, view, bytes, nowNs);
        final int result = ignored ? PACKET_IGNORED : PACKET_OK;
        while (true) {
            final int state = protoState(word);
            final int flags = flags(word);
            int nextState = state;
            int nextFlags = flags | (direction == 1 ? FLAG_REPLIED : 0);
            if (tcp && !ignored) {
                final int next = firstNext != NO_STATE ? firstNext : TcpState.next(state, direction, tcpFlags);
                firstNext = NO_STATE; // a failed CAS reloaded the word: judge again
                if (next == TcpState.INVALID) {
                    return PACKET_OUT_OF_STATE; // another worker moved the state meanwhile
                }
                if (keepState) {
                    nextFlags |= FLAG_RST_SEEN;
                } else {
                    nextFlags &= ~FLAG_RST_SEEN;
                    if (next != TcpState.IGNORE) {
                        nextState = next;
                        if (next == TcpState.SYN_SENT && (state == TcpState.TIME_WAIT || state == TcpState.CLOSE)) {
                            nextFlags = 0; // reopened (RFC 1122): a new connection on the same tuple
                        } else if (next >= TcpState.ESTABLISHED && next <= TcpState.TIME_WAIT
                            && (nextFlags & FLAG_REPLIED) != 0) {
                            nextFlags |= FLAG_ASSURED;
                        }
                    }
                }
            } else if (!tcp && (nextFlags & FLAG_REPLIED) != 0) {
                nextFlags |= FLAG_ASSURED;
            }
            if (nextState == state && nextFlags == flags) {
                return result; // the common case: no write to the state word
            }
            final long updated = withFlags(withProtoState(word, nextState), nextFlags);
            if (records.compareAndSetLong(stateWordOffset, word, updated)) {
                view.protoState = nextState;
                view.flags = nextFlags;
                return result;
            }
            word = records.getLongVolatile(stateWordOffset);
            if (generation(word) != view.generation) {
                return PACKET_STALE;
            }
        }
    }

    private static final int NO_STATE = -1;

    /** Counts a packet to its direction of the flow and marks the flow seen (release stores: the control socket reads). */
    private void account(int rec, FlowView view, int bytes, long nowNs) {
        final int c = countersOffset(view.flowId) + (view.direction == 0 ? ORIG_PACKETS_OFFSET : REPLY_PACKETS_OFFSET);
        counters.putLongRelease(c, counters.getLong(c) + 1);
        counters.putLongRelease(c + 8, counters.getLong(c + 8) + bytes);
        final long last = records.getLong(rec + LAST_SEEN_OFFSET);
        if (nowNs - last > TOUCH_GRANULARITY_NS) {
            records.putLongRelease(rec + LAST_SEEN_OFFSET, nowNs);
        }
    }

    /**
     * Whether an ICMP error quoting a TCP segment with sequence number {@code seq}, sent in {@code senderDirection} of
     * the flow {@code view} describes, is about a segment that direction sent lately
     * ({@link TcpWindow#isQuotedInWindow});
     * always true when the tracking is liberal.
     */
    public boolean quotedSegmentInWindow(FlowView view, int senderDirection, int seq) {
        return tcpTracking.liberal() || TcpWindow.isQuotedInWindow(counters,
            countersOffset(view.flowId) + WINDOW_OFFSET, senderDirection, seq);
    }

    /** The TCP tracking policy in force (liberal windows, mid-stream pickup). */
    public TcpTracking tcpTracking() {
        return tcpTracking;
    }

    /** Replaces the TCP tracking policy; applies to the next packet. */
    public void tcpTracking(TcpTracking tracking) {
        this.tcpTracking = java.util.Objects.requireNonNull(tracking, "tracking");
    }

    // ================================================================= insertion (slow path)

    /**
     * Creates a flow (or, with {@code FlowRecord.KIND_MAPPING}, a mapping record) from {@code draft}: takes a
     * free record (evicting an unreplied flow when full), publishes the reply key, then the original key.
     * When it succeeds and {@code view} is not null, {@code view} describes the new flow's original direction.
     *
     * @return the new handle, or {@link #ORIG_EXISTS}, {@link #REPLY_TAKEN}, {@link #TABLE_FULL}
     */
    public long insert(FlowDraft draft, long nowNs, FlowView view) {
        return insert(draft, nowNs, view, null);
    }

    /** Writes what a record keeps beside the table (IPv6 addresses, {@link FlowTable6}) before the flow goes live. */
    @FunctionalInterface
    public interface BeforePublish {
        /** Called once per successful record allocation, before the flow's keys can be found. */
        void write(int flowId);
    }

    /**
     * As {@link #insert(FlowDraft, long, FlowView)}, calling {@code beforePublish} with the new record's id after its
     * fields are written and before any lookup can find it (a lookup that finds it sees what the callback wrote).
     */
    public long insert(FlowDraft draft, long nowNs, FlowView view, BeforePublish beforePublish) {
        final boolean mapping = (draft.natFlags & KIND_MAPPING) != 0;
        final int proto = mapping ? draft.proto | MAPPING_PROTO_BIT : draft.proto;
        final int origPorts = ports(draft.origSrcPort, draft.origDstPort);
        final int replyPorts = ports(draft.replySrcPort, draft.replyDstPort);
        final long origHash = hash(proto, draft.origSrcIp, draft.origDstIp, origPorts);
        final long replyHash = hash(proto, draft.replySrcIp, draft.replyDstIp, replyPorts);
        // Both home buckets and the free list's head record and counters are loaded up front, side by side: in a
        // large table each is a cache miss, and issued together they overlap instead of following one another.
        keep(touchBucket(origHash) ^ touchBucket(replyHash) ^ touchFreeHead());
        // A taken reply tuple is the common failure while probing ports: answer it without claiming a slot.
        if (lookup(replyHash, proto, draft.replySrcIp, draft.replyDstIp, replyPorts, null) != NOT_FOUND) {
            return REPLY_TAKEN;
        }
        final int id = allocate(origHash);
        if (id < 0) {
            return TABLE_FULL;
        }
        final int rec = offset(id);
        final int generation = generation(records.getLongVolatile(rec + STATE_WORD_OFFSET));
        writeRecord(rec, draft, proto, origPorts, replyPorts, mapping, nowNs);
        if (beforePublish != null) {
            beforePublish.write(id);
        }
        // INIT while its keys go in: lookups skip it, expiry and eviction leave it alone
        records.putLongRelease(rec + STATE_WORD_OFFSET, stateWord(generation, 0, draft.protoState, INIT));

        final int replySlot = insertKey(replyHash, proto, draft.replySrcIp, draft.replyDstIp, replyPorts, id, 1);
        if (replySlot < 0) {
            release(id, generation);
            return replySlot == KEY_FULL ? TABLE_FULL : REPLY_TAKEN;
        }
        final int origSlot = insertKey(origHash, proto, draft.origSrcIp, draft.origDstIp, origPorts, id, 0);
        if (origSlot < 0) {
            tombstone(replySlot, id, 1);
            release(id, generation);
            return origSlot == KEY_FULL ? TABLE_FULL : ORIG_EXISTS;
        }
        // release: the fields and both keys are in place before anyone may treat the flow as live
        records.putLongRelease(rec + STATE_WORD_OFFSET,
            stateWord(generation, mapping ? 1 : 0, draft.protoState, LIVE));
        inserted.increment();
        if (view != null) {
            fillView(rec, id, 0, records.getLongVolatile(rec + STATE_WORD_OFFSET), view);
        }
        return handle(id, generation);
    }

    private void writeRecord(int rec, FlowDraft d, int proto, int origPorts, int replyPorts, boolean mapping,
                             long nowNs) {
        records.putInt(rec + ORIG_SRC_IP_OFFSET, d.origSrcIp);
        records.putInt(rec + ORIG_DST_IP_OFFSET, d.origDstIp);
        records.putInt(rec + ORIG_PORTS_OFFSET, origPorts);
        records.putInt(rec + REPLY_SRC_IP_OFFSET, d.replySrcIp);
        records.putInt(rec + REPLY_DST_IP_OFFSET, d.replyDstIp);
        records.putInt(rec + REPLY_PORTS_OFFSET, replyPorts);
        records.putByte(rec + PROTO_OFFSET, (byte) proto);
        records.putByte(rec + EGRESS_ORIG_OFFSET, (byte) d.egressOrig);
        records.putByte(rec + EGRESS_REPLY_OFFSET, (byte) d.egressReply);
        records.putByte(rec + NAT_FLAGS_OFFSET, (byte) d.natFlags);
        // original direction rewrite: src := reply dst, dst := reply src, sport := reply dport, dport := reply sport
        int ipDelta = 0;
        int l4Delta = 0;
        if (!mapping) {
            // the addresses' delta: IPv4's header checksum, and every pseudo header (an IPv6 table gives its own)
            ipDelta = d.addressDelta >= 0 ? d.addressDelta : Checksums.addDeltas(
                Checksums.delta32(d.origSrcIp, d.replyDstIp), Checksums.delta32(d.origDstIp, d.replySrcIp));
            final int portDelta = Checksums.addDeltas(
                Checksums.delta16(d.origSrcPort, d.replyDstPort), Checksums.delta16(d.origDstPort, d.replySrcPort));
            // TCP and UDP checksums cover the pseudo header (addresses); ICMP's covers only the identifier
            l4Delta = d.proto == 1 ? portDelta : Checksums.addDeltas(ipDelta, portDelta);
        }
        records.putShort(rec + IP_DELTA_OFFSET, (short) ipDelta);
        records.putShort(rec + L4_DELTA_OFFSET, (short) l4Delta);
        records.putInt(rec + NEXT_HOP_ORIG_OFFSET, d.nextHopOrig);
        records.putInt(rec + NEXT_HOP_REPLY_OFFSET, d.nextHopReply);
        records.putLong(rec + LAST_SEEN_OFFSET, nowNs);
        records.putInt(rec + LINK_OFFSET, d.mappingId + 1);
        records.putInt(rec + CREATED_OFFSET, (int) ((nowNs - epochNs) / 1_000_000_000L));
        final int c = countersOffset(rec / SIZE);
        counters.putLong(c + ORIG_PACKETS_OFFSET, 0);
        counters.putLong(c + ORIG_BYTES_OFFSET, 0);
        counters.putLong(c + REPLY_PACKETS_OFFSET, 0);
        counters.putLong(c + REPLY_BYTES_OFFSET, 0);
        TcpWindow.init(counters, c + WINDOW_OFFSET, d.windowFlags);
    }

    /**
     * Claims, validates and publishes one key for {@code (id, direction)}.
     *
     * @return the key's position in its probe sequence (>= 0), {@link #KEY_CONFLICT} or {@link #KEY_FULL}
     */
    private int insertKey(long hash, int proto, int srcIp, int dstIp, int ports, int id, int direction) {
        final int home = homeBucket(hash);
        final int start = startSlot(hash);
        final int tag = (int) hash;
        final int ref = (id << 1) | direction;
        final long mine = slotValue(tag, ref, SLOT_INSERTING);

        attempt:
        while (true) {
            // 1. claim the first free slot of the probe sequence, unless the key is already there
            int firstFree = -1;
            for (int i = 0; i < window; i++) {
                final long slot = index.getLongVolatile(probeOffset(home, start, i));
                final int state = slotState(slot);
                if (state == SLOT_EMPTY) {
                    if (firstFree < 0) {
                        firstFree = i;
                    }
                    break; // no key was ever placed past the first empty slot
                }
                if (state == SLOT_TOMBSTONE) {
                    if (firstFree < 0) {
                        firstFree = i;
                    }
                } else if (slotTag(slot) == tag && sameKey(slotRef(slot), proto, srcIp, dstIp, ports)) {
                    return KEY_CONFLICT;
                }
            }
            if (firstFree < 0) {
                probeWindowFull.increment();
                return KEY_FULL;
            }
            final int claimedOffset = probeOffset(home, start, firstFree);
            final long current = index.getLongVolatile(claimedOffset);
            final int currentState = slotState(current);
            if ((currentState != SLOT_EMPTY && currentState != SLOT_TOMBSTONE)
                || !index.compareAndSetLong(claimedOffset, current, mine)) {
                continue; // lost the slot to another inserter: scan again
            }
            final int claimed = firstFree;

            // 2. validate. Before our slot every position must still be taken (an EMPTY or EMPTYING one means the
            //    compactor may cut our key off: retry). Anywhere, no other INSERTING or MEMBER slot may hold the
            //    same key. No competitor lies past the first EMPTY slot after ours.
            validate:
            for (int i = 0; i < window; i++) {
                if (i == claimed) {
                    continue;
                }
                final int offset = probeOffset(home, start, i);
                while (true) {
                    final long slot = index.getLongVolatile(offset);
                    final int state = slotState(slot);
                    if (i < claimed && (state == SLOT_EMPTY || slot == SLOT_EMPTYING)) {
                        abandon(claimedOffset, mine);
                        continue attempt;
                    }
                    if (state == SLOT_EMPTY) {
                        break validate;
                    }
                    if (state == SLOT_TOMBSTONE || slotTag(slot) != tag
                        || !sameKey(slotRef(slot), proto, srcIp, dstIp, ports)) {
                        break;
                    }
                    if (state == SLOT_MEMBER || i < claimed) {
                        abandon(claimedOffset, mine); // the key exists, or an earlier competitor wins
                        return KEY_CONFLICT;
                    }
                    // a later competitor loses: kill it (it notices when its publish CAS fails)
                    if (index.compareAndSetLong(offset, slot, (slot & ~3L) | SLOT_TOMBSTONE)) {
                        break;
                    }
                }
            }

            // 3. publish; fails if an earlier competitor killed us
            if (!index.compareAndSetLong(claimedOffset, mine, slotValue(tag, ref, SLOT_MEMBER))) {
                return KEY_CONFLICT;
            }
            return claimed;
        }
    }

    // ================================================================= index compaction

    /**
     * Turns tombstones in buckets {@code [fromBucket, toBucket)} back into EMPTY slots where no key depends on
     * them, so that probes stay short under churn (without it, every delete leaves a tombstone and a busy table
     * ends up with no EMPTY slot: every miss and insert then scans the whole probe window).
     *
     * <p>A tombstone at position p may become EMPTY only if no present key (INSERTING or MEMBER) has p before
     * its own slot in its probe sequence; home bucket and start slot come from each slot's tag, so this needs
     * no record reads. Concurrent safety is a Dekker pairing: the compactor first marks p EMPTYING, then scans;
     * an inserter first claims its slot, then re-reads its prefix and retries if it meets EMPTY or EMPTYING. One
     * of them always sees the other. Keys inserted while p was already a tombstone never pass p: an inserter
     * takes the first free slot.
     *
     * @return tombstones turned EMPTY
     */
    public int compactIndex(int fromBucket, int toBucket) {
        int cleaned = 0;
        final int end = Math.min(toBucket, buckets);
        for (int b = Math.max(0, fromBucket); b < end; b++) {
            final int base = b * BUCKET_BYTES;
            for (int j = 0; j < SLOTS_PER_BUCKET; j++) {
                final int offset = base + j * SLOT_BYTES;
                final long slot = index.getLongVolatile(offset);
                if (slotState(slot) != SLOT_TOMBSTONE || slot == SLOT_EMPTYING
                    || !index.compareAndSetLong(offset, slot, SLOT_EMPTYING)) {
                    continue;
                }
                if (neededByAPresentKey(b, j)) {
                    index.compareAndSetLong(offset, SLOT_EMPTYING, slot); // keep the tombstone (unless claimed)
                } else if (index.compareAndSetLong(offset, SLOT_EMPTYING, SLOT_EMPTY)) {
                    cleaned++;
                }
            }
        }
        return cleaned;
    }

    /**
     * True when some present key has slot (bucket, slotIndex) before its own slot in its probe sequence. Keys
     * of later buckets can depend on it only by having passed every bucket in between whole: the scan stops after
     * the first bucket that has an EMPTY slot, since no present key ever has an EMPTY slot in its path (that is
     * the invariant compaction keeps). At load <= 0.5 this is usually the slot's own bucket.
     */
    private boolean neededByAPresentKey(int bucket, int slotIndex) {
        for (int d = 0; d < probeBuckets; d++) {
            int other = bucket + d;
            if (other >= buckets) {
                other -= buckets;
            }
            final int base = other * BUCKET_BYTES;
            boolean bucketHasEmpty = false;
            for (int j = 0; j < SLOTS_PER_BUCKET; j++) {
                final long slot = index.getLongVolatile(base + j * SLOT_BYTES);
                final int state = slotState(slot);
                if (state != SLOT_INSERTING && state != SLOT_MEMBER) {
                    bucketHasEmpty |= state == SLOT_EMPTY;
                    continue;
                }
                final int tag = slotTag(slot);
                final int home = homeBucketOfTag(tag);
                final int start = tag & (SLOTS_PER_BUCKET - 1);
                int keyBucketOffset = other - home;
                if (keyBucketOffset < 0) {
                    keyBucketOffset += buckets;
                }
                int slotBucketOffset = bucket - home;
                if (slotBucketOffset < 0) {
                    slotBucketOffset += buckets;
                }
                if (keyBucketOffset >= probeBuckets || slotBucketOffset > keyBucketOffset) {
                    continue; // our slot is not on this key's path before it
                }
                final int keyPosition = keyBucketOffset * SLOTS_PER_BUCKET + ((j - start) & (SLOTS_PER_BUCKET - 1));
                final int slotPosition = slotBucketOffset * SLOTS_PER_BUCKET
                    + ((slotIndex - start) & (SLOTS_PER_BUCKET - 1));
                if (slotPosition < keyPosition) {
                    return true;
                }
            }
            if (bucketHasEmpty) {
                return false;
            }
        }
        return false;
    }

    /** Buckets of the index; {@link #compactIndex} takes bucket ranges. */
    public int bucketCount() {
        return buckets;
    }

    private boolean sameKey(int ref, int proto, int srcIp, int dstIp, int ports) {
        return keyEquals(records, offset(ref >>> 1), ref & 1, proto, srcIp, dstIp, ports);
    }

    private void abandon(int offset, long mine) {
        index.compareAndSetLong(offset, mine, (mine & ~3L) | SLOT_TOMBSTONE);
    }

    /** Turns the published key of {@code (id, direction)} at a known probe position into a tombstone. */
    private void tombstone(int position, int id, int direction) {
        final int rec = offset(id);
        final int proto = records.getByte(rec + PROTO_OFFSET) & 0xFF;
        final int base = rec + (direction == 0 ? ORIG_SRC_IP_OFFSET : REPLY_SRC_IP_OFFSET);
        final long h = hash(proto, records.getInt(base), records.getInt(base + 4), records.getInt(base + 8));
        final int offset = probeOffset(homeBucket(h), startSlot(h), position);
        final long slot = index.getLongVolatile(offset);
        if (slotState(slot) == SLOT_MEMBER && slotRef(slot) == ((id << 1) | direction)) {
            index.compareAndSetLong(offset, slot, (slot & ~3L) | SLOT_TOMBSTONE);
        }
    }

    /** Removes both keys of a record that is DYING (only its deleter calls this). */
    private void removeKeys(int id) {
        final int rec = offset(id);
        final int proto = records.getByte(rec + PROTO_OFFSET) & 0xFF;
        final long origHash = hash(proto, records.getInt(rec + ORIG_SRC_IP_OFFSET),
            records.getInt(rec + ORIG_DST_IP_OFFSET), records.getInt(rec + ORIG_PORTS_OFFSET));
        final long replyHash = hash(proto, records.getInt(rec + REPLY_SRC_IP_OFFSET),
            records.getInt(rec + REPLY_DST_IP_OFFSET), records.getInt(rec + REPLY_PORTS_OFFSET));
        keep(touchBucket(origHash) ^ touchBucket(replyHash)); // both misses at once (see insert)
        for (int direction = 0; direction < 2; direction++) {
            final long h = direction == 0 ? origHash : replyHash;
            final int home = homeBucket(h);
            final int start = startSlot(h);
            final int ref = (id << 1) | direction;
            for (int i = 0; i < window; i++) {
                final int offset = probeOffset(home, start, i);
                final long slot = index.getLongVolatile(offset);
                if (slotState(slot) == SLOT_MEMBER && slotRef(slot) == ref) {
                    // a plain release store: only the record's deleter may change a MEMBER slot (inserters kill
                    // INSERTING slots only, the compactor touches TOMBSTONEs only)
                    index.putLongRelease(offset, (slot & ~3L) | SLOT_TOMBSTONE);
                    break;
                }
                if (slotState(slot) == SLOT_EMPTY) {
                    break;
                }
            }
        }
    }

    // ================================================================= deletion

    /**
     * Deletes the flow (or mapping) {@code handle} names, if it is still that generation and live.
     *
     * @return true when this call deleted it
     */
    public boolean delete(long handle) {
        final int id = flowIdOf(handle);
        if (id < 0 || id >= capacity) {
            return false;
        }
        final int offset = offset(id) + STATE_WORD_OFFSET;
        while (true) {
            final long word = records.getLongVolatile(offset);
            if (generation(word) != generationOf(handle) || recordState(word) != LIVE) {
                return false;
            }
            if (deleteWord(id, word)) {
                return true;
            }
        }
    }

    /** Deletes record {@code id} if its state word is still {@code word}, and puts it on the free list. */
    private boolean deleteWord(int id, long word) {
        return deleteWord(id, word, true);
    }

    /**
     * Deletes record {@code id} if its state word is still {@code word}. With {@code toFreeList} false the caller
     * keeps the record (eviction reuses it at once, so no other thread can take it first).
     */
    private boolean deleteWord(int id, long word, boolean toFreeList) {
        final int rec = offset(id);
        if (!records.compareAndSetLong(rec + STATE_WORD_OFFSET, word, withRecordState(word, DYING))) {
            return false;
        }
        removeKeys(id);
        final boolean mapping = (records.getByte(rec + NAT_FLAGS_OFFSET) & KIND_MAPPING) != 0;
        final int link = records.getInt(rec + LINK_OFFSET);
        retire(id, generation(word));
        if (toFreeList) {
            push(id);
        }
        deleted.increment();
        if (!mapping && link > 0) {
            releaseMapping(link - 1);
        }
        return true;
    }

    /** Frees a record that no index slot references any more and puts it on the free list. */
    private void release(int id, int generation) {
        retire(id, generation);
        push(id);
    }

    /** Marks a record FREE with the next generation. */
    private void retire(int id, int generation) {
        // release: a reader that copied fields of the old flow sees the new generation and retries
        records.putLongRelease(offset(id) + STATE_WORD_OFFSET,
            stateWord((generation + 1) & 0x7FFF_FFFF, 0, 0, FREE));
    }

    // ================================================================= endpoint-independent mappings

    /**
     * Takes a reference on a live mapping record (a UDP/ICMP flow that will use it).
     *
     * @return false when the mapping is dying or was recycled
     */
    public boolean acquireMapping(long handle) {
        final int offset = offset(flowIdOf(handle)) + STATE_WORD_OFFSET;
        while (true) {
            final long word = records.getLongVolatile(offset);
            if (generation(word) != generationOf(handle) || recordState(word) != LIVE || refCount(word) >= 0xFFFF) {
                return false;
            }
            if (records.compareAndSetLong(offset, word, withFlags(word, refCount(word) + 1))) {
                return true;
            }
        }
    }

    /** Drops one reference; the last one deletes the mapping and frees its port. */
    public void releaseMapping(int mappingId) {
        final int offset = offset(mappingId) + STATE_WORD_OFFSET;
        while (true) {
            final long word = records.getLongVolatile(offset);
            if (recordState(word) != LIVE) {
                return;
            }
            final int refs = refCount(word);
            if (refs > 1) {
                if (records.compareAndSetLong(offset, word, withFlags(word, refs - 1))) {
                    return;
                }
            } else if (deleteWord(mappingId, withFlags(word, refs))) {
                return;
            }
        }
    }

    /** References held on a mapping record (0 when not a live mapping). */
    public int mappingRefCount(int mappingId) {
        final long word = records.getLongVolatile(offset(mappingId) + STATE_WORD_OFFSET);
        return recordState(word) == LIVE ? refCount(word) : 0;
    }

    // ================================================================= expiry and eviction

    /**
     * Expires idle flows among records {@code [fromId, toId)}: a bounded slice, so that each worker's duty cycle
     * does a bounded amount of expiry work. Mapping records are not swept: they die with their last flow.
     *
     * @return the number of flows deleted
     */
    public int expire(int fromId, int toId, long nowNs) {
        final FlowTimeouts t = timeouts;
        final int end = Math.min(toId, capacity);
        int expired = 0;
        for (int id = Math.max(0, fromId); id < end; id++) {
            final int rec = offset(id);
            final long word = records.getLongVolatile(rec + STATE_WORD_OFFSET);
            if (recordState(word) != LIVE || (records.getByte(rec + NAT_FLAGS_OFFSET) & KIND_MAPPING) != 0) {
                continue;
            }
            final int proto = records.getByte(rec + PROTO_OFFSET) & 0xFF;
            final long idle = nowNs - records.getLongVolatile(rec + LAST_SEEN_OFFSET);
            if (idle > t.timeoutNs(proto, protoState(word), flags(word)) && deleteWord(id, word)) {
                expired++;
            }
        }
        return expired;
    }

    private int allocate(long hint) {
        // A lost race means another thread deleted our victim (evicting or expiring it), which may have freed
        // a record: look at the free list again, then at the next window; a few rounds at most.
        for (int round = 0; round < EVICTION_ROUNDS; round++) {
            int id = pop();
            if (id >= 0) {
                return id;
            }
            id = evictOne(hint + (long) round * EVICTION_SCAN * 2);
            if (id >= 0) {
                return id;
            }
            if (id == NOTHING_EVICTABLE) {
                return pop(); // records the window showed free were freed after our first look
            }
        }
        return pop();
    }

    /**
     * netfilter's early drop: looks at {@value #EVICTION_SCAN} records from a hashed position for a flow that
     * is not assured, preferring one never replied to, then the longest idle, and deletes it.
     *
     * @return the reclaimed record, now the caller's; {@link #NOTHING_EVICTABLE}; or {@link #LOST_RACE} when
     *     another thread changed the chosen victim first
     */
    private int evictOne(long hint) {
        final int start = (int) ((hint & Long.MAX_VALUE) % capacity);
        int best = -1;
        long bestWord = 0;
        boolean bestUnreplied = false;
        long bestLastSeen = Long.MAX_VALUE;
        final int scan = Math.min(EVICTION_SCAN, capacity);
        for (int i = 0; i < scan; i++) {
            int id = start + i;
            if (id >= capacity) {
                id -= capacity;
            }
            final int rec = offset(id);
            final long word = records.getLongVolatile(rec + STATE_WORD_OFFSET);
            if (recordState(word) != LIVE || (flags(word) & FLAG_ASSURED) != 0
                || (records.getByte(rec + NAT_FLAGS_OFFSET) & KIND_MAPPING) != 0) {
                continue;
            }
            final boolean unreplied = (flags(word) & FLAG_REPLIED) == 0;
            final long lastSeen = records.getLong(rec + LAST_SEEN_OFFSET);
            if ((unreplied && !bestUnreplied) || (unreplied == bestUnreplied && lastSeen < bestLastSeen)) {
                best = id;
                bestWord = word;
                bestUnreplied = unreplied;
                bestLastSeen = lastSeen;
            }
        }
        if (best < 0) {
            return NOTHING_EVICTABLE;
        }
        if (deleteWord(best, bestWord, false)) {
            evicted.increment();
            return best;
        }
        return LOST_RACE;
    }

    // ================================================================= free list (Treiber stack with ABA stamp)

    private void push(int id) {
        final int rec = offset(id);
        while (true) {
            final long head = control.getLongVolatile(FREE_LIST_OFFSET);
            records.putInt(rec + LINK_OFFSET, (int) head);
            if (control.compareAndSetLong(FREE_LIST_OFFSET, head, (((head >>> 32) + 1) << 32) | (id + 1))) {
                return;
            }
        }
    }

    /** Loads the record and counters lines of the free list's head, which {@link #insert} is about to take. */
    private long touchFreeHead() {
        int top = (int) control.getLong(FREE_LIST_OFFSET) - 1;
        if (top < 0) {
            top = (int) control.getLong(FRESH_OFFSET);
            if (top >= capacity) {
                return 0;
            }
        }
        return records.getLong(offset(top) + LINK_OFFSET) ^ counters.getLong(countersOffset(top));
    }

    private static long keptTouches;

    /**
     * Keeps touch loads from being optimised away without a store per call (the table is shared: a field written on
     * every insert would bounce its cache line between the workers): the branch is practically never taken.
     */
    private static void keep(long touched) {
        if (touched == 0x5DEE_CE66_D1CE_4E5BL) {
            keptTouches++;
        }
    }

    private int pop() {
        while (true) {
            final long head = control.getLongVolatile(FREE_LIST_OFFSET);
            final int top = (int) head - 1;
            if (top < 0) {
                return takeFresh();
            }
            // may read a link that is already stale: the stamp makes the CAS fail then
            final int next = records.getInt(offset(top) + LINK_OFFSET);
            if (control.compareAndSetLong(FREE_LIST_OFFSET, head, (((head >>> 32) + 1) << 32) | (next & 0xFFFF_FFFFL))) {
                return top;
            }
        }
    }

    /** The next never-used record, or -1 when every record has been used (then only the free list has any). */
    private int takeFresh() {
        while (true) {
            final long fresh = control.getLongVolatile(FRESH_OFFSET);
            if (fresh >= capacity) {
                return -1;
            }
            if (control.compareAndSetLong(FRESH_OFFSET, fresh, fresh + 1)) {
                return (int) fresh;
            }
        }
    }

    // ================================================================= inspection (control plane, tests)

    /** A pass over every live flow and mapping, for the control plane's listings and scans. */
    public FlowCursor cursor() {
        return new FlowCursor(this);
    }

    /**
     * Copies record {@code id} into {@code out} if it is a live flow or mapping, consistently (seqlock read).
     *
     * @return false when the record is free, dying, or kept changing
     */
    public boolean snapshot(int id, FlowSnapshot out) {
        if (id < 0 || id >= capacity) {
            return false;
        }
        final int rec = offset(id);
        for (int attempt = 0; attempt < MAX_LOOKUP_RETRIES; attempt++) {
            final long before = records.getLongAcquire(rec + STATE_WORD_OFFSET);
            if (recordState(before) != LIVE) {
                return false;
            }
            out.read(records, rec, counters, countersOffset(id), id, before, epochNs);
            UnsafeApi.loadFence();
            final long after = records.getLongAcquire(rec + STATE_WORD_OFFSET);
            if (generation(after) == generation(before)) {
                return true;
            }
        }
        return false;
    }

    /**
     * Records free to take: on the free list (walked, so only meaningful while no thread mutates the table) or never
     * used yet (tests).
     */
    int freeListLength() {
        int n = capacity - (int) control.getLongVolatile(FRESH_OFFSET);
        for (int link = (int) control.getLongVolatile(FREE_LIST_OFFSET); link != 0 && n <= capacity; n++) {
            link = records.getInt(offset(link - 1) + LINK_OFFSET);
        }
        return n;
    }

    /** Index slots per state: [EMPTY, INSERTING, MEMBER, TOMBSTONE] (tests, while quiescent). */
    int[] slotCensus() {
        int[] census = new int[4];
        for (int offset = 0; offset < buckets * BUCKET_BYTES; offset += SLOT_BYTES) {
            census[slotState(index.getLongVolatile(offset))]++;
        }
        return census;
    }

    /** The records buffer (tests that play a process killed mid-operation). */
    UnsafeBuffer recordsForTest() {
        return records;
    }

    /** Record state of {@code id} (tests). */
    int recordStateOf(int id) {
        return recordState(records.getLongVolatile(offset(id) + STATE_WORD_OFFSET));
    }

    /** Releases the off-heap memory. Only after every worker stopped. */
    @Override
    public void close() {
        if (!closed) {
            closed = true;
            recordsMemory.close();
            countersMemory.close();
            indexMemory.close();
            controlMemory.close();
        }
    }
}
