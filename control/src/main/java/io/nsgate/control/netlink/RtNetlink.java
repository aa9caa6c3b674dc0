// The rtnetlink client: links (veth, bridge, settings, delete), IPv4 addresses, routes and neighbours of one namespace.
package io.nsgate.control.netlink;

import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

import io.nsgate.linux.net.IpFamily;
import io.nsgate.linux.net.IpPrefix;
import io.nsgate.linux.net.Ipv4Address;
import io.nsgate.linux.net.Ipv4Prefix;
import io.nsgate.linux.net.Ipv6Address;
import io.nsgate.linux.net.Ipv6Prefix;
import io.nsgate.linux.sys.Errno;
import io.nsgate.linux.sys.Linux;

/**
 * Speaks rtnetlink over one {@link NetlinkSocket}, so it manages the namespace that socket was opened in (the
 * label names it in every error). Every change is acknowledged before the method returns; kernel refusals surface
 * as {@link NetlinkException} naming the request, the object and the errno, plus the kernel's own explanation.
 *
 * <p>Veth pairs are created with each end's name and namespace in one request: the end on this socket's side is
 * created here, the peer directly in the namespace given by its descriptor (IFLA_NET_NS_FD inside
 * VETH_INFO_PEER), so neither end ever exists anywhere else, not even for an instant.
 *
 * <p>Not thread-safe (one socket, one exchange at a time).
 */
public final class RtNetlink implements AutoCloseable {
    private final NetlinkSocket socket;
    private final NetlinkMessageWriter w = new NetlinkMessageWriter();

    public RtNetlink(NetlinkSocket socket) {
        this.socket = socket;
    }

    /** Opens a client for the calling thread's network namespace; {@code label} names it in errors. */
    public static RtNetlink open(String label) {
        return new RtNetlink(NetlinkSocket.openRoute(label));
    }

    public NetlinkSocket socket() {
        return socket;
    }

    /** What this client manages, e.g. the namespace name. */
    public String label() {
        return socket.label();
    }

    // ------------------------------------------------------------------------------------------------ links

    /** All links of the namespace, with their attributes. */
    public List<Link> links() {
        List<Link> out = new ArrayList<>();
        w.reset().begin(Rtnl.RTM_GETLINK, 0).ifinfomsg(Linux.AF_UNSPEC, 0, 0, 0, 0)
            .attrU32(Rtnl.IFLA_EXT_MASK, Rtnl.RTEXT_FILTER_SKIP_STATS).end();
        socket.dump(w, "links", (type, buf, off, len) -> {
            if (type == Rtnl.RTM_NEWLINK) {
                out.add(parseLink(buf, off, len));
            }
        }, out::clear);
        return out;
    }

    /** The link with this name, or empty. */
    public Optional<Link> link(String name) {
        w.reset().begin(Rtnl.RTM_GETLINK, 0).ifinfomsg(Linux.AF_UNSPEC, 0, 0, 0, 0)
            .attrString(Rtnl.IFLA_IFNAME, name).attrU32(Rtnl.IFLA_EXT_MASK, Rtnl.RTEXT_FILTER_SKIP_STATS).end();
        Link[] found = new Link[1];
        try {
            socket.get(w, name, (type, buf, off, len) -> found[0] = parseLink(buf, off, len));
        } catch (NetlinkException e) {
            if (e.errno() == Errno.ENODEV) {
                return Optional.empty();
            }
            throw e;
        }
        return Optional.ofNullable(found[0]);
    }

    /** The ifindex of the link with this name. @throws NetlinkException ENODEV when there is none */
    public int linkIndex(String name) {
        return link(name).map(Link::index)
            .orElseThrow(() -> new NetlinkException("RTM_GETLINK", name + " in " + label(), Errno.ENODEV, null));
    }

    /** Creates a bridge (ip link add NAME type bridge), with the given settings (alias included). */
    public void createBridge(String name, LinkChange settings) {
        w.reset().begin(Rtnl.RTM_NEWLINK, Rtnl.NLM_F_CREATE | Rtnl.NLM_F_EXCL);
        settings.writeIfinfomsg(w, 0);
        w.attrString(Rtnl.IFLA_IFNAME, name);
        settings.writeAttributes(w, false);
        int info = w.beginNest(Rtnl.IFLA_LINKINFO);
        w.attrString(Rtnl.IFLA_INFO_KIND, "bridge");
        w.endNest(info).end();
        socket.request(w, "bridge " + name + " in " + label());
        applyAlias(name, settings);
    }

