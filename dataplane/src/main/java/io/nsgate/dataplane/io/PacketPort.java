// One worker's frame I/O on one interface: receive batches, transmit copies, kick the kernel once per batch.
package io.nsgate.dataplane.io;

import org.agrona.DirectBuffer;
import io.nsgate.dataplane.stats.PortCounters;

/**
 * A worker's access to one interface. The AF_PACKET implementation is a TPACKET_V2 (or V3) RX ring and a TX ring
 * mapped once, with PACKET_VNET_HDR so GSO super-frames and partial checksums pass whole; tests use an in-memory one.
 * Not thread-safe: one port per worker per interface. Nothing here allocates or makes a system call per frame:
 * {@link #receive} reads the mapped ring, {@link #transmit} copies into it, {@link #flush} is the one syscall of
 * a batch.
 */
public interface PacketPort extends AutoCloseable {
    /** The interface's name. */
    String interfaceName();

    /** The interface's kernel ifindex (in its namespace). */
    int ifindex();

    /** The interface's MAC address, 48 bits in a long (as EthernetHeader.sourceMac()). */
    long mac();

    /**
     * The interface's MAC changed (the kernel said so over rtnetlink): frames sent from now on carry {@code mac}.
     * Called on the worker's thread.
     */
    void mac(long mac);

    /** File descriptor to poll for readability, or -1 when the port cannot be polled (in-memory). */
    int fd();

    /**
     * Fills {@code batch} with up to {@link RxBatch#CAPACITY} received frames. Frames from an earlier call are
     * handed back to the kernel first, so those must no longer be used.
     *
     * @return frames in the batch, 0 when none is ready
     */
    int receive(RxBatch batch);

    /**
     * Queues a copy of one frame for transmission, with a virtio-net header made from its GSO/checksum fields
     * (the frame may be a GSO super-frame or carry a partial checksum: the kernel completes them).
     *
     * @param vnetOffset offset in {@code source} of the frame's 10-byte virtio-net header to copy, or -1 to send
     *                   a header of zeroes (a complete, non-GSO frame)
     * @return false when the TX ring is full (the frame is not sent)
     */
    boolean transmit(DirectBuffer source, int vnetOffset, int frameOffset, int frameLength);

    /** Makes the kernel send every frame {@link #transmit} queued since the last flush: one system call. */
    void flush();

    /**
     * Queues a frame to be sent from where it lies, without a copy (AF_PACKET: from the receive ring, by
     * {@code sendmmsg}): the frame with its virtio-net header just before it ({@code vnetOffset = frameOffset - 10})
     * must stay as it is until {@link #flushInPlace()}. False when this port cannot send it so (no in-place socket, a
     * frame on the Java heap): {@link #transmit} it instead. A frame the kernel would refuse is counted and dropped:
     * true all the same.
     */
    default boolean sendInPlace(DirectBuffer buffer, int vnetOffset, int frameOffset, int frameLength) {
        return false;
    }

    /** Sends what {@link #sendInPlace} queued: one system call. */
    default void flushInPlace() {
    }

    /** Frames {@link #sendInPlace} queued and {@link #flushInPlace()} has not sent yet. */
    default int inPlaceQueued() {
        return 0;
    }

    /**
     * True when the last {@link #flush} could not hand every queued frame to the kernel (AF_PACKET: EAGAIN, ENOBUFS
     * from a full veth queue, the interface down): the frames stay queued, in order, and the next {@code flush()}
     * tries again even if nothing new was transmitted. A worker flushes such a port again on its next cycle.
     */
    default boolean flushOwed() {
        return false;
    }

    /**
     * This port's counters ({@link PortCounter}): written by the worker that owns the port, readable from any thread.
     */
    PortCounters counters();

    /**
     * Copies into {@link #counters()} what only the kernel counts (AF_PACKET: the frames it dropped at a full receive
     * ring). A system call: for the control plane when it reads the counters, never for a worker.
     */
    default void refreshKernelCounters() {
    }

    @Override
    void close();
}
