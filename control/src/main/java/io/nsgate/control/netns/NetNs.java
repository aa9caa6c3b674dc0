// Named network namespaces compatible with iproute2 (/run/netns/NAME), and running code inside them.
package io.nsgate.control.netns;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.concurrent.atomic.AtomicReference;

import io.nsgate.control.netlink.RtNetlink;
import io.nsgate.linux.sys.Capabilities;
import io.nsgate.linux.sys.Errno;
import io.nsgate.linux.sys.Linux;
import io.nsgate.linux.sys.Probe;
import io.nsgate.linux.sys.SyscallException;
import io.nsgate.linux.sys.Syscalls;

/**
 * Theory of operation. A named namespace is what {@code ip netns add} makes: a bind mount of a namespace file
 * onto {@code /run/netns/NAME}, which keeps the namespace alive with no process in it, and which
 * {@code ip netns list/exec} and {@code ip -n NAME} find. Like iproute2's netns.c, {@link #create} first makes
 * {@code /run/netns} a shared mount point (bind-mounting it onto itself once if needed) so that unmounts
 * propagate to other mount namespaces, creates the empty file exclusively, and then, on a dedicated thread, calls
 * unshare(CLONE_NEWNET) and bind-mounts {@code /proc/thread-self/ns/net} (the thread's namespace, not the
 * process's) onto the file, and returns that thread to its home namespace.
 *
 * <p>A handle ({@link #open}, {@link #create}) owns a descriptor of the namespace (for IFLA_NET_NS_FD and
 * setns) and a lazily opened rtnetlink client ({@link #rtnetlink}). Code that must run inside ({@link #call},
 * {@link #execute}, {@link #startProcess}, sysctls, opening sockets) runs on nsgate's one namespace thread, which
 * enters the namespace for the task and comes back (see {@code NamespaceHopper}); a socket keeps the namespace it
 * was created in, so the rtnetlink client then manages this namespace from whichever thread uses it, and a server
 * socket opened inside serves from any thread. Pooled threads never call setns.
 *
 * <p>{@link #delete} is {@code ip netns del}: lazily unmount, then unlink; the kernel frees the namespace (and
 * destroys its virtual interfaces) once the last process and descriptor holding it are gone.
 */
public final class NetNs implements AutoCloseable {
    /** Where iproute2 keeps named network namespaces. */
    public static final Path RUN_DIR = Path.of("/run/netns");
    /** Longest name accepted (a file name). */
    public static final int MAX_NAME_LENGTH = 255;

    private static final Object RUN_DIR_LOCK = new Object();
    private static volatile boolean runDirShared;
    private static final Probe PROBE = new Probe(NetNs::probe);

    private final String name;
    private final int fd;
    private RtNetlink rtnetlink;
    private volatile boolean closed;

    private NetNs(String name, int fd) {
        this.name = name;
        this.fd = fd;
    }

    // ------------------------------------------------------------------------------------------------ probe

    /**
     * The inode of the calling thread's network namespace ({@code /proc/thread-self/ns/net}): what names the namespace
     * while it lives (the state file, the pin directory and the kernel-settings file are keyed by it).
     */
    public static long currentInode() throws IOException {
        String link = Files.readSymbolicLink(Path.of("/proc/thread-self/ns/net")).toString(); // net:[4026531840]
        return Long.parseLong(link.replaceAll("[^0-9]", ""));
    }

    /**
     * Whether this process can create and enter network namespaces (CAP_SYS_ADMIN and CAP_NET_ADMIN, libc bound,
     * namespaces enabled).
     */
    public static boolean isAvailable() {
        return PROBE.isAvailable();
    }

    /** Why {@link #isAvailable()} is false, or null when it is true. */
    public static String unavailabilityCause() {
        return PROBE.unavailabilityCause();
    }

    private static String probe() {
        List<String> missing = Capabilities.missing(Capabilities.CAP_SYS_ADMIN, Capabilities.CAP_NET_ADMIN);
        if (!missing.isEmpty()) {
            return "network namespaces need CAP_SYS_ADMIN and CAP_NET_ADMIN (root has them; a service user can be given "
                + "them, e.g. AmbientCapabilities= in its unit); this process (euid " + Syscalls.geteuid()
                + ") lacks " + String.join(", ", missing);
        }
        if (!Files.exists(Path.of("/proc/thread-self/ns/net"))) {
            return "/proc/thread-self/ns/net is missing: is /proc mounted and the kernel built with CONFIG_NET_NS?";
        }
        // A throwaway anonymous namespace on a throwaway thread: proves unshare works without naming anything.
        AtomicReference<String> failure = new AtomicReference<>();
        Thread t = new Thread(() -> {
            try {
                Syscalls.unshare(Linux.CLONE_NEWNET, "probe thread");
            } catch (SyscallException e) {
                failure.set("cannot create network namespaces: " + e.getMessage());
            }
        }, "nsgate-netns-probe");
        t.start();
        try {
            t.join();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return "interrupted while probing";
        }
        return failure.get();
    }

