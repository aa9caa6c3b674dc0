// An immutable snapshot of everything the NAT decides with: interfaces, routes, masquerade and forward rules.
package io.nsgate.dataplane.nat;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

import io.nsgate.linux.net.Ipv4Address;
import io.nsgate.linux.net.Ipv4Prefix;

/**
 * The configuration a worker translates with. Immutable: a change builds a new RuleSet and workers swap to it
 * between frames, so a change applies to new flows and never drops existing ones (flows keep the rewrite
 * they were created with). Built and validated by {@link Builder}: a bad rule set is rejected whole, with the
 * offending value named.
 */
public final class RuleSet {
    /** Interfaces per data plane; flow records store the index in a byte. */
    public static final int MAX_INTERFACES = 64;

    private final GatewayInterface[] interfaces;
    private final int[] interfaceIps;
    private final RouteEntry[] routes;
    private final List<MasqueradeRule> masquerade;
    private final int[] masqueradeEgress;
    private final List<ForwardRule> forwards;
    private final PortRange natPorts;

    private RuleSet(Builder b, GatewayInterface[] interfaces, RouteEntry[] routes, int[] masqueradeEgress) {
        this.interfaces = interfaces;
        this.interfaceIps = new int[interfaces.length];
        for (int i = 0; i < interfaces.length; i++) {
            interfaceIps[i] = interfaces[i].ip();
        }
        this.routes = routes;
        this.masquerade = List.copyOf(b.masquerade);
        this.masqueradeEgress = masqueradeEgress;
        this.forwards = List.copyOf(b.forwards);
        this.natPorts = b.natPorts;
    }

    public static Builder builder() {
        return new Builder();
    }

    /** A builder holding this rule set's content, to derive a changed one. */
    public Builder toBuilder() {
        Builder b = new Builder();
        for (GatewayInterface i : interfaces) {
            b.interfaceSpecs.add(i);
        }
        for (RouteEntry r : routes) {
            if (!r.connected) {
                b.routeSpecs.add(r.spec);
            }
        }
        b.masquerade.addAll(masquerade);
        b.forwards.addAll(forwards);
        b.natPorts = natPorts;
        return b;
    }

    // ------------------------------------------------------------------ queries (workers)

    public int interfaceCount() {
        return interfaces.length;
    }

    public GatewayInterface iface(int index) {
        return index >= 0 && index < interfaces.length ? interfaces[index] : null;
    }

    public GatewayInterface iface(String name) {
        for (GatewayInterface i : interfaces) {
            if (i.name().equals(name)) {
                return i;
            }
        }
        return null;
    }

    public List<GatewayInterface> interfaces() {
        return List.of(interfaces);
    }

    /** The interface that owns {@code ip} as its address, or -1 when ip is not one of the gateway's. */
    public int localInterfaceOf(int ip) {
        for (int i = 0; i < interfaceIps.length; i++) {
            if (interfaceIps[i] == ip) {
                return i;
            }
        }
        return -1;
    }

    /** True for limited/directed broadcast and multicast: never translated, left to the kernel. */
    public boolean isBroadcastOrMulticast(int ip) {
        if (ip == -1 || (ip & 0xF000_0000) == 0xE000_0000) {
            return true;
        }
        for (GatewayInterface i : interfaces) {
            if (i.address().hasBroadcast() && ip == i.address().broadcast()) {
                return true;
            }
        }
        return false;
    }

    /** True for source addresses no packet may carry across the gateway (RFC 1812 5.3.7). */
    public static boolean isMartianSource(int ip) {
        int first = ip >>> 24;
        return ip == 0 || ip == -1 || first == 127 || first == 0 || (ip & 0xF000_0000) == 0xE000_0000;
    }

    /**
     * Longest-prefix route to {@code dstIp}: {@code (interfaceIndex << 32) | nextHopIp}, or -1 when unroutable.
     */
    public long route(int dstIp) {
        for (RouteEntry r : routes) {
            if (r.route.destination().contains(dstIp)) {
                return ((long) r.route.interfaceIndex() << 32) | (r.route.nextHop(dstIp) & 0xFFFF_FFFFL);
            }
        }
        return -1;
    }

    public static int routeInterface(long route) {
        return (int) (route >>> 32);
    }

    public static int routeNextHop(long route) {
        return (int) route;
    }

