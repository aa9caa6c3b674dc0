// An inclusive range of TCP/UDP ports (or ICMP identifiers), as in 61000-65535.
package io.nsgate.dataplane.nat;

/** {@code first..last} inclusive, 1 <= first <= last <= 65535. */
public record PortRange(int first, int last) {
    public PortRange {
        if (first < 1 || last > 65535 || first > last) {
            throw new IllegalArgumentException("port range " + first + "-" + last + " is not within 1-65535 or is reversed");
        }
    }

    /**
     * The default NAT range: above the kernel's default ephemeral range (net.ipv4.ip_local_port_range is
     * 32768-60999), so the gateway's own outgoing connections never pick a port nsgate translates to. The
     * daemon also reserves it (net.ipv4.ip_local_reserved_ports) in case the host widened its range.
     */
    public static final PortRange DEFAULT_NAT = new PortRange(61000, 65535);

    public static PortRange single(int port) {
        return new PortRange(port, port);
    }

    /** Parses {@code N} or {@code N-M}. */
    public static PortRange parse(String text) {
        int dash = text.indexOf('-');
        try {
            if (dash < 0) {
                return single(Integer.parseInt(text.trim()));
            }
            return new PortRange(Integer.parseInt(text.substring(0, dash).trim()),
                Integer.parseInt(text.substring(dash + 1).trim()));
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("\"" + text + "\" is not a port or a port range like 8000-8010");
        }
    }

    public int size() {
        return last - first + 1;
    }

    public boolean contains(int port) {
        return port >= first && port <= last;
    }

    /** Whether the two ranges share a port. */
    public boolean overlaps(PortRange other) {
        return first <= other.last && other.first <= last;
    }

    @Override
    public String toString() {
        return first == last ? Integer.toString(first) : first + "-" + last;
    }
}
