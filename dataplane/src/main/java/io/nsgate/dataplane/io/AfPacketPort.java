// A worker's AF_PACKET socket on one interface: RX and TX rings mapped once, and a socket to send from the RX ring.
package io.nsgate.dataplane.io;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;

import org.agrona.BufferUtil;
import org.agrona.DirectBuffer;
import org.agrona.concurrent.UnsafeBuffer;

import io.nsgate.dataplane.packet.VirtioNetHeader;
import io.nsgate.dataplane.stats.PortCounter;
import io.nsgate.dataplane.stats.PortCounters;
import io.nsgate.linux.sys.Errno;
import io.nsgate.linux.sys.Linux;
import io.nsgate.linux.sys.Probe;
import io.nsgate.linux.sys.SyscallException;
import io.nsgate.linux.sys.Syscalls;

/**
 * {@link PacketPort} over one AF_PACKET socket bound to one interface.
 *
 * <p><b>Theory of operation.</b> {@link #open} (on a thread inside the interface's network namespace: the socket
 * stays in the namespace it was created in) makes a SOCK_RAW packet socket with protocol 0, so that it receives
 * nothing before it is bound to the interface, then sets, in this order:
 * <ol>
 *   <li>PACKET_VERSION = TPACKET_V2 or TPACKET_V3 ({@code rxVersion}) and PACKET_VNET_HDR = 1, both before the
 *       rings (the kernel refuses them after): every received frame is preceded by a 10-byte virtio-net header, and
 *       every transmitted one carries one, so GSO super-frames and CHECKSUM_PARTIAL frames pass whole, as veth hands
 *       them over;</li>
 *   <li>PACKET_QDISC_BYPASS = 1: transmitted frames go straight to the driver (so packet taps on the interface,
 *       tcpdump included, do not see them);</li>
 *   <li>PACKET_IGNORE_OUTGOING = 1: the frames the host's own stack sends on the interface stay out of the ring
 *       (in a fanout group the group's own flag does this: see below);</li>
 *   <li>PACKET_LOSS = 1: the kernel skips a TX frame it refuses instead of stopping the whole ring on it;</li>
 *   <li>SO_SNDBUFFORCE = the TX ring's size: each frame is charged to the send buffer until the driver frees it,
 *       and with the default (~208 KiB) a NIC's queue of a few super-frames would stop the kick with EAGAIN (veth
 *       hands frames over within the kick, so there it makes no measurable difference);</li>
 *   <li>PACKET_RX_RING (V2, tpacket_req: {@code rxFrameCount} slots of {@code rxFrameSize}, packed into 1 MiB
 *       blocks; V3, tpacket_req3: {@code rxBlockCount} blocks of {@code rxBlockSize}, retire timeout
 *       {@code rxBlockTimeoutMs}) and PACKET_TX_RING ({@code txFrameCount} slots of {@code txFrameSize}, one per
 *       block; V3 TX wants timeout, private area and feature word all 0);</li>
 *   <li>one {@code mmap} of both rings, RX first, then TX (the kernel lays them out so);</li>
 *   <li>{@code bind} to (ETH_P_ALL, ifindex): frames start arriving;</li>
 *   <li>optionally PACKET_FANOUT (group id, mode HASH, or CBPF with {@link FanoutSteering}'s program set by
 *       PACKET_FANOUT_DATA; with PACKET_FANOUT_FLAG_IGNORE_OUTGOING): the group replaces the socket's own hook, so
 *       the socket-level IGNORE_OUTGOING no longer applies and the group needs the flag;</li>
 *   <li>with {@code inPlaceSend}, a second, ring-less socket bound to (protocol 0, ifindex): it receives nothing,
 *       and {@link #sendInPlace} frames leave by it, one {@code sendmmsg} per {@link #flushInPlace}, straight from
 *       the receive ring ({@link InPlaceSender}).</li>
 * </ol>
 * The interface's ifindex and MAC are read once (SIOCGIFINDEX, SIOCGIFHWADDR).
 *
 * <p>The mapping, drawn ({@link Tpacket2} and {@link Tpacket3} have the byte layouts):
 * <pre>
 *  V2 mapping: [ RX block 0: slot 0 | slot 1 | .. | slot 14 | gap ][ RX block 1 ] ... [ TX slot 0 | ... ]
 *               ^ 1 MiB blocks of rxFrameSize slots,                             ^ txFrameSize each
 *                 {@link RxBatch#buffer} = the RX part (frame offsets are into it)
 *  RX slot:  [tpacket2_hdr 32: tp_status first|sockaddr_ll|..|vnet 10 @66|frame @tp_mac = 76 ...]
 *  TX slot:  [tpacket2_hdr 32][vnet 10 @32][frame @42 ...]                                 tp_len = 10 + frame
 *
 *  V3 mapping: [ RX block 0 | RX block 1 | ... | RX block B-1 ][ TX slot 0 | TX slot 1 | ... | TX slot S-1 ]
 *               ^ rxBlockSize each                              ^ txFrameSize each
 *  RX block: [block header 48][hdr|sockaddr_ll|..|vnet 10|frame @tp_mac][hdr|...|vnet|frame] ... (num_pkts frames)
 *  TX slot:  [tpacket3_hdr 48: tp_len, tp_status][vnet 10 @48][frame @58 ...]              tp_len = 10 + frame
 * </pre>
 *
 * <p>{@link #receive} walks the RX ring in place ({@link RxRingV2}: slots handed over one by one;
 * {@link RxRingV3}: blocks); {@link #transmit} copies a frame and its virtio-net header into the next free TX slot
 * ({@link TxRing}); {@link #flush} is the one system call of a batch, {@code sendto(fd, NULL, 0, MSG_DONTWAIT, NULL,
 * 0)} (made as {@code send(fd, NULL, 0, MSG_DONTWAIT)}, the same
 * system call in four arguments, which jnr-ffi makes without allocating), after which the kernel has sent every
 * queued frame it could.
 * When it could not send them all (EAGAIN, ENOBUFS from a full veth queue, the interface down), the frames stay
 * queued in order and the next {@code flush()} kicks again, even if nothing new was queued: call it every duty
 * cycle (it costs nothing when nothing is owed), or when {@link #flushOwed()} says so.
 *
 * <p><b>Where TX data goes, verified.</b> {@code tpacket_parse_header} takes the data at
 * {@code tp_hdrlen - sizeof(struct sockaddr_ll)} = 68 - 20 = 48 from the slot start (V2: 52 - 20 = 32; tp_mac
 * and tp_net are read only with PACKET_TX_HAS_OFF, which nsgate leaves off); {@code tpacket_snd} then takes the
 * virtio-net header from the first 10 bytes there and subtracts 10 from tp_len, so tp_len is 10 + the frame's
 * length. The tests transmit through it, with either version, and watch the peer namespace's stack answer.
 *
 * <p><b>Costs and limits.</b> No allocation, lock or system call per frame; the port's counters are a
 * block the worker writes and anyone reads, except the kernel's own, which {@link #refreshKernelCounters} fetches
 * with a system call (PACKET_STATISTICS, cleared by every read, so they accumulate).
 * Single-threaded: one worker owns the port; {@link #close} only once that worker has stopped using it (the mapping
 * goes away, and touching it afterwards would crash the JVM, so use after close throws instead).
 * V3 hands a block over when it is full or its retire timer fires, so under light traffic a frame may wait up to
 * {@code rxBlockTimeoutMs} before poll() wakes the worker: the latency floor V3 trades for batching, and why V2 (each
 * frame handed over and the socket woken as it is written) is the default.
 */