    // ------------------------------------------------------------------------------------------------ names

    /** The file that names {@code name}: /run/netns/NAME. */
    public static Path path(String name) {
        checkName(name);
        return RUN_DIR.resolve(name);
    }

    /** Whether a namespace of this name exists (as {@code ip netns list} would show it). */
    public static boolean exists(String name) {
        return Files.exists(path(name));
    }

    /** The names in /run/netns, sorted, as {@code ip netns list} shows them. */
    public static List<String> list() {
        List<String> names = new ArrayList<>();
        try (DirectoryStream<Path> dir = Files.newDirectoryStream(RUN_DIR)) {
            for (Path p : dir) {
                names.add(p.getFileName().toString());
            }
        } catch (NoSuchFileException e) {
            return names;
        } catch (IOException e) {
            throw new NetNsException("cannot list " + RUN_DIR + ": " + e, e);
        }
        names.sort(null);
        return names;
    }

    static void checkName(String name) {
        if (name == null || name.isEmpty() || name.length() > MAX_NAME_LENGTH || name.contains("/")
            || name.equals(".") || name.equals("..") || name.indexOf('\0') >= 0) {
            throw new IllegalArgumentException("invalid network namespace name \"" + name
                + "\": must be 1.." + MAX_NAME_LENGTH + " characters, no '/', not . or ..");
        }
    }

    // ------------------------------------------------------------------------------------------------ lifecycle

    /**
     * Creates the named namespace (ip netns add NAME) and returns a handle whose thread lives inside it.
     *
     * @throws NetNsException when the name is taken or a syscall fails (the message names it and the errno)
     */
    public static NetNs create(String name) {
        Path path = path(name);
        ensureRunDirShared();
        String file = path.toString();
        int created;
        try {
            created = Syscalls.open(file, Linux.O_RDONLY | Linux.O_CREAT | Linux.O_EXCL | Linux.O_CLOEXEC, 0);
        } catch (SyscallException e) {
            if (e.errno() == Errno.EEXIST) {
                throw new NetNsException("network namespace " + name + " already exists (" + file + ")", e);
            }
            throw new NetNsException("cannot create " + file + ": " + e.getMessage(), e);
        }
        Syscalls.closeQuietly(created);
        RtNetlink rt;
        try {
            // Mount the new namespace and, while inside, open its rtnetlink socket: one trip instead of two.
            rt = NamespaceHopper.get().callInNewNamespace("new network namespace " + name, () -> {
                Syscalls.mount("/proc/thread-self/ns/net", file, "none", Linux.MS_BIND, null);
                return RtNetlink.open(name);
            });
        } catch (Exception e) {
            Syscalls.tryUmount2(file, Linux.MNT_DETACH);
            deleteFile(path);
            throw new NetNsException("cannot create network namespace " + name + ": " + e.getMessage(), e);
        }
        int fd;
        try {
            fd = Syscalls.open(file, Linux.O_RDONLY | Linux.O_CLOEXEC, 0);
        } catch (SyscallException e) {
            rt.close();
            delete(name);
            throw new NetNsException("cannot open new network namespace " + name + ": " + e.getMessage(), e);
        }
        NetNs ns = new NetNs(name, fd);
        ns.rtnetlink = rt;
        return ns;
    }

    /**
     * Opens several existing namespaces with their rtnetlink clients ready, visiting them all in one trip of the
     * namespace thread (much quicker than one {@link #open} and {@link #rtnetlink} each when there are dozens).
     *
     * @throws NetNsException when one does not exist or cannot be entered (none stays open then)
     */
    public static List<NetNs> openAll(List<String> names) {
        List<NetNs> handles = new ArrayList<>(names.size());
        try {
            for (String n : names) {
                handles.add(open(n));
            }
            int[] fds = handles.stream().mapToInt(h -> h.fd).toArray();
            String[] labels = names.stream().map(n -> "network namespace " + n).toArray(String[]::new);
            List<RtNetlink> sockets = NamespaceHopper.get().callEach(fds, labels, i -> () -> RtNetlink.open(names.get(i)));
            for (int i = 0; i < handles.size(); i++) {
                handles.get(i).rtnetlink = sockets.get(i);
            }
            return handles;
        } catch (RuntimeException e) {
            handles.forEach(NetNs::close);
            throw e;
        } catch (Exception e) {
            handles.forEach(NetNs::close);
            throw new NetNsException("cannot enter network namespaces: " + e.getMessage()
                + " (EINVAL means the /run/netns entry is not a namespace mount: a leftover? ip netns del NAME)", e);
        }
    }

