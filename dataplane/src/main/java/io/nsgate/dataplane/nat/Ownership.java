// Which frames are the data plane's and which the host's: the one rule the Translator and the kernel guard share.
package io.nsgate.dataplane.nat;

import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Objects;
import java.util.Set;

import io.nsgate.dataplane.packet.IpProtocol;
import io.nsgate.linux.net.Ipv4Address;
import io.nsgate.linux.net.Ipv6Address;

/**
 * The gateway host and the data plane share interfaces and addresses, and both see every frame (the data plane
 * through its AF_PACKET taps, the kernel right after). For each frame exactly one of them must act, or the host
 * answers a forwarded SYN with RST, or the data plane steals the host's ssh. This class is that decision, as data
 * and as a predicate, for IPv4 frames that parse and for IPv6 frames whose fixed header is there (anything else is
 * the kernel's).
 *
 * <h2>The rule</h2>
 * A frame is the data plane's ({@link #owns}) unless it is
 * <ul>
 *   <li>broadcast or multicast: 255.255.255.255, 224.0.0.0/4, or a subnet's directed broadcast
 *       ({@link #broadcasts()}): DHCP, mDNS and the like are the host's;</li>
 *   <li>addressed to one of the gateway's {@link #addresses()} and not TCP or UDP to a port the data plane answers
 *       for: a port of the {@link #natPorts()} (replies to masqueraded and hairpinned flows, on any gateway address)
 *       or a port a {@link #forwards()} entry serves on that address (an entry without an address serves every
 *       LAN address, as {@link ForwardedPorts#matches} says). Pings to the gateway, ICMP errors addressed to it,
 *       its own services and non-first fragments (no ports to judge by) are the host's.</li>
 * </ul>
 * Everything else addressed elsewhere is transit: the data plane forwards it or drops it (the kernel's forwarding
 * is off).
 *
 * <p><b>IPv6</b> ({@link #ownsIpv6}): the same rule. Multicast (ff00::/8: neighbour discovery, MLD), link-local
 * destinations (fe80::/10: never routed), the unspecified and loopback addresses are the host's; so is what is
 * addressed to the gateway's own IPv6 addresses ({@link #ipv6Addresses()}) unless it is TCP or UDP (the upper-layer
 * header right after the fixed header) to a NAT port or to an IPv6 forward's port. Every other IPv6 frame is
 * transit and the data plane's: the guard keeps the kernel from routing it even when IPv6 forwarding is switched on
 * behind nsgate's back.
 *
 * <p>Forward entries include <em>lingering</em> ones, forwards removed from the rules whose flows are still
 * alive, so that their packets stay hidden from the kernel until the last flow ends.
 *
 * <h2>Who uses it</h2>
 * {@link Translator} asks {@link #owns} before it creates a flow, and leaves what it does not own to the kernel.
 * The kernel guard ({@code guard.KernelGuard}) encodes this object into the map its program reads
 * ({@code guard.GuardSlot}); the program makes the same decision in the kernel, and
 * {@code GuardTranslatorAgreementTest} holds the two to each other on random frames. Immutable; built by
 * {@link RuleSet} from its interfaces, NAT range, forwards and lingering forwards, or by {@link #builder()}.
 */
public final class Ownership {
    /** Addresses (and directed broadcasts): one per interface, as many as a RuleSet may have. */
    public static final int MAX_ADDRESSES = RuleSet.MAX_INTERFACES;
    /** The gateway's own IPv6 addresses (all interfaces together): as many as the guard program scans. */
    public static final int MAX_IPV6_ADDRESSES = 64;
    /** Forward entries, current and lingering together: as many as the guard program scans. */
    public static final int MAX_FORWARDS = 64;

    /** One of the gateway's own addresses; {@code lan} when it belongs to a LAN interface. */
    public record Address(int ip, boolean lan) {
        @Override
        public String toString() {
            return Ipv4Address.format(ip) + (lan ? " (lan)" : "");
        }
    }