public final class AfPacketPort implements PacketPort {
    private static final int EAGAIN = Errno.EAGAIN;
    private static final int ENOBUFS = Errno.ENOBUFS;
    private static final int ENETDOWN = Errno.ENETDOWN;
    private static final int ENXIO = 6;
    private static final int EINTR = Errno.EINTR;
    private static final int ENOPROTOOPT = 92;
    /** struct tpacket_stats_v3: tp_packets, tp_drops, tp_freeze_q_cnt (V2's tpacket_stats: the first two). */
    private static final int STATS_LENGTH = 12;
    /** struct tpacket_req3: seven unsigned ints. */
    private static final int REQ3_LENGTH = 28;
    /** struct tpacket_req (V2): block size, block count, frame size, frame count. */
    private static final int REQ_LENGTH = 16;
    /** struct sockaddr_ll. */
    private static final int SOCKADDR_LL_LENGTH = 20;

    private static final Probe PROBE = new Probe(AfPacketPort::probe);

    private final String interfaceName;
    private final int ifindex;
    private long mac;
    private final int fd;
    private final AfPacketOptions options;
    private final long mapAddress;
    private final long mapLength;
    private final RxRing rx;
    private final TxRing tx;
    /** tpacket_stats_v3 then its int length, for getsockopt. */
    private final ByteBuffer stats = ByteBuffer.allocateDirect(STATS_LENGTH + 4).order(ByteOrder.nativeOrder());
    private final String kickSubject;

