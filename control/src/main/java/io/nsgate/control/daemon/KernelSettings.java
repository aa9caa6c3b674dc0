// What a gateway changes in its namespace's kernel settings while it runs, and gives back when it stops.
package io.nsgate.control.daemon;

import java.util.function.Consumer;

import io.nsgate.dataplane.nat.PortRange;

/**
 * Two sysctls: {@code net.ipv4.ip_forward} goes to 0 (the data plane forwards, not the kernel: with both, every
 * transit frame would leave twice), and the NAT port range is added to {@code net.ipv4.ip_local_reserved_ports}, so
 * the host's own connections never pick a port nsgate translates to. The reserved ports are restored on
 * {@link #restore()}; forwarding stays off (turning it back on would make the kernel route what nobody guards).
 */
final class KernelSettings {
    static final String RESERVED_PORTS = "net.ipv4.ip_local_reserved_ports";
    static final String IP_FORWARD = "net.ipv4.ip_forward";

    private final HostNamespace host;
    private final Consumer<String> log;
    private String reservedPortsBefore;

    KernelSettings(HostNamespace host, Consumer<String> log) {
        this.host = host;
        this.log = log;
    }

    /** Forwarding off, {@code natPorts} reserved. */
    void apply(PortRange natPorts) {
        String forward = host.sysctl(IP_FORWARD);
        if (!"0".equals(forward)) {
            host.setSysctl(IP_FORWARD, "0");
            log.accept("  set " + IP_FORWARD + "=0 (was " + forward + "): the data plane forwards, not the kernel");
        }
        reservedPortsBefore = host.sysctl(RESERVED_PORTS);
        String range = natPorts.first() + "-" + natPorts.last();
        host.setSysctl(RESERVED_PORTS, reservedPortsBefore.isEmpty() ? range : reservedPortsBefore + "," + range);
    }

    /** The reserved ports as they were before {@link #apply}; nothing when it never ran. Logs, never throws. */
    void restore() {
        if (reservedPortsBefore == null) {
            return;
        }
        try {
            host.setSysctl(RESERVED_PORTS, reservedPortsBefore);
        } catch (RuntimeException e) {
            log.accept("warning: restoring " + RESERVED_PORTS + ": " + e.getMessage());
        }
    }
}
