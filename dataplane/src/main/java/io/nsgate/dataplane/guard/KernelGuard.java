// Keeps the kernel out of the data plane's flows: the guard program attached at tcx ingress, and its live config.
package io.nsgate.dataplane.guard;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;

import org.agrona.BufferUtil;
import org.agrona.concurrent.UnsafeBuffer;

import io.nsgate.dataplane.nat.Ownership;
import io.nsgate.linux.sys.Bpf;
import io.nsgate.linux.sys.Errno;
import io.nsgate.linux.sys.SyscallException;
import io.nsgate.linux.sys.Syscalls;

/**
 * One interface's guard: the {@link GuardProgram} loaded, its config maps filled from an {@link Ownership}
 * ({@link GuardSlot}), and the program attached at the interface's tcx ingress, where it drops the frames the data
 * plane owns after the AF_PACKET taps have copied them.
 *
 * <h2>Theory of operation</h2>
 * Four BPF objects besides the program and its link:
 * <ul>
 *   <li><b>config</b>: an array of two slots of {@link GuardSlot#ENCODED_SIZE} bytes (double buffer);</li>
 *   <li><b>active</b>: an array of one u32, the slot the program reads;</li>
 *   <li><b>barrier</b>: an array-of-maps of one entry (and the tiny map it holds), which the program never
 *       reads. Updating a map-in-map from user space makes the kernel wait for an RCU grace period before the
 *       syscall returns ({@code maybe_wait_bpf_programs} in {@code kernel/bpf/syscall.c}: "so that userspace,
 *       when we return to it, knows that all programs that could be running use the new map value"); the
 *       guard uses that as a barrier.</li>
 * </ul>
 * The program may only read config and active ({@link Bpf#BPF_F_RDONLY_PROG}).
 *
 * <p><b>Update protocol</b> ({@link #update}): (1) write the new ownership into the inactive slot, which no program
 * run reads; (2) flip the active index to it; (3) pass the barrier. A run reads the index once, so it judges a
 * packet entirely by the old slot or entirely by the new one, never by a torn mix: the slot it reads is not
 * written while it could be reading it. The index write of step (2) is a map update copying 4 bytes, which
 * the kernel does not promise to store in one piece; the two values it alternates between, 0 and 1, differ in
 * one byte only, so any reader sees one or the other (and the program masks it with 1 regardless). Step (3)
 * waits until every run that might have read the old index has finished: when {@code update} returns, every
 * packet is judged by the new ownership, and the old slot is free for the next update. An update costs three
 * syscalls and a grace period (milliseconds); the data path never waits for it.
 *
 * <p><b>Fail-open, unless pinned.</b> Attached by {@link #attachTo(int, String)}, the link is held only by this
 * object's descriptor. {@link #close()} detaches it; if the process dies, the kernel closes the descriptor and detaches
 * it too, and the kernel sees every frame again (answering forwarded SYNs with RST: the host stays reachable). A
 * gateway that keeps its connections across restarts pins the link instead ({@link #attachTo(int, String, Path)}):
 * then it stays attached with the last ownership until the next process takes it over, or the pin is removed
 * ({@link #unpin}).
 *
 * <h2>Ordering the daemon must follow</h2>
 * The guard and the data plane's rules change separately, so the order matters, or the kernel gets a window to
 * answer an owned SYN with RST (or the guard steals the host's traffic):
 * <ul>
 *   <li>A forward is <b>added</b>: update the guard first (start dropping: the port is unanswered for a moment,
 *       clients retransmit their SYN), then give the data plane the new rules.</li>
 *   <li>A forward is <b>removed</b>: give the data plane the new rules first, and keep the forward in the guard
 *       as a <em>lingering</em> entry ({@link io.nsgate.dataplane.nat.RuleSet#lingeringForwards()})
 *       while the data plane still has flows it created; update the guard without it once they are gone.
 *       Removing it from the guard at once would let the kernel reset those live connections.</li>
 *   <li>The NAT range changes: the same rule, union first (guard with both ranges, then the data plane), narrow
 *       later.</li>
 *   <li>Interfaces come and go: attach a guard to a new interface before its AF_PACKET port starts
 *       forwarding; close it after the port stopped.</li>
 * </ul>
 *
 * <p>Thread-safety: {@link #update} and {@link #close} are synchronized; {@link #attach} and {@link #attachTo} run
 * on the calling thread, which must be inside the interface's network namespace (the kernel resolves the
 * interface index and name in the namespace of the thread that asks).
 */