    private final PortCounters counters = new PortCounters();

    /** The ring-less socket frames are sent from the receive ring with, and its batch; -1 and null when off. */
    private int inPlaceFd = -1;
    private InPlaceSender inPlace;
    private boolean closed;
    private boolean flushOwed;
    private int lastKickErrno;
    private long kernelPackets;

    private AfPacketPort(String interfaceName, int ifindex, long mac, int fd, AfPacketOptions options,
        long mapAddress, long mapLength) {
        this.interfaceName = interfaceName;
        this.ifindex = ifindex;
        this.mac = mac;
        this.fd = fd;
        this.options = options;
        this.mapAddress = mapAddress;
        this.mapLength = mapLength;
        final int rxBytes = (int) options.rxRingBytes();
        final UnsafeBuffer rxPart = new UnsafeBuffer(mapAddress, rxBytes);
        final UnsafeBuffer txPart = new UnsafeBuffer(mapAddress + rxBytes, (int) options.txRingBytes());
        if (options.rxVersion() == AfPacketOptions.RxVersion.V2) {
            this.rx = new RxRingV2(rxPart, options.rxFrameBlockSize(), options.rxFrameSize(), options.rxFrameCount(),
                counters);
            this.tx = TxRing.v2(txPart, options.txFrameSize(), options.txFrameCount(), counters);
        } else {
            this.rx = new RxRingV3(rxPart, options.rxBlockSize(), options.rxBlockCount(), counters);
            this.tx = TxRing.v3(txPart, options.txFrameSize(), options.txFrameCount(), counters);
        }
        this.kickSubject = "TX ring kick, " + interfaceName;
    }

