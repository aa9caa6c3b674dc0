// Checks a topology completely before anything changes, and resolves it for a prefix into the desired state.
package io.nsgate.control.topology;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Pattern;

import io.nsgate.control.netns.NetNs;
import io.nsgate.linux.net.Ipv4Address;
import io.nsgate.linux.net.IpPrefix;
import io.nsgate.linux.net.Ipv4Prefix;
import io.nsgate.linux.net.Ipv6Address;
import io.nsgate.linux.net.Ipv6Prefix;

/**
 * Collects every problem (not just the first), each as {@code field "value": what is wrong; what is valid}, and
 * throws them together as a {@link TopologyException}. Checks: required fields, names (namespace names as file
 * names, interface names as the kernel's dev_valid_name: 1..15 bytes, no '/', ':' or blanks), duplicates
 * (namespaces; interfaces per namespace; addresses per namespace; route destinations per namespace), CIDRs,
 * MTUs, references (a bridge, veth end or route in an undeclared namespace; a master that is not a bridge of the
 * same namespace; a route device that is not an interface of the namespace), gateways (must lie on a subnet
 * declared in the route's namespace), sysctl keys (net.* only: the others are not per namespace) and the prefix.
 */
public final class TopologyValidator {
    /** Longest interface name (IFNAMSIZ - 1). */
    public static final int MAX_IFNAME = 15;
    /** Longest --prefix. */
    public static final int MAX_PREFIX = 64;
    private static final Pattern NS_NAME = Pattern.compile("[A-Za-z0-9_.-]+");
    private static final Pattern TOPOLOGY_NAME = Pattern.compile("[A-Za-z0-9_.-]{1,64}");
    private static final Pattern SYSCTL_KEY = Pattern.compile("net(\\.[A-Za-z0-9_-]+)+|net(/[A-Za-z0-9_.-]+)+");

    private final List<String> problems = new ArrayList<>();
    /** Namespaces with a rejected interface or address: their gateways are not checked (no cascading errors). */
    private final java.util.Set<String> incomplete = new java.util.HashSet<>();

    private TopologyValidator() {
    }

    /** Validates without resolving; throws {@link TopologyException} listing every problem. */
    public static void validate(Topology topology, String prefix) {
        resolve(topology, prefix);
    }

    static DesiredState resolve(Topology t, String prefix) {
        TopologyValidator v = new TopologyValidator();
        DesiredState d = v.check(t, prefix == null ? "" : prefix);
        if (!v.problems.isEmpty()) {
            throw new TopologyException(v.problems);
        }
        return d;
    }

    private void problem(String field, Object value, String what) {
        problems.add(field + (value == null ? "" : " \"" + value + "\"") + ": " + what);
    }