public final class KernelGuard implements AutoCloseable {
    private final int configMapFd;
    private final int activeMapFd;
    private final int barrierInnerFd;
    private final int barrierMapFd;
    private final int instructionCount;
    private int programFd = -1;
    private final ByteBuffer slot = ByteBuffer.allocateDirect(GuardSlot.ENCODED_SIZE).order(ByteOrder.nativeOrder());
    private final UnsafeBuffer slotView = new UnsafeBuffer(slot);
    private final ByteBuffer key = ByteBuffer.allocateDirect(8).order(ByteOrder.nativeOrder());
    private final Bpf.TestRun testRun = new Bpf.TestRun();
    private Ownership ownership;
    private int activeSlot;
    private long generation;
    private int linkFd = -1;
    private int ifindex = -1;
    private String interfaceName;
    private boolean closed;

    private KernelGuard(int configMapFd, int activeMapFd, int barrierInnerFd, int barrierMapFd,
                        int instructionCount, Ownership ownership) {
        this.configMapFd = configMapFd;
        this.activeMapFd = activeMapFd;
        this.barrierInnerFd = barrierInnerFd;
        this.barrierMapFd = barrierMapFd;
        this.instructionCount = instructionCount;
        this.ownership = ownership;
    }

    // ---------------------------------------------------------------- life cycle

    /**
     * Loads a guard enforcing {@code ownership} and attaches it at {@code interfaceName}'s tcx ingress; the name is
     * resolved in the calling thread's network namespace.
     *
     * @throws SyscallException naming the failed call (ENODEV: no such interface in this namespace)
     */
    public static KernelGuard attach(String interfaceName, Ownership ownership) {
        int index = Syscalls.interfaceIndex(interfaceName);
        KernelGuard guard = load(ownership);
        try {
            guard.attachTo(index, interfaceName);
            return guard;
        } catch (RuntimeException e) {
            guard.close();
            throw e;
        }
    }

    /** As {@link #attach(String, Ownership)}, by interface index (of the calling thread's namespace). */
    public static KernelGuard attach(int ifindex, Ownership ownership) {
        KernelGuard guard = load(ownership);
        try {
            guard.attachTo(ifindex, "ifindex " + ifindex);
            return guard;
        } catch (RuntimeException e) {
            guard.close();
            throw e;
        }
    }

    /**
     * Creates the maps, writes {@code ownership} into slot 0 and loads the program, without attaching it: for
     * {@link #verdict} self-tests before {@link #attachTo}, and for tests.
     */
    public static KernelGuard load(Ownership ownership) {
        int config = -1;
        int active = -1;
        int barrierInner = -1;
        int barrier = -1;
        try {
            config = Bpf.mapCreate(Bpf.BPF_MAP_TYPE_ARRAY, 4, GuardSlot.ENCODED_SIZE, 2, Bpf.BPF_F_RDONLY_PROG, -1,
                "nsgate_config");
            active = Bpf.mapCreate(Bpf.BPF_MAP_TYPE_ARRAY, 4, 4, 1, Bpf.BPF_F_RDONLY_PROG, -1, "nsgate_active");
            barrierInner = Bpf.mapCreate(Bpf.BPF_MAP_TYPE_ARRAY, 4, 4, 1, 0, -1, "nsgate_rcu_in");
            barrier = Bpf.mapCreate(Bpf.BPF_MAP_TYPE_ARRAY_OF_MAPS, 4, 4, 1, 0, barrierInner, "nsgate_rcu");
            BpfAssembler program = GuardProgram.generate(active, config);
            KernelGuard guard = new KernelGuard(config, active, barrierInner, barrier, program.instructionCount(),
                ownership);
            guard.writeSlot(0, ownership);
            Bpf.mapUpdateElem(active, 0, 0, Bpf.BPF_ANY, "nsgate_active[0] = 0");
            guard.programFd = Bpf.progLoad(Bpf.BPF_PROG_TYPE_SCHED_CLS, program.build(), GuardProgram.LICENSE,
                GuardProgram.NAME, 0);
            return guard;
        } catch (RuntimeException e) {
            Syscalls.closeQuietly(barrier);
            Syscalls.closeQuietly(barrierInner);
            Syscalls.closeQuietly(active);
            Syscalls.closeQuietly(config);
            throw e;
        }
    }