    /**
     * Creates a veth pair: {@code name} here with {@code settings} (all of them: up, MTU, master, alias), and
     * {@code peerName} in the namespace of {@code peerNetnsFd} (-1: this one) with {@code peerSettings}, of which
     * only the MTU can be applied at creation: the kernel opens the peer before the pair is joined, so bringing it
     * up fails with ENOTCONN, and its alias lives in the other namespace. Set those through the peer namespace's
     * client afterwards.
     */
    public void createVeth(String name, LinkChange settings, String peerName, int peerNetnsFd,
                           LinkChange peerSettings) {
        if (peerSettings.up() != null || peerSettings.alias() != null || peerSettings.master() != null
            || peerSettings.name != null || peerSettings.netnsFd != null) {
            throw new IllegalArgumentException("only the MTU of a veth peer can be set at creation, not "
                + peerSettings);
        }
        w.reset().begin(Rtnl.RTM_NEWLINK, Rtnl.NLM_F_CREATE | Rtnl.NLM_F_EXCL);
        settings.writeIfinfomsg(w, 0);
        w.attrString(Rtnl.IFLA_IFNAME, name);
        settings.writeAttributes(w, false);
        int info = w.beginNest(Rtnl.IFLA_LINKINFO);
        w.attrString(Rtnl.IFLA_INFO_KIND, "veth");
        int data = w.beginNest(Rtnl.IFLA_INFO_DATA);
        int peer = w.beginNest(Rtnl.VETH_INFO_PEER);
        w.ifinfomsg(Linux.AF_UNSPEC, 0, 0, 0, 0);
        w.attrString(Rtnl.IFLA_IFNAME, peerName);
        if (peerSettings.mtu() != null) {
            w.attrU32(Rtnl.IFLA_MTU, peerSettings.mtu());
        }
        if (peerNetnsFd >= 0) {
            w.attrU32(Rtnl.IFLA_NET_NS_FD, peerNetnsFd);
        }
        w.endNest(peer);
        w.endNest(data);
        w.endNest(info).end();
        socket.request(w, "veth " + name + " <-> " + peerName + " in " + label());
        applyAlias(name, settings);
    }

    private void applyAlias(String name, LinkChange settings) {
        if (settings.alias() != null) {
            setLink(name, LinkChange.set().alias(settings.alias()));
        }
    }

    /** Changes a link's settings (ip link set). */
    public void setLink(int index, LinkChange change) {
        w.reset().begin(Rtnl.RTM_NEWLINK, 0);
        change.writeIfinfomsg(w, index);
        change.writeAttributes(w, true);
        w.end();
        socket.request(w, "set ifindex " + index + " " + change + " in " + label());
    }

    /** Changes the settings of the link with this name (ip link set dev NAME ...); cannot rename. */
    public void setLink(String name, LinkChange change) {
        w.reset().begin(Rtnl.RTM_NEWLINK, 0);
        change.writeIfinfomsg(w, 0);
        w.attrString(Rtnl.IFLA_IFNAME, name);
        if (change.name != null) {
            throw new IllegalArgumentException("rename by index: setLink(linkIndex(\"" + name + "\"), ...)");
        }
        change.writeAttributes(w, true);
        w.end();
        socket.request(w, "set " + name + " " + change + " in " + label());
    }

    /** Deletes a link (a veth's peer goes with it). */
    public void deleteLink(int index) {
        w.reset().begin(Rtnl.RTM_DELLINK, 0).ifinfomsg(Linux.AF_UNSPEC, 0, index, 0, 0).end();
        socket.request(w, "delete ifindex " + index + " in " + label());
    }

    /** Deletes the link with this name. */
    public void deleteLink(String name) {
        w.reset().begin(Rtnl.RTM_DELLINK, 0).ifinfomsg(Linux.AF_UNSPEC, 0, 0, 0, 0)
            .attrString(Rtnl.IFLA_IFNAME, name).end();
        socket.request(w, "delete " + name + " in " + label());
    }

