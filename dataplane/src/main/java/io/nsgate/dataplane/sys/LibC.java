// The jnr-ffi binding of the C library functions nsgate calls; only Syscalls uses it.
package io.nsgate.dataplane.sys;

import jnr.ffi.types.intptr_t;
import jnr.ffi.types.size_t;
import jnr.ffi.types.ssize_t;

/**
 * Raw libc entry points, one Java method per C function, with pointers passed as native addresses
 * ({@code @intptr_t long}) so that callers holding direct buffers or mmap'ed memory allocate nothing per call.
 * Every method returns what C returns (-1 and errno on failure); {@link Syscalls} turns that into exceptions.
 * Public only because jnr-ffi generates its implementation in another class loader; use {@link Syscalls}.
 */
public interface LibC {
    int socket(int domain, int type, int protocol);

    int bind(int fd, @intptr_t long addr, int addrlen);

    int getsockname(int fd, @intptr_t long addr, @intptr_t long addrlenPtr);

    @ssize_t long sendto(int fd, @intptr_t long buf, @size_t long len, int flags, @intptr_t long addr, int addrlen);

    @ssize_t long recvfrom(int fd, @intptr_t long buf, @size_t long len, int flags, @intptr_t long addr,
                           @intptr_t long addrlenPtr);

    @ssize_t long sendmsg(int fd, @intptr_t long msghdr, int flags);

    @ssize_t long recvmsg(int fd, @intptr_t long msghdr, int flags);

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

    @intptr_t long mmap(@intptr_t long addr, @size_t long length, int prot, int flags, int fd, @intptr_t long offset);

    int munmap(@intptr_t long addr, @size_t long length);

    int geteuid();

    int gettid();

    String strerror(int errnum);
}
