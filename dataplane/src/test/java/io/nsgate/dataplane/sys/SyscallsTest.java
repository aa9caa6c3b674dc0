// Checks the syscall layer binds libc and reports failures with the call, the subject and the errno name.
package io.nsgate.dataplane.sys;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;

import org.junit.jupiter.api.Test;

class SyscallsTest {

    @Test
    void bindsLibcOnLinux() {
        assertTrue(Syscalls.isAvailable(), Syscalls.unavailabilityCause());
        assertNull(Syscalls.unavailabilityCause());
        assertTrue(Syscalls.gettid() > 0);
    }

    @Test
    void failedOpenNamesSyscallPathAndErrno() {
        SyscallException e = assertThrows(SyscallException.class,
            () -> Syscalls.open("/nonexistent/nsgate-test", Linux.O_RDONLY, 0));
        assertEquals("open", e.syscall());
        assertEquals("/nonexistent/nsgate-test", e.subject());
        assertEquals(Errno.ENOENT, e.errno());
        assertEquals("ENOENT", e.errnoName());
        assertEquals("open(/nonexistent/nsgate-test): ENOENT (No such file or directory)", e.getMessage());
    }

    @Test
    void errnoNamesCoverTheTable() {
        assertEquals("EPERM", Errno.name(1));
        assertEquals("EEXIST", Errno.name(Errno.EEXIST));
        assertEquals("EOPNOTSUPP", Errno.name(95));
        assertEquals("ENOBUFS", Errno.name(105));
        assertEquals("EHWPOISON", Errno.name(133));
        assertEquals("errno 41", Errno.name(41));
        assertEquals("errno 9999", Errno.name(9999));
    }

    @Test
    void nonBlockingReceiveOnEmptySocketReportsWouldBlock() {
        int fd = Syscalls.socket(Linux.AF_NETLINK, Linux.SOCK_RAW | Linux.SOCK_CLOEXEC, Linux.NETLINK_ROUTE, "test");
        try {
            ByteBuffer buf = ByteBuffer.allocateDirect(256);
            assertEquals(Syscalls.WOULD_BLOCK, Syscalls.recv(fd, buf, Linux.MSG_DONTWAIT, "test"));
            assertEquals(Syscalls.WOULD_BLOCK, Syscalls.recvmsg(fd, buf, null, Linux.MSG_DONTWAIT, "test"));
        } finally {
            Syscalls.close(fd, "test");
        }
    }

    @Test
    void socketOptionsRoundTrip() {
        int fd = Syscalls.socket(Linux.AF_NETLINK, Linux.SOCK_RAW | Linux.SOCK_CLOEXEC, Linux.NETLINK_ROUTE, "test");
        try {
            Syscalls.setsockopt(fd, Linux.SOL_NETLINK, Linux.NETLINK_EXT_ACK, 1, "test");
            assertEquals(1, Syscalls.getsockoptInt(fd, Linux.SOL_NETLINK, Linux.NETLINK_EXT_ACK, "test"));
            ByteBuffer sa = ByteBuffer.allocateDirect(12).order(ByteOrder.nativeOrder());
            sa.putShort(0, (short) Linux.AF_NETLINK);
            Syscalls.bind(fd, sa, "test");
            ByteBuffer out = ByteBuffer.allocateDirect(12).order(ByteOrder.nativeOrder());
            assertEquals(12, Syscalls.getsockname(fd, out, "test"));
            assertEquals(Linux.AF_NETLINK, out.getShort(0));
            assertTrue(out.getInt(4) != 0, "kernel assigned a port id");
        } finally {
            Syscalls.close(fd, "test");
        }
    }

    @Test
    void closingABadDescriptorIsEbadf() {
        SyscallException e = assertThrows(SyscallException.class, () -> Syscalls.close(1_000_000, "fd 1000000"));
        assertEquals("EBADF", e.errnoName());
        assertTrue(e.getMessage().startsWith("close(fd 1000000): EBADF"), e.getMessage());
    }
}
