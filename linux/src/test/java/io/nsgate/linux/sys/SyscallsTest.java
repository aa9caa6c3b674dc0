// Checks the syscall layer binds libc and reports failures with the call, the subject and the errno name.
package io.nsgate.linux.sys;

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

    @Test
    void anonymousMappingIsZeroedWritableAndUnmapped() {
        // regression: six-argument libc calls through jnr-ffi garble the sixth argument; mmap goes via syscall(2)
        long length = 4 * 1024 * 1024;
        long address = Syscalls.mmap(length, Linux.PROT_READ | Linux.PROT_WRITE,
            Linux.MAP_PRIVATE | Linux.MAP_ANONYMOUS, -1, 0, "test mapping");
        org.agrona.concurrent.UnsafeBuffer b = new org.agrona.concurrent.UnsafeBuffer(address, (int) length);
        assertEquals(0, b.getLong((int) length - 8));
        b.putLong(0, 42);
        assertEquals(42, b.getLong(0));
        assertEquals(0, Syscalls.madvise(address, length, Linux.MADV_HUGEPAGE), "huge page advice accepted");
        Syscalls.munmap(address, length, "test mapping");
    }

    @Test
    void offHeapMemoryIsZeroedAndAligned() {
        try (OffHeapMemory m = OffHeapMemory.allocate(3_000_000, "test region")) {
            assertEquals(0, m.address() % 64);
            org.agrona.concurrent.UnsafeBuffer b = new org.agrona.concurrent.UnsafeBuffer(m.address(), 3_000_000);
            assertEquals(0, b.getLong(2_999_992));
            assertTrue(m.hugePages());
        }
    }

    @Test
    void sendtoAndRecvfromCarryDatagrams() throws Exception {
        int a = Syscalls.socket(Linux.AF_UNIX, Linux.SOCK_DGRAM | Linux.SOCK_NONBLOCK, 0, "pair");
        try {
            java.nio.ByteBuffer name = java.nio.ByteBuffer.allocateDirect(110).order(java.nio.ByteOrder.nativeOrder());
            name.putShort((short) Linux.AF_UNIX).put((byte) 0).put("nsgate-test-".getBytes()).put(
                Long.toString(System.nanoTime()).getBytes()).flip();
            Syscalls.bind(a, name, "pair");
            java.nio.ByteBuffer out = java.nio.ByteBuffer.allocateDirect(16);
            out.put("hello".getBytes()).flip();
            name.rewind();
            assertEquals(5, Syscalls.sendto(a, out, 0, name, "pair"));
            java.nio.ByteBuffer in = java.nio.ByteBuffer.allocateDirect(16);
            assertEquals(5, Syscalls.recv(a, in, 0, "pair"));
        } finally {
            Syscalls.closeQuietly(a);
        }
    }
}
