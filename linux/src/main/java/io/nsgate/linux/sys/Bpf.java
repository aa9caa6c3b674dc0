// The bpf(2) system call: maps, program load (with the verifier's log), test runs and tcx links, with named errors.
package io.nsgate.linux.sys;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;

import org.agrona.BufferUtil;

/**
 * Thin wrappers over {@code bpf(cmd, &attr, size)} for the handful of commands nsgate uses, in the style of
 * {@link Syscalls}: every failure becomes a {@link SyscallException} reading
 * {@code bpf(BPF_PROG_LOAD nsgate_guard): EACCES (Permission denied); verifier: ...}.
 *
 * <h2>Theory of operation</h2>
 * The kernel takes one {@code union bpf_attr}, a union of one anonymous struct per command. Each calling thread
 * owns a preallocated, zeroed direct buffer of {@link #ATTR_SIZE} bytes; a wrapper clears it, writes the fields
 * of its command at the offsets documented below (checked against {@code include/uapi/linux/bpf.h}, with
 * {@code offsetof} on Debian's 6.1 headers for the older fields and the 6.18 source for the tcx ones), and passes
 * its address. The kernel copies {@code size} bytes and treats any field beyond them as zero, so one size serves
 * every command. Pointers inside the attr are native addresses of direct buffers; strings (license, names) are
 * copied, NUL-terminated, into the thread's scratch area behind the attr. bpf(2) has three arguments, so it goes
 * through the seven-argument {@code syscall(2)} binding with no risk from jnr-ffi's sixth-argument quirk.
 *
 * <p>Offsets inside {@code union bpf_attr} (bytes; u32 unless marked u64):
 * <pre>
 *  BPF_MAP_CREATE       0 map_type, 4 key_size, 8 value_size, 12 max_entries, 16 map_flags, 20 inner_map_fd,
 *                       24 numa_node, 28 map_name[16]
 *  BPF_MAP_*_ELEM       0 map_fd, 8 key (u64 pointer), 16 value (u64 pointer), 24 flags (u64)
 *  BPF_PROG_LOAD        0 prog_type, 4 insn_cnt, 8 insns (u64 pointer), 16 license (u64 pointer), 24 log_level,
 *                       28 log_size, 32 log_buf (u64 pointer), 40 kern_version, 44 prog_flags,
 *                       48 prog_name[16], 64 prog_ifindex, 68 expected_attach_type
 *  BPF_PROG_TEST_RUN    0 prog_fd, 4 retval (out), 8 data_size_in, 12 data_size_out (in/out),
 *                       16 data_in (u64 pointer), 24 data_out (u64 pointer), 32 repeat, 36 duration (out, ns),
 *                       40 ctx_size_in, 44 ctx_size_out, 48 ctx_in, 56 ctx_out, 64 flags, 68 cpu, 72 batch_size
 *  BPF_LINK_CREATE      0 prog_fd, 4 target_ifindex (union with target_fd), 8 attach_type, 12 flags,
 *                       16 tcx.relative_fd, 24 tcx.expected_revision (u64): 0 = append to the chain
 * </pre>
 *
 * <p>Namespaces: {@link #linkCreate} resolves {@code target_ifindex} in the calling thread's network namespace,
 * so call it on a thread inside the interface's namespace. Maps and programs belong to no namespace.
 *
 * <p>Descriptors returned here are plain file descriptors (close-on-exec, as the kernel always sets for bpf
 * objects); closing the last one releases the object, and for a link, detaches it.
 */
public final class Bpf {
    // ---------------------------------------------------------------- enum bpf_cmd
    public static final int BPF_MAP_CREATE = 0;
    public static final int BPF_MAP_LOOKUP_ELEM = 1;
    public static final int BPF_MAP_UPDATE_ELEM = 2;
    public static final int BPF_PROG_LOAD = 5;
    public static final int BPF_PROG_TEST_RUN = 10;
    public static final int BPF_OBJ_PIN = 6;
    public static final int BPF_OBJ_GET = 7;
    public static final int BPF_OBJ_GET_INFO_BY_FD = 15;
    public static final int BPF_LINK_CREATE = 28;
    public static final int BPF_LINK_UPDATE = 29;
    /** enum bpf_link_type: a tcx link. */
    public static final int BPF_LINK_TYPE_TCX = 11;

