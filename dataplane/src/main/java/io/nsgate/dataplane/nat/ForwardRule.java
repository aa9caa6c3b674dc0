// A port forward (DNAT): protocol, external address and ports, and the backends that serve them.
package io.nsgate.dataplane.nat;

import java.util.ArrayList;
import java.util.List;

import io.nsgate.dataplane.packet.IpProtocol;
import io.nsgate.linux.net.IpPrefix;
import io.nsgate.linux.net.Ipv4Address;
import io.nsgate.linux.net.Ipv4Prefix;
import io.nsgate.linux.net.Ipv6Address;
import io.nsgate.linux.net.Ipv6Prefix;

/**
 * {@code iptables -t nat -A PREROUTING -p PROTO [-d ADDRESS] --dport PORTS -j DNAT --to BACKEND}, with several
 * backends balanced per client. External ports map onto a backend's ports by offset when both ranges have the
 * same size ({@code 8000-8010=10.0.0.2:9000-9010}), or all onto one backend port. IPv6 forwards
 * ({@code tcp:80=[fd15::2]:80}, {@code ip6tables}' DNAT) have IPv6 backends and serve IPv6 clients; an IPv6
 * external side with IPv4 backends ({@code tcp:[::]:80=192.168.15.2:80}, {@code tcp:[fd01::2]:80=...}) publishes
 * IPv4-only services to IPv6 clients ({@link #translates()}).
 *
 * @param external what clients reach: the protocol, the external address (0: every LAN interface address) and ports
 */
public record ForwardRule(ForwardedPorts external, List<Backend> backends, List<IpPrefix> from) {
    /** One backend: an IPv4 address (or, for an IPv6 forward, {@code address6}) and a port or port range. */
    public record Backend(int address, Ipv6Address address6, PortRange ports) {
        public Backend(int address, PortRange ports) {
            this(address, null, ports);
        }

        public Backend(Ipv6Address address6, PortRange ports) {
            this(0, address6, ports);
        }

        @Override
        public String toString() {
            return (address6 != null ? "[" + address6 + "]" : Ipv4Address.format(address)) + ":" + ports;
        }
    }

    /** A forward every client may reach. */
    public ForwardRule(ForwardedPorts external, List<Backend> backends) {
        this(external, backends, List.of());
    }

    public ForwardRule {
        backends = List.copyOf(backends);
        from = List.copyOf(from);
        if (backends.isEmpty()) {
            throw new IllegalArgumentException("forward " + external + ": no backend");
        }
        for (IpPrefix p : from) {
            if ((p instanceof Ipv6Prefix) != external.ipv6()) {
                throw new IllegalArgumentException("forward " + external + ": from=" + p + " is not of its clients' "
                    + "family (" + (external.ipv6() ? "IPv6" : "IPv4") + ")");
            }
        }
        for (Backend b : backends) {
            if ((b.address6 != null) != (backends.get(0).address6 != null)) {
                throw new IllegalArgumentException("forward " + external + "=" + b
                    + ": backends of both families (all IPv4 or all IPv6, in brackets)");
            }
            if (b.address6 != null && !external.ipv6()) {
                throw new IllegalArgumentException("forward " + external + "=" + b
                    + ": an IPv4 address for IPv6 backends");
            }
            if (b.ports.size() != 1 && b.ports.size() != external.ports().size()) {
                throw new IllegalArgumentException("forward " + external + "=" + b
                    + ": backend port range must be one port or as large as the external range ("
                    + external.ports().size() + " ports)");
            }
        }
    }

    /** @param proto 6 (TCP) or 17 (UDP); @param externalAddress 0 for every LAN interface address */
    public ForwardRule(int proto, int externalAddress, PortRange externalPorts, List<Backend> backends) {
        this(new ForwardedPorts(proto, externalAddress, externalPorts), backends);
    }

    /** Whether IPv6 clients reach it (its backends are IPv6 too, or IPv4: {@link #translates()}). */
    public boolean ipv6() {
        return external.ipv6();
    }

    /**
     * Whether it publishes IPv4 backends to IPv6 clients ({@code tcp:[::]:80=192.168.15.2:80}): its flows are
     * translated between the families (RFC 7915's headers, RFC 6146's sessions).
     */
    public boolean translates() {
        return external.ipv6() && backends.get(0).address6 == null;
    }

    public int proto() {
        return external.proto();
    }

    public int externalAddress() {
        return external.address();
    }

    public PortRange externalPorts() {
        return external.ports();
    }

    /** The textual form {@link #parse} reads and {@link #toString} writes. */
    public static final String SYNTAX = "PROTO:[ADDRESS:]PORT[-PORT]=IP:PORT[-PORT][,IP:PORT[-PORT]...][,from=CIDR[+CIDR...]]"
        + " (IPv6 addresses in brackets: [fd15::2]:80)";