    private DesiredState check(Topology t, String prefix) {
        if (t.name() == null) {
            problem("name", null, "missing; give the topology a name (it marks what nsgate creates)");
        } else if (!TOPOLOGY_NAME.matcher(t.name()).matches()) {
            problem("name", t.name(), "use 1..64 letters, digits, '.', '_' or '-'");
        }
        if (prefix.length() > MAX_PREFIX || !(prefix.isEmpty() || NS_NAME.matcher(prefix).matches())) {
            problem("--prefix", prefix, "use at most " + MAX_PREFIX + " letters, digits, '.', '_' or '-'");
        }
        DesiredState d = new DesiredState(t.name() == null ? "?" : t.name(), prefix);

        // namespaces
        Map<String, String> nsField = new HashMap<>();
        for (int i = 0; i < t.namespaces().size(); i++) {
            Topology.Namespace n = t.namespaces().get(i);
            String f = "namespaces[" + i + "]";
            if (n == null) {
                problem(f, null, "empty entry");
                continue;
            }
            if (n.name() == null) {
                problem(f + ".name", null, "missing");
                continue;
            }
            String full = prefix + n.name();
            if (!NS_NAME.matcher(n.name()).matches() || n.name().equals(".") || n.name().equals("..")) {
                problem(f + ".name", n.name(), "use letters, digits, '.', '_' or '-' (it becomes a file in /run/netns)");
                continue;
            }
            if (full.length() > NetNs.MAX_NAME_LENGTH) {
                problem(f + ".name", n.name(), "with the prefix longer than " + NetNs.MAX_NAME_LENGTH + " characters");
                continue;
            }
            if (nsField.containsKey(n.name())) {
                problem(f + ".name", n.name(), "duplicate namespace (also " + nsField.get(n.name()) + ")");
                continue;
            }
            nsField.put(n.name(), f + ".name");
            DesiredState.Ns ns = new DesiredState.Ns(n.name(), full);
            for (Map.Entry<String, String> s : n.sysctls().entrySet()) {
                String key = s.getKey();
                if (key == null || !SYSCTL_KEY.matcher(key).matches() || key.contains("..")) {
                    problem(f + ".sysctls", key, "not a per-namespace sysctl key; expected net.* such as "
                        + "net.ipv4.ip_forward");
                } else if (s.getValue() == null || s.getValue().isBlank() || s.getValue().contains("\n")) {
                    problem(f + ".sysctls." + key, s.getValue(), "needs a one-line value");
                } else {
                    ns.sysctls.put(key, s.getValue().trim());
                }
            }
            d.namespaces.put(n.name(), ns);
        }
        if (t.namespaces().isEmpty()) {
            problem("namespaces", null, "declare at least one namespace");
        }

        // bridges
        Map<String, String> ifField = new HashMap<>(); // "ns/name" -> field
        Map<String, String> addrField = new HashMap<>(); // "ns/a.b.c.d" -> field
        for (int i = 0; i < t.bridges().size(); i++) {
            Topology.Bridge b = t.bridges().get(i);
            String f = "bridges[" + i + "]";
            if (b == null) {
                problem(f, null, "empty entry");
                continue;
            }
            int before = problems.size();
            try {
                bridge(d, f, b, ifField, addrField);
            } finally {
                if (problems.size() > before) {
                    incomplete.add(b.namespace());
                }
            }
        }

        // veth pairs
        List<String[]> masters = new ArrayList<>(); // field, master, ns name, link name
        for (int i = 0; i < t.veths().size(); i++) {
            Topology.Veth v = t.veths().get(i);
            String f = "veths[" + i + "]";
            if (v == null) {
                problem(f, null, "empty entry");
                continue;
            }
            int before = problems.size();
            DesiredState.Iface a = end(d, f + ".a", v.a(), ifField, addrField, masters);
            DesiredState.Iface b = end(d, f + ".b", v.b(), ifField, addrField, masters);
            if (a != null && b != null) {
                a.peer = b;
                b.peer = a;
                a.ns.links.put(a.name, a);
                b.ns.links.put(b.name, b);
                d.veths.add(new DesiredState.Iface[] {a, b});
            }
            if (problems.size() > before) {
                incomplete.add(v.a() == null ? null : v.a().namespace());
                incomplete.add(v.b() == null ? null : v.b().namespace());
            }
        }
        checkMastersAndRoutes(t, d, masters);
        return d;
    }

    private void bridge(DesiredState d, String f, Topology.Bridge b, Map<String, String> ifField,
                        Map<String, String> addrField) {
        {
            DesiredState.Ns ns = namespace(d, f + ".namespace", b.namespace());
            boolean nameOk = ifname(f + ".name", b.name());
            if (ns == null || !nameOk || !unique(ifField, ns, b.name(), f + ".name")) {
                return;
            }
            DesiredState.Iface iface = new DesiredState.Iface(ns, b.name(), "bridge");
            iface.mtu = mtu(f + ".mtu", b.mtu());
            addresses(f + ".addresses", b.addresses(), iface, addrField);
            ns.links.put(b.name(), iface);
            d.bridges.add(iface);
        }
    }