    // ---------------------------------------------------------------- enum bpf_map_type
    public static final int BPF_MAP_TYPE_ARRAY = 2;
    public static final int BPF_MAP_TYPE_ARRAY_OF_MAPS = 12;

    /** map_flags: programs may only read the map (the verifier rejects stores); user space still writes it. */
    public static final int BPF_F_RDONLY_PROG = 1 << 7;

    /** BPF_MAP_UPDATE_ELEM flags: create or update. */
    public static final long BPF_ANY = 0;

    // ---------------------------------------------------------------- programs and attach points
    /** enum bpf_prog_type: the tc classifier type, which tcx runs. */
    public static final int BPF_PROG_TYPE_SCHED_CLS = 3;
    /**
     * enum bpf_attach_type: tcx ingress (Linux 6.6+). Not in Debian's 6.1 headers; in 6.18's
     * {@code include/uapi/linux/bpf.h} it follows BPF_LSM_CGROUP (43), BPF_STRUCT_OPS (44), BPF_NETFILTER (45).
     */
    public static final int BPF_TCX_INGRESS = 46;
    public static final int BPF_TCX_EGRESS = 47;

    /**
     * enum tcx_action_base: what a tcx program returns. NEXT hands the packet to the next program of the chain,
     * or, at its end, on through the stack as PASS does; DROP frees it.
     */
    public static final int TCX_NEXT = -1;
    public static final int TCX_PASS = 0;
    public static final int TCX_DROP = 2;

    /** Verifier log levels for {@link #progLoad}. */
    public static final int BPF_LOG_LEVEL1 = 1;
    public static final int BPF_LOG_STATS = 4;

    /**
     * Size passed for every command: covers every field written here and is below the kernel's union (144 bytes
     * in 6.1, more since), so the kernel takes the missing tail as zeros.
     */
    public static final int ATTR_SIZE = 128;
    /** BPF_OBJ_NAME_LEN: names are at most 15 characters plus the NUL. */
    public static final int OBJ_NAME_LEN = 16;

    private static final int SCRATCH_SIZE = 256;
    /** Bytes of verifier log kept on a failed load: the log rotates, so this is its tail. */
    private static final int VERIFIER_LOG_SIZE = 1 << 20;
    private static final int VERIFIER_LOG_TAIL_LINES = 12;
    private static final int PROG_LOAD_EAGAIN_RETRIES = 5;

    private static final Probe PROBE = new Probe(Bpf::probe);

    private static final ThreadLocal<ByteBuffer> ATTR = ThreadLocal.withInitial(
        () -> ByteBuffer.allocateDirect(ATTR_SIZE + SCRATCH_SIZE).order(ByteOrder.nativeOrder()));

    private Bpf() {
    }

    // ---------------------------------------------------------------- availability

    /**
     * Why bpf(2) does not work here (e.g. {@code bpf(BPF_MAP_CREATE probe): EPERM ...}), or null when it does: libc
     * bound, the caller privileged enough (CAP_BPF) to create an array map.
     */
    public static String unavailabilityCause() {
        return PROBE.unavailabilityCause();
    }

    private static String probe() {
        try {
            int fd = mapCreate(BPF_MAP_TYPE_ARRAY, 4, 4, 1, 0, -1, "nsgate_probe");
            Syscalls.closeQuietly(fd);
            return null;
        } catch (SyscallException e) {
            return e.getMessage() + (e.errno() == Errno.EPERM
                ? "; bpf(2) needs root or CAP_BPF (with CAP_NET_ADMIN for tc programs)" : "");
        } catch (RuntimeException e) {
            return "bpf(2) probe failed: " + e;
        }
    }

