// The flow tables in a shared-memory file, so that a restarted gateway takes its connections over.
package io.nsgate.dataplane.conntrack;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.ThreadLocalRandom;

import org.agrona.concurrent.UnsafeBuffer;

import io.nsgate.linux.sys.OffHeapMemory;
import io.nsgate.linux.sys.SharedMemoryFile;

/**
 * The state a gateway keeps across a restart, in one file mapped shared: the IPv4 and IPv6 flow tables' records (every
 * connection with its tuples, rewrite, TCP window and counters), the endpoint-independent mapping records and so the
 * port allocations (a port is taken exactly while a record's reply tuple holds it), the IPv6 table's full addresses and
 * router list. The running process works in the file's pages directly, so nothing is saved at stop and a process
 * killed at any moment leaves a state the next one can use ({@link FlowTable#recover}). The index is not kept: it is
 * built again from the records, on huge pages.
 *
 * <h2>Layout (version {@value #LAYOUT_VERSION}, little-endian)</h2>
 * <pre>
 *      0  magic "NSGATEST" (8)            8  layout version (4)         12  closed cleanly: 1 (4)
 *     88  taking over: 1 while a run renumbers and rebuilds the tables (a run killed then leaves it 1) (4)
 *     16  boot id (16): /proc/sys/kernel/random/boot_id of the boot that wrote it
 *     32  IPv4 capacity (4)              36  IPv6 capacity (4)
 *     40  IPv4 hash seed (8)             48  IPv6 digest seed (8)      56  table epoch, monotonic ns (8)
 *     64  network namespace inode (8)    72  pid of the last writer (4) 76  interface count (4)
 *     80  created, wall-clock ms (8)
 *    128  interface names, 16 bytes each, in the data plane's index order (up to 256)
 *   8192  IPv6 router list ({@link FlowTable6#ROUTER_STORE_SIZE} bytes)
 *  12288  IPv4 table's control block, 12544 IPv6 table's ({@link FlowTable#CONTROL_SIZE} bytes each: free list head,
 *         fresh mark)
 *  16384  IPv4 records, IPv4 per-packet lines, IPv6 records, IPv6 per-packet lines, IPv6 sidecar; each region
 *         starts on a 4 KiB boundary
 * </pre>
 *
 * <p>What is kept is only used by the same boot (the records' times are CLOCK_MONOTONIC readings), the same layout
 * version, the same table sizes and the same network namespace; anything else starts with empty tables and says why
 * ({@link #startedClean()}). Interfaces may be added, removed or reordered between runs: the records' interface
 * numbers are translated by name, and the flows of an interface no longer served are dropped.
 */
public final class FlowState implements AutoCloseable {
    public static final int LAYOUT_VERSION = 1;
    static final long MAGIC = 0x5453_4554_4147_534EL; // "NSGATEST" read little-endian
    static final int VERSION_OFFSET = 8;
    static final int CLEAN_OFFSET = 12;
    static final int BOOT_ID_OFFSET = 16;
    static final int CAPACITY4_OFFSET = 32;
    static final int CAPACITY6_OFFSET = 36;
    static final int SEED4_OFFSET = 40;
    static final int SEED6_OFFSET = 48;
    static final int EPOCH_OFFSET = 56;
    static final int NETNS_OFFSET = 64;
    static final int PID_OFFSET = 72;
    static final int INTERFACE_COUNT_OFFSET = 76;
    static final int CREATED_OFFSET = 80;
    static final int RECOVERING_OFFSET = 88;
    static final int INTERFACES_OFFSET = 128;
    static final int NAME_SIZE = 16;
    public static final int MAX_INTERFACES = 256;
    static final int ROUTERS_OFFSET = 8192;
    static final int CONTROL4_OFFSET = 12288;
    static final int CONTROL6_OFFSET = CONTROL4_OFFSET + FlowTable.CONTROL_SIZE;
    static final int HEADER_SIZE = 16384;
    private static final long PAGE = 4096;

    private final SharedMemoryFile file;
    private final UnsafeBuffer header;
    private final int capacity4;
    private final int capacity6;
    private final String cleanReason;
    private final int[] egressMap;
    private final String previousRun;
    private final List<String> interfaces;
    private final long records4;
    private final long counters4;
    private final long records6;
    private final long counters6;
    private final long sidecar6;
    private FlowTable table4;
    private FlowTable6 table6;
    private FlowTable.Recovery recovered4;
    private FlowTable.Recovery recovered6;
    private long recoveryNs;
    private boolean closed;

