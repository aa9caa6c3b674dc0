// A validated topology resolved for one prefix: what each namespace should contain, with parsed addresses.
package io.nsgate.control.topology;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import io.nsgate.linux.net.Ipv4Address;
import io.nsgate.linux.net.IpPrefix;
import io.nsgate.linux.net.Ipv4Prefix;
import io.nsgate.linux.net.Ipv6Address;
import io.nsgate.linux.net.Ipv6Prefix;

/** Built only by {@link TopologyValidator}; read by {@link TopologyApplier}. */
final class DesiredState {
    final String topologyName;
    final String mark;
    final String prefix;
    final Map<String, Ns> namespaces = new LinkedHashMap<>();
    final List<Iface> bridges = new ArrayList<>();
    final List<Iface[]> veths = new ArrayList<>();

    DesiredState(String topologyName, String prefix) {
        this.topologyName = topologyName;
        this.mark = "nsgate:" + topologyName;
        this.prefix = prefix;
    }

    /** One namespace: its name in the file and on the machine, sysctls, interfaces and routes. */
    static final class Ns {
        final String name;
        final String fullName;
        final Map<String, String> sysctls = new LinkedHashMap<>();
        final Map<String, Iface> links = new LinkedHashMap<>();
        final List<RouteSpec> routes = new ArrayList<>();
        final List<Route6Spec> routes6 = new ArrayList<>();

        Ns(String name, String fullName) {
            this.name = name;
            this.fullName = fullName;
        }

        /** How changes name it: "edge (ngt1-edge)" with a prefix, "edge" without. */
        String display() {
            return name.equals(fullName) ? name : name + " (" + fullName + ")";
        }
    }

    /** A bridge or one end of a veth pair. */
    static final class Iface {
        final Ns ns;
        final String name;
        final String kind;
        /** IPv4 and IPv6 addresses, in the file's order. */
        final List<IpPrefix> addresses = new ArrayList<>();
        String master;
        Integer mtu;
        Iface peer;

        Iface(Ns ns, String name, String kind) {
            this.ns = ns;
            this.name = name;
            this.kind = kind;
        }

        /** "edge/veth-red-br". */
        String where() {
            return ns.name + "/" + name;
        }

        /** "(bridge)" or "(veth, peer red/eth0)". */
        String describe() {
            return peer == null ? "(" + kind + ")" : "(" + kind + ", peer " + peer.where() + ")";
        }
    }

    /** An IPv6 route: destination (length 0 = default), gateway (null = none), device (null = any). */
    record Route6Spec(Ipv6Prefix to, Ipv6Address via, String dev) {
        String describe() {
            return (to.length() == 0 ? "default" : to.toString()) + (via != null ? " via " + via : "")
                + (dev != null ? " dev " + dev : "");
        }
    }

    /** A route: destination (length 0 = default), gateway (0 = none), device (null = any). */
    record RouteSpec(Ipv4Prefix to, int via, String dev) {
        String toText() {
            return to.length() == 0 ? "default" : to.toString();
        }

        String describe() {
            return toText() + (via != 0 ? " via " + Ipv4Address.format(via) : "") + (dev != null ? " dev " + dev : "");
        }
    }
}
