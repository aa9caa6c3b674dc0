// The gateway's interfaces as the kernel has them: found by name over rtnetlink, with address, MTU and routes.
package io.nsgate.control.daemon;

import java.util.ArrayList;
import java.util.List;

import io.nsgate.control.netlink.InterfaceAddress;
import io.nsgate.control.netlink.InterfaceAddress6;
import io.nsgate.control.netlink.KernelRoute;
import io.nsgate.control.netlink.KernelRoute6;
import io.nsgate.control.netlink.Link;
import io.nsgate.control.netlink.RtNetlink;
import io.nsgate.dataplane.nat.GatewayInterface;
import io.nsgate.dataplane.nat.RuleSet;
import io.nsgate.linux.net.Ipv6Prefix;

/**
 * The LAN interface and the inside ones, in the configuration's order (which becomes the data plane's interface
 * index), each with its first IPv4 address, its IPv6 addresses (link-local ones aside) and MTU; the namespace's routes through them via a gateway (a default
 * route via a LAN router, say) become static routes of the data plane. Fails naming what is missing and what to run.
 *
 * @param links the interfaces found, by data-plane index
 */
record InterfaceScan(List<Link> links) {

    /**
     * Finds the configured interfaces in the namespace {@code rt} speaks for and adds them and their routes to
     * {@code rules}.
     *
     * @param where the namespace, for messages ("network namespace edge")
     * @throws GatewayException naming the missing, down or address-less interface
     */
    static InterfaceScan scan(RtNetlink rt, GatewayConfig config, String where, RuleSet.Builder rules) {
        List<Link> links = rt.links();
        List<InterfaceAddress> addresses = rt.addresses();
        List<InterfaceAddress6> addresses6 = rt.addresses6();
        List<String> names = new ArrayList<>();
        names.add(config.lan());
        names.addAll(config.inside());
        List<Link> found = new ArrayList<>();
        for (int i = 0; i < names.size(); i++) {
            String name = names.get(i);
            Link link = links.stream().filter(l -> l.name().equals(name)).findFirst().orElseThrow(
                () -> new GatewayException("interface " + name + " not found in " + where + " (have: "
                    + String.join(", ", links.stream().map(Link::name).toList()) + ")"));
            if (!link.isUp()) {
                throw new GatewayException("interface " + name + " in " + where + " is down (ip link set "
                    + name + " up)");
            }
            InterfaceAddress address = addresses.stream()
                .filter(a -> a.index() == link.index()).findFirst().orElseThrow(
                    () -> new GatewayException("interface " + name + " in " + where + " has no IPv4 address"));
            rules.iface(name, i == 0 ? GatewayInterface.Role.LAN : GatewayInterface.Role.INSIDE, address.prefix(),
                link.mtu());
            rules.ipv6Addresses(name, ipv6Of(addresses6, link.index()));
            found.add(link);
        }
        for (KernelRoute r : rt.routes()) {
            for (Link l : found) {
                if (r.outputIndex() == l.index() && r.gateway() != 0) {
                    rules.route(r.destination(), l.name(), r.gateway());
                }
            }
        }
        for (KernelRoute6 r : rt.routes6()) {
            for (Link l : found) {
                // routes through a router (a default route learnt from router advertisements too); link-local
                // routers are neighbours of the link like any other
                if (r.outputIndex() == l.index() && r.gateway() != null) {
                    rules.route6(r.destination(), l.name(), r.gateway());
                }
            }
        }
        return new InterfaceScan(List.copyOf(found));
    }

    /** The IPv6 addresses of interface {@code ifindex}, link-local ones left out (never routed). */
    static List<Ipv6Prefix> ipv6Of(List<InterfaceAddress6> addresses, int ifindex) {
        return addresses.stream().filter(a -> a.index() == ifindex).map(InterfaceAddress6::prefix)
            .filter(a -> !a.address().isLinkLocal()).distinct().toList();
    }

    /** The data-plane index of the interface with kernel ifindex {@code ifindex}, or -1. */
    int indexOf(int ifindex) {
        for (int i = 0; i < links.size(); i++) {
            if (links.get(i).index() == ifindex) {
                return i;
            }
        }
        return -1;
    }
}