    private FlowState(SharedMemoryFile file, int capacity4, int capacity6, String cleanReason, int[] egressMap,
                      String previousRun, List<String> interfaces) {
        this.file = file;
        this.interfaces = List.copyOf(interfaces);
        this.header = new UnsafeBuffer(file.address(), HEADER_SIZE);
        this.capacity4 = capacity4;
        this.capacity6 = capacity6;
        this.cleanReason = cleanReason;
        this.egressMap = egressMap;
        this.previousRun = previousRun;
        long at = HEADER_SIZE;
        this.records4 = at;
        at += pages((long) capacity4 * FlowRecord.SIZE);
        this.counters4 = at;
        at += pages((long) capacity4 * FlowRecord.COUNTERS_SIZE);
        this.records6 = at;
        at += pages((long) capacity6 * FlowRecord.SIZE);
        this.counters6 = at;
        at += pages((long) capacity6 * FlowRecord.COUNTERS_SIZE);
        this.sidecar6 = at;
    }

    private static long pages(long bytes) {
        return (bytes + PAGE - 1) / PAGE * PAGE;
    }

    /** The file's size for these capacities. */
    public static long fileSize(int capacity4, int capacity6) {
        return HEADER_SIZE + pages((long) capacity4 * FlowRecord.SIZE) + pages((long) capacity4 * FlowRecord.COUNTERS_SIZE)
            + pages((long) capacity6 * FlowRecord.SIZE) + pages((long) capacity6 * FlowRecord.COUNTERS_SIZE)
            + pages((long) capacity6 * FlowTable6.SIDECAR_SIZE);
    }

    /**
     * Opens (or creates) the state file and decides whether its tables are this gateway's to take over; when not,
     * they are emptied at once ({@link #startedClean()} says why). The tables themselves come from {@link #table4}
     * and {@link #table6}.
     *
     * @param interfaces the data plane's interfaces by index
     * @param netnsInode the inode of the network namespace the gateway serves (its flows mean nothing in another)
     * @throws IllegalStateException when another process holds the file
     */
    public static FlowState open(Path path, int capacity4, int capacity6, List<String> interfaces, long netnsInode) {
        if (interfaces.size() > MAX_INTERFACES) {
            throw new IllegalArgumentException(interfaces.size() + " interfaces, a state file keeps " + MAX_INTERFACES);
        }
        Path dir = path.toAbsolutePath().getParent();
        try {
            if (dir != null) {
                Files.createDirectories(dir);
            }
        } catch (IOException e) {
            throw new java.io.UncheckedIOException("cannot create " + dir + ": " + e.getMessage(), e);
        }
        SharedMemoryFile file = SharedMemoryFile.open(path, fileSize(capacity4, capacity6));
        try {
            UnsafeBuffer h = new UnsafeBuffer(file.address(), HEADER_SIZE);
            long[] bootId = bootId();
            String reason = null;
            int[] egressMap = null;
            String previous = null;
            if (!file.existed()) {
                reason = "new state file";
            } else if (h.getLong(0) != MAGIC) {
                reason = "not an nsgate state file (or damaged): starting a new one";
            } else if (h.getInt(VERSION_OFFSET) != LAYOUT_VERSION) {
                reason = "layout version " + h.getInt(VERSION_OFFSET) + ", this nsgate keeps version "
                    + LAYOUT_VERSION;
            } else if (h.getLong(BOOT_ID_OFFSET) != bootId[0] || h.getLong(BOOT_ID_OFFSET + 8) != bootId[1]) {
                reason = "written before the last reboot";
            } else if (h.getInt(CAPACITY4_OFFSET) != capacity4 || h.getInt(CAPACITY6_OFFSET) != capacity6) {
                reason = "flow table size changed from " + h.getInt(CAPACITY4_OFFSET) + " (IPv6 "
                    + h.getInt(CAPACITY6_OFFSET) + ") to " + capacity4 + " (IPv6 " + capacity6 + ")";
            } else if (h.getLong(NETNS_OFFSET) != netnsInode) {
                reason = "written for another network namespace";
            } else if (file.sizeFound() != fileSize(capacity4, capacity6)) {
                reason = "its size is " + file.sizeFound() + " bytes, not the " + fileSize(capacity4, capacity6)
                    + " its header's sizes make (damaged)";
            } else if (h.getInt(RECOVERING_OFFSET) != 0) {
                reason = "a previous run was killed while taking the tables over";
            } else {
                List<String> before = names(h);
                egressMap = new int[before.size()];
                for (int i = 0; i < egressMap.length; i++) {
                    egressMap[i] = interfaces.indexOf(before.get(i));
                }
                previous = "pid " + h.getInt(PID_OFFSET) + (h.getInt(CLEAN_OFFSET) == 1 ? ", stopped cleanly"
                    : ", did not stop cleanly (killed or crashed)");
            }
            if (reason != null) {
                file.clear();
                h = new UnsafeBuffer(file.address(), HEADER_SIZE);
                h.putInt(VERSION_OFFSET, LAYOUT_VERSION);
                h.putLong(BOOT_ID_OFFSET, bootId[0]);
                h.putLong(BOOT_ID_OFFSET + 8, bootId[1]);
                h.putInt(CAPACITY4_OFFSET, capacity4);
                h.putInt(CAPACITY6_OFFSET, capacity6);
                h.putLong(SEED4_OFFSET, ThreadLocalRandom.current().nextLong());
                h.putLong(SEED6_OFFSET, ThreadLocalRandom.current().nextLong());
                h.putLong(EPOCH_OFFSET, System.nanoTime());
                h.putLong(NETNS_OFFSET, netnsInode);
                h.putLong(CREATED_OFFSET, System.currentTimeMillis());
            }
            h.putInt(CLEAN_OFFSET, 0);
            h.putInt(PID_OFFSET, (int) ProcessHandle.current().pid());
            if (reason != null) {
                writeNames(h, interfaces);
                h.putLongVolatile(0, MAGIC); // last: a file is only ever taken for one once its header is whole
            } else {
                // the records still carry the old interface numbers: the new names go in once both tables are
                // renumbered (recover), and a run killed before that leaves this flag for the next to see
                h.putIntVolatile(RECOVERING_OFFSET, 1);
            }
            return new FlowState(file, capacity4, capacity6, reason, egressMap, previous, interfaces);
        } catch (RuntimeException e) {
            file.close();
            throw e;
        }
    }

