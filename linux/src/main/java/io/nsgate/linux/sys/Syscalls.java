// The only door from nsgate to the kernel's system calls: thin jnr-ffi wrappers that turn -1/errno into exceptions.
package io.nsgate.linux.sys;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;

import org.agrona.BufferUtil;

import jnr.ffi.LibraryLoader;
import jnr.ffi.Platform;
import jnr.ffi.Runtime;

/**
 * Theory of operation: libc is bound once through jnr-ffi ({@link LibC}); each wrapper calls it, and on -1
 * reads errno (jnr-ffi saves it per thread right after the call) and throws a {@link SyscallException} naming
 * the call, the caller-supplied subject (interface, namespace, path) and the errno name. Calls that can
 * legitimately find nothing to do (non-blocking I/O) return {@link #WOULD_BLOCK} for EAGAIN instead of throwing.
 *
 * <p>Buffers are direct {@link ByteBuffer}s; a call reads or writes from the buffer's position to its limit and
 * never moves the position (callers own their cursor). Namespace calls ({@link #unshare}, {@link #setns}) act on
 * the calling thread only: use them on dedicated threads, never on pooled ones.
 *
 * <p>Before anything else, {@link #isAvailable()} says whether libc could be bound and
 * {@link #unavailabilityCause()} why not.
 */
public final class Syscalls {
    /** Returned by non-blocking I/O calls when the kernel said EAGAIN: nothing to read or no room to write. */
    public static final int WOULD_BLOCK = -1;

    private static final LibC LIBC;
    private static final Runtime RUNTIME;
    private static final Throwable LOAD_FAILURE;

    /** struct msghdr (56 bytes on LP64) followed by one struct iovec (16 bytes), per thread. */
    private static final int MSGHDR_SIZE = 56;
    private static final int IOVEC_OFFSET = MSGHDR_SIZE;
    private static final ThreadLocal<ByteBuffer> MSG_SCRATCH = ThreadLocal.withInitial(
        () -> ByteBuffer.allocateDirect(MSGHDR_SIZE + 16 + 16).order(ByteOrder.nativeOrder()));

    static {
        LibC lib = null;
        Runtime runtime = null;
        Throwable failure = null;
        try {
            if (Platform.getNativePlatform().getOS() != Platform.OS.LINUX) {
                throw new UnsupportedOperationException("nsgate needs Linux, this is "
                    + Platform.getNativePlatform().getOS());
            }
            if (!Platform.getNativePlatform().is64Bit()) {
                throw new UnsupportedOperationException("nsgate needs a 64-bit platform");
            }
            lib = LibraryLoader.create(LibC.class).load(Platform.getNativePlatform().getStandardCLibraryName());
            runtime = Runtime.getRuntime(lib);
            lib.gettid(); // resolve a symbol now rather than on first real use
        } catch (Throwable t) {
            failure = t;
            lib = null;
        }
        LIBC = lib;
        RUNTIME = runtime;
        LOAD_FAILURE = failure;
    }

    private Syscalls() {
    }

    /** Whether libc is bound and the wrappers can be called. */
    public static boolean isAvailable() {
        return LIBC != null;
    }

    /** Why {@link #isAvailable()} is false, or null. */
    public static String unavailabilityCause() {
        return LOAD_FAILURE == null ? null : "cannot bind libc through jnr-ffi: " + LOAD_FAILURE;
    }

    static LibC libc() {
        if (LIBC == null) {
            throw new IllegalStateException(unavailabilityCause(), LOAD_FAILURE);
        }
        return LIBC;
    }

    /** errno of the last failed call on this thread. */
    public static int lastErrno() {
        return RUNTIME.getLastError();
    }

    private static SyscallException failure(String syscall, String subject) {
        return new SyscallException(syscall, subject, lastErrno());
    }

    static String strerror(int errno) {
        return LIBC == null ? null : LIBC.strerror(errno);
    }

    // ---------------------------------------------------------------- identity

    public static int geteuid() {
        return libc().geteuid();
    }

    public static int gettid() {
        return libc().gettid();
    }

    /** which = PRIO_PROCESS for setpriority(2). */
    private static final int PRIO_PROCESS = 0;