    static Link parseLink(ByteBuffer buf, int off, int len) {
        int base = off + Rtnl.NLMSG_HDRLEN;
        int index = buf.getInt(base + 4);
        int flags = buf.getInt(base + 8);
        NetlinkAttributes a = new NetlinkAttributes(buf, base + Rtnl.IFINFOMSG_LEN, off + len);
        NetlinkAttributes info = a.nested(Rtnl.IFLA_LINKINFO);
        String kind = info == null ? null : info.string(Rtnl.IFLA_INFO_KIND);
        byte[] mac = a.bytes(Rtnl.IFLA_ADDRESS);
        String alias = a.string(Rtnl.IFLA_IFALIAS);
        return new Link(index, a.string(Rtnl.IFLA_IFNAME), kind, flags, a.u32(Rtnl.IFLA_MTU, 0),
            a.u32(Rtnl.IFLA_MASTER, 0), a.u32(Rtnl.IFLA_LINK, 0), a.u32(Rtnl.IFLA_LINK_NETNSID, -1),
            alias == null || alias.isEmpty() ? null : alias, mac == null ? null : formatMac(mac));
    }

    static String formatMac(byte[] mac) {
        StringBuilder b = new StringBuilder(mac.length * 3);
        for (int i = 0; i < mac.length; i++) {
            if (i > 0) {
                b.append(':');
            }
            b.append(Character.forDigit((mac[i] >> 4) & 0xf, 16)).append(Character.forDigit(mac[i] & 0xf, 16));
        }
        return b.toString();
    }

    // ------------------------------------------------------------------------------------------------ addresses

    /** All IPv4 addresses of the namespace. */
    public List<InterfaceAddress> addresses() {
        List<InterfaceAddress> out = new ArrayList<>();
        w.reset().begin(Rtnl.RTM_GETADDR, 0).ifaddrmsg(IpFamily.IPV4.af(), 0, 0, 0, 0).end();
        socket.dump(w, "addresses", (type, buf, off, len) -> {
            if (type != Rtnl.RTM_NEWADDR) {
                return;
            }
            int base = off + Rtnl.NLMSG_HDRLEN;
            if (buf.get(base) != IpFamily.IPV4.af()) {
                return;
            }
            int prefix = Byte.toUnsignedInt(buf.get(base + 1));
            int scope = Byte.toUnsignedInt(buf.get(base + 3));
            int index = buf.getInt(base + 4);
            NetlinkAttributes a = new NetlinkAttributes(buf, base + Rtnl.IFADDRMSG_LEN, off + len);
            int addr = a.has(Rtnl.IFA_LOCAL) ? a.ipv4(Rtnl.IFA_LOCAL, 0) : a.ipv4(Rtnl.IFA_ADDRESS, 0);
            out.add(new InterfaceAddress(index, new Ipv4Prefix(addr, prefix), a.string(Rtnl.IFA_LABEL), scope));
        }, out::clear);
        return out;
    }

    /**
     * The namespace's IPv6 addresses (ip -6 addr), tentative ones included (duplicate address detection may still
     * run on them: they are the host's all the same).
     */
    public List<InterfaceAddress6> addresses6() {
        List<InterfaceAddress6> out = new ArrayList<>();
        w.reset().begin(Rtnl.RTM_GETADDR, 0).ifaddrmsg(IpFamily.IPV6.af(), 0, 0, 0, 0).end();
        socket.dump(w, "IPv6 addresses", (type, buf, off, len) -> {
            int base = off + Rtnl.NLMSG_HDRLEN;
            if (type != Rtnl.RTM_NEWADDR || buf.get(base) != IpFamily.IPV6.af()) {
                return;
            }
            int prefix = Byte.toUnsignedInt(buf.get(base + 1));
            int scope = Byte.toUnsignedInt(buf.get(base + 3));
            int index = buf.getInt(base + 4);
            NetlinkAttributes a = new NetlinkAttributes(buf, base + Rtnl.IFADDRMSG_LEN, off + len);
            int flags = a.u32(Rtnl.IFA_FLAGS, Byte.toUnsignedInt(buf.get(base + 2)));
            byte[] addr = a.has(Rtnl.IFA_LOCAL) ? a.bytes(Rtnl.IFA_LOCAL) : a.bytes(Rtnl.IFA_ADDRESS);
            if (addr != null && addr.length == 16) {
                out.add(new InterfaceAddress6(index, new Ipv6Prefix(Ipv6Address.fromBytes(addr, 0), prefix), scope,
                    flags));
            }
        }, out::clear);
        return out;
    }