    // ---------------------------------------------------------------- maps

    /**
     * BPF_MAP_CREATE.
     *
     * @param innerMapFd for map-in-map types, a map of the kind the entries will be; -1 otherwise
     * @param name       at most 15 characters of [A-Za-z0-9_.], shown by bpftool
     * @return the map's descriptor
     */
    public static int mapCreate(int mapType, int keySize, int valueSize, int maxEntries, int mapFlags,
                                int innerMapFd, String name) {
        ByteBuffer attr = clearedAttr();
        attr.putInt(0, mapType);
        attr.putInt(4, keySize);
        attr.putInt(8, valueSize);
        attr.putInt(12, maxEntries);
        attr.putInt(16, mapFlags);
        attr.putInt(20, innerMapFd < 0 ? 0 : innerMapFd);
        putName(attr, 28, name);
        return (int) call(BPF_MAP_CREATE, attr, "BPF_MAP_CREATE " + name);
    }

    /** BPF_MAP_UPDATE_ELEM with key and value given as native addresses (of direct buffers or mapped memory). */
    public static void mapUpdateElem(int mapFd, long keyAddress, long valueAddress, long flags, String subject) {
        ByteBuffer attr = clearedAttr();
        attr.putInt(0, mapFd);
        attr.putLong(8, keyAddress);
        attr.putLong(16, valueAddress);
        attr.putLong(24, flags);
        call(BPF_MAP_UPDATE_ELEM, attr, subject);
    }

    /** BPF_MAP_UPDATE_ELEM from the positions of two direct buffers (the map's key and value sizes are read). */
    public static void mapUpdateElem(int mapFd, ByteBuffer key, ByteBuffer value, long flags, String subject) {
        mapUpdateElem(mapFd, Syscalls.address(key), Syscalls.address(value), flags, subject);
    }

    /** BPF_MAP_UPDATE_ELEM of an int key and an int value (index maps, map-in-map slots). */
    public static void mapUpdateElem(int mapFd, int key, int value, long flags, String subject) {
        ByteBuffer attr = clearedAttr();
        long scratch = BufferUtil.address(attr) + ATTR_SIZE;
        attr.putInt(ATTR_SIZE, key);
        attr.putInt(ATTR_SIZE + 8, value);
        attr.putInt(0, mapFd);
        attr.putLong(8, scratch);
        attr.putLong(16, scratch + 8);
        attr.putLong(24, flags);
        call(BPF_MAP_UPDATE_ELEM, attr, subject);
    }

    /**
     * BPF_MAP_LOOKUP_ELEM into {@code value} (from its position, which must leave room for the map's value size).
     *
     * @return false when the key is absent (ENOENT)
     */
    public static boolean mapLookupElem(int mapFd, ByteBuffer key, ByteBuffer value, String subject) {
        ByteBuffer attr = clearedAttr();
        attr.putInt(0, mapFd);
        attr.putLong(8, Syscalls.address(key));
        attr.putLong(16, Syscalls.address(value));
        long r = Syscalls.libc().syscall(Linux.SYS_BPF, BPF_MAP_LOOKUP_ELEM, BufferUtil.address(attr), ATTR_SIZE,
            0, 0, 0);
        if (r < 0) {
            int errno = Syscalls.lastErrno();
            if (errno == Errno.ENOENT) {
                return false;
            }
            throw new SyscallException("bpf", "BPF_MAP_LOOKUP_ELEM " + subject, errno);
        }
        return true;
    }

    // ---------------------------------------------------------------- programs

