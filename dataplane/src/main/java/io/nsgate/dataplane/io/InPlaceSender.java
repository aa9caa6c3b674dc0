// Frames sent from where they are (the receive ring), in one sendmmsg: the kernel copies them once, Java not at all.
package io.nsgate.dataplane.io;

import org.agrona.concurrent.UnsafeBuffer;

import io.nsgate.dataplane.stats.PortCounter;
import io.nsgate.dataplane.stats.PortCounters;
import io.nsgate.linux.sys.Errno;
import io.nsgate.linux.sys.Linux;
import io.nsgate.linux.sys.OffHeapMemory;
import io.nsgate.linux.sys.Syscalls;

/**
 * A batch of {@code struct mmsghdr}, one iovec each (a frame's virtio-net header and the frame, contiguous in the
 * receive slot), sent with one {@code sendmmsg} on a ring-less AF_PACKET socket (its {@code packet_snd} copies each
 * frame into a fresh skb). The alternative, the TX ring, costs a Java copy into the ring, and on veth a second kernel
 * copy ({@code skb_copy_ubufs}) when the skb, which references the ring's pages, crosses into the peer's namespace.
 *
 * <p>The frames must stay where they are until {@link #flush}: the worker flushes before it hands the receive
 * slots back. A frame the kernel refuses ({@code EINVAL}: a header it rejects) is skipped and counted; when the
 * socket's buffer is full ({@code EAGAIN}, {@code ENOBUFS}) the rest of the batch is dropped and counted, since the
 * slots cannot be kept. Off-heap arrays, allocated once: nothing per frame.
 *
 * <pre>
 *  struct mmsghdr (64 bytes): msg_name 0 | msg_namelen 8 | msg_iov 16 | msg_iovlen 24 | msg_control 32 |
 *                             msg_controllen 40 | msg_flags 48 | msg_len 56
 *  struct iovec (16 bytes):   iov_base 0 | iov_len 8
 * </pre>
 */
final class InPlaceSender implements AutoCloseable {
    static final int CAPACITY = 64;
    private static final int MMSGHDR = 64;
    private static final int IOVEC = 16;
    private static final int IOV_OFFSET = CAPACITY * MMSGHDR;

    private final OffHeapMemory memory;
    private final UnsafeBuffer vec;
    private final long base;
    private int count;

    InPlaceSender() {
        memory = OffHeapMemory.allocate((long) CAPACITY * (MMSGHDR + IOVEC), "in-place send vectors");
        base = memory.address();
        vec = new UnsafeBuffer(base, CAPACITY * (MMSGHDR + IOVEC));
        vec.setMemory(0, vec.capacity(), (byte) 0);
        for (int i = 0; i < CAPACITY; i++) {
            vec.putLong(i * MMSGHDR + 16, base + IOV_OFFSET + (long) i * IOVEC);
            vec.putLong(i * MMSGHDR + 24, 1);
        }
    }

    /** Queues {@code length} bytes at native {@code address}; false when the batch is full (flush first). */
    boolean add(long address, int length) {
        if (count == CAPACITY) {
            return false;
        }
        final int iov = IOV_OFFSET + count * IOVEC;
        vec.putLong(iov, address);
        vec.putLong(iov + 8, length);
        count++;
        return true;
    }

    int queued() {
        return count;
    }

    /** Sends the batch on {@code fd}; what could not be sent is counted in {@code counters}. */
    void flush(int fd, PortCounters counters) {
        int sent = 0;
        while (sent < count) {
            final int n = Syscalls.trySendmmsg(fd, base + (long) sent * MMSGHDR, count - sent, Linux.MSG_DONTWAIT);
            if (n > 0) {
                sent += n;
                continue;
            }
            final int errno = n == 0 ? Errno.EAGAIN : -n;
            if (errno == Errno.EAGAIN || errno == Errno.ENOBUFS || errno == Errno.ENETDOWN || errno == Errno.EINTR) {
                counters.add(PortCounter.TX_IN_PLACE_DROPPED, count - sent);
                break;
            }
            counters.increment(PortCounter.TX_REJECTED); // this one frame: skip it, send the rest
            sent++;
        }
        counters.increment(PortCounter.TX_KICKS);
        count = 0;
    }

    @Override
    public void close() {
        memory.close();
    }
}