    private void checkMastersAndRoutes(Topology t, DesiredState d, List<String[]> masters) {
        for (String[] m : masters) {
            DesiredState.Ns ns = d.namespaces.get(m[2]);
            DesiredState.Iface bridge = ns == null ? null : ns.links.get(m[1]);
            if (bridge == null || !bridge.kind.equals("bridge")) {
                List<String> there = ns == null ? List.of() : ns.links.values().stream()
                    .filter(x -> x.kind.equals("bridge")).map(x -> x.name).toList();
                problem(m[0], m[1], "no bridge of that name in namespace " + m[2]
                    + (there.isEmpty() ? " (it has none)" : " (bridges there: " + String.join(", ", there) + ")"));
            } else if (ns.links.get(m[3]) != null) {
                ns.links.get(m[3]).master = m[1];
            }
        }

        // routes
        for (int i = 0; i < t.routes().size(); i++) {
            Topology.RouteEntry r = t.routes().get(i);
            String f = "routes[" + i + "]";
            if (r == null) {
                problem(f, null, "empty entry");
                continue;
            }
            DesiredState.Ns ns = namespace(d, f + ".namespace", r.namespace());
            if (isIpv6Route(r)) {
                route6(f, r, ns);
                continue;
            }
            Ipv4Prefix to = null;
            if (r.to() == null) {
                problem(f + ".to", null, "missing; use default or a prefix like 192.168.1.0/24");
            } else if (r.to().equals("default")) {
                to = new Ipv4Prefix(0, 0);
            } else {
                try {
                    to = prefixWithLength(r.to());
                    if (!to.isNetwork()) {
                        problem(f + ".to", r.to(), "host bits set; did you mean " + to.networkPrefix() + "?");
                        to = null;
                    }
                } catch (IllegalArgumentException e) {
                    problem(f + ".to", r.to(), e.getMessage() + ", or default");
                }
            }
            int via = 0;
            boolean viaOk = true;
            if (r.via() != null) {
                try {
                    via = Ipv4Address.parse(r.via());
                } catch (IllegalArgumentException e) {
                    problem(f + ".via", r.via(), e.getMessage());
                    viaOk = false;
                }
            }
            if (ns == null || to == null || !viaOk) {
                continue;
            }
            DesiredState.Iface dev = routeDevice(f, r, ns);
            if (dev == NO_DEVICE) {
                continue;
            }
            if (via != 0 && !incomplete.contains(ns.name)) {
                List<Ipv4Prefix> subnets = new ArrayList<>();
                for (DesiredState.Iface x : ns.links.values()) {
                    if (dev == null || dev == x) {
                        x.addresses.stream().filter(a -> a instanceof Ipv4Prefix).forEach(a -> subnets.add((Ipv4Prefix) a));
                    }
                }
                final int gw = via;
                if (subnets.stream().noneMatch(c -> c.contains(gw))) {
                    problem(f + ".via", r.via(), "not on any subnet declared in namespace " + ns.name
                        + (dev != null ? " on " + dev.name : "")
                        + (subnets.isEmpty() ? " (it has no addresses)"
                        : " (" + String.join(", ", subnets.stream().map(c -> c.networkPrefix().toString()).toList()) + ")"));
                    continue;
                }
                if (subnets.stream().anyMatch(c -> c.address() == gw)) {
                    problem(f + ".via", r.via(), "is an address of namespace " + ns.name + " itself; "
                        + "the gateway must be another host on the subnet");
                    continue;
                }
            }
            DesiredState.RouteSpec spec = new DesiredState.RouteSpec(to, via, r.dev());
            DesiredState.RouteSpec clash = ns.routes.stream().filter(x -> x.to().equals(spec.to())).findFirst()
                .orElse(null);
            if (clash != null) {
                problem(f + ".to", r.to(), "duplicate route in namespace " + ns.name + " (already " + clash.describe() + ")");
                continue;
            }
            ns.routes.add(spec);
        }
    }

    /** {@link #routeDevice}'s answer when the route cannot stand (a problem was reported). */
    private static final DesiredState.Iface NO_DEVICE = new DesiredState.Iface(null, "", "none");

    /**
     * The interface a route names (null when it names none), or {@link #NO_DEVICE} after reporting that it names no
     * declared interface, or that the route has neither a gateway nor an interface.
     */
    private DesiredState.Iface routeDevice(String f, Topology.RouteEntry r, DesiredState.Ns ns) {
        if (r.dev() == null) {
            if (r.via() == null) {
                problem(f + ".via", null, "missing; give a gateway (via) or an interface (dev)");
                return NO_DEVICE;
            }
            return null;
        }
        DesiredState.Iface dev = ns.links.get(r.dev());
        if (dev == null) {
            problem(f + ".dev", r.dev(), "no interface of that name in namespace " + ns.name
                + " (declared there: " + String.join(", ", ns.links.keySet()) + ")");
            return NO_DEVICE;
        }
        return dev;
    }

    /** A route is IPv6 when its destination or its gateway is written as IPv6 ({@code default via fd15::5}). */
    private static boolean isIpv6Route(Topology.RouteEntry r) {
        return (r.to() != null && Ipv6Address.looksLike(r.to())) || (r.via() != null && Ipv6Address.looksLike(r.via()));
    }