    private final List<Address> addresses;
    private final List<Integer> broadcasts;
    private final PortRange natPorts;
    private final List<ForwardedPorts> forwards;
    private final List<Ipv6Address> ipv6Addresses;
    // flat copies for the per-frame questions (the slow path's; nothing here allocates)
    private final int[] addressIps;
    private final boolean[] lanAddress;
    private final int[] broadcastIps;
    private final ForwardedPorts[] forwardArray;
    private final long[] ipv6High;
    private final long[] ipv6Low;
    private final boolean[] ipv6Lan;

    private Ownership(List<Address> addresses, List<Integer> broadcasts, PortRange natPorts,
                      List<ForwardedPorts> forwards, List<Ipv6Address> ipv6Addresses, boolean[] ipv6Lan) {
        this.addresses = List.copyOf(addresses);
        this.ipv6Addresses = List.copyOf(ipv6Addresses);
        this.ipv6Lan = ipv6Lan.clone();
        if (this.ipv6Addresses.size() > MAX_IPV6_ADDRESSES) {
            throw new IllegalArgumentException(this.ipv6Addresses.size() + " gateway IPv6 addresses, at most "
                + MAX_IPV6_ADDRESSES);
        }
        ipv6High = this.ipv6Addresses.stream().mapToLong(Ipv6Address::high).toArray();
        ipv6Low = this.ipv6Addresses.stream().mapToLong(Ipv6Address::low).toArray();
        this.broadcasts = List.copyOf(broadcasts);
        this.natPorts = Objects.requireNonNull(natPorts, "natPorts");
        this.forwards = List.copyOf(forwards);
        if (this.addresses.size() > MAX_ADDRESSES) {
            throw new IllegalArgumentException(this.addresses.size() + " gateway addresses, at most " + MAX_ADDRESSES);
        }
        if (this.broadcasts.size() > MAX_ADDRESSES) {
            throw new IllegalArgumentException(this.broadcasts.size() + " directed broadcasts, at most "
                + MAX_ADDRESSES);
        }
        if (this.forwards.size() > MAX_FORWARDS) {
            throw new IllegalArgumentException(this.forwards.size()
                + " forward entries (current and lingering forwards together), at most " + MAX_FORWARDS);
        }
        addressIps = new int[this.addresses.size()];
        lanAddress = new boolean[addressIps.length];
        for (int i = 0; i < addressIps.length; i++) {
            addressIps[i] = this.addresses.get(i).ip();
            lanAddress[i] = this.addresses.get(i).lan();
        }
        broadcastIps = this.broadcasts.stream().mapToInt(Integer::intValue).toArray();
        forwardArray = this.forwards.toArray(new ForwardedPorts[0]);
    }

    /**
     * Every interface's address (LAN ones marked), the directed broadcast of every subnet that has one, the NAT range,
     * and one entry per forward, then per lingering forward (duplicates merged).
     */
    static Ownership of(List<GatewayInterface> interfaces, PortRange natPorts, List<ForwardRule> forwards,
                        List<ForwardRule> lingering) {
        Builder b = builder().natPorts(natPorts);
        for (GatewayInterface i : interfaces) {
            b.address(i.ip(), i.role() == GatewayInterface.Role.LAN);
            if (i.address().hasBroadcast()) {
                b.broadcast(i.address().broadcast());
            }
            boolean lan = i.role() == GatewayInterface.Role.LAN;
            i.ipv6Addresses().forEach(a -> b.ipv6Address(a, lan));
        }
        forwards.forEach(f -> b.forward(f.external()));
        lingering.forEach(f -> b.forward(f.external()));
        return b.build();
    }

    public static Builder builder() {
        return new Builder();
    }

    // ---------------------------------------------------------------- the decision

