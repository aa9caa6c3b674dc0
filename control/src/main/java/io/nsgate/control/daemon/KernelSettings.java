// What a gateway changes in its namespace's kernel settings while it runs, and gives back when it stops.
package io.nsgate.control.daemon;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Consumer;
import java.util.stream.Stream;

import io.nsgate.dataplane.nat.PortRange;
import io.nsgate.linux.sys.AbstractSocketLock;

/**
 * Forwarding off: {@code net.ipv4.ip_forward}, {@code net.ipv6.conf.all.forwarding} and (kernels from 6.17) every
 * interface's {@code force_forwarding}, which forwards IPv6 arriving on that interface whatever {@code all} says, go
 * to 0 (the data plane forwards, not the kernel: with both, every
 * transit frame would leave twice, and IPv6 would cross past nsgate's default deny); a kernel without IPv6 has no
 * IPv6 sysctls, and that is fine. And the NAT port range is added to {@code net.ipv4.ip_local_reserved_ports}, so
 * the host's own connections never pick a port nsgate translates to. The reserved ports are restored on
 * {@link #restore()}; forwarding stays off (turning it back on would make the kernel route what nobody guards).
 *
 * <p><b>Surviving a crash.</b> What the reserved ports were before nsgate, and what nsgate made of them, are written
 * to {@code /run/nsgate/kernel-settings/net-INODE} (one file per network namespace, on tmpfs: gone at reboot, as
 * sysctls are) before anything changes. A gateway killed with SIGKILL leaves its range reserved and the file behind;
 * the next start finds the namespace still holding exactly what the file says was written, takes the file's
 * "before" as the original, and a clean stop restores that and removes the file. A file that no longer matches the
 * namespace (an old namespace's inode reused, or someone changed the value since) is ignored.
 */
final class KernelSettings {
    static final String RESERVED_PORTS = "net.ipv4.ip_local_reserved_ports";
    static final String IP_FORWARD = "net.ipv4.ip_forward";
    static final String IPV6_FORWARDING = "net.ipv6.conf.all.forwarding";
    /** Where the IPv6 per-interface settings are, seen from inside the namespace. */
    private static final Path IPV6_CONF = Path.of("/proc/sys/net/ipv6/conf");
    static final Path DEFAULT_STATE_DIR = Path.of("/run/nsgate/kernel-settings");

    private final HostNamespace host;
    private final Consumer<String> log;
    private final Path stateDir;
    private String reservedPortsBefore;
    private Path stateFile;
    private AbstractSocketLock owner;

    KernelSettings(HostNamespace host, Consumer<String> log) {
        this(host, log, DEFAULT_STATE_DIR);
    }

    KernelSettings(HostNamespace host, Consumer<String> log, Path stateDir) {
        this.host = host;
        this.log = log;
        this.stateDir = stateDir;
    }

    /** Forwarding off (IPv4 and IPv6), {@code natPorts} reserved. */
    void apply(PortRange natPorts) {
        forwardingOff(IP_FORWARD, true);
        forwardingOff(IPV6_FORWARDING, false);
        forceForwardingOff();
        String current = host.sysctl(RESERVED_PORTS);
        reservedPortsBefore = current;
        String identity = host.call(KernelSettings::namespaceIdentity);
        // the state file is this gateway's only while it holds the namespace's lock: a second gateway in the namespace
        // (on other interfaces) nests inside the first, restoring what it found, as before
        owner = host.call(() -> AbstractSocketLock.tryAcquire("nsgate-kernel-settings"));
        String range = natPorts.first() + "-" + natPorts.last();
        String wanted = reservedPortsBefore.isEmpty() ? range : reservedPortsBefore + "," + range;
        if (owner == null) {
            host.setSysctl(RESERVED_PORTS, wanted);
            return;
        }
        stateFile = stateDir.resolve(identity);
        State left = State.read(stateFile);
        if (left != null && left.wrote().equals(current)) {
            reservedPortsBefore = left.before();
            log.accept("  a previous nsgate did not stop cleanly: " + RESERVED_PORTS + " was \"" + left.before()
                + "\" before it, and is given back as such on exit");
        }
        wanted = reservedPortsBefore.isEmpty() ? range : reservedPortsBefore + "," + range;
        // the state goes first, so a crash at any point leaves a file that either matches what the namespace holds
        // or is ignored; then it records the value as the kernel prints it back (sorted ranges). A gateway that may
        // not write there (a service user without /run/nsgate) runs all the same, without that safety net.
        try {
            State.write(stateFile, new State(reservedPortsBefore, wanted));
        } catch (GatewayException e) {
            log.accept("warning: " + e.getMessage() + "; after a crash the range stays reserved");
            stateFile = null;
        }
        host.setSysctl(RESERVED_PORTS, wanted);
        if (stateFile != null) {
            State.write(stateFile, new State(reservedPortsBefore, host.sysctl(RESERVED_PORTS)));
        }
    }