    /**
     * BPF_PROG_LOAD of the instructions in {@code insns} (position to limit, a multiple of 8 bytes). The first
     * attempt runs without a log (the verifier is faster so); if it fails, the load is repeated with a verifier
     * log and the exception carries the log's last lines, where the verifier says what it rejected and at which
     * instruction.
     *
     * @param expectedAttachType 0 when the program type does not need it (SCHED_CLS does not)
     * @return the program's descriptor
     */
    public static int progLoad(int progType, ByteBuffer insns, String license, String name, int expectedAttachType) {
        if (insns.remaining() % 8 != 0 || insns.remaining() == 0) {
            throw new IllegalArgumentException("program " + name + ": " + insns.remaining()
                + " bytes is not a positive multiple of 8 (struct bpf_insn)");
        }
        String subject = "BPF_PROG_LOAD " + name;
        int errno = 0;
        for (int attempt = 0; attempt < PROG_LOAD_EAGAIN_RETRIES; attempt++) {
            ByteBuffer attr = progLoadAttr(progType, insns, license, name, expectedAttachType);
            long fd = Syscalls.libc().syscall(Linux.SYS_BPF, BPF_PROG_LOAD, BufferUtil.address(attr), ATTR_SIZE,
                0, 0, 0);
            if (fd >= 0) {
                return (int) fd;
            }
            errno = Syscalls.lastErrno();
            if (errno != Errno.EAGAIN) {
                break;
            }
        }
        throw new SyscallException("bpf", subject, errno,
            "verifier: " + verifierLogTail(progType, insns, license, name, expectedAttachType));
    }

    /** {@link #progLoad(int, ByteBuffer, String, String, int)} of a heap array (control plane: copies it). */
    public static int progLoad(int progType, byte[] insns, String license, String name, int expectedAttachType) {
        ByteBuffer direct = ByteBuffer.allocateDirect(insns.length);
        direct.put(insns).flip();
        return progLoad(progType, direct, license, name, expectedAttachType);
    }

    private static ByteBuffer progLoadAttr(int progType, ByteBuffer insns, String license, String name,
                                           int expectedAttachType) {
        ByteBuffer attr = clearedAttr();
        attr.putInt(0, progType);
        attr.putInt(4, insns.remaining() / 8);
        attr.putLong(8, Syscalls.address(insns));
        attr.putLong(16, putString(attr, ATTR_SIZE, license));
        putName(attr, 48, name);
        attr.putInt(68, expectedAttachType);
        return attr;
    }

    /**
     * Loads the program with the verifier log at {@code logLevel} (1: each instruction checked, 4: statistics
     * only, "processed N insns ..."), closes it again and returns the log, whether the load succeeded or not:
     * for tests and diagnostics of the verifier's work.
     */
    public static String progVerifierLog(int progType, byte[] insns, String license, String name, int logLevel) {
        ByteBuffer direct = ByteBuffer.allocateDirect(insns.length);
        direct.put(insns).flip();
        ByteBuffer log = ByteBuffer.allocateDirect(VERIFIER_LOG_SIZE);
        ByteBuffer attr = progLoadAttr(progType, direct, license, name, 0);
        attr.putInt(24, logLevel);
        attr.putInt(28, VERIFIER_LOG_SIZE);
        attr.putLong(32, BufferUtil.address(log));
        long fd = Syscalls.libc().syscall(Linux.SYS_BPF, BPF_PROG_LOAD, BufferUtil.address(attr), ATTR_SIZE, 0, 0, 0);
        String outcome = fd >= 0 ? "" : "load failed: " + Errno.name(Syscalls.lastErrno()) + "\n";
        Syscalls.closeQuietly((int) fd);
        return outcome + logText(log);
    }

    private static String logText(ByteBuffer log) {
        int length = 0;
        while (length < log.capacity() && log.get(length) != 0) {
            length++;
        }
        byte[] bytes = new byte[length];
        log.get(0, bytes);
        return new String(bytes, StandardCharsets.UTF_8).strip();
    }