    /**
     * Whether the data plane owns an IPv4 frame to {@code dstIp} carrying {@code proto} (for TCP and UDP, to
     * {@code dstPort}); {@code nonFirstFragment} for a fragment other than the first (it has no ports).
     */
    public boolean owns(int proto, int dstIp, int dstPort, boolean nonFirstFragment) {
        if (isBroadcastOrMulticast(dstIp)) {
            return false;
        }
        final int local = addressIndex(dstIp);
        if (local < 0) {
            return true; // transit
        }
        if (nonFirstFragment || (proto != IpProtocol.TCP && proto != IpProtocol.UDP)) {
            return false;
        }
        return natPorts.contains(dstPort) || servedByForward(proto, dstIp, dstPort, lanAddress[local]);
    }

    /**
     * Whether the data plane owns an IPv6 frame to {@code (dstHigh, dstLow)} whose upper-layer protocol is
     * {@code proto} (for TCP and UDP, to {@code dstPort}); {@code nonFirstFragment} for a fragment other than the
     * first. {@code proto} is the one right after the fixed header: a frame to the gateway with extension headers
     * before its TCP or UDP header is the host's, as the guard, which does not walk the chain, decides it too.
     */
    public boolean ownsIpv6(int proto, long dstHigh, long dstLow, int dstPort, boolean nonFirstFragment) {
        if (Ipv6Address.isMulticast(dstHigh) || Ipv6Address.isLinkLocal(dstHigh) || (dstHigh == 0 && (dstLow == 0
            || dstLow == 1))) {
            return false;
        }
        final int local = ipv6Index(dstHigh, dstLow);
        if (local < 0) {
            return true; // transit
        }
        if (nonFirstFragment || (proto != IpProtocol.TCP && proto != IpProtocol.UDP)) {
            return false;
        }
        return natPorts.contains(dstPort) || servedByForward6(proto, dstHigh, dstLow, dstPort, ipv6Lan[local]);
    }

    /** True when the address is one of the gateway's own IPv6 addresses. */
    public boolean isGatewayIpv6(long high, long low) {
        return ipv6Index(high, low) >= 0;
    }

    /** True when the address is one of the gateway's IPv6 addresses on a LAN interface. */
    public boolean isLanIpv6(long high, long low) {
        final int i = ipv6Index(high, low);
        return i >= 0 && ipv6Lan[i];
    }

    /** Whether {@link #ipv6Addresses()}' entry {@code i} is a LAN interface's. */
    public boolean ipv6Lan(int i) {
        return ipv6Lan[i];
    }

    private int ipv6Index(long high, long low) {
        for (int i = 0; i < ipv6High.length; i++) {
            if (ipv6High[i] == high && ipv6Low[i] == low) {
                return i;
            }
        }
        return -1;
    }

    private boolean servedByForward6(int proto, long dstHigh, long dstLow, int dstPort, boolean lan) {
        for (ForwardedPorts f : forwardArray) {
            if (f.matches6(proto, dstHigh, dstLow, dstPort, lan)) {
                return true;
            }
        }
        return false;
    }

    /** True for the limited broadcast, multicast and the gateway's subnets' directed broadcasts. */
    public boolean isBroadcastOrMulticast(int ip) {
        if (ip == -1 || (ip & 0xF000_0000) == 0xE000_0000) {
            return true;
        }
        for (int b : broadcastIps) {
            if (b == ip) {
                return true;
            }
        }
        return false;
    }

    /** True when {@code ip} is one of the gateway's own addresses. */
    public boolean isGatewayAddress(int ip) {
        return addressIndex(ip) >= 0;
    }

    /** True when {@code ip} is one of the gateway's addresses on a LAN interface (forwards may be LAN-only). */
    public boolean isLanAddress(int ip) {
        final int i = addressIndex(ip);
        return i >= 0 && lanAddress[i];
    }

    private int addressIndex(int ip) {
        for (int i = 0; i < addressIps.length; i++) {
            if (addressIps[i] == ip) {
                return i;
            }
        }
        return -1;
    }