    /**
     * Opens a port on {@code interfaceName}, which must be in the calling thread's network namespace.
     *
     * @throws SyscallException naming the failed call, the interface and the errno, with what to check
     * @throws IllegalArgumentException when the name cannot be an interface name or the interface is not Ethernet
     */
    public static AfPacketPort open(String interfaceName, AfPacketOptions options) {
        Syscalls.checkInterfaceName(interfaceName);
        int fd = -1;
        long mapAddress = 0;
        final long mapLength = options.rxRingBytes() + options.txRingBytes();
        try {
            try {
                fd = Syscalls.socket(Linux.AF_PACKET, Linux.SOCK_RAW | Linux.SOCK_CLOEXEC, 0,
                    "AF_PACKET for " + interfaceName);
            } catch (SyscallException e) {
                throw hint(e, e.errno() == Errno.EPERM || e.errno() == Errno.EACCES
                    ? "AF_PACKET sockets need CAP_NET_RAW: run as root or grant the capability" : null);
            }
            final int index;
            try {
                index = Syscalls.interfaceIndex(fd, interfaceName);
            } catch (SyscallException e) {
                throw hint(e, e.errno() == Errno.ENODEV ? "no interface " + interfaceName + " in this thread's"
                    + " network namespace: open the port on a thread inside the interface's namespace" : null);
            }
            final long mac = Syscalls.hardwareAddress(fd, interfaceName);

            final boolean v2 = options.rxVersion() == AfPacketOptions.RxVersion.V2;
            setInt(fd, Linux.PACKET_VERSION, v2 ? Linux.TPACKET_V2 : Linux.TPACKET_V3, "PACKET_VERSION",
                interfaceName);
            setInt(fd, Linux.PACKET_VNET_HDR, 1, "PACKET_VNET_HDR", interfaceName);
            setInt(fd, Linux.PACKET_QDISC_BYPASS, 1, "PACKET_QDISC_BYPASS", interfaceName);
            setInt(fd, Linux.PACKET_IGNORE_OUTGOING, 1, "PACKET_IGNORE_OUTGOING", interfaceName);
            setInt(fd, Linux.PACKET_LOSS, 1, "PACKET_LOSS", interfaceName);
            setSendBuffer(fd, options.txRingBytes(), interfaceName);

            // V2 reads a tpacket_req (the first 16 bytes), V3 a tpacket_req3
            final int reqLength = v2 ? REQ_LENGTH : REQ3_LENGTH;
            final ByteBuffer req = ByteBuffer.allocateDirect(REQ3_LENGTH).order(ByteOrder.nativeOrder());
            if (v2) {
                req.putInt(0, options.rxFrameBlockSize()).putInt(4, options.rxFrameCount() / options.rxFramesPerBlock())
                    .putInt(8, options.rxFrameSize()).putInt(12, options.rxFrameCount());
                setRing(fd, Linux.PACKET_RX_RING, req, reqLength, "PACKET_RX_RING", interfaceName,
                    "rxFrameCount " + options.rxFrameCount() + " x rxFrameSize " + options.rxFrameSize());
            } else {
                req.putInt(0, options.rxBlockSize()).putInt(4, options.rxBlockCount())
                    .putInt(8, options.rxBlockSize()).putInt(12, options.rxBlockCount())
                    .putInt(16, options.rxBlockTimeoutMs()).putInt(20, 0).putInt(24, 0);
                setRing(fd, Linux.PACKET_RX_RING, req, reqLength, "PACKET_RX_RING", interfaceName,
                    "rxBlockCount " + options.rxBlockCount() + " x rxBlockSize " + options.rxBlockSize());
            }
            req.putInt(0, options.txFrameSize()).putInt(4, options.txFrameCount())
                .putInt(8, options.txFrameSize()).putInt(12, options.txFrameCount())
                .putInt(16, 0).putInt(20, 0).putInt(24, 0);
            setRing(fd, Linux.PACKET_TX_RING, req, reqLength, "PACKET_TX_RING", interfaceName,
                "txFrameCount " + options.txFrameCount() + " x txFrameSize " + options.txFrameSize());

            try {
                mapAddress = Syscalls.mmap(mapLength, Linux.PROT_READ | Linux.PROT_WRITE, Linux.MAP_SHARED, fd, 0,
                    "rings of " + interfaceName + ", " + mapLength + " bytes");
            } catch (SyscallException e) {
                throw hint(e, "the address space or memory for " + mapLength + " bytes of rings was refused: lower"
                    + " the ring options");
            }

            final ByteBuffer sll = ByteBuffer.allocateDirect(SOCKADDR_LL_LENGTH).order(ByteOrder.nativeOrder());
            sll.putShort(0, (short) Linux.AF_PACKET);
            sll.putShort(2, (short) Syscalls.htons(Linux.ETH_P_ALL));
            sll.putInt(4, index);
            Syscalls.bind(fd, sll, "AF_PACKET, " + interfaceName + " ifindex " + index);

            if (options.fanout()) {
                final int mode = (options.steeredWorkers() > 0 ? Linux.PACKET_FANOUT_CBPF : Linux.PACKET_FANOUT_HASH)
                    | Linux.PACKET_FANOUT_FLAG_IGNORE_OUTGOING;
                try {
                    Syscalls.setsockopt(fd, Linux.SOL_PACKET, Linux.PACKET_FANOUT,
                        options.fanoutGroup() | mode << 16, "PACKET_FANOUT group " + options.fanoutGroup() + ", "
                            + interfaceName);
                } catch (SyscallException e) {
                    throw hint(e, e.errno() == Errno.EINVAL
                        ? "group " + options.fanoutGroup() + " already exists in this namespace with another"
                            + " interface, mode or flags: every member must open the same interface with the same group"
                        : e.errno() == Errno.ENOSPC ? "the group is full (256 members)" : null);
                }
                if (options.steeredWorkers() > 0) {
                    // the group's program (every member sets the same one): struct sock_fprog { u16 len; filter * }
                    final ByteBuffer program = FanoutSteering.program(options.steeredWorkers());
                    final ByteBuffer fprog = ByteBuffer.allocateDirect(16).order(ByteOrder.nativeOrder());
                    fprog.putShort(0, (short) (program.capacity() / 8));
                    fprog.putLong(8, Syscalls.address(program));
                    Syscalls.setsockopt(fd, Linux.SOL_PACKET, Linux.PACKET_FANOUT_DATA, fprog,
                        "PACKET_FANOUT_DATA (the steering program) of group " + options.fanoutGroup() + ", "
                            + interfaceName);
                    java.lang.ref.Reference.reachabilityFence(program);
                }
            }
            final AfPacketPort port = new AfPacketPort(interfaceName, index, mac, fd, options, mapAddress,
                mapLength);
            if (options.inPlaceSend()) {
                // a failure here leaves the rings and fd to the finally below (the port is never returned)
                port.inPlaceFd = openInPlaceSocket(interfaceName, index, options);
                port.inPlace = new InPlaceSender();
            }
            Syscalls.lastErrno(); // jnr-ffi sets up errno access on first use (~16 KB): not in the first failed kick
            fd = -1; // owned by the port now
            mapAddress = 0;
            return port;
        } finally {
            if (mapAddress != 0) {
                try {
                    Syscalls.munmap(mapAddress, mapLength, "rings of " + interfaceName);
                } catch (SyscallException ignored) {
                    // the open failure being thrown says more
                }
            }
            Syscalls.closeQuietly(fd);
        }
    }