    /**
     * Attaches the loaded program at tcx ingress of interface {@code ifindex} (of the calling thread's network
     * namespace), after any programs already there.
     */
    public synchronized void attachTo(int ifindex, String what) {
        ensureOpen();
        if (linkFd >= 0) {
            throw new IllegalStateException("guard already attached to " + interfaceName);
        }
        try {
            linkFd = Bpf.linkCreate(programFd, ifindex, Bpf.BPF_TCX_INGRESS, 0, "tcx ingress of " + what);
        } catch (SyscallException e) {
            throw new SyscallException(e.syscall(), e.subject(), e.errno(), attachHint(e.errno()));
        }
        this.ifindex = ifindex;
        this.interfaceName = what;
    }

    /** How {@link #attachTo(int, String, Path)} found the interface. */
    public enum Attachment {
        /** A new link, pinned. */
        NEW,
        /** A previous process's pinned link, which now runs this guard's program (no moment without a guard). */
        TAKEN_OVER
    }

    /**
     * As {@link #attachTo(int, String)}, with the link pinned at {@code pin} (in a bpf file system), so that it stays
     * attached when this process stops or dies, still dropping what the data plane owns: the frames of its
     * connections in the gap before the next process are lost (and retransmitted), not answered with RST. When
     * {@code pin} already holds a tcx ingress link of this interface (the previous process's), that link is taken over:
     * BPF_LINK_UPDATE swaps its program for this one in place. A pin of anything else is replaced.
     */
    public synchronized Attachment attachTo(int ifindex, String what, Path pin) {
        ensureOpen();
        if (linkFd >= 0) {
            throw new IllegalStateException("guard already attached to " + interfaceName);
        }
        // lstat, not access(2): access judges by the real uid without capabilities, and a service user reaches
        // /sys/fs/bpf (mode 0700) only with CAP_DAC_READ_SEARCH
        if (Files.exists(pin, java.nio.file.LinkOption.NOFOLLOW_LINKS)) {
            int fd = -1;
            try {
                fd = Bpf.objGet(pin.toString());
                Bpf.LinkInfo info = Bpf.linkInfo(fd, pin.toString());
                if (info.type() == Bpf.BPF_LINK_TYPE_TCX && info.tcxIfindex() == ifindex
                    && info.tcxAttachType() == Bpf.BPF_TCX_INGRESS) {
                    Bpf.linkUpdate(fd, programFd, "tcx ingress of " + what);
                    linkFd = fd;
                    this.ifindex = ifindex;
                    this.interfaceName = what;
                    return Attachment.TAKEN_OVER;
                }
            } catch (SyscallException e) {
                // not a link of ours any more (or not a link): replaced below
            }
            Syscalls.closeQuietly(fd);
            unpin(pin);
        }
        attachTo(ifindex, what);
        try {
            Files.createDirectories(pin.getParent());
            Bpf.objPin(linkFd, pin.toString());
        } catch (IOException | SyscallException e) {
            Syscalls.closeQuietly(linkFd);
            linkFd = -1;
            throw new SyscallException("bpf", "BPF_OBJ_PIN " + pin, e instanceof SyscallException se ? se.errno() : 0,
                "pins need a bpf file system (mount -t bpf bpf /sys/fs/bpf)");
        }
        return Attachment.NEW;
    }

    /**
     * Removes a pin: once no process holds the link either, it is detached and the kernel sees every frame of the
     * interface again.
     *
     * @return false when there was nothing to remove
     */
    public static boolean unpin(Path pin) {
        try {
            return Files.deleteIfExists(pin);
        } catch (IOException e) {
            throw new java.io.UncheckedIOException("cannot remove the guard pin " + pin + ": " + e.getMessage(), e);
        }
    }

    /** The interface index a pinned tcx link is attached to: 0 once its interface went away, -1 when not a tcx link. */
    public static int pinnedInterface(Path pin) {
        int fd = Bpf.objGet(pin.toString());
        try {
            Bpf.LinkInfo info = Bpf.linkInfo(fd, pin.toString());
            return info.type() == Bpf.BPF_LINK_TYPE_TCX ? info.tcxIfindex() : -1;
        } finally {
            Syscalls.closeQuietly(fd);
        }
    }

