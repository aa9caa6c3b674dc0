// An immutable snapshot of everything the NAT decides with: interfaces, routes, masquerade and forward rules.
package io.nsgate.dataplane.nat;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Predicate;

import io.nsgate.linux.net.Ipv4Address;
import io.nsgate.linux.net.Ipv4Prefix;
import io.nsgate.linux.net.Ipv6Address;
import io.nsgate.linux.net.Ipv6Prefix;

/**
 * The configuration a worker translates with. Immutable: a change builds a new RuleSet and workers swap to it
 * between frames, so a change applies to new flows and never drops existing ones (flows keep the rewrite
 * they were created with). Built and validated by {@link Builder}: a bad rule set is rejected whole, with the
 * offending value named.
 *
 * <p>Besides the rules it holds what follows from them: the routing tables ({@link Route}s: the interfaces' connected
 * subnets and the {@link StaticRoute}s, longest prefix first; {@link Route6}s likewise for IPv6), the forwards removed but still carrying flows
 * ({@link #lingeringForwards()}), and the {@link Ownership} of frames that both the translator and the kernel guard
 * decide by.
 */
public final class RuleSet {
    /** Interfaces per data plane; flow records store the index in a byte. */
    public static final int MAX_INTERFACES = 64;

    private final GatewayInterface[] interfaces;
    private final Route[] routes;
    private final Route6[] routes6;
    private final List<MasqueradeRule> masquerade;
    private final int[] masqueradeEgress;
    private final List<ForwardRule> forwards;
    private final List<ForwardRule> lingering;
    private final PortRange natPorts;
    private final ReversePathFilter reversePathFilter;
    private final Ownership ownership;
    private final boolean translatesFamilies;

    private RuleSet(Builder b, GatewayInterface[] interfaces, Route[] routes, Route6[] routes6, int[] masqueradeEgress,
                    Ownership ownership) {
        this.interfaces = interfaces;
        this.routes = routes;
        this.routes6 = routes6;
        this.masquerade = List.copyOf(b.masquerade);
        this.masqueradeEgress = masqueradeEgress;
        this.forwards = List.copyOf(b.forwards);
        this.lingering = List.copyOf(b.lingering);
        this.natPorts = b.natPorts;
        this.reversePathFilter = b.reversePathFilter;
        this.ownership = ownership;
        this.translatesFamilies = forwards.stream().anyMatch(ForwardRule::translates)
            || lingering.stream().anyMatch(ForwardRule::translates);
    }

    public static Builder builder() {
        return new Builder();
    }

