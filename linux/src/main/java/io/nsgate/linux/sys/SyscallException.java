// A failed system call, naming the call, what it acted on and the errno, e.g. "setns(ngt1-edge): EPERM".
package io.nsgate.linux.sys;

/**
 * Thrown by {@link Syscalls} when a call returns -1. The message reads
 * {@code syscall(subject): ENAME (description)}; callers branch on {@link #errno()}, people read the message.
 * Unchecked: these are setup and control failures, never the fast path (EAGAIN is reported by return value).
 */
public class SyscallException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    private final String syscall;
    private final String subject;
    private final int errno;

    public SyscallException(String syscall, String subject, int errno) {
        this(syscall, subject, errno, null);
    }

    /** With a hint appended after the errno, e.g. what to check. */
    public SyscallException(String syscall, String subject, int errno, String hint) {
        super(syscall + "(" + subject + "): " + Errno.name(errno) + " (" + Errno.describe(errno) + ")"
            + (hint == null ? "" : "; " + hint));
        this.syscall = syscall;
        this.subject = subject;
        this.errno = errno;
    }

    /** The C function that failed, e.g. {@code "bind"}. */
    public String syscall() {
        return syscall;
    }

    /** What it acted on, e.g. {@code "NETLINK_ROUTE in ngt1-edge"} or {@code "/run/netns/ngt1-edge"}. */
    public String subject() {
        return subject;
    }

    public int errno() {
        return errno;
    }

    /** The symbolic errno name, e.g. {@code "EEXIST"}. */
    public String errnoName() {
        return Errno.name(errno);
    }
}