    /**
     * Opens an existing named namespace (a descriptor of it; nothing runs inside until asked).
     *
     * @throws NetNsException when it does not exist or cannot be entered
     */
    public static NetNs open(String name) {
        String file = path(name).toString();
        int fd;
        try {
            fd = Syscalls.open(file, Linux.O_RDONLY | Linux.O_CLOEXEC, 0);
        } catch (SyscallException e) {
            if (e.errno() == Errno.ENOENT) {
                throw new NetNsException("network namespace " + name + " does not exist (no " + file + ")", e);
            }
            throw new NetNsException("cannot open network namespace " + name + ": " + e.getMessage(), e);
        }
        return new NetNs(name, fd);
    }

    /**
     * Deletes the named namespace (ip netns del NAME): lazy unmount, then unlink.
     *
     * @return false when it did not exist
     */
    public static boolean delete(String name) {
        Path path = path(name);
        if (!Files.exists(path)) {
            return false;
        }
        int errno = Syscalls.tryUmount2(path.toString(), Linux.MNT_DETACH);
        if (errno != 0 && errno != Errno.EINVAL && errno != Errno.ENOENT) {
            throw new NetNsException("cannot delete network namespace " + name + ": "
                + new SyscallException("umount2", path.toString(), errno).getMessage());
        }
        return deleteFile(path);
    }

    /** Runs {@code task} inside the named namespace (on the namespace thread) and returns its result. */
    public static <T> T run(String name, Callable<T> task) throws Exception {
        try (NetNs ns = open(name)) {
            return ns.call(task);
        }
    }

    private static boolean deleteFile(Path path) {
        try {
            return Files.deleteIfExists(path);
        } catch (IOException e) {
            throw new NetNsException("cannot remove " + path + ": " + e, e);
        }
    }

    /**
     * Makes /run/netns exist and be a shared mount point, as iproute2's netns_add does: try to mark it shared;
     * if that fails with EINVAL it is not a mount point yet, so bind-mount it onto itself and try again.
     */
    static void ensureRunDirShared() {
        if (runDirShared) {
            return;
        }
        synchronized (RUN_DIR_LOCK) {
            if (runDirShared) {
                return;
            }
            try {
                Files.createDirectories(RUN_DIR);
            } catch (IOException e) {
                throw new NetNsException("cannot create " + RUN_DIR + ": " + e, e);
            }
            String dir = RUN_DIR.toString();
            boolean madeMountPoint = false;
            while (true) {
                int errno = Syscalls.tryMount("", dir, "none", Linux.MS_SHARED | Linux.MS_REC, null);
                if (errno == 0) {
                    break;
                }
                if (errno != Errno.EINVAL || madeMountPoint) {
                    throw new NetNsException("cannot make " + dir + " a shared mount: "
                        + new SyscallException("mount", "--make-shared " + dir, errno).getMessage());
                }
                Syscalls.mount(dir, dir, "none", Linux.MS_BIND | Linux.MS_REC, null);
                madeMountPoint = true;
            }
            runDirShared = true;
        }
    }

    // ------------------------------------------------------------------------------------------------ handle

    public String name() {
        return name;
    }

    /** A descriptor of the namespace, valid until {@link #close()}: for IFLA_NET_NS_FD or setns. */
    public int fd() {
        checkOpen();
        return fd;
    }

    /**
     * Runs {@code task} inside this namespace and returns its result. It runs on nsgate's namespace thread, which
     * enters the namespace just for the task: keep it short (open a socket, read a file, start a process); what the
     * task opens stays in the namespace and can be used from any thread afterwards.
     */
    public <T> T call(Callable<T> task) throws Exception {
        checkOpen();
        return NamespaceHopper.get().call(fd, "network namespace " + name, task);
    }

