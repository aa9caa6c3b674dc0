// The jnr-ffi binding of the C library functions nsgate calls; only Syscalls uses it.
package io.nsgate.linux.sys;

import jnr.ffi.types.intptr_t;
import jnr.ffi.types.size_t;
import jnr.ffi.types.ssize_t;

/**
 * Raw libc entry points, one Java method per C function, with pointers passed as native addresses
 * ({@code @intptr_t long}) so that callers holding direct buffers or mmap'ed memory allocate nothing per call.
 * Every method returns what C returns (-1 and errno on failure); {@link Syscalls} turns that into exceptions.
 * Public only because jnr-ffi generates its implementation in another class loader; use {@link Syscalls}.
 *
 * <p><b>Six-argument functions go through {@link #syscall}.</b> With jnr-ffi 2.3.4 on this platform the sixth
 * argument of a six-argument call arrives garbled: glibc's {@code mmap} refused a zero offset as unaligned
 * (EINVAL, the kernel never saw the call, as strace showed), while the same call through the seven-argument
 * {@code syscall(2)} works. So mmap, sendto and recvfrom are not bound directly.
 */
public interface LibC {
    int socket(int domain, int type, int protocol);

    int bind(int fd, @intptr_t long addr, int addrlen);

    int getsockname(int fd, @intptr_t long addr, @intptr_t long addrlenPtr);

    @ssize_t long sendmsg(int fd, @intptr_t long msghdr, int flags);

    /**
     * send(2): sendto(2) without a destination, in four arguments. The data path kicks TX rings with it: jnr-ffi's
     * generated fast path covers calls of up to six arguments, and the seven-argument {@link #syscall} allocates
     * about 72 bytes per call on the generic path.
     */
    @ssize_t long send(int fd, @intptr_t long buf, @size_t long len, int flags);

    @ssize_t long recvmsg(int fd, @intptr_t long msghdr, int flags);

    /** sendmmsg(2): several datagrams in one call (four arguments: jnr-ffi's allocation-free fast path). */
    int sendmmsg(int fd, @intptr_t long msgvec, int vlen, int flags);

    int setsockopt(int fd, int level, int optname, @intptr_t long optval, int optlen);

    int getsockopt(int fd, int level, int optname, @intptr_t long optval, @intptr_t long optlenPtr);

    int close(int fd);

    int open(String path, int flags, int mode);

    int unshare(int flags);

    int setns(int fd, int nstype);

    int mount(String source, String target, String fstype, @intptr_t long flags, String data);

    int umount2(String target, int flags);

    int ioctl(int fd, @intptr_t long request, @intptr_t long arg);

    int poll(@intptr_t long fds, @intptr_t long nfds, int timeoutMs);

    int munmap(@intptr_t long addr, @size_t long length);

    int ftruncate(int fd, long length);

    /** posix_fallocate(3): 0 or the error number (not -1 and errno). */
    int posix_fallocate(int fd, long offset, long length);

    int flock(int fd, int operation);

    /** statfs(2) into a 120-byte struct statfs at {@code buf} (f_type is its first 8 bytes). */
    int statfs(String path, @intptr_t long buf);

    int madvise(@intptr_t long addr, @size_t long length, int advice);

    /** syscall(2) with up to six arguments (unused ones are ignored by the kernel); -1 and errno on failure. */
    long syscall(long number, long a1, long a2, long a3, long a4, long a5, long a6);

    int geteuid();

    int gettid();

    /** setpriority(2); with PRIO_PROCESS, Linux takes a thread id and changes only that thread's nice value. */
    int setpriority(int which, int who, int prio);

    String strerror(int errnum);
}