    /** Sets a forwarding sysctl to 0; one that is optional may be missing (no IPv6, or a kernel before 6.17). */
    private void forwardingOff(String key, boolean required) {
        String value;
        try {
            value = host.sysctl(key);
        } catch (RuntimeException e) {
            if (required || !(e.getCause() instanceof java.nio.file.NoSuchFileException)) {
                throw e;
            }
            return;
        }
        if (!"0".equals(value)) {
            host.setSysctl(key, "0");
            log.accept("  set " + key + "=0 (was " + value + "): the data plane forwards, not the kernel");
        }
    }

    /**
     * {@code force_forwarding} (kernel 6.17+) off for {@code all}, {@code default} (interfaces to come) and every
     * interface of the namespace: with it on, the kernel forwards IPv6 arriving on that interface even with
     * {@code all.forwarding} 0. A kernel without it has no such files.
     */
    private void forceForwardingOff() {
        List<String> changed = host.call(() -> {
            List<String> out = new ArrayList<>();
            if (!Files.isDirectory(IPV6_CONF)) {
                return out;
            }
            try (Stream<Path> dirs = Files.list(IPV6_CONF)) {
                for (Path dir : dirs.sorted().toList()) {
                    Path knob = dir.resolve("force_forwarding");
                    if (Files.isRegularFile(knob) && !"0".equals(Files.readString(knob).strip())) {
                        Files.writeString(knob, "0");
                        out.add(dir.getFileName().toString());
                    }
                }
            }
            return out;
        });
        for (String dev : changed) {
            log.accept("  set net.ipv6.conf." + dev + ".force_forwarding=0 (was on): the data plane forwards, not the "
                + "kernel");
        }
    }

    /** The reserved ports as they were before nsgate; nothing when {@link #apply} never ran. Logs, never throws. */
    void restore() {
        if (reservedPortsBefore == null) {
            return;
        }
        try {
            host.setSysctl(RESERVED_PORTS, reservedPortsBefore);
            if (stateFile != null) {
                Files.deleteIfExists(stateFile);
            }
        } catch (RuntimeException | IOException e) {
            log.accept("warning: restoring " + RESERVED_PORTS + ": " + e.getMessage());
        } finally {
            if (owner != null) {
                owner.close();
            }
        }
    }

    /** "net-INODE" of the calling thread's network namespace. */
    private static String namespaceIdentity() throws IOException {
        return "net-" + io.nsgate.control.netns.NetNs.currentInode();
    }

    /** The file's content: the value before nsgate and the value nsgate left. */
    record State(String before, String wrote) {
        static State read(Path file) {
            try {
                List<String> lines = Files.readAllLines(file, StandardCharsets.UTF_8);
                String before = null;
                String wrote = null;
                for (String line : lines) {
                    if (line.startsWith("before=")) {
                        before = line.substring("before=".length());
                    } else if (line.startsWith("wrote=")) {
                        wrote = line.substring("wrote=".length());
                    }
                }
                return before != null && wrote != null ? new State(before, wrote) : null;
            } catch (NoSuchFileException e) {
                return null;
            } catch (IOException e) {
                throw new GatewayException("cannot read " + file + ": " + e.getMessage(), e);
            }
        }

        static void write(Path file, State state) {
            try {
                Files.createDirectories(file.getParent());
                Path tmp = file.resolveSibling(file.getFileName() + ".tmp");
                Files.writeString(tmp, "# " + RESERVED_PORTS + " before nsgate, and as nsgate left it\nbefore="
                    + state.before() + "\nwrote=" + state.wrote() + "\n", StandardCharsets.UTF_8);
                Files.move(tmp, file, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
            } catch (IOException e) {
                throw new GatewayException("cannot write " + file + " (what to restore " + RESERVED_PORTS
                    + " to after a crash): " + e.getMessage(), e);
            }
        }
    }
}