    private static List<String> names(UnsafeBuffer h) {
        int n = Math.min(MAX_INTERFACES, Math.max(0, h.getInt(INTERFACE_COUNT_OFFSET)));
        List<String> names = new ArrayList<>(n);
        byte[] bytes = new byte[NAME_SIZE];
        for (int i = 0; i < n; i++) {
            h.getBytes(INTERFACES_OFFSET + i * NAME_SIZE, bytes);
            int length = 0;
            while (length < NAME_SIZE && bytes[length] != 0) {
                length++;
            }
            names.add(new String(bytes, 0, length, StandardCharsets.US_ASCII));
        }
        return names;
    }

    private static void writeNames(UnsafeBuffer h, List<String> interfaces) {
        h.setMemory(INTERFACES_OFFSET, MAX_INTERFACES * NAME_SIZE, (byte) 0);
        for (int i = 0; i < interfaces.size(); i++) {
            byte[] name = interfaces.get(i).getBytes(StandardCharsets.US_ASCII);
            h.putBytes(INTERFACES_OFFSET + i * NAME_SIZE, name, 0, Math.min(name.length, NAME_SIZE - 1));
        }
        h.putInt(INTERFACE_COUNT_OFFSET, interfaces.size());
    }

    /** This boot's id, as two longs. */
    static long[] bootId() {
        try {
            UUID id = UUID.fromString(Files.readString(Path.of("/proc/sys/kernel/random/boot_id")).trim());
            return new long[] {id.getMostSignificantBits(), id.getLeastSignificantBits()};
        } catch (IOException | IllegalArgumentException e) {
            return new long[] {0, 0}; // no boot id: a file is kept across reboots' worth of nothing but itself
        }
    }

    /** Why the tables start empty, or null when they were taken over. */
    public String startedClean() {
        return cleanReason;
    }

    /**
     * The IPv4 table in the file (created on the first call; a kept one is recovered then).
     */
    public synchronized FlowTable table4(FlowTimeouts timeouts) {
        if (table4 == null) {
            table4 = new FlowTable(capacity4, timeouts, header.getLong(EPOCH_OFFSET), header.getLong(SEED4_OFFSET),
                OffHeapMemory.within(file, records4, (long) capacity4 * FlowRecord.SIZE),
                OffHeapMemory.within(file, counters4, (long) capacity4 * FlowRecord.COUNTERS_SIZE),
                OffHeapMemory.within(file, CONTROL4_OFFSET, FlowTable.CONTROL_SIZE));
            recovered4 = recover(table4);
            takenOverIfBoth();
        }
        return table4;
    }