    private static void setInt(int fd, int option, int value, String optionName, String interfaceName) {
        try {
            Syscalls.setsockopt(fd, Linux.SOL_PACKET, option, value, optionName + ", " + interfaceName);
        } catch (SyscallException e) {
            throw hint(e, e.errno() == ENOPROTOOPT
                ? "this kernel does not know " + optionName + " (nsgate needs Linux 4.20 or later)" : null);
        }
    }

    /**
     * The socket frames are sent in place with: AF_PACKET, no rings (so that sendmsg copies from the iovecs instead of
     * using a TX ring), the virtio-net header, the qdisc bypassed, bound to the interface with protocol 0 so that it
     * receives nothing.
     */
    private static int openInPlaceSocket(String interfaceName, int index, AfPacketOptions options) {
        final int s = Syscalls.socket(Linux.AF_PACKET, Linux.SOCK_RAW | Linux.SOCK_CLOEXEC, 0,
            "AF_PACKET (in-place sends) for " + interfaceName);
        try {
            setInt(s, Linux.PACKET_VNET_HDR, 1, "PACKET_VNET_HDR (in-place sends)", interfaceName);
            setInt(s, Linux.PACKET_QDISC_BYPASS, 1, "PACKET_QDISC_BYPASS (in-place sends)", interfaceName);
            setSendBuffer(s, options.txRingBytes(), interfaceName);
            final ByteBuffer sll = ByteBuffer.allocateDirect(SOCKADDR_LL_LENGTH).order(ByteOrder.nativeOrder());
            sll.putShort(0, (short) Linux.AF_PACKET);
            sll.putShort(2, (short) 0);
            sll.putInt(4, index);
            Syscalls.bind(s, sll, "AF_PACKET (in-place sends), " + interfaceName + " ifindex " + index);
            return s;
        } catch (RuntimeException e) {
            Syscalls.closeQuietly(s);
            throw e;
        }
    }

