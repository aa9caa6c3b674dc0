// What a port forward serves, without where it sends it: a protocol, a port range, one address or every LAN address.
package io.nsgate.dataplane.nat;

import java.util.Objects;

import io.nsgate.dataplane.packet.IpProtocol;
import io.nsgate.linux.net.Ipv4Address;

/**
 * The external side of a {@link ForwardRule}, which is all that {@link Ownership} (and the kernel guard that encodes
 * it) needs to know: a frame of {@code proto} to a port of {@code ports} on {@code address} belongs to the forward.
 *
 * @param proto   6 (TCP) or 17 (UDP)
 * @param address the gateway address clients connect to, or 0 for every LAN interface address
 */
public record ForwardedPorts(int proto, int address, PortRange ports) {
    public ForwardedPorts {
        if (proto != IpProtocol.TCP && proto != IpProtocol.UDP) {
            throw new IllegalArgumentException("forward: protocol " + proto + " is not tcp (6) or udp (17)");
        }
        Objects.requireNonNull(ports, "ports");
    }

    /**
     * True when a frame of {@code proto} to {@code dstIp:dstPort} is this forward's; {@code lanAddress} says whether
     * dstIp is a LAN interface's address.
     */
    public boolean matches(int proto, int dstIp, int dstPort, boolean lanAddress) {
        return this.proto == proto && ports.contains(dstPort) && (address == 0 ? lanAddress : address == dstIp);
    }

    /** Whether a port this serves is also one {@code other} serves, on an address both may be reached at. */
    public boolean overlaps(ForwardedPorts other) {
        boolean sameAddress = address == 0 || other.address == 0 || address == other.address;
        return proto == other.proto && sameAddress && ports.overlaps(other.ports);
    }

    /** {@code tcp:80}, {@code udp:192.168.1.2:53}: the part of a forward's text before "=". */
    @Override
    public String toString() {
        return IpProtocol.name(proto) + ":" + (address != 0 ? Ipv4Address.format(address) + ":" : "") + ports;
    }
}