    /** A builder holding this rule set's content, to derive a changed one. */
    public Builder toBuilder() {
        Builder b = new Builder();
        b.interfaceSpecs.addAll(List.of(interfaces));
        b.staticRoutes.addAll(staticRoutes());
        for (Route6 r : routes6) {
            if (!r.connected()) {
                b.staticRoutes6.add(new StaticRoute6(r.destination(), interfaces[r.interfaceIndex()].name(),
                    r.gateway()));
            }
        }
        b.masquerade.addAll(masquerade);
        b.forwards.addAll(forwards);
        b.lingering.addAll(lingering);
        b.natPorts = natPorts;
        b.reversePathFilter = reversePathFilter;
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

    /** How sources are validated against the routes (rp_filter). */
    public ReversePathFilter reversePathFilter() {
        return reversePathFilter;
    }

    /**
     * Whether a forward (current or lingering) publishes IPv4 backends to IPv6 clients: then an IPv4 packet to a NAT
     * port that no IPv4 flow has may belong to such a flow.
     */
    public boolean translatesFamilies() {
        return translatesFamilies;
    }

    /** Which frames are the data plane's and which the host's (the kernel guard enforces the same). */
    public Ownership ownership() {
        return ownership;
    }

    /**
     * True for source addresses no packet may carry across the gateway (RFC 1812 5.3.7): 0/8, 127/8, multicast
     * (224/4), and 240/4 with the limited broadcast.
     */
    public static boolean isMartianSource(int ip) {
        int first = ip >>> 24;
        return first == 0 || first == 127 || (ip & 0xE000_0000) == 0xE000_0000;
    }

    /**
     * True for destinations a router never forwards to (RFC 1812 5.3.7, Linux's martian destinations): 0.0.0.0/8 and
     * loopback. Broadcast and multicast are not forwarded either, but they are the host's ({@link Ownership}).
     */
    public static boolean isMartianDestination(int ip) {
        int first = ip >>> 24;
        return first == 0 || first == 127;
    }

    /**
     * Longest-prefix route to {@code dstIp}: {@code (interfaceIndex << 32) | nextHopIp}, or -1 when unroutable.
     */
    public long route(int dstIp) {
        for (Route r : routes) {
            if (r.destination().contains(dstIp)) {
                return ((long) r.interfaceIndex() << 32) | (r.nextHop(dstIp) & 0xFFFF_FFFFL);
            }
        }
        return -1;
    }

    /** Longest-prefix IPv6 route to the address, or null when unroutable. Allocation-free. */
    public Route6 route6(long dstHigh, long dstLow) {
        for (Route6 r : routes6) {
            if (r.destination().contains(dstHigh, dstLow)) {
                return r;
            }
        }
        return null;
    }

    /**
     * True for IPv6 sources no packet may carry across the gateway (RFC 4291, Linux's martians): the unspecified and
     * loopback addresses, multicast, link-local (never routed), and IPv4-mapped addresses (::ffff:0:0/96).
     */
    public static boolean isMartianSource6(long high, long low) {
        return (high == 0 && (low == 0 || low == 1 || (low >>> 32) == 0xFFFFL))
            || Ipv6Address.isMulticast(high) || Ipv6Address.isLinkLocal(high);
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
            if (masqueradeEgress[i] == egress && masquerade.get(i).contains(srcIp)) {
                return masquerade.get(i);
            }
        }
        return null;
    }