    /** The masquerade rule for traffic from {@code srcIp} leaving through interface {@code egress}, or null. */
    public MasqueradeRule matchMasquerade(int srcIp, int egress) {
        for (int i = 0; i < masqueradeEgress.length; i++) {
            if (masqueradeEgress[i] == egress && masquerade.get(i).source().contains(srcIp)) {
                return masquerade.get(i);
            }
        }
        return null;
    }

    /** The address masquerade rule {@code rule} translates to when leaving through {@code egress}. */
    public int masqueradeAddress(MasqueradeRule rule, int egress) {
        return rule.toAddress() != 0 ? rule.toAddress() : interfaces[egress].ip();
    }

    /** The forward rule serving {@code dstIp:dstPort} (dstIp is one of the gateway's addresses), or null. */
    public ForwardRule matchForward(int proto, int dstIp, int dstPort) {
        int local = localInterfaceOf(dstIp);
        boolean lan = local >= 0 && interfaces[local].role() == GatewayInterface.Role.LAN;
        for (ForwardRule f : forwards) {
            if (f.matches(proto, dstIp, dstPort, lan)) {
                return f;
            }
        }
        return null;
    }

    /**
     * True when TCP/UDP {@code dstIp:port} (dstIp one of the gateway's addresses) belongs to the data plane: a
     * port of the NAT range (on any gateway address: masquerade uses the LAN addresses, hairpin the inside
     * ones) or a port a forward rule serves on that address. Everything else on the gateway is the host's.
     */
    public boolean ownsPort(int proto, int dstIp, int port) {
        return (proto == 6 || proto == 17) && (natPorts.contains(port) || matchForward(proto, dstIp, port) != null);
    }

    public PortRange natPorts() {
        return natPorts;
    }

    public List<MasqueradeRule> masquerade() {
        return masquerade;
    }

    public List<ForwardRule> forwards() {
        return forwards;
    }

    /** Static routes (not the connected ones derived from interface addresses). */
    public List<RouteSpec> staticRoutes() {
        List<RouteSpec> out = new ArrayList<>();
        for (RouteEntry r : routes) {
            if (!r.connected) {
                out.add(r.spec);
            }
        }
        return out;
    }

    @Override
    public String toString() {
        StringBuilder sb = new StringBuilder();
        for (GatewayInterface i : interfaces) {
            sb.append("interface ").append(i).append('\n');
        }
        for (RouteEntry r : routes) {
            sb.append("route ").append(r.route).append(r.connected ? " (connected)" : "").append('\n');
        }
        for (MasqueradeRule m : masquerade) {
            sb.append("masquerade ").append(m).append('\n');
        }
        for (ForwardRule f : forwards) {
            sb.append("forward ").append(f).append('\n');
        }
        sb.append("nat ports ").append(natPorts);
        return sb.toString();
    }

    /** A static route as configured: by interface name. */
    public record RouteSpec(Ipv4Prefix destination, String interfaceName, int gateway) {
        @Override
        public String toString() {
            return destination + " dev " + interfaceName + (gateway != 0 ? " via " + Ipv4Address.format(gateway) : "");
        }
    }

    private record RouteEntry(io.nsgate.dataplane.nat.Route route, boolean connected, RouteSpec spec) {
    }

    /** Collects interfaces and rules, then validates them as a whole. Not thread-safe. */
    public static final class Builder {
        private final List<GatewayInterface> interfaceSpecs = new ArrayList<>();
        private final List<RouteSpec> routeSpecs = new ArrayList<>();
        private final List<MasqueradeRule> masquerade = new ArrayList<>();
        private final List<ForwardRule> forwards = new ArrayList<>();
        private PortRange natPorts = PortRange.DEFAULT_NAT;

        private Builder() {
        }

        /** Adds an interface; its data-plane index is its position. */
        public Builder iface(String name, GatewayInterface.Role role, Ipv4Prefix address, int mtu) {
            interfaceSpecs.add(new GatewayInterface(interfaceSpecs.size(), name, role, address, mtu));
            return this;
        }

        public Builder route(Ipv4Prefix destination, String interfaceName, int gateway) {
            routeSpecs.add(new RouteSpec(destination, interfaceName, gateway));
            return this;
        }

        public Builder masquerade(MasqueradeRule rule) {
            masquerade.add(rule);
            return this;
        }

        public Builder forward(ForwardRule rule) {
            forwards.add(rule);
            return this;
        }