    /** {@link #call} for a Runnable; unchecked exceptions pass through as they are. */
    public void execute(Runnable task) {
        checkOpen();
        try {
            call(() -> {
                task.run();
                return null;
            });
        } catch (RuntimeException e) {
            throw e;
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }

    /** Starts a process inside this namespace (it inherits the network namespace of the thread that forks it). */
    public Process startProcess(ProcessBuilder builder) throws IOException {
        try {
            return call(builder::start);
        } catch (IOException | RuntimeException e) {
            throw e;
        } catch (Exception e) {
            throw new IOException(e);
        }
    }

    /** The rtnetlink client of this namespace (opened on first use, closed with the handle); any thread may use it. */
    public synchronized RtNetlink rtnetlink() {
        checkOpen();
        if (rtnetlink == null) {
            try {
                rtnetlink = call(() -> RtNetlink.open(name));
            } catch (RuntimeException e) {
                throw e;
            } catch (Exception e) {
                throw new IllegalStateException(e);
            }
        }
        return rtnetlink;
    }

    /** Reads a sysctl of this namespace, e.g. {@code net.ipv4.ip_forward}; whitespace runs become one space. */
    public String sysctl(String key) {
        Path p = sysctlPath(key);
        try {
            return call(() -> readProcFile(p)).trim().replaceAll("\\s+", " ");
        } catch (NoSuchFileException e) {
            throw new NetNsException("sysctl " + key + " does not exist in " + name + " (no " + p + ")", e);
        } catch (Exception e) {
            throw new NetNsException("cannot read sysctl " + key + " in " + name + ": " + e, e);
        }
    }

    /** Writes a sysctl of this namespace from inside it (net.* sysctls are per namespace). */
    public void setSysctl(String key, String value) {
        Path p = sysctlPath(key);
        try {
            call(() -> Files.writeString(p, value + "\n", StandardCharsets.US_ASCII));
        } catch (NoSuchFileException e) {
            throw new NetNsException("sysctl " + key + " does not exist in " + name + " (no " + p + ")", e);
        } catch (Exception e) {
            throw new NetNsException("cannot set sysctl " + key + "=" + value + " in " + name + ": " + e, e);
        }
    }

    /**
     * Reads a /proc file with one large read first: some handlers (ip_local_reserved_ports, a large bitmap) answer
     * only a read at offset 0 and report end-of-file for any later offset, so small-buffer readers see one byte.
     */
    private static String readProcFile(Path p) throws IOException {
        try (java.io.InputStream in = Files.newInputStream(p)) {
            byte[] buf = new byte[64 * 1024];
            int n = 0;
            int r;
            while (n < buf.length && (r = in.read(buf, n, buf.length - n)) > 0) {
                n += r;
            }
            return new String(buf, 0, n, StandardCharsets.US_ASCII);
        }
    }

    /** /proc/sys path of a sysctl key: dots separate components unless the key uses slashes (sysctl(8) rule). */
    /** A sysctl of the calling thread's own network namespace (no hop). */
    public static String readSysctl(String key) {
        Path p = sysctlPath(key);
        try {
            return readProcFile(p).trim().replaceAll("\\s+", " ");
        } catch (NoSuchFileException e) {
            throw new NetNsException("sysctl " + key + " does not exist (no " + p + ")", e);
        } catch (Exception e) {
            throw new NetNsException("cannot read sysctl " + key + ": " + e, e);
        }
    }

    /** Sets a sysctl of the calling thread's own network namespace. */
    public static void writeSysctl(String key, String value) {
        Path p = sysctlPath(key);
        try {
            Files.writeString(p, value + "\n", StandardCharsets.US_ASCII);
        } catch (NoSuchFileException e) {
            throw new NetNsException("sysctl " + key + " does not exist (no " + p + ")", e);
        } catch (Exception e) {
            throw new NetNsException("cannot set sysctl " + key + "=" + value + ": " + e, e);
        }
    }

    public static Path sysctlPath(String key) {
        if (key == null || key.isEmpty() || key.contains("..") || key.startsWith("/") || key.startsWith(".")
            || !key.matches("[A-Za-z0-9_./-]+")) {
            throw new IllegalArgumentException("invalid sysctl key \"" + key + "\"");
        }
        return Path.of("/proc/sys", key.contains("/") ? key : key.replace('.', '/'));
    }

    private void checkOpen() {
        if (closed) {
            throw new IllegalStateException("network namespace handle " + name + " is closed");
        }
    }

    /** Closes the socket and the descriptor; the namespace itself stays (see {@link #delete}). */
    @Override
    public synchronized void close() {
        if (closed) {
            return;
        }
        closed = true;
        if (rtnetlink != null) {
            rtnetlink.close();
        }
        Syscalls.closeQuietly(fd);
    }

    @Override
    public String toString() {
        return "netns " + name;
    }
}
