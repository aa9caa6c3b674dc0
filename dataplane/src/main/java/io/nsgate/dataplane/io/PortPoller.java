// Blocks an idle worker in one poll() over all its ports' sockets until a frame is ready or a timeout passes.
package io.nsgate.dataplane.io;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;

import org.agrona.BufferUtil;
import org.agrona.concurrent.UnsafeBuffer;

import io.nsgate.linux.sys.Linux;
import io.nsgate.linux.sys.Syscalls;

/**
 * One {@code poll(2)} over the descriptors of several {@link PacketPort}s (ports without one, {@code fd() == -1},
 * are left out), with a {@code struct pollfd} array allocated once: {@link #poll} allocates nothing.
 * An AF_PACKET socket is readable when the kernel has handed over an RX frame (TPACKET_V2: the frame before the
 * kernel's head is not TP_STATUS_KERNEL, i.e. as soon as one is written) or an RX block (TPACKET_V3: full, or its
 * retire timer fired).
 *
 * <p>A socket error (POLLERR, e.g. ENETDOWN when the interface goes down, which the kernel also sets when a port is
 * bound to an interface that is down) would make every later poll() return at once and the worker spin; the poller
 * reads and so clears it (getsockopt SO_ERROR), keeps it in {@link #lastError} and counts the port as ready so the
 * worker looks at it. EINTR is not an error: poll returns 0 as on a timeout.
 *
 * <p>Not thread-safe: one worker owns it. It holds no native resource beyond a small direct buffer. Stop polling
 * before closing the ports: a closed descriptor would report POLLNVAL at once, every time.
 */
public final class PortPoller {
    /** sizeof(struct pollfd): int fd, short events, short revents. */
    private static final int POLLFD_SIZE = 8;
    private static final int EVENTS = 4;
    private static final int REVENTS = 6;

    private final PacketPort[] ports;
    /** For each pollfd entry, the index of its port in {@link #ports}. */
    private final int[] portOfEntry;
    private final int entries;
    private final UnsafeBuffer pollfds;
    private final long pollfdsAddress;
    private final boolean[] readable;
    private final int[] lastError;
    private final String subject;

    public PortPoller(PacketPort... ports) {
        this.ports = ports.clone();
        this.readable = new boolean[ports.length];
        this.lastError = new int[ports.length];
        this.portOfEntry = new int[ports.length];
        int n = 0;
        for (int i = 0; i < ports.length; i++) {
            if (ports[i].fd() >= 0) {
                portOfEntry[n++] = i;
            }
        }
        this.entries = n;
        final ByteBuffer memory = ByteBuffer.allocateDirect(Math.max(1, n) * POLLFD_SIZE)
            .order(ByteOrder.nativeOrder());
        this.pollfds = new UnsafeBuffer(memory);
        this.pollfdsAddress = BufferUtil.address(memory);
        for (int e = 0; e < n; e++) {
            pollfds.putInt(e * POLLFD_SIZE, ports[portOfEntry[e]].fd());
            pollfds.putShort(e * POLLFD_SIZE + EVENTS, Linux.POLLIN);
        }
        final StringBuilder names = new StringBuilder("ports");
        for (PacketPort port : ports) {
            names.append(' ').append(port.interfaceName());
        }
        this.subject = names.toString();
    }

    /**
     * Waits until at least one port is readable (or has an error) or {@code timeoutMs} passes (0: do not wait,
     * -1: no limit).
     *
     * @return ports ready, 0 on timeout or when interrupted by a signal
     */
    public int poll(int timeoutMs) {
        for (int e = 0; e < entries; e++) {
            pollfds.putShort(e * POLLFD_SIZE + REVENTS, (short) 0);
        }
        final int ready = Syscalls.poll(pollfdsAddress, entries, timeoutMs, subject);
        for (int e = 0; e < entries; e++) {
            final int port = portOfEntry[e];
            final short revents = pollfds.getShort(e * POLLFD_SIZE + REVENTS);
            readable[port] = revents != 0;
            if ((revents & Linux.POLLERR) != 0) {
                lastError[port] = Syscalls.getsockoptInt(ports[port].fd(), Linux.SOL_SOCKET, Linux.SO_ERROR,
                    subject);
            }
        }
        return ready;
    }

    /** Whether port {@code index} (in constructor order) was ready in the last {@link #poll}. */
    public boolean readable(int index) {
        return readable[index];
    }

    /** The last socket error (errno) poll() reported on port {@code index}, 0 if none; cleared by the kernel. */
    public int lastError(int index) {
        return lastError[index];
    }

    /** The ports polled, in constructor order. */
    public int size() {
        return ports.length;
    }
}