    /** Loads again with a log to learn why the verifier refused; returns the log's last lines. */
    private static String verifierLogTail(int progType, ByteBuffer insns, String license, String name,
                                          int expectedAttachType) {
        ByteBuffer log = ByteBuffer.allocateDirect(VERIFIER_LOG_SIZE);
        ByteBuffer attr = progLoadAttr(progType, insns, license, name, expectedAttachType);
        attr.putInt(24, BPF_LOG_LEVEL1);
        attr.putInt(28, VERIFIER_LOG_SIZE);
        attr.putLong(32, BufferUtil.address(log));
        long fd = Syscalls.libc().syscall(Linux.SYS_BPF, BPF_PROG_LOAD, BufferUtil.address(attr), ATTR_SIZE, 0, 0, 0);
        if (fd >= 0) {
            Syscalls.closeQuietly((int) fd);
            return "(the load succeeded when repeated with a log)";
        }
        String text = logText(log);
        if (text.isEmpty()) {
            return "(no log: " + Errno.name(Syscalls.lastErrno()) + " before verification)";
        }
        String[] lines = text.split("\n");
        int from = Math.max(0, lines.length - VERIFIER_LOG_TAIL_LINES);
        return String.join("\n  ", Arrays.copyOfRange(lines, from, lines.length));
    }

    /** What a BPF_PROG_TEST_RUN reported. */
    public static final class TestRun {
        /** The program's return value (for tcx: TCX_NEXT, TCX_PASS, TCX_DROP, ...). */
        public int retval;
        /** Bytes of the packet written to data_out (the packet after the program, possibly rewritten). */
        public int dataSizeOut;
        /** Average run time per repetition, in nanoseconds. */
        public int durationNs;
    }

    /**
     * BPF_PROG_TEST_RUN: runs the program {@code repeat} times (at least once) on a copy of the bytes between
     * {@code dataIn}'s position and limit, as if that frame had arrived (for SCHED_CLS: an skb whose data starts
     * at the Ethernet header; at least 14 bytes).
     *
     * @param dataOut where the packet is copied back (from its position, at most its remaining bytes), or null
     * @return {@code out}, filled in
     */
    public static TestRun progTestRun(int progFd, ByteBuffer dataIn, ByteBuffer dataOut, int repeat, TestRun out) {
        ByteBuffer attr = clearedAttr();
        attr.putInt(0, progFd);
        attr.putInt(8, dataIn.remaining());
        attr.putInt(12, dataOut == null ? 0 : dataOut.remaining());
        attr.putLong(16, Syscalls.address(dataIn));
        attr.putLong(24, dataOut == null ? 0L : Syscalls.address(dataOut));
        attr.putInt(32, repeat);
        call(BPF_PROG_TEST_RUN, attr, "BPF_PROG_TEST_RUN prog fd " + progFd);
        out.retval = attr.getInt(4);
        out.dataSizeOut = attr.getInt(12);
        out.durationNs = attr.getInt(36);
        return out;
    }

    // ---------------------------------------------------------------- links

    /**
     * BPF_LINK_CREATE attaching a program to an interface hook (attach type {@link #BPF_TCX_INGRESS} or
     * {@link #BPF_TCX_EGRESS}), appended to the hook's chain. {@code ifindex} is resolved in the calling thread's
     * network namespace. The link lives as long as its descriptor: closing it (or the process dying) detaches.
     *
     * @return the link's descriptor
     */
    public static int linkCreate(int progFd, int targetIfindex, int attachType, int flags, String subject) {
        ByteBuffer attr = clearedAttr();
        attr.putInt(0, progFd);
        attr.putInt(4, targetIfindex);
        attr.putInt(8, attachType);
        attr.putInt(12, flags);
        return (int) call(BPF_LINK_CREATE, attr, "BPF_LINK_CREATE " + subject);
    }

    /**
     * BPF_LINK_UPDATE: the link runs {@code newProgFd} from now on, in its place in the chain, with no moment
     * between the two programs.
     */
    public static void linkUpdate(int linkFd, int newProgFd, String subject) {
        ByteBuffer attr = clearedAttr();
        attr.putInt(0, linkFd);
        attr.putInt(4, newProgFd);
        call(BPF_LINK_UPDATE, attr, "BPF_LINK_UPDATE " + subject);
    }

