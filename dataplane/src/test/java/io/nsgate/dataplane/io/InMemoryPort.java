// A PacketPort in memory for pipeline tests: frames a test queues are received, frames transmitted are kept in order.
package io.nsgate.dataplane.io;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

import org.agrona.DirectBuffer;
import org.agrona.concurrent.UnsafeBuffer;

import io.nsgate.dataplane.packet.VirtioNetHeader;
import io.nsgate.dataplane.stats.PortCounter;
import io.nsgate.dataplane.stats.PortCounters;
import io.nsgate.linux.sys.Linux;

/**
 * The in-memory twin of {@link AfPacketPort}, with the same contract: {@link #receive} copies queued frames, each
 * after its 10-byte virtio-net header, into one receive buffer (so the pipeline rewrites them in place, as in the
 * ring) that stays valid until the next {@code receive}; {@link #transmit} queues a copy of a frame and its header
 * until {@link #flush}, which "sends" them: they then appear in {@link #sent()} in order. A TX capacity (frames
 * queued and not yet flushed) makes {@code transmit} return false like a full ring.
 *
 * <pre>
 *   InMemoryPort port = new InMemoryPort("lan0", 3, MacAddress.parse("02:00:00:00:00:03"));
 *   port.enqueue(Frames.tcp().flags(Frames.SYN).build());                                  // a plain frame
 *   port.enqueue(superFrame, VirtioNetHeader.FLAG_NEEDS_CSUM, VirtioNetHeader.GSO_TCPV4, 1448); // GSO, as veth gives
 *   worker.doWork();
 *   InMemoryPort.Frame out = port.sent().get(0);   // bytes, flags, gsoType, gsoSize, hdrLen, csumStart, csumOffset
 * </pre>
 *
 * <p>With NEEDS_CSUM or GSO, {@link #enqueue(byte[], int, int, int)} fills hdr_len, csum_start and csum_offset as
 * the kernel would for an Ethernet/IPv4 (optionally 802.1Q-tagged) TCP or UDP frame; {@link #enqueueWithHeader}
 * takes the 10 header bytes verbatim. {@code fd()} is -1 (nothing to poll). Not thread-safe, like a real port.
 * Receiving and transmitting allocate (queue nodes, copies kept for assertions) unless {@link #keepSent}
 * is off, in which case transmit and flush only count.
 */
public final class InMemoryPort implements PacketPort {
    /** Receive buffer size: a batch stops early when the next frame does not fit (it stays queued). */
    public static final int RX_BUFFER_BYTES = 1 << 20;
    private static final int VNET = VirtioNetHeader.LENGTH;
    /** Frames start 4 bytes past an 8-byte boundary, as in the ring (8-aligned frame headers, tp_mac 92). */
    private static final int ALIGN = 8;
    private static final int FRAME_SKEW = 4;

    private final String interfaceName;
    private final int ifindex;
    private long mac;
    private final UnsafeBuffer rxBuffer = new UnsafeBuffer(ByteBuffer.allocateDirect(RX_BUFFER_BYTES));
    private final ArrayDeque<byte[]> toReceive = new ArrayDeque<>();
    private final List<Frame> queued = new ArrayList<>();
    private final List<Frame> sent = new ArrayList<>();
    private int txCapacity = Integer.MAX_VALUE;
    private boolean keepSent = true;
    private int queuedCount;
    private final PortCounters counters = new PortCounters();
    private long flushes;
    private boolean closed;

    public InMemoryPort(String interfaceName, int ifindex, long mac) {
        this.interfaceName = interfaceName;
        this.ifindex = ifindex;
        this.mac = mac;
    }

    /** Frames that may be queued (transmitted, not yet flushed) before {@link #transmit} returns false. */
    public InMemoryPort txCapacity(int frames) {
        if (frames < 0) {
            throw new IllegalArgumentException("txCapacity " + frames + ": must be 0 or more");
        }
        this.txCapacity = frames;
        return this;
    }