    /** The IPv6 table in the file (as {@link #table4}). */
    public synchronized FlowTable6 table6(FlowTimeouts timeouts) {
        if (table6 == null) {
            table6 = new FlowTable6(capacity6, timeouts, header.getLong(EPOCH_OFFSET), header.getLong(SEED6_OFFSET),
                OffHeapMemory.within(file, records6, (long) capacity6 * FlowRecord.SIZE),
                OffHeapMemory.within(file, counters6, (long) capacity6 * FlowRecord.COUNTERS_SIZE),
                OffHeapMemory.within(file, CONTROL6_OFFSET, FlowTable.CONTROL_SIZE),
                OffHeapMemory.within(file, sidecar6, (long) capacity6 * FlowTable6.SIDECAR_SIZE),
                OffHeapMemory.within(file, ROUTERS_OFFSET, FlowTable6.ROUTER_STORE_SIZE));
            recovered6 = recover(table6.table());
            takenOverIfBoth();
        }
        return table6;
    }

    /**
     * Deletes a state file no gateway holds.
     *
     * @return the inode of the network namespace it was written for, 0 when unknown (not a state file), -1 when there
     *     was no file
     * @throws IllegalStateException when a gateway holds it
     */
    public static long delete(Path path) {
        byte[] header = SharedMemoryFile.deleteUnused(path, NETNS_OFFSET + 8);
        if (header == null) {
            return -1;
        }
        if (header.length < NETNS_OFFSET + 8) {
            return 0;
        }
        java.nio.ByteBuffer b = java.nio.ByteBuffer.wrap(header).order(java.nio.ByteOrder.LITTLE_ENDIAN);
        return b.getLong(0) == MAGIC ? b.getLong(NETNS_OFFSET) : 0;
    }

    /** Takes over a kept table (timed, for the log); nothing for a new one. */
    private FlowTable.Recovery recover(FlowTable table) {
        if (cleanReason != null) {
            return null;
        }
        long start = System.nanoTime();
        FlowTable.Recovery r = table.recover(egressMap);
        recoveryNs += System.nanoTime() - start;
        return r;
    }

    /**
     * Once both tables are taken over, the header names the interfaces as the records now number them, and the
     * takeover is over (a run killed before this leaves the flag: the next starts clean rather than renumber twice).
     */
    private void takenOverIfBoth() {
        if (cleanReason == null && recovered4 != null && recovered6 != null) {
            writeNames(header, interfaces);
            header.putIntVolatile(RECOVERING_OFFSET, 0);
        }
    }

    /** One line for the log: what was taken over, or why nothing was. */
    public synchronized String summary() {
        if (cleanReason != null) {
            return "state file " + file.path() + ": starting with empty flow tables (" + cleanReason + ")";
        }
        StringBuilder b = new StringBuilder("state file " + file.path() + ": took over ");
        FlowTable.Recovery r4 = recovered4 != null ? recovered4 : new FlowTable.Recovery(0, 0, 0);
        FlowTable.Recovery r6 = recovered6 != null ? recovered6 : new FlowTable.Recovery(0, 0, 0);
        b.append(r4.flows()).append(" IPv4 and ").append(r6.flows()).append(" IPv6 connections, ")
            .append(r4.mappings() + r6.mappings()).append(" endpoint-independent mappings");
        if (r4.dropped() + r6.dropped() > 0) {
            b.append("; dropped ").append(r4.dropped() + r6.dropped())
                .append(" left half-made or on interfaces no longer served");
        }
        return b.append(" in ").append(recoveryNs / 1_000_000).append(" ms (previous run: ").append(previousRun)
            .append(')').toString();
    }

    public Path path() {
        return file.path();
    }

    /** True when the file is in memory (tmpfs), where it should be. */
    public boolean onTmpfs() {
        return file.onTmpfs();
    }

    /** The header (tests). */
    UnsafeBuffer headerForTest() {
        return header;
    }

    /** Lets the file go as a killed process does: unmapped and unlocked, not marked closed cleanly (tests). */
    synchronized void abandonForTest() {
        closed = true;
        file.close();
    }

    /**
     * Marks the file closed cleanly and unmaps it. Only after every worker stopped and the tables were closed: what
     * they hold stays in the file for the next process.
     */
    @Override
    public synchronized void close() {
        if (!closed) {
            closed = true;
            header.putIntVolatile(CLEAN_OFFSET, 1);
            file.close();
        }
    }
}
