// What a port forward serves, without where it sends it: a protocol, a port range, one address or every LAN address.
package io.nsgate.dataplane.nat;

import java.util.Objects;

import io.nsgate.dataplane.packet.IpProtocol;
import io.nsgate.linux.net.Ipv4Address;
import io.nsgate.linux.net.Ipv6Address;

/**
 * The external side of a {@link ForwardRule}, which is all that {@link Ownership} (and the kernel guard that encodes
 * it) needs to know: a frame of {@code proto} to a port of {@code ports} on {@code address} belongs to the forward.
 * An IPv6 forward ({@code address6} set, or {@code ipv6} with every LAN IPv6 address) serves IPv6 clients only.
 *
 * @param proto    6 (TCP) or 17 (UDP)
 * @param ipv6     whether IPv6 clients reach it (at {@code address6}), else IPv4 clients (at {@code address})
 * @param address  the IPv4 gateway address clients connect to, or 0 for every LAN interface address
 * @param address6 the IPv6 gateway address clients connect to, or null for every LAN interface IPv6 address
 */
public record ForwardedPorts(int proto, boolean ipv6, int address, Ipv6Address address6, PortRange ports) {
    public ForwardedPorts {
        if (proto != IpProtocol.TCP && proto != IpProtocol.UDP) {
            throw new IllegalArgumentException("forward: protocol " + proto + " is not tcp (6) or udp (17)");
        }
        Objects.requireNonNull(ports, "ports");
        if (ipv6 ? address != 0 : address6 != null) {
            throw new IllegalArgumentException("forward: an address of the other family");
        }
    }

    /** An IPv4 forward: {@code address} 0 for every LAN interface address. */
    public ForwardedPorts(int proto, int address, PortRange ports) {
        this(proto, false, 0 + address, null, ports);
    }

    /** An IPv6 forward: {@code address6} null for every LAN interface IPv6 address. */
    public ForwardedPorts(int proto, Ipv6Address address6, PortRange ports) {
        this(proto, true, 0, address6, ports);
    }

    /**
     * True when an IPv4 frame of {@code proto} to {@code dstIp:dstPort} is this forward's; {@code lanAddress} says
     * whether dstIp is a LAN interface's address.
     */
    public boolean matches(int proto, int dstIp, int dstPort, boolean lanAddress) {
        return !ipv6 && this.proto == proto && ports.contains(dstPort) && (address == 0 ? lanAddress : address == dstIp);
    }

    /** As {@link #matches(int, int, int, boolean)} for an IPv6 frame to one of the gateway's IPv6 addresses. */
    public boolean matches6(int proto, long dstHigh, long dstLow, int dstPort, boolean lanAddress) {
        return ipv6 && this.proto == proto && ports.contains(dstPort)
            && (address6 == null ? lanAddress : address6.high() == dstHigh && address6.low() == dstLow);
    }

    /** Whether a port this serves is also one {@code other} serves, on an address both may be reached at. */
    public boolean overlaps(ForwardedPorts other) {
        boolean sameAddress = ipv6
            ? address6 == null || other.address6 == null || address6.equals(other.address6)
            : address == 0 || other.address == 0 || address == other.address;
        return proto == other.proto && ipv6 == other.ipv6 && sameAddress && ports.overlaps(other.ports);
    }

    /**
     * {@code tcp:80}, {@code udp:192.168.1.2:53}, {@code tcp:[fd01::2]:80}, {@code tcp:[::]:80} (IPv6, every LAN
     * address): the part of a forward's text before "=".
     */
    @Override
    public String toString() {
        String at = ipv6 ? "[" + (address6 != null ? address6 : "::") + "]:"
            : (address != 0 ? Ipv4Address.format(address) + ":" : "");
        return IpProtocol.name(proto) + ":" + at + ports;
    }
}