    /** Whether sent frames are copied for {@link #sent()} (default) or only counted, allocating nothing. */
    public InMemoryPort keepSent(boolean keep) {
        this.keepSent = keep;
        return this;
    }

    /** Reports {@code drops} frames dropped at its (imaginary) full receive ring, as the kernel would. */
    public InMemoryPort kernelDrops(long drops) {
        counters.add(PortCounter.RX_RING_DROPS, drops);
        return this;
    }

    // ---------------------------------------------------------------- what tests feed in

    /** Queues a complete, non-GSO frame (virtio-net header of zeroes). */
    public InMemoryPort enqueue(byte[] frame) {
        return enqueueWithHeader(frame, new byte[VNET]);
    }

    /**
     * Queues a frame with virtio-net flags, GSO type and size; hdr_len, csum_start and csum_offset are derived
     * from the frame (Ethernet, optional 802.1Q, IPv4, TCP or UDP) when NEEDS_CSUM or GSO asks for them.
     */
    public InMemoryPort enqueue(byte[] frame, int vnetFlags, int gsoType, int gsoSize) {
        byte[] header = new byte[VNET];
        UnsafeBuffer h = new UnsafeBuffer(header);
        VirtioNetHeader v = new VirtioNetHeader().wrap(h, 0);
        v.flags(vnetFlags).gsoType(gsoType).gsoSize(gsoSize);
        if ((vnetFlags & VirtioNetHeader.FLAG_NEEDS_CSUM) != 0 || (gsoType & ~VirtioNetHeader.GSO_ECN) != 0) {
            int l3 = (((frame[12] & 0xFF) << 8) | (frame[13] & 0xFF)) == 0x8100 ? 18 : 14;
            int l4 = l3 + (frame[l3] & 0x0F) * 4;
            int proto = frame[l3 + 9] & 0xFF;
            int l4HeaderLength = proto == 6 ? ((frame[l4 + 12] & 0xF0) >>> 4) * 4 : 8;
            if ((vnetFlags & VirtioNetHeader.FLAG_NEEDS_CSUM) != 0) {
                v.csumStart(l4).csumOffset(proto == 6 ? 16 : 6);
            }
            if ((gsoType & ~VirtioNetHeader.GSO_ECN) != 0) {
                v.hdrLen(l4 + l4HeaderLength);
            }
        }
        return enqueueWithHeader(frame, header);
    }

    /** Queues a frame with the 10 virtio-net header bytes given verbatim. */
    public InMemoryPort enqueueWithHeader(byte[] frame, byte[] vnetHeader) {
        if (vnetHeader.length != VNET) {
            throw new IllegalArgumentException("a virtio-net header is " + VNET + " bytes, not " + vnetHeader.length);
        }
        if (frame.length + VNET + ALIGN + FRAME_SKEW > RX_BUFFER_BYTES) {
            throw new IllegalArgumentException("frame of " + frame.length + " bytes exceeds the receive buffer");
        }
        byte[] entry = new byte[VNET + frame.length];
        System.arraycopy(vnetHeader, 0, entry, 0, VNET);
        System.arraycopy(frame, 0, entry, VNET, frame.length);
        toReceive.add(entry);
        return this;
    }

    /** Frames queued by the test and not received yet. */
    public int pendingReceive() {
        return toReceive.size();
    }

    // ---------------------------------------------------------------- what tests look at

    /** Frames flushed so far, in transmit order (empty when {@link #keepSent} is off). */
    public List<Frame> sent() {
        return sent;
    }

    /** Returns and forgets the frames flushed so far. */
    public List<Frame> takeSent() {
        List<Frame> copy = new ArrayList<>(sent);
        sent.clear();
        return copy;
    }

    /** Frames transmitted and not yet flushed. */
    public List<Frame> queued() {
        return queued;
    }