    /**
     * Whether a client at {@code srcIp} may open a connection through this forward: every client when it has no
     * allow-list, else one inside a listed prefix. Allocates nothing (the first packet of every new flow asks).
     */
    public boolean admits(int srcIp) {
        for (int i = 0; i < from.size(); i++) {
            if (((Ipv4Prefix) from.get(i)).contains(srcIp)) {
                return true;
            }
        }
        return from.isEmpty();
    }

    /** As {@link #admits(int)} for an IPv6 client. */
    public boolean admits6(long srcHigh, long srcLow) {
        for (int i = 0; i < from.size(); i++) {
            if (((Ipv6Prefix) from.get(i)).contains(srcHigh, srcLow)) {
                return true;
            }
        }
        return from.isEmpty();
    }

    /**
     * Parses {@code tcp:80=192.168.15.2:80}, {@code tcp:192.168.1.2:8000-8010=192.168.15.2:9000-9010},
     * {@code udp:53=192.168.15.2:53,192.168.15.3:53}, or IPv6 with addresses in brackets: {@code tcp:80=[fd15::2]:80},
     * {@code tcp:[fd01::2]:8080=[fd15::2]:80}.
     *
     * @throws IllegalArgumentException naming the text and what is wrong, e.g.
     *     {@code forward "tcp:80=192.168.15.300:80": 192.168.15.300 is not an IPv4 address (...)}
     */
    public static ForwardRule parse(String text) {
        try {
            int eq = text.indexOf('=');
            if (eq < 0) {
                throw new IllegalArgumentException("missing \"=BACKEND\" (expected " + SYNTAX + ")");
            }
            String front = text.substring(0, eq);
            int colon = front.indexOf(':');
            if (colon < 0) {
                throw new IllegalArgumentException("\"" + front + "\" is not PROTO:[ADDRESS:]PORT[-PORT]");
            }
            int proto = IpProtocol.byName(front.substring(0, colon));
            if (proto != IpProtocol.TCP && proto != IpProtocol.UDP) {
                throw new IllegalArgumentException("protocol \"" + front.substring(0, colon) + "\" is not tcp or udp");
            }
            String where = front.substring(colon + 1);
            String back = text.substring(eq + 1);
            if (back.isEmpty()) {
                throw new IllegalArgumentException("no backend after \"=\" (expected IP:PORT[-PORT])");
            }
            List<Backend> backends = new ArrayList<>();
            List<IpPrefix> from = new ArrayList<>();
            for (String b : back.split(",", -1)) {
                if (b.startsWith("from=")) {
                    if (!from.isEmpty()) {
                        throw new IllegalArgumentException("from= given twice (join the prefixes with +)");
                    }
                    for (String cidr : b.substring("from=".length()).split("\\+", -1)) {
                        IpPrefix p = IpPrefix.parse(cidr.startsWith("[") && cidr.endsWith("]")
                            ? cidr.substring(1, cidr.length() - 1) : cidr);
                        if (!p.isNetwork()) {
                            throw new IllegalArgumentException("from=" + cidr + " has host bits set (the network is "
                                + p.networkPrefix() + ")");
                        }
                        from.add(p);
                    }
                    continue;
                }
                if (!from.isEmpty()) {
                    throw new IllegalArgumentException("from=... comes last, after the backends");
                }
                String[] hostPorts = hostAndPorts(b, "backend");
                if (hostPorts[0].isEmpty()) {
                    throw new IllegalArgumentException("backend \"" + b + "\" is not IP:PORT[-PORT]");
                }
                PortRange ports = PortRange.parse(hostPorts[1]);
                backends.add(hostPorts[0].startsWith("[") ? new Backend(ipv6(hostPorts[0]), ports)
                    : new Backend(Ipv4Address.parse(hostPorts[0]), ports));
            }
            String[] external = hostAndPorts(where, "external address");
            PortRange externalPorts = PortRange.parse(external[1]);
            boolean ipv6 = external[0].isEmpty() ? backends.get(0).address6() != null : external[0].startsWith("[");
            // "[::]" is written for every LAN IPv6 address too (as in Docker's -p [::]:80:80)
            ForwardedPorts ext = ipv6
                ? new ForwardedPorts(proto, external[0].isEmpty() || external[0].equals("[::]") ? null
                    : ipv6(external[0]), externalPorts)
                : new ForwardedPorts(proto, external[0].isEmpty() ? 0 : Ipv4Address.parse(external[0]), externalPorts);
            return new ForwardRule(ext, backends, from);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("forward \"" + text + "\": " + e.getMessage(), e);
        }
    }

