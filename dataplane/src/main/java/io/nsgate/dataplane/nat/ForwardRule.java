// A port forward (DNAT): protocol, external address and ports, and the backends that serve them.
package io.nsgate.dataplane.nat;

import java.util.ArrayList;
import java.util.List;

import io.nsgate.dataplane.packet.IpProtocol;
import io.nsgate.linux.net.Ipv4Address;

/**
 * {@code iptables -t nat -A PREROUTING -p PROTO [-d ADDRESS] --dport PORTS -j DNAT --to BACKEND}, with several
 * backends balanced per client. External ports map onto a backend's ports by offset when both ranges have the
 * same size ({@code 8000-8010=10.0.0.2:9000-9010}), or all onto one backend port.
 *
 * @param external what clients reach: the protocol, the external address (0: every LAN interface address) and ports
 */
public record ForwardRule(ForwardedPorts external, List<Backend> backends) {
    /** One backend: an address and a port (or a range as large as the external one). */
    public record Backend(int address, PortRange ports) {
        @Override
        public String toString() {
            return Ipv4Address.format(address) + ":" + ports;
        }
    }

    public ForwardRule {
        backends = List.copyOf(backends);
        if (backends.isEmpty()) {
            throw new IllegalArgumentException("forward " + external + ": no backend");
        }
        for (Backend b : backends) {
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
    public static final String SYNTAX = "PROTO:[ADDRESS:]PORT[-PORT]=IP:PORT[-PORT][,IP:PORT[-PORT]...]";

    /**
     * Parses {@code tcp:80=192.168.15.2:80}, {@code tcp:192.168.1.2:8000-8010=192.168.15.2:9000-9010} or
     * {@code udp:53=192.168.15.2:53,192.168.15.3:53}.
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
            String[] front = text.substring(0, eq).split(":", -1);
            if (front.length < 2 || front.length > 3) {
                throw new IllegalArgumentException("\"" + text.substring(0, eq) + "\" is not PROTO:[ADDRESS:]PORT[-PORT]");
            }
            int proto = IpProtocol.byName(front[0]);
            if (proto != IpProtocol.TCP && proto != IpProtocol.UDP) {
                throw new IllegalArgumentException("protocol \"" + front[0] + "\" is not tcp or udp");
            }
            int address = front.length == 3 ? Ipv4Address.parse(front[1]) : 0;
            PortRange external = PortRange.parse(front[front.length - 1]);
            String back = text.substring(eq + 1);
            if (back.isEmpty()) {
                throw new IllegalArgumentException("no backend after \"=\" (expected IP:PORT[-PORT])");
            }
            List<Backend> backends = new ArrayList<>();
            for (String b : back.split(",", -1)) {
                int colon = b.lastIndexOf(':');
                if (colon < 0) {
                    throw new IllegalArgumentException("backend \"" + b + "\" is not IP:PORT[-PORT]");
                }
                backends.add(new Backend(Ipv4Address.parse(b.substring(0, colon)), PortRange.parse(b.substring(colon + 1))));
            }
            return new ForwardRule(proto, address, external, backends);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("forward \"" + text + "\": " + e.getMessage(), e);
        }
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

    @Override
    public String toString() {
        StringBuilder sb = new StringBuilder(external.toString()).append('=');
        for (int i = 0; i < backends.size(); i++) {
            sb.append(i > 0 ? "," : "").append(backends.get(i));
        }
        return sb.toString();
    }
}