    private static void setSendBuffer(int fd, long bytes, String interfaceName) {
        final int value = (int) Math.min(bytes, Integer.MAX_VALUE / 2);
        try {
            Syscalls.setsockopt(fd, Linux.SOL_SOCKET, Linux.SO_SNDBUFFORCE, value, "SO_SNDBUFFORCE, "
                + interfaceName);
        } catch (SyscallException e) {
            if (e.errno() != Errno.EPERM) {
                throw e;
            }
            // without CAP_NET_ADMIN: as much as net.core.wmem_max allows
            Syscalls.setsockopt(fd, Linux.SOL_SOCKET, Linux.SO_SNDBUF, value, "SO_SNDBUF, " + interfaceName);
        }
    }

    private static void setRing(int fd, int option, ByteBuffer req, int length, String optionName,
        String interfaceName, String sizes) {
        try {
            Syscalls.setsockopt(fd, Linux.SOL_PACKET, option, BufferUtil.address(req), length,
                optionName + ", " + interfaceName);
        } catch (SyscallException e) {
            throw hint(e, e.errno() == Errno.ENOMEM
                ? "the kernel could not allocate " + sizes + " bytes: lower them" : "kernel refused " + sizes);
        }
    }

    private static SyscallException hint(SyscallException e, String hint) {
        return hint == null ? e : new SyscallException(e.syscall(), e.subject(), e.errno(), hint);
    }

    /** Why AF_PACKET ports cannot be opened here (libc not bound, CAP_NET_RAW not held), or null when they can. */
    public static String unavailabilityCause() {
        return PROBE.unavailabilityCause();
    }

    private static String probe() {
        try {
            Syscalls.close(Syscalls.socket(Linux.AF_PACKET, Linux.SOCK_RAW | Linux.SOCK_CLOEXEC, 0, "probe"),
                "AF_PACKET probe");
            return null;
        } catch (SyscallException e) {
            return "cannot open an AF_PACKET socket (" + e.getMessage() + "): it needs CAP_NET_RAW, i.e. root";
        }
    }

    // ---------------------------------------------------------------- PacketPort

    @Override
    public String interfaceName() {
        return interfaceName;
    }

    @Override
    public int ifindex() {
        return ifindex;
    }

    @Override
    public long mac() {
        return mac;
    }

    @Override
    public void mac(long mac) {
        this.mac = mac;
    }

    @Override
    public int fd() {
        return fd;
    }

    /**
     * {@inheritDoc} Hands back the RX slots (V2) or blocks (V3) the previous batch finished, then fills the batch in
     * place from the ring: {@link RxBatch#buffer} is the RX ring itself. No system call: wait with
     * {@link PortPoller}.
     */
    @Override
    public int receive(RxBatch batch) {
        ensureOpen();
        return rx.receive(batch);
    }

    /**
     * {@inheritDoc} A frame the kernel would refuse (longer than {@link #maxTransmitLength()}, shorter than an
     * Ethernet header, or with a virtio-net header whose checksum position or hdr_len lies beyond the frame) is
     * dropped and counted in {@link #txRejected()}, and true is returned: retrying would not help.
     */
    @Override
    public boolean transmit(DirectBuffer source, int vnetOffset, int frameOffset, int frameLength) {
        ensureOpen();
        return tx.offer(source, vnetOffset, frameOffset, frameLength);
    }

    @Override
    public boolean sendInPlace(DirectBuffer buffer, int vnetOffset, int frameOffset, int frameLength) {
        ensureOpen();
        if (inPlace == null || buffer.byteArray() != null || vnetOffset != frameOffset - VirtioNetHeader.LENGTH) {
            return false;
        }
        if (frameLength < Linux.ETH_HLEN || !TxRing.kernelWouldAccept(buffer, vnetOffset, frameLength)) {
            counters.increment(PortCounter.TX_REJECTED);
            return true;
        }
        if (inPlace.queued() == InPlaceSender.CAPACITY) {
            flushInPlace();
        }
        inPlace.add(buffer.addressOffset() + vnetOffset, VirtioNetHeader.LENGTH + frameLength);
        counters.increment(PortCounter.TX_IN_PLACE);
        return true;
    }

    @Override
    public void flushInPlace() {
        ensureOpen();
        if (inPlace != null && inPlace.queued() > 0) {
            inPlace.flush(inPlaceFd, counters);
        }
    }

    @Override
    public int inPlaceQueued() {
        return inPlace == null ? 0 : inPlace.queued();
    }