    /**
     * Sets the nice value (-20..19) of one thread: setpriority(PRIO_PROCESS, tid, nice), which on Linux acts on the
     * thread {@code tid} alone (0: the calling thread). Raising it needs no privilege; lowering it needs
     * CAP_SYS_NICE. Threads a thread creates afterwards inherit its value.
     */
    public static void setThreadNice(int tid, int nice) {
        if (libc().setpriority(PRIO_PROCESS, tid, nice) < 0) {
            throw failure("setpriority", "thread " + tid + ", nice " + nice);
        }
    }

    // ---------------------------------------------------------------- files and descriptors

    /** open(2); returns the descriptor. */
    public static int open(String path, int flags, int mode) {
        int fd = libc().open(path, flags, mode);
        if (fd < 0) {
            throw failure("open", path);
        }
        return fd;
    }

    /** close(2); errors (other than EINTR, which Linux reports after closing) are thrown. */
    public static void close(int fd, String subject) {
        if (libc().close(fd) < 0) {
            int errno = lastErrno();
            if (errno != Errno.EINTR) {
                throw new SyscallException("close", subject, errno);
            }
        }
    }

    /** close(2) that never throws, for cleanup paths that already report another failure. */
    public static void closeQuietly(int fd) {
        if (fd >= 0 && LIBC != null) {
            LIBC.close(fd);
        }
    }

    /** ioctl(2) with an integer or pointer argument; returns the call's non-negative result. */
    public static int ioctl(int fd, long request, long arg, String subject) {
        int r = libc().ioctl(fd, request, arg);
        if (r < 0) {
            throw failure("ioctl", subject);
        }
        return r;
    }

    /**
     * poll(2) over {@code nfds} struct pollfd records (8 bytes each) at {@code fdsAddress}; returns the number of
     * ready descriptors, 0 on timeout and also 0 when interrupted (EINTR), so callers simply poll again.
     */
    public static int poll(long fdsAddress, int nfds, int timeoutMs, String subject) {
        int r = libc().poll(fdsAddress, nfds, timeoutMs);
        if (r < 0) {
            if (lastErrno() == Errno.EINTR) {
                return 0;
            }
            throw failure("poll", subject);
        }
        return r;
    }

    /** mmap(2); returns the mapping's address. */
    public static long mmap(long length, int prot, int flags, int fd, long offset, String subject) {
        long address = libc().syscall(Linux.SYS_MMAP, 0L, length, prot, flags, fd, offset);
        if (address == Linux.MAP_FAILED) {
            throw failure("mmap", subject);
        }
        return address;
    }

    public static void munmap(long address, long length, String subject) {
        if (libc().munmap(address, length) < 0) {
            throw failure("munmap", subject);
        }
    }

    /** ftruncate(2): sets the file's size (new bytes read as zeros). */
    public static void ftruncate(int fd, long length, String subject) {
        if (libc().ftruncate(fd, length) < 0) {
            throw failure("ftruncate", subject);
        }
    }

    /** flock(2) LOCK_EX|LOCK_NB; false when another open file description holds the lock. */
    public static boolean tryLockExclusive(int fd, String subject) {
        if (libc().flock(fd, Linux.LOCK_EX | Linux.LOCK_NB) == 0) {
            return true;
        }
        if (lastErrno() == Errno.EAGAIN) { // EWOULDBLOCK
            return false;
        }
        throw failure("flock", subject);
    }

    /** The f_type of the file system holding {@code path} (statfs(2)), e.g. {@link Linux#TMPFS_MAGIC}. */
    public static long fileSystemType(String path) {
        ByteBuffer buf = ByteBuffer.allocateDirect(128).order(ByteOrder.nativeOrder());
        if (libc().statfs(path, address(buf)) < 0) {
            throw failure("statfs", path);
        }
        return buf.getLong(0);
    }

    /** madvise(2); returns the errno on failure (0 on success): advice is a hint, callers decide. */
    public static int madvise(long address, long length, int advice) {
        return libc().madvise(address, length, advice) < 0 ? lastErrno() : 0;
    }

    // ---------------------------------------------------------------- sockets

    /** socket(2); returns the descriptor. */
    public static int socket(int domain, int type, int protocol, String subject) {
        int fd = libc().socket(domain, type, protocol);
        if (fd < 0) {
            throw failure("socket", subject);
        }
        return fd;
    }

    /** bind(2) to the sockaddr between {@code sockaddr}'s position and limit. */
    public static void bind(int fd, ByteBuffer sockaddr, String subject) {
        if (libc().bind(fd, address(sockaddr), sockaddr.remaining()) < 0) {
            throw failure("bind", subject);
        }
    }