    /** The IPv6 masquerade rule for traffic from the address leaving through interface {@code egress}, or null. */
    public MasqueradeRule matchMasquerade6(long srcHigh, long srcLow, int egress) {
        for (int i = 0; i < masqueradeEgress.length; i++) {
            if (masqueradeEgress[i] == egress && masquerade.get(i).contains(srcHigh, srcLow)) {
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
        final boolean lan = ownership.isLanAddress(dstIp);
        for (ForwardRule f : forwards) {
            if (f.matches(proto, dstIp, dstPort, lan)) {
                return f;
            }
        }
        return null;
    }

    /** The IPv6 forward rule serving {@code [dst]:dstPort} (dst is one of the gateway's IPv6 addresses), or null. */
    public ForwardRule matchForward6(int proto, long dstHigh, long dstLow, int dstPort) {
        final boolean lan = ownership.isLanIpv6(dstHigh, dstLow);
        for (ForwardRule f : forwards) {
            if (f.matches6(proto, dstHigh, dstLow, dstPort, lan)) {
                return f;
            }
        }
        return null;
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

    /**
     * Forwards removed from the rules whose flows may still be alive: they create no new flows, but their ports stay
     * the data plane's ({@link #ownership()}), so the kernel never resets those flows.
     */
    public List<ForwardRule> lingeringForwards() {
        return lingering;
    }

    /** Static routes (not the connected ones derived from interface addresses), as configured. */
    public List<StaticRoute> staticRoutes() {
        List<StaticRoute> out = new ArrayList<>();
        for (Route r : routes) {
            if (!r.connected()) {
                out.add(new StaticRoute(r.destination(), interfaces[r.interfaceIndex()].name(), r.gateway()));
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
        for (Route r : routes) {
            sb.append("route ").append(r).append('\n');
        }
        for (Route6 r : routes6) {
            sb.append("route ").append(r).append('\n');
        }
        for (MasqueradeRule m : masquerade) {
            sb.append("masquerade ").append(m).append('\n');
        }
        for (ForwardRule f : forwards) {
            sb.append("forward ").append(f).append('\n');
        }
        for (ForwardRule f : lingering) {
            sb.append("lingering forward ").append(f).append('\n');
        }
        sb.append("nat ports ").append(natPorts).append('\n');
        sb.append("reverse-path filter ").append(reversePathFilter.id());
        return sb.toString();
    }

    /** Collects interfaces and rules, then validates them as a whole. Not thread-safe. */
    public static final class Builder {
        private final List<GatewayInterface> interfaceSpecs = new ArrayList<>();
        private final List<StaticRoute> staticRoutes = new ArrayList<>();
        private final List<StaticRoute6> staticRoutes6 = new ArrayList<>();
        private final List<MasqueradeRule> masquerade = new ArrayList<>();
        private final List<ForwardRule> forwards = new ArrayList<>();
        private final List<ForwardRule> lingering = new ArrayList<>();
        private PortRange natPorts = PortRange.DEFAULT_NAT;
        private ReversePathFilter reversePathFilter = ReversePathFilter.STRICT;

        private Builder() {
        }

        /** Adds an interface; its data-plane index is its position. */
        public Builder iface(String name, GatewayInterface.Role role, Ipv4Prefix address, int mtu) {
            interfaceSpecs.add(new GatewayInterface(interfaceSpecs.size(), name, role, address, List.of(), mtu));
            return this;
        }

        /** Changes the MTU of interface {@code name} (the router checks use the egress MTU). */
        public Builder mtu(String name, int mtu) {
            return change(name, g -> g.with(g.index(), g.address(), g.ipv6(), mtu));
        }

        /** Sets the IPv6 addresses of interface {@code name} (link-local ones are dropped: never routed). */
        public Builder ipv6Addresses(String name, List<Ipv6Prefix> addresses) {
            List<Ipv6Prefix> routable = addresses.stream().filter(a -> !a.address().isLinkLocal()).toList();
            return change(name, g -> g.with(g.index(), g.address(), routable, g.mtu()));
        }

        /** Changes the address of interface {@code name} (the kernel's changed). */
        public Builder address(String name, Ipv4Prefix address) {
            return change(name, g -> g.with(g.index(), address, g.ipv6(), g.mtu()));
        }

        private Builder change(String name, java.util.function.UnaryOperator<GatewayInterface> change) {
            for (int i = 0; i < interfaceSpecs.size(); i++) {
                if (interfaceSpecs.get(i).name().equals(name)) {
                    interfaceSpecs.set(i, change.apply(interfaceSpecs.get(i)));
                    return this;
                }
            }
            throw new IllegalArgumentException("no interface \"" + name + "\"");
        }

        public Builder route(Ipv4Prefix destination, String interfaceName, int gateway) {
            staticRoutes.add(new StaticRoute(destination, interfaceName, gateway));
            return this;
        }

        /** An IPv6 route through a router on {@code interfaceName} ({@code gateway} null: on the link). */
        public Builder route6(Ipv6Prefix destination, String interfaceName, Ipv6Address gateway) {
            staticRoutes6.add(new StaticRoute6(destination, interfaceName, gateway));
            return this;
        }

        public Builder masquerade(MasqueradeRule rule) {
            masquerade.add(rule);
            return this;
        }

        /** Adds a forward (no longer lingering, if it was). */
        public Builder forward(ForwardRule rule) {
            forwards.add(rule);
            lingering.remove(rule);
            return this;
        }

        /**
         * Removes forward rules equal to {@code rule}, keeping it as a lingering forward ({@link #lingeringForwards});
         * true when one was removed.
         */
        public boolean removeForward(ForwardRule rule) {
            if (!forwards.remove(rule)) {
                return false;
            }
            if (!lingering.contains(rule)) {
                lingering.add(rule);
            }
            return true;
        }

        /** Keeps only the lingering forwards that {@code stillUsed} says still carry flows. */
        public Builder retainLingering(Predicate<ForwardRule> stillUsed) {
            lingering.removeIf(stillUsed.negate());
            return this;
        }

        public boolean removeMasquerade(MasqueradeRule rule) {
            return masquerade.remove(rule);
        }

        public Builder natPorts(PortRange range) {
            natPorts = range;
            return this;
        }

        public Builder reversePathFilter(ReversePathFilter filter) {
            reversePathFilter = java.util.Objects.requireNonNull(filter, "filter");
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
                GatewayInterface indexed = g.with(i, g.address(), g.ipv6(), g.mtu());
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
            List<Route> routes = new ArrayList<>();
            for (GatewayInterface g : ifaces) {
                routes.add(new Route(g.address().networkPrefix(), g.index(), 0, true));
            }
            for (StaticRoute spec : staticRoutes) {
                GatewayInterface g = byName.get(spec.interfaceName());
                if (g == null) {
                    throw new IllegalArgumentException("route " + spec + ": no interface \"" + spec.interfaceName()
                        + "\" (known: " + byName.keySet() + ")");
                }
                if (spec.gateway() != 0 && !g.address().contains(spec.gateway())) {
                    throw new IllegalArgumentException("route " + spec + ": gateway "
                        + Ipv4Address.format(spec.gateway()) + " is not on " + g.name() + "'s subnet " + g.address());
                }
                routes.add(new Route(spec.destination(), g.index(), spec.gateway(), false));
            }
            routes.sort(Comparator.comparingInt((Route r) -> -r.destination().length()));
            List<Route6> routes6 = new ArrayList<>();
            for (GatewayInterface g : ifaces) {
                for (Ipv6Prefix p : g.ipv6()) {
                    routes6.add(new Route6(p.networkPrefix(), g.index(), null, true));
                }
            }
            for (StaticRoute6 spec : staticRoutes6) {
                GatewayInterface g = byName.get(spec.interfaceName());
                if (g == null) {
                    throw new IllegalArgumentException("route " + spec + ": no interface \"" + spec.interfaceName()
                        + "\" (known: " + byName.keySet() + ")");
                }
                routes6.add(new Route6(spec.destination(), g.index(), spec.gateway(), false));
            }
            routes6.sort(Comparator.comparingInt((Route6 r) -> -r.destination().length()));

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
                Ipv6Address at6 = f.external().address6();
                if (at6 != null && Arrays.stream(ifaces).noneMatch(g -> g.ipv6Addresses().contains(at6))) {
                    throw new IllegalArgumentException("forward " + f + ": " + at6
                        + " is not an IPv6 address of the gateway");
                }
                if (f.externalPorts().overlaps(natPorts)) {
                    throw new IllegalArgumentException("forward " + f + ": external ports overlap the NAT port range "
                        + natPorts);
                }
                for (int j = 0; j < i; j++) {
                    ForwardRule o = forwards.get(j);
                    if (o.external().overlaps(f.external())) {
                        throw new IllegalArgumentException("forward " + f + ": overlaps forward " + o);
                    }
                }
            }
            Ownership ownership = Ownership.of(List.of(ifaces), natPorts, forwards, lingering);
            return new RuleSet(this, ifaces, routes.toArray(new Route[0]), routes6.toArray(new Route6[0]), egress,
                ownership);
        }
    }

    /** An IPv6 route as found in the namespace's table, before its interface name becomes an index. */
    record StaticRoute6(Ipv6Prefix destination, String interfaceName, Ipv6Address gateway) {
        @Override
        public String toString() {
            return destination + " dev " + interfaceName + (gateway != null ? " via " + gateway : "");
        }
    }
}