    /**
     * Adds an address: IPv4 as {@code ip addr add CIDR brd + dev IFINDEX}, IPv6 as {@code ip addr add CIDR dev IFINDEX
     * nodad} (the addresses nsgate adds are declared unique within the namespaces it builds: duplicate address
     * detection would only keep them unusable for a second or two).
     */
    public void addAddress(int index, IpPrefix cidr) {
        if (cidr instanceof Ipv6Prefix v6) {
            byte[] bytes = v6.addressBytes();
            w.reset().begin(Rtnl.RTM_NEWADDR, Rtnl.NLM_F_CREATE | Rtnl.NLM_F_EXCL)
                .ifaddrmsg(IpFamily.IPV6.af(), v6.length(), Rtnl.IFA_F_NODAD, Rtnl.RT_SCOPE_UNIVERSE, index)
                .attrBytes(Rtnl.IFA_LOCAL, bytes).attrBytes(Rtnl.IFA_ADDRESS, bytes).end();
            socket.request(w, "address " + cidr + " on ifindex " + index + " in " + label());
            return;
        }
        Ipv4Prefix v4 = (Ipv4Prefix) cidr;
        w.reset().begin(Rtnl.RTM_NEWADDR, Rtnl.NLM_F_CREATE | Rtnl.NLM_F_EXCL)
            .ifaddrmsg(IpFamily.IPV4.af(), v4.length(), 0, Rtnl.RT_SCOPE_UNIVERSE, index)
            .attrIpv4(Rtnl.IFA_LOCAL, v4.address()).attrIpv4(Rtnl.IFA_ADDRESS, v4.address());
        if (v4.hasBroadcast()) {
            w.attrIpv4(Rtnl.IFA_BROADCAST, v4.broadcast());
        }
        w.end();
        socket.request(w, "address " + cidr + " on ifindex " + index + " in " + label());
    }

    /** Removes an address of either family. */
    public void deleteAddress(int index, IpPrefix cidr) {
        w.reset().begin(Rtnl.RTM_DELADDR, 0)
            .ifaddrmsg(cidr.family().af(), cidr.length(), 0, 0, index)
            .attrBytes(Rtnl.IFA_LOCAL, cidr.addressBytes()).end();
        socket.request(w, "address " + cidr + " on ifindex " + index + " in " + label());
    }

    // ------------------------------------------------------------------------------------------------ routes

    /** All IPv4 routes of the main table. */
    public List<KernelRoute> routes() {
        return routes(Rtnl.RT_TABLE_MAIN);
    }

    /** All IPv4 routes of one table (RT_TABLE_MAIN, RT_TABLE_LOCAL, ...). */
    public List<KernelRoute> routes(int table) {
        List<KernelRoute> out = new ArrayList<>();
        w.reset().begin(Rtnl.RTM_GETROUTE, 0).rtmsg(IpFamily.IPV4.af(), 0, 0, 0, 0, 0).end();
        socket.dump(w, "routes", (type, buf, off, len) -> {
            if (type != Rtnl.RTM_NEWROUTE) {
                return;
            }
            int base = off + Rtnl.NLMSG_HDRLEN;
            if (buf.get(base) != IpFamily.IPV4.af()) {
                return;
            }
            int dstLen = Byte.toUnsignedInt(buf.get(base + 1));
            NetlinkAttributes a = new NetlinkAttributes(buf, base + Rtnl.RTMSG_LEN, off + len);
            int tableId = a.u32(Rtnl.RTA_TABLE, Byte.toUnsignedInt(buf.get(base + 4)));
            if (tableId != table) {
                return;
            }
            out.add(new KernelRoute(new Ipv4Prefix(a.ipv4(Rtnl.RTA_DST, 0), dstLen), a.ipv4(Rtnl.RTA_GATEWAY, 0),
                a.u32(Rtnl.RTA_OIF, 0), tableId, Byte.toUnsignedInt(buf.get(base + 5)),
                Byte.toUnsignedInt(buf.get(base + 6)), Byte.toUnsignedInt(buf.get(base + 7)),
                a.u32(Rtnl.RTA_PRIORITY, 0)));
        }, out::clear);
        return out;
    }