    private static String attachHint(int errno) {
        switch (errno) {
            case Errno.ENODEV:
                return "no such interface in this thread's network namespace";
            case Errno.EINVAL:
                return "tcx links need Linux 6.6 or later";
            case Errno.EPERM:
                return "attaching needs CAP_NET_ADMIN and CAP_BPF";
            default:
                return null;
        }
    }

    /**
     * Makes {@code next} what the guard enforces (double-buffered, see the class comment). When this returns, every
     * packet is judged by {@code next}.
     */
    public synchronized void update(Ownership next) {
        ensureOpen();
        int target = activeSlot ^ 1;
        writeSlot(target, next);
        Bpf.mapUpdateElem(activeMapFd, 0, target, Bpf.BPF_ANY, "nsgate_active[0] = " + target);
        activeSlot = target;
        ownership = next;
        Bpf.mapUpdateElem(barrierMapFd, 0, barrierInnerFd, Bpf.BPF_ANY, "nsgate_rcu[0] (grace period)");
    }

    private void writeSlot(int index, Ownership s) {
        GuardSlot.encode(s, slotView, 0);
        slotView.putInt(GuardSlot.GENERATION_OFFSET, (int) ++generation, ByteOrder.nativeOrder());
        key.putInt(0, index);
        Bpf.mapUpdateElem(configMapFd, BufferUtil.address(key), BufferUtil.address(slot), Bpf.BPF_ANY,
            "nsgate_config[" + index + "]");
    }

    /**
     * Closes the link, program and maps. Idempotent. An unpinned link is detached then: the kernel sees every frame of
     * the interface again; a pinned one stays attached, holding the program and its maps.
     */
    @Override
    public synchronized void close() {
        if (closed) {
            return;
        }
        closed = true;
        Syscalls.closeQuietly(linkFd);
        Syscalls.closeQuietly(programFd);
        Syscalls.closeQuietly(barrierMapFd);
        Syscalls.closeQuietly(barrierInnerFd);
        Syscalls.closeQuietly(activeMapFd);
        Syscalls.closeQuietly(configMapFd);
        linkFd = -1;
    }

    private void ensureOpen() {
        if (closed) {
            throw new IllegalStateException("kernel guard" + (interfaceName != null ? " of " + interfaceName : "")
                + " is closed");
        }
    }

    // ---------------------------------------------------------------- queries

    /** What the guard enforces (the last one given). */
    public synchronized Ownership ownership() {
        return ownership;
    }

    /** Reads the active slot back from the kernel's maps: what the program is reading right now. */
    public synchronized Ownership ownershipInKernel() {
        ensureOpen();
        ByteBuffer value = ByteBuffer.allocateDirect(Math.max(GuardSlot.ENCODED_SIZE, 8));
        key.putInt(0, 0);
        Bpf.mapLookupElem(activeMapFd, key, value, "nsgate_active");
        int index = value.order(ByteOrder.nativeOrder()).getInt(0);
        key.putInt(0, index);
        Bpf.mapLookupElem(configMapFd, key, value, "nsgate_config[" + index + "]");
        return GuardSlot.decode(new UnsafeBuffer(value), 0);
    }

    /**
     * Runs the loaded program once on {@code frame} (BPF_PROG_TEST_RUN; attached or not, nothing is sent) and
     * returns its verdict, {@link GuardProgram#PASS} or {@link GuardProgram#DROP}. For self-tests and tests.
     *
     * @param frame an Ethernet frame of at least 14 bytes
     */
    public synchronized int verdict(byte[] frame) {
        ensureOpen();
        ByteBuffer data = ByteBuffer.allocateDirect(frame.length);
        data.put(frame).flip();
        return Bpf.progTestRun(programFd, data, null, 1, testRun).retval;
    }

    /** The program's descriptor (for BPF_PROG_TEST_RUN benchmarks, bpftool-style inspection). */
    public int programFd() {
        return programFd;
    }

    /** Instructions in the program, as the kernel counts them. */
    public int instructionCount() {
        return instructionCount;
    }

    public synchronized boolean isAttached() {
        return linkFd >= 0;
    }

    /** The interface index the guard is attached to, or -1. */
    public synchronized int ifindex() {
        return ifindex;
    }

    /** How many slots have been written: 1 after load, +1 per update. */
    public synchronized long generation() {
        return generation;
    }

    @Override
    public synchronized String toString() {
        return "kernel guard " + (linkFd >= 0 ? "at tcx ingress of " + interfaceName : "(not attached)")
            + ", generation " + generation + ": " + ownership;
    }
}