    /**
     * {@inheritDoc} Makes no system call when nothing is queued and no earlier kick is owed. EAGAIN, ENOBUFS,
     * ENETDOWN and ENXIO are counted ({@link PortCounter#TX_KICK_FAILURES}), not thrown: the frames stay queued for
     * the next flush.
     *
     * @throws SyscallException for any other error (a closed descriptor: a bug)
     */
    @Override
    public void flush() {
        ensureOpen();
        if (tx.queued() == 0 && !flushOwed) {
            return;
        }
        final long sent = Syscalls.trySend(fd, 0L, 0L, Linux.MSG_DONTWAIT);
        counters.increment(PortCounter.TX_KICKS);
        tx.kicked();
        if (sent < 0) {
            final int errno = (int) -sent;
            if (errno != EAGAIN && errno != ENOBUFS && errno != ENETDOWN && errno != ENXIO && errno != EINTR) {
                throw new SyscallException("send", kickSubject, errno);
            }
            counters.increment(PortCounter.TX_KICK_FAILURES);
            lastKickErrno = errno;
        }
        flushOwed = !tx.drained();
    }

    @Override
    public boolean flushOwed() {
        return flushOwed;
    }

    @Override
    public PortCounters counters() {
        return counters;
    }

    /**
     * {@inheritDoc} Reads PACKET_STATISTICS (a system call): the kernel clears its counts on every read, so each read
     * is added to {@link PortCounter#RX_RING_DROPS} and {@link PortCounter#RX_RING_FREEZES}, whose only writer this
     * is (under this object's lock).
     */
    @Override
    public synchronized void refreshKernelCounters() {
        if (closed) {
            return; // its socket is gone: the counts stay what they were
        }
        final long base = BufferUtil.address(stats);
        stats.putInt(8, 0); // V2's tpacket_stats has no tp_freeze_q_cnt: the kernel writes 8 bytes only
        stats.putInt(STATS_LENGTH, STATS_LENGTH);
        Syscalls.getsockopt(fd, Linux.SOL_PACKET, Linux.PACKET_STATISTICS, base, base + STATS_LENGTH,
            "PACKET_STATISTICS, " + interfaceName);
        kernelPackets += Integer.toUnsignedLong(stats.getInt(0));
        counters.add(PortCounter.RX_RING_DROPS, Integer.toUnsignedLong(stats.getInt(4)));
        counters.add(PortCounter.RX_RING_FREEZES, Integer.toUnsignedLong(stats.getInt(8)));
    }

    /**
     * Frames the kernel passed to the socket, dropped ones included (PACKET_STATISTICS tp_packets, summed over the
     * reads so far; {@link #refreshKernelCounters} reads them).
     */
    public synchronized long kernelPackets() {
        return kernelPackets;
    }

    /**
     * Unmaps the rings and closes the socket; idempotent. Synchronized with {@link #refreshKernelCounters}, so a
     * scrape during shutdown never reads statistics from a closed (or reused) descriptor.
     */
    @Override
    public synchronized void close() {
        if (closed) {
            return;
        }
        closed = true;
        try {
            Syscalls.munmap(mapAddress, mapLength, "rings of " + interfaceName);
        } finally {
            Syscalls.close(fd, "AF_PACKET socket of " + interfaceName);
            if (inPlace != null) {
                Syscalls.closeQuietly(inPlaceFd);
                inPlace.close();
            }
        }
    }

    public boolean isClosed() {
        return closed;
    }

    private void ensureOpen() {
        if (closed) {
            throw new IllegalStateException("AF_PACKET port on " + interfaceName + " is closed");
        }
    }

    public AfPacketOptions options() {
        return options;
    }

    /** The longest frame {@link #transmit} accepts. */
    public int maxTransmitLength() {
        return tx.maxFrameLength();
    }

    /** errno of the last failed kick, 0 if none failed. */
    public int lastKickErrno() {
        return lastKickErrno;
    }

    @Override
    public String toString() {
        return "AfPacketPort{" + interfaceName + " ifindex " + ifindex + ", fd " + fd + ", " + options + "}";
    }
}