    /** Splits {@code [ADDRESS:]PORTS}, {@code [IPV6]:PORTS} into the host ("" when absent) and the ports. */
    private static String[] hostAndPorts(String text, String what) {
        if (text.startsWith("[")) {
            int close = text.indexOf(']');
            if (close < 0 || close + 1 >= text.length() || text.charAt(close + 1) != ':') {
                throw new IllegalArgumentException(what + " \"" + text + "\" is not [IPV6]:PORT[-PORT]");
            }
            return new String[] {text.substring(0, close + 1), text.substring(close + 2)};
        }
        int colon = text.lastIndexOf(':');
        if (colon >= 0 && text.indexOf(':') != colon) {
            throw new IllegalArgumentException(what + " \"" + text
                + "\": write an IPv6 address in brackets, as [fd15::2]:80");
        }
        return colon < 0 ? new String[] {"", text} : new String[] {text.substring(0, colon), text.substring(colon + 1)};
    }

    private static Ipv6Address ipv6(String bracketed) {
        Ipv6Address a = Ipv6Address.parse(bracketed.substring(1, bracketed.length() - 1));
        if (a.isMulticast() || a.isLinkLocal() || a.isUnspecified() || a.isLoopback()) {
            throw new IllegalArgumentException(a + " is not a routable unicast IPv6 address");
        }
        return a;
    }

    /** True when this rule serves {@code dstIp:dstPort}; {@code lanAddress} tells whether dstIp is a LAN address. */
    public boolean matches(int proto, int dstIp, int dstPort, boolean lanAddress) {
        return external.matches(proto, dstIp, dstPort, lanAddress);
    }

    /**
     * The backend for a client: rendezvous (highest random weight) hashing of the client address with each
     * backend, so a client always lands on the same backend and adding or removing one moves only its share.
     */
    public Backend backendFor(int clientIp) {
        if (backends.size() == 1) {
            return backends.get(0);
        }
        Backend best = null;
        long bestWeight = Long.MIN_VALUE;
        for (Backend b : backends) {
            long w = mix(((long) clientIp << 32) ^ (b.address & 0xFFFF_FFFFL) ^ ((long) b.ports.first() << 17));
            if (best == null || w > bestWeight) {
                best = b;
                bestWeight = w;
            }
        }
        return best;
    }

    /** As {@link #backendFor(int)} for an IPv6 client. */
    public Backend backendFor6(long clientHigh, long clientLow) {
        if (backends.size() == 1) {
            return backends.get(0);
        }
        final long client = mix(clientHigh) ^ clientLow;
        Backend best = null;
        long bestWeight = Long.MIN_VALUE;
        for (Backend b : backends) {
            // an IPv6 forward's backends are IPv6, a translating one's IPv4
            long address = b.address6 != null ? mix(b.address6.high() ^ Long.rotateLeft(b.address6.low(), 29))
                : b.address & 0xFFFF_FFFFL;
            long w = mix(client ^ address ^ ((long) b.ports.first() << 17));
            if (best == null || w > bestWeight) {
                best = b;
                bestWeight = w;
            }
        }
        return best;
    }

    /** True when this IPv6 rule serves {@code [dst]:dstPort}; {@code lanAddress}: dst is a LAN interface's. */
    public boolean matches6(int proto, long dstHigh, long dstLow, int dstPort, boolean lanAddress) {
        return external.matches6(proto, dstHigh, dstLow, dstPort, lanAddress);
    }

    /** The backend port for an external port. */
    public int backendPort(Backend backend, int dstPort) {
        return backend.ports.size() == 1 ? backend.ports.first()
            : backend.ports.first() + (dstPort - external.ports().first());
    }

    private static long mix(long x) {
        x ^= x >>> 33;
        x *= 0xFF51_AFD7_ED55_8CCDL;
        x ^= x >>> 33;
        x *= 0xC4CE_B9FE_1A85_EC53L;
        x ^= x >>> 33;
        return x;
    }

    /**
     * The text {@link #parse} reads: an IPv6 forward to IPv6 backends on every LAN address shows no address, as it is
     * written; one to IPv4 backends shows {@code [::]}, which makes it an IPv6 forward.
     */
    @Override
    public String toString() {
        String front = external.ipv6() && external.address6() == null && !translates()
            ? IpProtocol.name(external.proto()) + ":" + external.ports() : external.toString();
        StringBuilder sb = new StringBuilder(front).append('=');
        for (int i = 0; i < backends.size(); i++) {
            sb.append(i > 0 ? "," : "").append(backends.get(i));
        }
        for (int i = 0; i < from.size(); i++) {
            sb.append(i == 0 ? ",from=" : "+").append(from.get(i));
        }
        return sb.toString();
    }
}