    private void route6(String f, Topology.RouteEntry r, DesiredState.Ns ns) {
        Ipv6Prefix to = null;
        if (r.to() == null) {
            problem(f + ".to", null, "missing; use default or a prefix like fd15::/64");
        } else if (r.to().equals("default")) {
            to = Ipv6Prefix.ANY;
        } else if (!Ipv6Address.looksLike(r.to())) {
            problem(f + ".to", r.to(), "an IPv4 destination with an IPv6 gateway (" + r.via() + ")");
        } else {
            try {
                to = Ipv6Prefix.parse(r.to());
                if (r.to().indexOf('/') < 0) {
                    problem(f + ".to", r.to(), "no prefix length; expected a prefix like fd15::/64");
                    to = null;
                } else if (!to.isNetwork()) {
                    problem(f + ".to", r.to(), "host bits set; did you mean " + to.networkPrefix() + "?");
                    to = null;
                }
            } catch (IllegalArgumentException e) {
                problem(f + ".to", r.to(), e.getMessage() + ", or default");
            }
        }
        Ipv6Address via = null;
        boolean viaOk = true;
        if (r.via() != null) {
            if (!Ipv6Address.looksLike(r.via())) {
                problem(f + ".via", r.via(), "an IPv4 gateway for the IPv6 destination " + r.to());
                viaOk = false;
            } else {
                try {
                    via = Ipv6Address.parse(r.via());
                } catch (IllegalArgumentException e) {
                    problem(f + ".via", r.via(), e.getMessage());
                    viaOk = false;
                }
            }
        }
        if (ns == null || to == null || !viaOk) {
            return;
        }
        DesiredState.Iface dev = routeDevice(f, r, ns);
        if (dev == NO_DEVICE) {
            return;
        }
        if (via != null && via.isLinkLocal() && dev == null) {
            problem(f + ".dev", null, "missing; a link-local gateway (" + via + ") needs the interface it is on");
            return;
        }
        if (via != null && !via.isLinkLocal() && !incomplete.contains(ns.name)) {
            List<Ipv6Prefix> subnets = new ArrayList<>();
            for (DesiredState.Iface x : ns.links.values()) {
                if (dev == null || dev == x) {
                    x.addresses.stream().filter(a -> a instanceof Ipv6Prefix).forEach(a -> subnets.add((Ipv6Prefix) a));
                }
            }
            final Ipv6Address gw = via;
            if (subnets.stream().noneMatch(c -> c.contains(gw))) {
                problem(f + ".via", r.via(), "not on any IPv6 subnet declared in namespace " + ns.name
                    + (dev != null ? " on " + dev.name : "")
                    + (subnets.isEmpty() ? " (it has no IPv6 addresses)"
                    : " (" + String.join(", ", subnets.stream().map(c -> c.networkPrefix().toString()).toList()) + ")"));
                return;
            }
            if (subnets.stream().anyMatch(c -> c.address().equals(gw))) {
                problem(f + ".via", r.via(), "is an address of namespace " + ns.name + " itself; "
                    + "the gateway must be another host on the subnet");
                return;
            }
        }
        DesiredState.Route6Spec spec = new DesiredState.Route6Spec(to, via, r.dev());
        DesiredState.Route6Spec clash = ns.routes6.stream().filter(x -> x.to().equals(spec.to())).findFirst()
            .orElse(null);
        if (clash != null) {
            problem(f + ".to", r.to(), "duplicate route in namespace " + ns.name + " (already " + clash.describe() + ")");
            return;
        }
        ns.routes6.add(spec);
    }

    private DesiredState.Iface end(DesiredState d, String f, Topology.End e, Map<String, String> ifField,
                                   Map<String, String> addrField, List<String[]> masters) {
        if (e == null) {
            problem(f, null, "missing; each veth has two ends, a and b");
            return null;
        }
        DesiredState.Ns ns = namespace(d, f + ".namespace", e.namespace());
        boolean nameOk = ifname(f + ".name", e.name());
        if (ns == null || !nameOk || !unique(ifField, ns, e.name(), f + ".name")) {
            return null;
        }
        DesiredState.Iface iface = new DesiredState.Iface(ns, e.name(), "veth");
        iface.mtu = mtu(f + ".mtu", e.mtu());
        addresses(f + ".addresses", e.addresses(), iface, addrField);
        if (e.master() != null) {
            masters.add(new String[] {f + ".master", e.master(), ns.name, e.name()});
        }
        return iface;
    }

    private DesiredState.Ns namespace(DesiredState d, String field, String name) {
        if (name == null) {
            problem(field, null, "missing; name one of the declared namespaces (" + declared(d) + ")");
            return null;
        }
        DesiredState.Ns ns = d.namespaces.get(name);
        if (ns == null) {
            problem(field, name, "not a declared namespace (declared: " + declared(d) + ")");
        }
        return ns;
    }

    private static String declared(DesiredState d) {
        return d.namespaces.isEmpty() ? "none" : String.join(", ", d.namespaces.keySet());
    }