    /**
     * Adds a main-table unicast route to {@code destination} (0.0.0.0/0 = default) via {@code gateway} (0: none,
     * a link-scope route out of {@code outputIndex}); {@code outputIndex} 0 lets the kernel pick the interface.
     *
     * @param replace replace an existing route to the same destination (ip route replace) instead of failing
     */
    public void addRoute(Ipv4Prefix destination, int gateway, int outputIndex, int protocol, boolean replace) {
        w.reset().begin(Rtnl.RTM_NEWROUTE, Rtnl.NLM_F_CREATE | (replace ? Rtnl.NLM_F_REPLACE : Rtnl.NLM_F_EXCL))
            .rtmsg(IpFamily.IPV4.af(), destination.length(), Rtnl.RT_TABLE_MAIN, protocol,
                gateway == 0 ? Rtnl.RT_SCOPE_LINK : Rtnl.RT_SCOPE_UNIVERSE, Rtnl.RTN_UNICAST);
        if (destination.length() > 0) {
            w.attrIpv4(Rtnl.RTA_DST, destination.network());
        }
        if (gateway != 0) {
            w.attrIpv4(Rtnl.RTA_GATEWAY, gateway);
        }
        if (outputIndex != 0) {
            w.attrU32(Rtnl.RTA_OIF, outputIndex);
        }
        w.end();
        socket.request(w, "route " + (destination.length() == 0 ? "default" : destination.networkPrefix())
            + (gateway != 0 ? " via " + Ipv4Address.format(gateway) : "") + " in " + label());
    }

    /** Deletes a route as a dump reported it (destination, gateway, interface, table, priority). */
    public void deleteRoute(KernelRoute route) {
        w.reset().begin(Rtnl.RTM_DELROUTE, 0)
            .rtmsg(IpFamily.IPV4.af(), route.destination().length(), route.table() > 255 ? 0 : route.table(), 0,
                Rtnl.RT_SCOPE_UNIVERSE == route.scope() ? 0 : route.scope(), 0);
        if (route.destination().length() > 0) {
            w.attrIpv4(Rtnl.RTA_DST, route.destination().network());
        }
        if (route.gateway() != 0) {
            w.attrIpv4(Rtnl.RTA_GATEWAY, route.gateway());
        }
        if (route.outputIndex() != 0) {
            w.attrU32(Rtnl.RTA_OIF, route.outputIndex());
        }
        if (route.priority() != 0) {
            w.attrU32(Rtnl.RTA_PRIORITY, route.priority());
        }
        w.attrU32(Rtnl.RTA_TABLE, route.table());
        w.end();
        socket.request(w, "route " + route + " in " + label());
    }

    /** All IPv6 routes of the main table. */
    public List<KernelRoute6> routes6() {
        List<KernelRoute6> out = new ArrayList<>();
        w.reset().begin(Rtnl.RTM_GETROUTE, 0).rtmsg(IpFamily.IPV6.af(), 0, 0, 0, 0, 0).end();
        socket.dump(w, "IPv6 routes", (type, buf, off, len) -> {
            int base = off + Rtnl.NLMSG_HDRLEN;
            if (type != Rtnl.RTM_NEWROUTE || buf.get(base) != IpFamily.IPV6.af()) {
                return;
            }
            int dstLen = Byte.toUnsignedInt(buf.get(base + 1));
            NetlinkAttributes a = new NetlinkAttributes(buf, base + Rtnl.RTMSG_LEN, off + len);
            int tableId = a.u32(Rtnl.RTA_TABLE, Byte.toUnsignedInt(buf.get(base + 4)));
            if (tableId != Rtnl.RT_TABLE_MAIN) {
                return;
            }
            byte[] dst = a.bytes(Rtnl.RTA_DST);
            byte[] gw = a.bytes(Rtnl.RTA_GATEWAY);
            out.add(new KernelRoute6(new Ipv6Prefix(dst == null || dst.length != 16 ? Ipv6Address.UNSPECIFIED
                : Ipv6Address.fromBytes(dst, 0), dstLen), gw == null || gw.length != 16 ? null
                : Ipv6Address.fromBytes(gw, 0), a.u32(Rtnl.RTA_OIF, 0), Byte.toUnsignedInt(buf.get(base + 5)),
                Byte.toUnsignedInt(buf.get(base + 7)), a.u32(Rtnl.RTA_PRIORITY, 0)));
        }, out::clear);
        return out;
    }