    private boolean servedByForward(int proto, int dstIp, int dstPort, boolean lan) {
        for (ForwardedPorts f : forwardArray) {
            if (f.matches(proto, dstIp, dstPort, lan)) {
                return true;
            }
        }
        return false;
    }

    // ---------------------------------------------------------------- the data

    public List<Address> addresses() {
        return addresses;
    }

    /** Directed broadcast addresses of the gateway's subnets. */
    public List<Integer> broadcasts() {
        return broadcasts;
    }

    public PortRange natPorts() {
        return natPorts;
    }

    /** Forward entries: the rules' forwards, then lingering ones. */
    public List<ForwardedPorts> forwards() {
        return forwards;
    }

    /** The gateway's own IPv6 addresses, link-local ones aside (every interface's, duplicates merged). */
    public List<Ipv6Address> ipv6Addresses() {
        return ipv6Addresses;
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof Ownership s && addresses.equals(s.addresses) && broadcasts.equals(s.broadcasts)
            && natPorts.equals(s.natPorts) && forwards.equals(s.forwards) && ipv6Addresses.equals(s.ipv6Addresses)
            && java.util.Arrays.equals(ipv6Lan, s.ipv6Lan);
    }

    @Override
    public int hashCode() {
        return Objects.hash(addresses, broadcasts, natPorts, forwards, ipv6Addresses,
            java.util.Arrays.hashCode(ipv6Lan));
    }

    @Override
    public String toString() {
        return "addresses " + addresses + ", broadcasts "
            + broadcasts.stream().map(Ipv4Address::format).toList() + ", nat ports " + natPorts + ", forwards "
            + forwards + ", IPv6 addresses " + ipv6Addresses;
    }

    /** Collects an ownership by hand (tests, the guard's decoder); RuleSet builds the usual ones. Not thread-safe. */
    public static final class Builder {
        private final List<Address> addresses = new ArrayList<>();
        private final Set<Integer> broadcasts = new LinkedHashSet<>();
        private final Set<ForwardedPorts> forwards = new LinkedHashSet<>();
        private final java.util.Map<Ipv6Address, Boolean> ipv6Addresses = new java.util.LinkedHashMap<>();
        private PortRange natPorts = PortRange.DEFAULT_NAT;

        private Builder() {
        }

        public Builder address(int ip, boolean lan) {
            addresses.add(new Address(ip, lan));
            return this;
        }

        /** One of the gateway's IPv6 addresses, not a LAN interface's (duplicates merged). */
        public Builder ipv6Address(Ipv6Address address) {
            return ipv6Address(address, false);
        }

        /** One of the gateway's IPv6 addresses; {@code lan} when a LAN interface has it (duplicates merged). */
        public Builder ipv6Address(Ipv6Address address, boolean lan) {
            ipv6Addresses.merge(address, lan, Boolean::logicalOr);
            return this;
        }

        public Builder broadcast(int ip) {
            broadcasts.add(ip);
            return this;
        }

        public Builder natPorts(PortRange range) {
            natPorts = range;
            return this;
        }

        /** Adds an entry; an entry equal to one already present is merged with it. */
        public Builder forward(ForwardedPorts forward) {
            forwards.add(forward);
            return this;
        }

        public Builder forward(int proto, int address, PortRange ports) {
            return forward(new ForwardedPorts(proto, address, ports));
        }

        /** @throws IllegalArgumentException when a list exceeds its maximum */
        public Ownership build() {
            boolean[] lan = new boolean[ipv6Addresses.size()];
            int i = 0;
            for (boolean l : ipv6Addresses.values()) {
                lan[i++] = l;
            }
            return new Ownership(addresses, new ArrayList<>(broadcasts), natPorts, new ArrayList<>(forwards),
                new ArrayList<>(ipv6Addresses.keySet()), lan);
        }
    }
}
