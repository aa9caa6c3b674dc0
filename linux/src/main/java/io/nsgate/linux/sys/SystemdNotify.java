// sd_notify(3) without libsystemd: state lines to the AF_UNIX datagram socket systemd names in NOTIFY_SOCKET.
package io.nsgate.linux.sys;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.Map;

/**
 * The service manager's notification protocol ({@code sd_notify(3)}): newline-separated {@code KEY=VALUE} lines in
 * one datagram to the socket in {@code $NOTIFY_SOCKET}, a path or, after {@code @}, an abstract name. A
 * {@code Type=notify} unit is "started" at {@code READY=1}; {@code STATUS=} is what {@code systemctl status} shows;
 * {@code STOPPING=1} says a stop began; {@code WATCHDOG=1} keeps a unit with {@code WatchdogSec=} alive, which must
 * come at least every {@code $WATCHDOG_USEC} microseconds (for our pid, {@code $WATCHDOG_PID}, when set).
 *
 * <p>Sending never blocks (MSG_DONTWAIT) and never throws: a manager that went away is not the service's problem.
 */
public final class SystemdNotify implements AutoCloseable {
    private static final int SOCKADDR_UN_PATH = 2;
    private static final int MAX_PATH = 107;
    private static final int MSG_DONTWAIT = 0x40;
    private static final int MSG_NOSIGNAL = 0x4000;
    private static final int MAX_MESSAGE = 4096;

    private final String socketName;
    private final ByteBuffer address;
    private final long watchdogUsec;
    /** One datagram's bytes, reused (a state line is short; longer ones are cut at its size). */
    private final ByteBuffer data = ByteBuffer.allocateDirect(MAX_MESSAGE);
    private int fd;

    private SystemdNotify(String socketName, ByteBuffer address, long watchdogUsec) {
        this.socketName = socketName;
        this.address = address;
        this.watchdogUsec = watchdogUsec;
        this.fd = Syscalls.socket(Linux.AF_UNIX, Linux.SOCK_DGRAM | Linux.SOCK_CLOEXEC, 0,
            "the notification socket " + socketName);
    }

    /** The notifier $NOTIFY_SOCKET names, or null when the process was not started by a service manager. */
    public static SystemdNotify fromEnvironment() {
        return from(System.getenv(), ProcessHandle.current().pid());
    }

    /**
     * As {@link #fromEnvironment} from the given variables, for process {@code pid}.
     *
     * @throws IllegalArgumentException when NOTIFY_SOCKET is not a socket name (too long, or neither a path nor @name)
     */
    public static SystemdNotify from(Map<String, String> env, long pid) {
        String name = env.get("NOTIFY_SOCKET");
        if (name == null || name.isEmpty()) {
            return null;
        }
        byte[] bytes = name.getBytes(StandardCharsets.UTF_8);
        if (bytes.length > MAX_PATH || !(name.startsWith("/") || name.startsWith("@"))) {
            throw new IllegalArgumentException("NOTIFY_SOCKET \"" + name + "\": not an absolute path or @name of at"
                + " most " + MAX_PATH + " bytes");
        }
        ByteBuffer address = ByteBuffer.allocateDirect(SOCKADDR_UN_PATH + bytes.length).order(ByteOrder.nativeOrder());
        address.putShort(0, (short) Linux.AF_UNIX);
        address.position(SOCKADDR_UN_PATH);
        address.put(bytes);
        if (name.startsWith("@")) {
            address.put(SOCKADDR_UN_PATH, (byte) 0); // abstract: a NUL first, the name after it
        }
        address.flip();
        long watchdog = 0;
        String usec = env.get("WATCHDOG_USEC");
        String forPid = env.get("WATCHDOG_PID");
        if (usec != null && (forPid == null || forPid.equals(Long.toString(pid)))) {
            try {
                watchdog = Long.parseLong(usec.trim());
            } catch (NumberFormatException e) {
                watchdog = 0;
            }
        }
        return new SystemdNotify(name, address, Math.max(0, watchdog));
    }

    /** The watchdog's period in microseconds ($WATCHDOG_USEC for this process), or 0 when there is none. */
    public long watchdogUsec() {
        return watchdogUsec;
    }

    /** Sends {@code state} (lines of KEY=VALUE); false when it could not be sent (logged by the caller, if at all). */
    public synchronized boolean send(String state) {
        if (fd < 0) {
            return false;
        }
        byte[] bytes = state.getBytes(StandardCharsets.UTF_8);
        data.clear();
        data.put(bytes, 0, Math.min(bytes.length, MAX_MESSAGE)).flip();
        try {
            return Syscalls.sendto(fd, data, MSG_DONTWAIT | MSG_NOSIGNAL, address.duplicate(),
                "the notification socket " + socketName) > 0;
        } catch (SyscallException e) {
            return false;
        }
    }

    @Override
    public synchronized void close() {
        if (fd >= 0) {
            Syscalls.closeQuietly(fd);
            fd = -1;
        }
    }

    @Override
    public String toString() {
        return "NOTIFY_SOCKET " + socketName + (watchdogUsec > 0 ? ", watchdog every " + watchdogUsec + " us" : "");
    }
}