    /** getsockname(2) into {@code sockaddr} (from its position, at most its remaining bytes); returns the length. */
    public static int getsockname(int fd, ByteBuffer sockaddr, String subject) {
        ByteBuffer len = MSG_SCRATCH.get();
        len.putInt(MSGHDR_SIZE + 16, sockaddr.remaining());
        if (libc().getsockname(fd, address(sockaddr), BufferUtil.address(len) + MSGHDR_SIZE + 16) < 0) {
            throw failure("getsockname", subject);
        }
        return len.getInt(MSGHDR_SIZE + 16);
    }

    /** setsockopt(2) with an int value. */
    public static void setsockopt(int fd, int level, int option, int value, String subject) {
        ByteBuffer scratch = MSG_SCRATCH.get();
        scratch.putInt(MSGHDR_SIZE + 16, value);
        if (libc().setsockopt(fd, level, option, BufferUtil.address(scratch) + MSGHDR_SIZE + 16, 4) < 0) {
            throw failure("setsockopt", subject);
        }
    }

    /** setsockopt(2) with the option value between {@code value}'s position and limit. */
    public static void setsockopt(int fd, int level, int option, ByteBuffer value, String subject) {
        if (libc().setsockopt(fd, level, option, address(value), value.remaining()) < 0) {
            throw failure("setsockopt", subject);
        }
    }

    /** setsockopt(2) with the {@code length} bytes at native {@code valueAddress} (a struct such as tpacket_req3). */
    public static void setsockopt(int fd, int level, int option, long valueAddress, int length, String subject) {
        if (libc().setsockopt(fd, level, option, valueAddress, length) < 0) {
            throw failure("setsockopt", subject);
        }
    }

    /**
     * getsockopt(2) into the struct at native {@code valueAddress}, whose length the caller has stored as an int
     * at {@code lengthAddress} (the kernel overwrites it with the length written). Allocates nothing.
     */
    public static void getsockopt(int fd, int level, int option, long valueAddress, long lengthAddress,
        String subject) {
        if (libc().getsockopt(fd, level, option, valueAddress, lengthAddress) < 0) {
            throw failure("getsockopt", subject);
        }
    }

    /** getsockopt(2) for an int option. */
    public static int getsockoptInt(int fd, int level, int option, String subject) {
        ByteBuffer scratch = MSG_SCRATCH.get();
        long base = BufferUtil.address(scratch);
        scratch.putInt(MSGHDR_SIZE + 16, 0);
        scratch.putInt(MSGHDR_SIZE + 20, 4);
        if (libc().getsockopt(fd, level, option, base + MSGHDR_SIZE + 16, base + MSGHDR_SIZE + 20) < 0) {
            throw failure("getsockopt", subject);
        }
        return scratch.getInt(MSGHDR_SIZE + 16);
    }

    /**
     * sendto(2) of the bytes between {@code data}'s position and limit, to {@code sockaddr} (null: connected
     * peer). Returns the bytes sent, or {@link #WOULD_BLOCK}.
     */
    public static int sendto(int fd, ByteBuffer data, int flags, ByteBuffer sockaddr, String subject) {
        long n = libc().syscall(Linux.SYS_SENDTO, fd, address(data), data.remaining(), flags,
            sockaddr == null ? 0L : address(sockaddr), sockaddr == null ? 0 : sockaddr.remaining());
        return ioResult(n, "sendto", subject);
    }

    /**
     * send(2) (the kernel's sendto with no destination) of {@code length} bytes at native {@code address}; 0 and 0
     * send nothing, which is how a TX ring is kicked. For the data path: returns the bytes sent, or minus the errno
     * (EAGAIN included) instead of throwing, and allocates nothing (a four-argument call: jnr-ffi's fast path).
     */
    public static long trySend(int fd, long address, long length, int flags) {
        long n = libc().send(fd, address, length, flags);
        return n < 0 ? -lastErrno() : n;
    }

    /**
     * sendmmsg(2) of {@code vlen} struct mmsghdr at native {@code msgvec}. For the data path: returns how many were
     * sent, or minus the errno of the first one that could not be (EAGAIN included), never throwing, allocating
     * nothing.
     */
    public static int trySendmmsg(int fd, long msgvec, int vlen, int flags) {
        int n = libc().sendmmsg(fd, msgvec, vlen, flags);
        return n < 0 ? -lastErrno() : n;
    }