    /** What {@link #linkInfo} reads of a link (struct bpf_link_info). */
    public record LinkInfo(int type, int id, int progId, int tcxIfindex, int tcxAttachType) {
    }

    /** BPF_OBJ_GET_INFO_BY_FD of a link: its type and, for tcx links, the interface (0 once it went away). */
    public static LinkInfo linkInfo(int linkFd, String subject) {
        ByteBuffer attr = clearedAttr();
        int infoOffset = ATTR_SIZE; // struct bpf_link_info, in the scratch area
        attr.putInt(0, linkFd);
        attr.putInt(4, 64);
        attr.putLong(8, BufferUtil.address(attr) + infoOffset);
        call(BPF_OBJ_GET_INFO_BY_FD, attr, "BPF_OBJ_GET_INFO_BY_FD " + subject);
        // type, id, prog_id, then the union (8-aligned): tcx { ifindex, attach_type }
        return new LinkInfo(attr.getInt(infoOffset), attr.getInt(infoOffset + 4), attr.getInt(infoOffset + 8),
            attr.getInt(infoOffset + 16), attr.getInt(infoOffset + 20));
    }

    /**
     * BPF_OBJ_PIN: gives the object a name in a bpf file system, which holds a reference to it until the file is
     * removed, so it outlives every descriptor (and the process).
     */
    public static void objPin(int fd, String path) {
        ByteBuffer attr = clearedAttr();
        attr.putLong(0, putString(attr, ATTR_SIZE, path));
        attr.putInt(8, fd);
        call(BPF_OBJ_PIN, attr, "BPF_OBJ_PIN " + path);
    }

    /** BPF_OBJ_GET: a new descriptor of a pinned object. */
    public static int objGet(String path) {
        ByteBuffer attr = clearedAttr();
        attr.putLong(0, putString(attr, ATTR_SIZE, path));
        return (int) call(BPF_OBJ_GET, attr, "BPF_OBJ_GET " + path);
    }

    /** close(2) of a map, program or link descriptor. */
    public static void close(int fd, String subject) {
        Syscalls.close(fd, subject);
    }

    // ---------------------------------------------------------------- plumbing

    private static ByteBuffer clearedAttr() {
        ByteBuffer attr = ATTR.get();
        for (int i = 0; i < ATTR_SIZE + SCRATCH_SIZE; i += 8) {
            attr.putLong(i, 0L);
        }
        return attr;
    }

    private static long call(int cmd, ByteBuffer attr, String subject) {
        long r = Syscalls.libc().syscall(Linux.SYS_BPF, cmd, BufferUtil.address(attr), ATTR_SIZE, 0, 0, 0);
        if (r < 0) {
            throw new SyscallException("bpf", subject, Syscalls.lastErrno());
        }
        return r;
    }

    private static void putName(ByteBuffer attr, int offset, String name) {
        byte[] bytes = name.getBytes(StandardCharsets.US_ASCII);
        if (bytes.length >= OBJ_NAME_LEN) {
            throw new IllegalArgumentException("bpf object name \"" + name + "\" is longer than "
                + (OBJ_NAME_LEN - 1) + " characters");
        }
        for (int i = 0; i < bytes.length; i++) {
            attr.put(offset + i, bytes[i]);
        }
    }

    /** Copies a NUL-terminated string into the attr buffer's scratch area; returns its native address. */
    private static long putString(ByteBuffer attr, int offset, String text) {
        byte[] bytes = text.getBytes(StandardCharsets.US_ASCII);
        if (offset + bytes.length + 1 > ATTR_SIZE + SCRATCH_SIZE) {
            throw new IllegalArgumentException("\"" + text + "\" does not fit the bpf attr scratch area");
        }
        for (int i = 0; i < bytes.length; i++) {
            attr.put(offset + i, bytes[i]);
        }
        attr.put(offset + bytes.length, (byte) 0);
        return BufferUtil.address(attr) + offset;
    }
}
