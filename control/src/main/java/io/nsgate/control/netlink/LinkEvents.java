// The kernel's link and address notifications: an interface's MAC, MTU, state or addresses changed, at once.
package io.nsgate.control.netlink;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.List;

import io.nsgate.linux.sys.Errno;
import io.nsgate.linux.sys.Linux;
import io.nsgate.linux.sys.SyscallException;
import io.nsgate.linux.sys.Syscalls;

/**
 * A NETLINK_ROUTE socket subscribed to the link, IPv4 address and IPv6 address groups of the namespace it was opened
 * in (open it on a thread inside that namespace). {@link #poll} waits up to a timeout and returns the links the kernel
 * announced (RTM_NEWLINK: a change of MAC, MTU, flags...) and whether an address came or went (RTM_NEWADDR,
 * RTM_DELADDR).
 * When the socket's buffer overflowed, notifications were lost: {@link #poll} then says so ({@link Overflow}) and the
 * caller reads the links and addresses again. One reader thread.
 */
public final class LinkEvents implements AutoCloseable {
    /** Events were lost (ENOBUFS): read the links again to resynchronise. */
    public static final class Overflow extends RuntimeException {
        Overflow(String label) {
            super("link notifications of " + label + " overflowed the socket buffer: some were lost");
        }
    }

    private static final int RTMGRP_LINK = 1;
    private static final int RTMGRP_IPV4_IFADDR = 0x10;
    private static final int RTMGRP_IPV6_IFADDR = 0x100;

    /** What one datagram of notifications said: links announced, and whether any address came or went. */
    public record Events(List<Link> links, boolean addressesChanged) {
        public boolean isEmpty() {
            return links.isEmpty() && !addressesChanged;
        }
    }

    private static final Events NONE = new Events(List.of(), false);
    private static final int SO_RCVTIMEO = 20;
    private final int fd;
    private final String label;
    private final ByteBuffer rx = ByteBuffer.allocateDirect(64 * 1024).order(ByteOrder.nativeOrder());
    private volatile boolean closed;

    private LinkEvents(int fd, String label) {
        this.fd = fd;
        this.label = label;
    }

    /** Subscribes to the link notifications of the calling thread's network namespace; {@code label} names it. */
    public static LinkEvents open(String label, int pollTimeoutMs) {
        int fd = Syscalls.socket(Linux.AF_NETLINK, Linux.SOCK_RAW | Linux.SOCK_CLOEXEC, Linux.NETLINK_ROUTE,
            "link notifications in " + label);
        try {
            Syscalls.setsockopt(fd, Linux.SOL_SOCKET, Linux.SO_RCVBUF, 1 << 20, label);
            ByteBuffer timeout = ByteBuffer.allocateDirect(16).order(ByteOrder.nativeOrder()); // struct timeval
            timeout.putLong(0, pollTimeoutMs / 1000).putLong(8, (pollTimeoutMs % 1000) * 1000L);
            Syscalls.setsockopt(fd, Linux.SOL_SOCKET, SO_RCVTIMEO, timeout, "SO_RCVTIMEO in " + label);
            ByteBuffer sa = ByteBuffer.allocateDirect(12).order(ByteOrder.nativeOrder());
            sa.putShort(0, (short) Linux.AF_NETLINK);
            sa.putInt(8, RTMGRP_LINK | RTMGRP_IPV4_IFADDR | RTMGRP_IPV6_IFADDR); // sockaddr_nl.nl_groups
            Syscalls.bind(fd, sa, "link notifications in " + label);
            return new LinkEvents(fd, label);
        } catch (RuntimeException e) {
            Syscalls.closeQuietly(fd);
            throw e;
        }
    }

    /**
     * Waits for notifications (up to the poll timeout) and returns the links announced in the next datagram, or
     * nothing when none came.
     *
     * @throws Overflow when notifications were lost
     */
    public Events poll() {
        if (closed) {
            return NONE;
        }
        rx.clear();
        int n;
        try {
            n = Syscalls.recvmsg(fd, rx, null, 0, "link notifications in " + label);
        } catch (SyscallException e) {
            if (e.errno() == Errno.ENOBUFS) {
                throw new Overflow(label);
            }
            if (closed) {
                return NONE;
            }
            throw e;
        }
        List<Link> links = new ArrayList<>();
        boolean addresses = false;
        int off = 0;
        while (n > 0 && off + Rtnl.NLMSG_HDRLEN <= n) {
            int len = rx.getInt(off);
            if (len < Rtnl.NLMSG_HDRLEN || off + len > n) {
                break;
            }
            int type = Short.toUnsignedInt(rx.getShort(off + 4));
            if (type == Rtnl.RTM_NEWLINK && len >= Rtnl.NLMSG_HDRLEN + Rtnl.IFINFOMSG_LEN) {
                links.add(RtNetlink.parseLink(rx, off, len));
            } else if (type == Rtnl.RTM_NEWADDR || type == Rtnl.RTM_DELADDR) {
                addresses = true;
            }
            off += Rtnl.align(len);
        }
        return links.isEmpty() && !addresses ? NONE : new Events(links, addresses);
    }

    @Override
    public void close() {
        if (!closed) {
            closed = true;
            Syscalls.closeQuietly(fd);
        }
    }
}