    private boolean ifname(String field, String name) {
        if (name == null) {
            problem(field, null, "missing");
            return false;
        }
        if (name.isEmpty() || name.equals(".") || name.equals("..")) {
            problem(field, name, "not a valid interface name");
            return false;
        }
        if (name.getBytes(java.nio.charset.StandardCharsets.UTF_8).length > MAX_IFNAME) {
            problem(field, name, "longer than " + MAX_IFNAME + " characters");
            return false;
        }
        for (char c : name.toCharArray()) {
            if (c == '/' || c == ':' || Character.isWhitespace(c) || c < 0x20) {
                problem(field, name, "interface names cannot contain '/', ':' or blanks");
                return false;
            }
        }
        if (name.equals("lo")) {
            problem(field, name, "lo exists in every namespace already; choose another name");
            return false;
        }
        return true;
    }

    private boolean unique(Map<String, String> seen, DesiredState.Ns ns, String name, String field) {
        String key = ns.name + "/" + name;
        if (seen.containsKey(key)) {
            problem(field, name, "duplicate interface in namespace " + ns.name + " (also " + seen.get(key) + ")");
            return false;
        }
        seen.put(key, field);
        return true;
    }

    private Integer mtu(String field, Integer mtu) {
        if (mtu != null && (mtu < 68 || mtu > 65535)) {
            problem(field, mtu, "outside 68..65535");
            return null;
        }
        return mtu;
    }

    /** A prefix written with its length: in a topology file a bare address is more likely a slip than a /32. */
    private static Ipv4Prefix prefixWithLength(String text) {
        if (text == null || text.indexOf('/') < 0) {
            throw new IllegalArgumentException((text == null ? "missing" : "no prefix length")
                + "; expected an IPv4 address with prefix length like 192.168.15.1/24");
        }
        return Ipv4Prefix.parse(text);
    }

    /** An interface address of either family, written with its length (fd15::1/64, 192.168.15.1/24). */
    private static IpPrefix addressWithLength(String text) {
        if (text != null && Ipv6Address.looksLike(text)) {
            if (text.indexOf('/') < 0) {
                throw new IllegalArgumentException("no prefix length; expected an IPv6 address with prefix length "
                    + "like fd15::1/64");
            }
            return Ipv6Prefix.parse(text);
        }
        return prefixWithLength(text);
    }

    /** What is wrong with an IPv6 interface address, or null: it must be a unicast host address. */
    private static String ipv6AddressProblem(Ipv6Prefix c) {
        Ipv6Address a = c.address();
        if (c.length() == 0) {
            return "a /0 address covers everything; use a prefix length of 1..128";
        }
        if (a.isMulticast() || a.isUnspecified() || a.isLoopback()) {
            return "not a unicast address";
        }
        if (a.isLinkLocal()) {
            return "link-local addresses are the kernel's (every interface has one); use a global or ULA address";
        }
        if (c.length() < 127 && c.isNetwork()) {
            return "this is the subnet-router anycast address of " + c.networkPrefix() + "; use a host address";
        }
        return null;
    }

    private void addresses(String field, List<String> list, DesiredState.Iface iface, Map<String, String> seen) {
        for (int i = 0; i < list.size(); i++) {
            String f = field + "[" + i + "]";
            String text = list.get(i);
            IpPrefix parsed;
            try {
                parsed = addressWithLength(text);
            } catch (IllegalArgumentException e) {
                problem(f, text, e.getMessage());
                continue;
            }
            if (parsed instanceof Ipv6Prefix c6) {
                String why = ipv6AddressProblem(c6);
                if (why != null) {
                    problem(f, text, why);
                    continue;
                }
                if (!unseen(seen, iface, c6.address().toString(), f, text)) {
                    continue;
                }
                iface.addresses.add(c6);
                continue;
            }
            Ipv4Prefix c = (Ipv4Prefix) parsed;
            if (c.length() == 0) {
                problem(f, text, "a /0 address covers everything; use a prefix length of 1..32");
                continue;
            }
            if (c.hasBroadcast() && c.isNetwork()) {
                problem(f, text, "this is the network address of " + c.networkPrefix() + "; use a host address");
                continue;
            }
            if (c.hasBroadcast() && c.address() == c.broadcast()) {
                problem(f, text, "this is the broadcast address of " + c.networkPrefix() + "; use a host address");
                continue;
            }
            if (!unseen(seen, iface, Ipv4Address.format(c.address()), f, text)) {
                continue;
            }
            iface.addresses.add(c);
        }
    }

    /** Records an address as used in its namespace; false (a problem reported) when it already was. */
    private boolean unseen(Map<String, String> seen, DesiredState.Iface iface, String address, String f, String text) {
        String key = iface.ns.name + "/" + address;
        if (seen.containsKey(key)) {
            problem(f, text, "duplicate address in namespace " + iface.ns.name + " (also " + seen.get(key) + ")");
            return false;
        }
        seen.put(key, f);
        return true;
    }
}
