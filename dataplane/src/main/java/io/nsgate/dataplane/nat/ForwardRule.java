// A port forward (DNAT): protocol, external address and ports, and the backends that serve them.
package io.nsgate.dataplane.nat;

import java.util.List;

import io.nsgate.dataplane.packet.Ipv4Address;

/**
 * {@code iptables -t nat -A PREROUTING -p PROTO [-d ADDRESS] --dport PORTS -j DNAT --to BACKEND}, with several
 * backends balanced per client. External ports map onto a backend's ports by offset when both ranges have the
 * same size ({@code 8000-8010=10.0.0.2:9000-9010}), or all onto one backend port.
 *
 * @param proto           6 (TCP) or 17 (UDP)
 * @param externalAddress the address clients connect to, or 0 for every LAN interface address
 */
public record ForwardRule(int proto, int externalAddress, PortRange externalPorts, List<Backend> backends) {
    /** One backend: an address and a port (or a range as large as the external one). */
    public record Backend(int address, PortRange ports) {
        @Override
        public String toString() {
            return Ipv4Address.format(address) + ":" + ports;
        }
    }

    public ForwardRule {
        if (proto != 6 && proto != 17) {
            throw new IllegalArgumentException("forward: protocol " + proto + " is not tcp (6) or udp (17)");
        }
        backends = List.copyOf(backends);
        if (backends.isEmpty()) {
            throw new IllegalArgumentException("forward " + externalPorts + ": no backend");
        }
        for (Backend b : backends) {
            if (b.ports.size() != 1 && b.ports.size() != externalPorts.size()) {
                throw new IllegalArgumentException("forward " + protoName(proto) + ":" + externalPorts + "=" + b
                    + ": backend port range must be one port or as large as the external range ("
                    + externalPorts.size() + " ports)");
            }
        }
    }

    /** True when this rule serves {@code dstIp:dstPort}; {@code lanAddress} tells whether dstIp is a LAN address. */
    public boolean matches(int proto, int dstIp, int dstPort, boolean lanAddress) {
        return this.proto == proto && externalPorts.contains(dstPort)
            && (externalAddress == 0 ? lanAddress : externalAddress == dstIp);
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
    public static int backendPort(PortRange external, Backend backend, int dstPort) {
        return backend.ports.size() == 1 ? backend.ports.first() : backend.ports.first() + (dstPort - external.first());
    }

    private static long mix(long x) {
        x ^= x >>> 33;
        x *= 0xFF51_AFD7_ED55_8CCDL;
        x ^= x >>> 33;
        x *= 0xC4CE_B9FE_1A85_EC53L;
        x ^= x >>> 33;
        return x;
    }

    public static String protoName(int proto) {
        return proto == 6 ? "tcp" : proto == 17 ? "udp" : "proto" + proto;
    }

    @Override
    public String toString() {
        StringBuilder sb = new StringBuilder(protoName(proto)).append(':');
        if (externalAddress != 0) {
            sb.append(Ipv4Address.format(externalAddress)).append(':');
        }
        sb.append(externalPorts).append('=');
        for (int i = 0; i < backends.size(); i++) {
            sb.append(i > 0 ? "," : "").append(backends.get(i));
        }
        return sb.toString();
    }
}