    /**
     * Adds a main-table unicast IPv6 route to {@code destination} (::/0 = default) via {@code gateway} (null: none)
     * out of {@code outputIndex} (0: the kernel picks; a link-local gateway needs one).
     */
    public void addRoute6(Ipv6Prefix destination, Ipv6Address gateway, int outputIndex, int protocol) {
        w.reset().begin(Rtnl.RTM_NEWROUTE, Rtnl.NLM_F_CREATE | Rtnl.NLM_F_EXCL)
            .rtmsg(IpFamily.IPV6.af(), destination.length(), Rtnl.RT_TABLE_MAIN, protocol, Rtnl.RT_SCOPE_UNIVERSE,
                Rtnl.RTN_UNICAST);
        if (destination.length() > 0) {
            w.attrBytes(Rtnl.RTA_DST, destination.networkBytes());
        }
        if (gateway != null) {
            w.attrBytes(Rtnl.RTA_GATEWAY, gateway.toBytes());
        }
        if (outputIndex != 0) {
            w.attrU32(Rtnl.RTA_OIF, outputIndex);
        }
        w.end();
        socket.request(w, "route " + (destination.length() == 0 ? "default" : destination.networkPrefix())
            + (gateway != null ? " via " + gateway : "") + " in " + label());
    }

    /** Deletes an IPv6 route as a dump reported it. */
    public void deleteRoute6(KernelRoute6 route) {
        w.reset().begin(Rtnl.RTM_DELROUTE, 0)
            .rtmsg(IpFamily.IPV6.af(), route.destination().length(), Rtnl.RT_TABLE_MAIN, 0, 0, 0);
        if (route.destination().length() > 0) {
            w.attrBytes(Rtnl.RTA_DST, route.destination().networkBytes());
        }
        if (route.gateway() != null) {
            w.attrBytes(Rtnl.RTA_GATEWAY, route.gateway().toBytes());
        }
        if (route.outputIndex() != 0) {
            w.attrU32(Rtnl.RTA_OIF, route.outputIndex());
        }
        if (route.priority() != 0) {
            w.attrU32(Rtnl.RTA_PRIORITY, route.priority());
        }
        w.end();
        socket.request(w, "route " + route + " in " + label());
    }

    // ------------------------------------------------------------------------------------------------ neighbours

    /** The IPv4 neighbour (ARP) table. */
    public List<Neighbour> neighbours() {
        List<Neighbour> out = new ArrayList<>();
        w.reset().begin(Rtnl.RTM_GETNEIGH, 0).ndmsg(IpFamily.IPV4.af(), 0).end();
        socket.dump(w, "neighbours", (type, buf, off, len) -> {
            if (type != Rtnl.RTM_NEWNEIGH) {
                return;
            }
            int base = off + Rtnl.NLMSG_HDRLEN;
            if (buf.get(base) != IpFamily.IPV4.af()) {
                return;
            }
            int index = buf.getInt(base + 4);
            int state = Short.toUnsignedInt(buf.getShort(base + 8));
            NetlinkAttributes a = new NetlinkAttributes(buf, base + Rtnl.NDMSG_LEN, off + len);
            byte[] mac = a.bytes(Rtnl.NDA_LLADDR);
            out.add(new Neighbour(index, a.ipv4(Rtnl.NDA_DST, 0), mac == null ? null : formatMac(mac), state));
        }, out::clear);
        return out;
    }

    @Override
    public void close() {
        socket.close();
    }
}
