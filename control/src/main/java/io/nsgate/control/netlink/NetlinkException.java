// A request the kernel refused over netlink: the message type, what it was about, errno and the kernel's own words.
package io.nsgate.control.netlink;

import io.nsgate.linux.sys.SyscallException;

/**
 * Reads like a syscall failure, {@code RTM_NEWLINK(veth eth0 in ngt1-red): EEXIST (File exists)}, followed by the
 * kernel's extended-ack message when it sent one ({@code ; kernel: "Invalid prefix for given prefix length"}).
 */
public final class NetlinkException extends SyscallException {
    private static final long serialVersionUID = 1L;

    /** @param kernelMessage the extended-ack text (NLMSGERR_ATTR_MSG), or null */
    public NetlinkException(String operation, String subject, int errno, String kernelMessage) {
        super(operation, subject, errno, kernelMessage == null ? null : "kernel: \"" + kernelMessage + "\"");
    }
}