    /** {@link #flush} calls. */
    public long flushes() {
        return flushes;
    }

    public boolean isClosed() {
        return closed;
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

    /** What the kernel's eth_type_trans makes of a destination MAC on this port. */
    private int packetType(long destination) {
        if (destination == 0xFFFF_FFFF_FFFFL) {
            return Linux.PACKET_BROADCAST;
        }
        if ((destination & 0x0100_0000_0000L) != 0) {
            return Linux.PACKET_MULTICAST;
        }
        return destination == mac ? Linux.PACKET_HOST : Linux.PACKET_OTHERHOST;
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
        return -1;
    }

    @Override
    public int receive(RxBatch batch) {
        ensureOpen();
        batch.buffer = rxBuffer;
        int count = 0;
        int offset = 0;
        while (count < RxBatch.CAPACITY && !toReceive.isEmpty()) {
            byte[] entry = toReceive.peek();
            int frame = align(offset + VNET) + FRAME_SKEW;
            int vnet = frame - VNET;
            if (frame + entry.length - VNET > RX_BUFFER_BYTES) {
                break;
            }
            toReceive.poll();
            rxBuffer.putBytes(vnet, entry);
            batch.vnetOffset[count] = vnet;
            batch.frameOffset[count] = frame;
            batch.frameLength[count] = entry.length - VNET;
            batch.packetType[count] = packetType(rxBuffer.getLong(frame, ByteOrder.BIG_ENDIAN) >>> 16);
            batch.vnetFlags[count] = entry[VirtioNetHeader.FLAGS_OFFSET] & 0xFF;
            batch.gsoType[count] = entry[VirtioNetHeader.GSO_TYPE_OFFSET] & ~VirtioNetHeader.GSO_ECN & 0xFF;
            batch.gsoSize[count] = rxBuffer.getShort(vnet + VirtioNetHeader.GSO_SIZE_OFFSET, ByteOrder.LITTLE_ENDIAN)
                & 0xFFFF;
            offset = frame + entry.length - VNET;
            count++;
        }
        counters.add(PortCounter.RX_FRAMES, count);
        batch.count = count;
        return count;
    }

    private static int align(int offset) {
        return (offset + ALIGN - 1) & -ALIGN;
    }

    @Override
    public boolean transmit(DirectBuffer source, int vnetOffset, int frameOffset, int frameLength) {
        ensureOpen();
        if (queuedCount >= txCapacity) {
            counters.increment(PortCounter.TX_RING_FULL);
            return false;
        }
        queuedCount++;
        counters.increment(PortCounter.TX_FRAMES);
        if (keepSent) {
            byte[] header = new byte[VNET];
            if (vnetOffset >= 0) {
                source.getBytes(vnetOffset, header);
            }
            byte[] frame = new byte[frameLength];
            source.getBytes(frameOffset, frame);
            queued.add(new Frame(frame, header));
        }
        return true;
    }

    /** A frame queued by sendInPlace: where it lies, and what it held then (to catch a slot reused too early). */
    private record InPlace(DirectBuffer buffer, int vnetOffset, int frameOffset, byte[] frame, byte[] header) {
    }

    private boolean inPlaceEnabled;
    private final List<InPlace> inPlace = new ArrayList<>();

    /** Lets {@link #sendInPlace} take frames (off by default: the port then answers false, as a port without it). */
    public InMemoryPort inPlace(boolean enabled) {
        this.inPlaceEnabled = enabled;
        return this;
    }

    /**
     * Takes a reference to the frame, as an AF_PACKET port does; {@link #flushInPlace} checks that the bytes are
     * still what they were, so a worker that hands a receive slot back before flushing fails the test.
     */
    @Override
    public boolean sendInPlace(DirectBuffer buffer, int vnetOffset, int frameOffset, int frameLength) {
        ensureOpen();
        if (!inPlaceEnabled || vnetOffset != frameOffset - VNET) {
            return false;
        }
        byte[] header = new byte[VNET];
        buffer.getBytes(vnetOffset, header);
        byte[] frame = new byte[frameLength];
        buffer.getBytes(frameOffset, frame);
        inPlace.add(new InPlace(buffer, vnetOffset, frameOffset, frame, header));
        counters.increment(PortCounter.TX_IN_PLACE);
        return true;
    }

    @Override
    public void flushInPlace() {
        ensureOpen();
        for (InPlace f : inPlace) {
            byte[] now = new byte[f.frame().length];
            f.buffer().getBytes(f.frameOffset(), now);
            if (!Arrays.equals(now, f.frame())) {
                throw new IllegalStateException(interfaceName + ": a frame queued in place changed before "
                    + "flushInPlace (its receive slot was handed back first)");
            }
            if (keepSent) {
                sent.add(new Frame(f.frame(), f.header()));
            }
        }
        if (!inPlace.isEmpty()) {
            counters.increment(PortCounter.TX_KICKS);
            inPlace.clear();
        }
    }

    @Override
    public int inPlaceQueued() {
        return inPlace.size();
    }

    @Override
    public void flush() {
        ensureOpen();
        flushes++;
        if (queuedCount > 0) {
            counters.increment(PortCounter.TX_KICKS); // an AF_PACKET port makes a system call for these only
            if (!queued.isEmpty()) { // addAll allocates even for an empty list (toArray)
                sent.addAll(queued);
                queued.clear();
            }
            queuedCount = 0;
        }
    }

    @Override
    public PortCounters counters() {
        return counters;
    }

    @Override
    public void close() {
        closed = true;
    }

    private void ensureOpen() {
        if (closed) {
            throw new IllegalStateException("in-memory port " + interfaceName + " is closed");
        }
    }

    @Override
    public String toString() {
        return "InMemoryPort{" + interfaceName + ", to receive " + toReceive.size() + ", queued " + queuedCount
            + ", sent " + sent.size() + "}";
    }

    /** A transmitted frame and its virtio-net header, as the port got them. */
    public record Frame(byte[] bytes, byte[] vnetHeader) {
        private static final ByteOrder LE = ByteOrder.LITTLE_ENDIAN;

        public int length() {
            return bytes.length;
        }

        public int vnetFlags() {
            return vnetHeader[VirtioNetHeader.FLAGS_OFFSET] & 0xFF;
        }

        /** gso_type, ECN bit included. */
        public int gsoType() {
            return vnetHeader[VirtioNetHeader.GSO_TYPE_OFFSET] & 0xFF;
        }

        public int hdrLen() {
            return field(VirtioNetHeader.HDR_LEN_OFFSET);
        }

        public int gsoSize() {
            return field(VirtioNetHeader.GSO_SIZE_OFFSET);
        }

        public int csumStart() {
            return field(VirtioNetHeader.CSUM_START_OFFSET);
        }

        public int csumOffset() {
            return field(VirtioNetHeader.CSUM_OFFSET_OFFSET);
        }

        private int field(int offset) {
            return ByteBuffer.wrap(vnetHeader).order(LE).getShort(offset) & 0xFFFF;
        }

        /** The frame as an UnsafeBuffer (a copy), for the packet flyweights. */
        public UnsafeBuffer buffer() {
            return new UnsafeBuffer(bytes.clone());
        }

        @Override
        public boolean equals(Object o) {
            return o instanceof Frame f && Arrays.equals(bytes, f.bytes) && Arrays.equals(vnetHeader, f.vnetHeader);
        }

        @Override
        public int hashCode() {
            return 31 * Arrays.hashCode(bytes) + Arrays.hashCode(vnetHeader);
        }

        @Override
        public String toString() {
            return "Frame{" + bytes.length + " bytes, flags " + vnetFlags() + ", gso " + gsoType() + "/" + gsoSize()
                + "}";
        }
    }
}