    /**
     * recvfrom(2) into {@code data} from its position, at most its remaining bytes. Returns the length the
     * kernel reports (larger than what was copied when MSG_TRUNC is given and the datagram did not fit),
     * or {@link #WOULD_BLOCK}.
     */
    public static int recv(int fd, ByteBuffer data, int flags, String subject) {
        long n = libc().syscall(Linux.SYS_RECVFROM, fd, address(data), data.remaining(), flags, 0L, 0L);
        return ioResult(n, "recv", subject);
    }

    /** sendmsg(2) of one buffer (position to limit) to {@code sockaddr} (null: connected peer). */
    public static int sendmsg(int fd, ByteBuffer data, ByteBuffer sockaddr, int flags, String subject) {
        long msg = prepareMsghdr(data, sockaddr);
        return ioResult(libc().sendmsg(fd, msg, flags), "sendmsg", subject);
    }

    /**
     * recvmsg(2) into one buffer (from its position, at most its remaining bytes), the sender's address into
     * {@code sockaddr} when not null. Returns the datagram's length as the kernel reports it (with MSG_TRUNC the
     * full length even if larger than the buffer), or {@link #WOULD_BLOCK}.
     */
    public static int recvmsg(int fd, ByteBuffer data, ByteBuffer sockaddr, int flags, String subject) {
        long msg = prepareMsghdr(data, sockaddr);
        return ioResult(libc().recvmsg(fd, msg, flags), "recvmsg", subject);
    }

    private static long prepareMsghdr(ByteBuffer data, ByteBuffer sockaddr) {
        ByteBuffer m = MSG_SCRATCH.get();
        long base = BufferUtil.address(m);
        m.putLong(0, sockaddr == null ? 0L : address(sockaddr)); // msg_name
        m.putLong(8, sockaddr == null ? 0L : sockaddr.remaining()); // msg_namelen (+ padding)
        m.putLong(16, base + IOVEC_OFFSET); // msg_iov
        m.putLong(24, 1L); // msg_iovlen
        m.putLong(32, 0L); // msg_control
        m.putLong(40, 0L); // msg_controllen
        m.putLong(48, 0L); // msg_flags (+ padding)
        m.putLong(IOVEC_OFFSET, address(data)); // iov_base
        m.putLong(IOVEC_OFFSET + 8, data.remaining()); // iov_len
        return base;
    }

    private static int ioResult(long n, String syscall, String subject) {
        if (n < 0) {
            int errno = lastErrno();
            if (errno == Errno.EAGAIN) {
                return WOULD_BLOCK;
            }
            throw new SyscallException(syscall, subject, errno);
        }
        return (int) n;
    }

    // ---------------------------------------------------------------- network interfaces

    /**
     * The ifindex of interface {@code name} in the network namespace of socket {@code fd}
     * (ioctl SIOCGIFINDEX); ENODEV when there is no such interface there.
     */
    public static int interfaceIndex(int fd, String name) {
        ByteBuffer ifreq = ifreq(name);
        ioctl(fd, Linux.SIOCGIFINDEX, address(ifreq), "SIOCGIFINDEX, " + name);
        return ifreq.getInt(Linux.IFNAMSIZ);
    }

    /**
     * The ifindex of interface {@code name} in the calling thread's network namespace: SIOCGIFINDEX on a socket made
     * for the purpose here, so the lookup happens where the thread is (a thread that entered another namespace finds
     * that namespace's interfaces).
     */
    public static int interfaceIndex(String name) {
        int fd = socket(Linux.AF_INET, Linux.SOCK_DGRAM | Linux.SOCK_CLOEXEC, 0, "SIOCGIFINDEX, " + name);
        try {
            return interfaceIndex(fd, name);
        } catch (SyscallException e) {
            throw new SyscallException(e.syscall(), e.subject(), e.errno(), e.errno() == Errno.ENODEV
                ? "no interface of that name in this thread's network namespace" : null);
        } finally {
            closeQuietly(fd);
        }
    }