        /** Removes forward rules equal to {@code rule}; true when one was removed. */
        public boolean removeForward(ForwardRule rule) {
            return forwards.remove(rule);
        }

        public boolean removeMasquerade(MasqueradeRule rule) {
            return masquerade.remove(rule);
        }

        public Builder natPorts(PortRange range) {
            natPorts = range;
            return this;
        }

        /**
         * Validates and freezes.
         *
         * @throws IllegalArgumentException naming the first offending item
         */
        public RuleSet build() {
            Map<String, GatewayInterface> byName = new HashMap<>();
            GatewayInterface[] ifaces = new GatewayInterface[interfaceSpecs.size()];
            if (ifaces.length > MAX_INTERFACES) {
                throw new IllegalArgumentException(ifaces.length + " interfaces: at most " + MAX_INTERFACES);
            }
            for (int i = 0; i < ifaces.length; i++) {
                GatewayInterface g = interfaceSpecs.get(i);
                GatewayInterface indexed = new GatewayInterface(i, g.name(), g.role(), g.address(), g.mtu());
                if (byName.put(g.name(), indexed) != null) {
                    throw new IllegalArgumentException("interface \"" + g.name() + "\" listed twice");
                }
                for (int j = 0; j < i; j++) {
                    if (ifaces[j].ip() == g.ip()) {
                        throw new IllegalArgumentException("interface \"" + g.name() + "\": address "
                            + Ipv4Address.format(g.ip()) + " already on \"" + ifaces[j].name() + "\"");
                    }
                }
                ifaces[i] = indexed;
            }
            List<RouteEntry> routes = new ArrayList<>();
            for (GatewayInterface g : ifaces) {
                Ipv4Prefix subnet = g.address().networkPrefix();
                routes.add(new RouteEntry(new io.nsgate.dataplane.nat.Route(subnet, g.index(), 0), true, null));
            }
            for (RouteSpec spec : routeSpecs) {
                GatewayInterface g = byName.get(spec.interfaceName());
                if (g == null) {
                    throw new IllegalArgumentException("route " + spec + ": no interface \"" + spec.interfaceName()
                        + "\" (known: " + byName.keySet() + ")");
                }
                if (spec.gateway() != 0 && !g.address().contains(spec.gateway())) {
                    throw new IllegalArgumentException("route " + spec + ": gateway "
                        + Ipv4Address.format(spec.gateway()) + " is not on " + g.name() + "'s subnet " + g.address());
                }
                routes.add(new RouteEntry(new io.nsgate.dataplane.nat.Route(spec.destination(), g.index(), spec.gateway()),
                    false, spec));
            }
            routes.sort(Comparator.comparingInt((RouteEntry r) -> -r.route.destination().length()));

            int[] egress = new int[masquerade.size()];
            for (int i = 0; i < egress.length; i++) {
                MasqueradeRule m = masquerade.get(i);
                GatewayInterface g = byName.get(m.egressInterface());
                if (g == null) {
                    throw new IllegalArgumentException("masquerade " + m + ": no interface \"" + m.egressInterface()
                        + "\" (known: " + byName.keySet() + ")");
                }
                egress[i] = g.index();
            }
            for (int i = 0; i < forwards.size(); i++) {
                ForwardRule f = forwards.get(i);
                if (f.externalAddress() != 0 && Arrays.stream(ifaces).noneMatch(g -> g.ip() == f.externalAddress())) {
                    throw new IllegalArgumentException("forward " + f + ": "
                        + Ipv4Address.format(f.externalAddress()) + " is not an address of the gateway");
                }
                if (overlaps(f.externalPorts(), natPorts)) {
                    throw new IllegalArgumentException("forward " + f + ": external ports overlap the NAT port range "
                        + natPorts);
                }
                for (int j = 0; j < i; j++) {
                    ForwardRule o = forwards.get(j);
                    boolean sameAddress = o.externalAddress() == 0 || f.externalAddress() == 0
                        || o.externalAddress() == f.externalAddress();
                    if (o.proto() == f.proto() && sameAddress && overlaps(o.externalPorts(), f.externalPorts())) {
                        throw new IllegalArgumentException("forward " + f + ": overlaps forward " + o);
                    }
                }
            }
            return new RuleSet(this, ifaces, routes.toArray(new RouteEntry[0]), egress);
        }

        private static boolean overlaps(PortRange a, PortRange b) {
            return a.first() <= b.last() && b.first() <= a.last();
        }
    }
}