    /**
     * The hardware address of Ethernet interface {@code name} (ioctl SIOCGIFHWADDR) as 48 bits in a long, first
     * octet most significant (as {@code EthernetHeader.sourceMac()}).
     *
     * @throws IllegalArgumentException when the interface is not Ethernet-like (ARPHRD_ETHER)
     */
    public static long hardwareAddress(int fd, String name) {
        ByteBuffer ifreq = ifreq(name);
        ioctl(fd, Linux.SIOCGIFHWADDR, address(ifreq), "SIOCGIFHWADDR, " + name);
        int family = ifreq.getShort(Linux.IFNAMSIZ) & 0xFFFF;
        if (family != Linux.ARPHRD_ETHER) {
            throw new IllegalArgumentException("interface " + name + " has hardware type " + family
                + ", not Ethernet (ARPHRD_ETHER): nsgate forwards Ethernet frames only");
        }
        long mac = 0;
        for (int i = 0; i < 6; i++) {
            mac = (mac << 8) | (ifreq.get(Linux.IFNAMSIZ + 2 + i) & 0xFF);
        }
        return mac;
    }

    /** A struct ifreq with {@code name} filled in; names must be 1 to IFNAMSIZ - 1 ASCII bytes. */
    private static ByteBuffer ifreq(String name) {
        checkInterfaceName(name);
        ByteBuffer ifreq = ByteBuffer.allocateDirect(Linux.IFREQ_SIZE).order(ByteOrder.nativeOrder());
        ifreq.put(name.getBytes(java.nio.charset.StandardCharsets.US_ASCII)).clear();
        return ifreq;
    }

    /** Throws IllegalArgumentException naming the problem when {@code name} cannot be a Linux interface name. */
    public static void checkInterfaceName(String name) {
        if (name == null || name.isEmpty()) {
            throw new IllegalArgumentException("interface name is empty");
        }
        if (name.length() >= Linux.IFNAMSIZ) {
            throw new IllegalArgumentException("interface name \"" + name + "\" is " + name.length()
                + " characters long: Linux allows at most " + (Linux.IFNAMSIZ - 1));
        }
        for (int i = 0; i < name.length(); i++) {
            char c = name.charAt(i);
            if (c <= ' ' || c >= 0x7F || c == '/' || c == ':') {
                throw new IllegalArgumentException("interface name \"" + name + "\" has a character Linux refuses"
                    + " in interface names at index " + i);
            }
        }
    }

    /** Host to network byte order for a 16-bit value. */
    public static int htons(int value) {
        return ByteOrder.nativeOrder() == ByteOrder.BIG_ENDIAN
            ? value & 0xFFFF : Short.toUnsignedInt(Short.reverseBytes((short) value));
    }

    // ---------------------------------------------------------------- namespaces and mounts

    /** unshare(2): moves the calling thread into new namespaces of the given CLONE_* kinds. */
    public static void unshare(int flags, String subject) {
        if (libc().unshare(flags) < 0) {
            throw failure("unshare", subject);
        }
    }

    /** setns(2): moves the calling thread into the namespace {@code fd} refers to. */
    public static void setns(int fd, int nstype, String subject) {
        if (libc().setns(fd, nstype) < 0) {
            throw failure("setns", subject);
        }
    }

    /** mount(2); {@code subject} defaults to the target. */
    public static void mount(String source, String target, String fstype, long flags, String data) {
        if (libc().mount(source, target, fstype, flags, data) < 0) {
            throw failure("mount", source == null || source.isEmpty() ? target : source + " -> " + target);
        }
    }

    /** mount(2) returning errno instead of throwing (0 on success), for callers that branch on the reason. */
    public static int tryMount(String source, String target, String fstype, long flags, String data) {
        return libc().mount(source, target, fstype, flags, data) < 0 ? lastErrno() : 0;
    }

    /** umount2(2). */
    public static void umount2(String target, int flags) {
        if (libc().umount2(target, flags) < 0) {
            throw failure("umount2", target);
        }
    }

    /** umount2(2) returning errno instead of throwing (0 on success). */
    public static int tryUmount2(String target, int flags) {
        return libc().umount2(target, flags) < 0 ? lastErrno() : 0;
    }

    // ---------------------------------------------------------------- buffers

    /** The native address of a direct buffer's position. */
    public static long address(ByteBuffer direct) {
        if (!direct.isDirect()) {
            throw new IllegalArgumentException("syscall buffers must be direct ByteBuffers");
        }
        return BufferUtil.address(direct) + direct.position();
    }
}
