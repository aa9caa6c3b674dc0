// Makes the machine match a topology (apply), tells the difference (plan), or removes what nsgate created (destroy).
package io.nsgate.control.topology;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;

import io.nsgate.control.netlink.InterfaceAddress;
import io.nsgate.control.netlink.InterfaceAddress6;
import io.nsgate.control.netlink.KernelRoute;
import io.nsgate.control.netlink.KernelRoute6;
import io.nsgate.control.netlink.Link;
import io.nsgate.control.netlink.LinkChange;
import io.nsgate.control.netlink.NetlinkException;
import io.nsgate.control.netlink.RtNetlink;
import io.nsgate.control.netlink.Rtnl;
import io.nsgate.control.netns.NetNs;
import io.nsgate.linux.net.IpFamily;
import io.nsgate.linux.net.IpPrefix;
import io.nsgate.linux.net.Ipv4Address;
import io.nsgate.linux.net.Ipv4Prefix;
import io.nsgate.linux.sys.Errno;
import java.util.Locale;

/**
 * Theory of operation. Every entry point first validates the whole file ({@link TopologyValidator}); nothing
 * changes on bad input. Then it observes: for each declared namespace, whether it exists and whether it is
 * nsgate's (its {@code lo} carries the alias {@code nsgate:TOPOLOGY}), and, for its own namespaces, the links,
 * IPv4 addresses, main-table routes and declared sysctls, over one rtnetlink socket per namespace (opened on
 * that namespace's dedicated thread, see {@link NetNs}). Comparing the two gives a plan: an ordered list of
 * steps, each with the {@link Change} line it prints and an action that returns its undo.
 *
 * <p>Order: namespaces (created with lo up and marked), sysctls, removal of nsgate's links that are no longer
 * declared or are broken (a veth whose peer is not the declared one), bridges, veth pairs (created with each end
 * directly in its namespace, from the side that has a bridge so the master is set at creation), link settings
 * (up, MTU, master), addresses, routes. Links get the alias {@code nsgate:TOPOLOGY} too; a same-named link or
 * namespace without it is someone else's: apply refuses before changing anything ({@link TopologyApplyException}
 * with conflicts), destroy leaves it alone with a note.
 *
 * <p>When a step fails midway, the undos of the steps done so far run in reverse (namespaces it created are
 * deleted, links deleted, settings, addresses, routes and sysctls restored) and the failure is reported with the
 * step, the cause (e.g. the kernel's EEXIST) and what was rolled back.
 *
 * <p>Destroy deletes, of what the file declares, only what carries nsgate's mark: links, then namespaces. A
 * namespace of nsgate's that also holds links nsgate did not create is kept (only nsgate's links are removed).
 */
public final class TopologyApplier {

    /** Called before each step; a hook for progress output and for tests that race a change against apply. */
    @FunctionalInterface
    public interface StepListener {
        void beforeStep(Change change) throws Exception;
    }

    @FunctionalInterface
    private interface Undo {
        void run() throws Exception;
    }

    @FunctionalInterface
    private interface Action {
        Undo run() throws Exception;
    }

    private record Step(Change change, Action action) {
    }

    /** What one declared namespace looks like now. */
    private static final class Observed {
        boolean exists;
        boolean owned;
        String loAlias;
        Link lo;
        final Map<String, Link> links = new LinkedHashMap<>();
        List<InterfaceAddress> addresses = List.of();
        List<KernelRoute> routes = List.of();
        List<InterfaceAddress6> addresses6 = List.of();
        List<KernelRoute6> routes6 = List.of();
        final Map<String, String> sysctls = new HashMap<>();
    }

    private final DesiredState d;
    private final Map<String, NetNs> handles = new HashMap<>();
    private final Map<String, Observed> observed = new LinkedHashMap<>();
    private final List<Step> steps = new ArrayList<>();
    private final List<Change> conflicts = new ArrayList<>();
    private final List<Change> notes = new ArrayList<>();

    private TopologyApplier(DesiredState d) {
        this.d = d;
    }

    // ------------------------------------------------------------------------------------------------ entry points

    /** What nsgate does with a topology, as {@code nsgate topology} and the control socket name it. */
    public enum Mode {
        /** {@link #apply(Topology, String)} */
        APPLY,
        /** {@link #plan}: what apply would change */
        SHOW,
        /** {@link #destroy} */
        DESTROY;

        /** Its name as commands and operations spell it: apply, show, destroy. */
        public String id() {
            return name().toLowerCase(Locale.ROOT);
        }

        /** The mode {@link #id()} names. */
        public static Mode of(String id) {
            for (Mode m : values()) {
                if (m.id().equals(id)) {
                    return m;
                }
            }
            throw new IllegalArgumentException("no topology mode \"" + id + "\" (apply, show, destroy)");
        }

        public TopologyReport run(Topology topology, String prefix) {
            return switch (this) {
                case APPLY -> apply(topology, prefix);
                case SHOW -> plan(topology, prefix);
                case DESTROY -> destroy(topology, prefix);
            };
        }
    }

    /** Applies {@code topology} with namespace names prefixed by {@code prefix} (may be empty). */
    public static TopologyReport apply(Topology topology, String prefix) {
        return apply(topology, prefix, null);
    }

    /**
     * Makes the machine match the topology and reports what changed ("no changes" when it already did).
     *
     * @throws TopologyException      bad input, nothing changed
     * @throws TopologyApplyException conflicts (nothing changed) or a failure midway (rolled back)
     */
    public static TopologyReport apply(Topology topology, String prefix, StepListener listener) {
        TopologyApplier a = new TopologyApplier(TopologyValidator.resolve(topology, prefix));
        try {
            a.observeAll();
            a.planApply();
            if (!a.conflicts.isEmpty()) {
                throw new TopologyApplyException(a.conflicts);
            }
            return a.execute(listener);
        } finally {
            a.closeHandles();
        }
    }

    /** What {@link #apply} would change, without changing anything; conflicts appear as notes. */
    public static TopologyReport plan(Topology topology, String prefix) {
        TopologyApplier a = new TopologyApplier(TopologyValidator.resolve(topology, prefix));
        try {
            a.observeAll();
            a.planApply();
            List<Change> all = new ArrayList<>(a.notes);
            all.addAll(a.conflicts);
            return new TopologyReport(topology.name(), prefix, a.steps.stream().map(Step::change).toList(), all);
        } finally {
            a.closeHandles();
        }
    }

    /**
     * Removes what the topology declares and nsgate created; same-named things that are not nsgate's are left
     * alone and reported as notes. Best effort: a failing deletion does not stop the others.
     *
     * @throws TopologyException      bad input, nothing changed
     * @throws TopologyApplyException when some deletion failed (the others were done)
     */
    public static TopologyReport destroy(Topology topology, String prefix) {
        TopologyApplier a = new TopologyApplier(TopologyValidator.resolve(topology, prefix));
        try {
            a.observeAll();
            a.planDestroy();
            return a.executeBestEffort();
        } finally {
            a.closeHandles();
        }
    }

    // ------------------------------------------------------------------------------------------------ observe

    private void observeAll() {
        List<DesiredState.Ns> existing = new ArrayList<>();
        for (DesiredState.Ns ns : d.namespaces.values()) {
            Observed o = new Observed();
            observed.put(ns.name, o);
            o.exists = NetNs.exists(ns.fullName);
            if (o.exists) {
                existing.add(ns);
            }
        }
        List<NetNs> opened = NetNs.openAll(existing.stream().map(ns -> ns.fullName).toList());
        for (int i = 0; i < existing.size(); i++) {
            handles.put(existing.get(i).name, opened.get(i));
        }
        for (DesiredState.Ns ns : existing) {
            Observed o = observed.get(ns.name);
            NetNs h = handles.get(ns.name);
            RtNetlink rt = h.rtnetlink();
            for (Link l : rt.links()) {
                if (l.isLoopback() && "lo".equals(l.name())) {
                    o.lo = l;
                    o.loAlias = l.alias();
                } else {
                    o.links.put(l.name(), l);
                }
            }
            o.owned = d.mark.equals(o.loAlias);
            if (!o.owned) {
                continue;
            }
            o.addresses = rt.addresses();
            o.routes = rt.routes();
            o.addresses6 = rt.addresses6();
            o.routes6 = rt.routes6();
            for (String key : ns.sysctls.keySet()) {
                try {
                    o.sysctls.put(key, h.sysctl(key));
                } catch (RuntimeException e) {
                    o.sysctls.put(key, null); // unreadable: the set step will fail and say why
                }
            }
        }
    }

    private boolean usable(DesiredState.Ns ns) {
        Observed o = observed.get(ns.name);
        return !o.exists || o.owned;
    }

    // ------------------------------------------------------------------------------------------------ plan apply

    private void planApply() {
        for (DesiredState.Ns ns : d.namespaces.values()) {
            Observed o = observed.get(ns.name);
            if (!o.exists) {
                planCreateNamespace(ns);
                for (Map.Entry<String, String> s : ns.sysctls.entrySet()) {
                    planSysctl(ns, s.getKey(), s.getValue(), Change.Op.ADD, "");
                }
            } else if (!o.owned) {
                conflicts.add(new Change(Change.Op.NOTE, "netns", ns.display() + " exists but was not created by "
                    + "nsgate for " + d.topologyName + " (lo alias " + quote(o.loAlias) + "): delete it, or use "
                    + "another --prefix"));
            } else {
                if (o.lo != null && !o.lo.isUp()) {
                    planLinkSetting(ns, "lo", "up (was down)", LinkChange.set().up(true), LinkChange.set().up(false));
                }
                for (Map.Entry<String, String> s : ns.sysctls.entrySet()) {
                    String current = o.sysctls.get(s.getKey());
                    if (!s.getValue().equals(current)) {
                        planSysctl(ns, s.getKey(), s.getValue(), Change.Op.MODIFY,
                            current == null ? " (was unreadable)" : " (was " + current + ")");
                    }
                }
            }
        }

        // nsgate's links that are not (or no longer correctly) declared, and foreign links in the way
        Set<String> gone = new HashSet<>(); // "ns/name" of existing links that will be deleted
        for (DesiredState.Ns ns : d.namespaces.values()) {
            Observed o = observed.get(ns.name);
            if (!o.exists || !o.owned) {
                continue;
            }
            for (Link l : o.links.values()) {
                DesiredState.Iface want = ns.links.get(l.name());
                boolean ours = d.mark.equals(l.alias());
                if (want == null) {
                    if (ours) {
                        planDeleteLink(ns, l.name(), "(" + l.kind() + ", no longer in the file)");
                        gone.add(ns.name + "/" + l.name());
                    }
                } else if (!ours) {
                    conflicts.add(new Change(Change.Op.NOTE, "link", want.where() + " exists but was not created by "
                        + "nsgate (alias " + quote(l.alias()) + "): remove or rename it, or change the file"));
                } else if (!want.kind.equals(l.kind())) {
                    planDeleteLink(ns, l.name(), "(" + l.kind() + ", should be " + want.kind + ")");
                    gone.add(ns.name + "/" + l.name());
                }
            }
        }

        Set<DesiredState.Iface> created = new HashSet<>();
        for (DesiredState.Iface br : d.bridges) {
            if (!usable(br.ns) || blocked(br)) {
                continue;
            }
            Link cur = present(br, gone);
            if (cur == null) {
                planCreateBridge(br);
                created.add(br);
            } else {
                planSettings(br, cur, created);
            }
        }
        for (DesiredState.Iface[] pair : d.veths) {
            DesiredState.Iface a = pair[0];
            DesiredState.Iface b = pair[1];
            if (!usable(a.ns) || !usable(b.ns) || blocked(a) || blocked(b)) {
                continue;
            }
            Link la = present(a, gone);
            Link lb = present(b, gone);
            boolean sameNs = a.ns == b.ns;
            boolean paired = la != null && lb != null && la.peerIndex() == lb.index() && lb.peerIndex() == la.index()
                && (sameNs == (la.peerNetnsId() < 0)) && (sameNs == (lb.peerNetnsId() < 0));
            if (paired) {
                planSettings(a, la, created);
                planSettings(b, lb, created);
                continue;
            }
            for (Object[] end : new Object[][] {{a, la}, {b, lb}}) {
                DesiredState.Iface x = (DesiredState.Iface) end[0];
                if (end[1] != null) {
                    planDeleteLink(x.ns, x.name, "(veth, its peer is not " + x.peer.where() + ")");
                    gone.add(x.ns.name + "/" + x.name);
                }
            }
            planCreateVeth(a, b);
            created.add(a);
            created.add(b);
        }

        for (DesiredState.Iface br : d.bridges) {
            planAddresses(br, created);
        }
        for (DesiredState.Iface[] pair : d.veths) {
            planAddresses(pair[0], created);
            planAddresses(pair[1], created);
        }
        for (DesiredState.Ns ns : d.namespaces.values()) {
            if (usable(ns)) {
                planRoutes(ns);
                planRoutes6(ns);
            }
        }
    }

    /** A declared link whose name is taken by a foreign link (reported as a conflict already). */
    private boolean blocked(DesiredState.Iface x) {
        Observed o = observed.get(x.ns.name);
        Link l = o.links.get(x.name);
        return l != null && !d.mark.equals(l.alias());
    }

    /** The existing, nsgate-owned, right-kind link for a declared interface, unless it is being deleted. */
    private Link present(DesiredState.Iface x, Set<String> gone) {
        Observed o = observed.get(x.ns.name);
        Link l = o.links.get(x.name);
        if (l == null || gone.contains(x.ns.name + "/" + x.name) || !d.mark.equals(l.alias())
            || !x.kind.equals(l.kind())) {
            return null;
        }
        return l;
    }

    private void planCreateNamespace(DesiredState.Ns ns) {
        steps.add(new Step(new Change(Change.Op.ADD, "netns", ns.display()), () -> {
            NetNs h = NetNs.create(ns.fullName);
            handles.put(ns.name, h);
            Undo undo = () -> {
                NetNs gone = handles.remove(ns.name);
                if (gone != null) {
                    gone.close();
                }
                NetNs.delete(ns.fullName);
            };
            try {
                // lo up, and the mark that tells destroy this namespace is nsgate's
                h.rtnetlink().setLink("lo", LinkChange.set().up(true).alias(d.mark));
            } catch (RuntimeException e) {
                undo.run();
                throw e;
            }
            return undo;
        }));
    }

    private void planSysctl(DesiredState.Ns ns, String key, String value, Change.Op op, String was) {
        steps.add(new Step(new Change(op, "sysctl", ns.name + "/" + key + "=" + value + was), () -> {
            NetNs h = handle(ns);
            String old = h.sysctl(key);
            h.setSysctl(key, value);
            return () -> h.setSysctl(key, old);
        }));
    }

    private void planDeleteLink(DesiredState.Ns ns, String name, String why) {
        steps.add(new Step(new Change(Change.Op.REMOVE, "link", ns.name + "/" + name + " " + why), () -> {
            deleteIgnoringMissing(rt(ns), name);
            return null; // a deleted link cannot be brought back as it was
        }));
    }

    private void planCreateBridge(DesiredState.Iface br) {
        steps.add(new Step(new Change(Change.Op.ADD, "link", br.where() + " " + br.describe()), () -> {
            LinkChange s = LinkChange.set().up(true).alias(d.mark);
            if (br.mtu != null) {
                s.mtu(br.mtu);
            }
            RtNetlink rt = rt(br.ns);
            rt.createBridge(br.name, s);
            return () -> deleteIgnoringMissing(rt, br.name);
        }));
    }

    private void planCreateVeth(DesiredState.Iface a, DesiredState.Iface b) {
        // Create from the side with a bridge, so that its master is set in the same request.
        DesiredState.Iface creator = b.master != null && a.master == null ? b : a;
        DesiredState.Iface other = creator.peer;
        steps.add(new Step(new Change(Change.Op.ADD, "link", a.where() + " " + a.describe()), () -> {
            RtNetlink crt = rt(creator.ns);
            NetNs oh = handle(other.ns);
            LinkChange cs = LinkChange.set().up(true).alias(d.mark);
            if (creator.mtu != null) {
                cs.mtu(creator.mtu);
            }
            if (creator.master != null) {
                cs.master(crt.linkIndex(creator.master));
            }
            LinkChange ps = LinkChange.set();
            if (other.mtu != null) {
                ps.mtu(other.mtu);
            }
            crt.createVeth(creator.name, cs, other.name, oh.fd(), ps);
            Undo undo = () -> deleteIgnoringMissing(crt, creator.name);
            try {
                RtNetlink ort = oh.rtnetlink();
                LinkChange os = LinkChange.set().up(true).alias(d.mark);
                if (other.master != null) {
                    os.master(ort.linkIndex(other.master));
                }
                ort.setLink(other.name, os);
            } catch (RuntimeException e) {
                undo.run();
                throw e;
            }
            return undo;
        }));
    }

    /** Up, MTU and master of an existing link (or of a bridge port whose bridge is being created). */
    private void planSettings(DesiredState.Iface x, Link cur, Set<DesiredState.Iface> created) {
        if (!cur.isUp()) {
            planLinkSetting(x.ns, x.name, "up (was down)", LinkChange.set().up(true), LinkChange.set().up(false));
        }
        if (x.mtu != null && x.mtu != cur.mtu()) {
            planLinkSetting(x.ns, x.name, "mtu " + x.mtu + " (was " + cur.mtu() + ")", LinkChange.set().mtu(x.mtu),
                LinkChange.set().mtu(cur.mtu()));
        }
        Observed o = observed.get(x.ns.name);
        String curMaster = null;
        if (cur.masterIndex() != 0) {
            curMaster = o.links.values().stream().filter(l -> l.index() == cur.masterIndex()).map(Link::name)
                .findFirst().orElse("ifindex " + cur.masterIndex());
        }
        DesiredState.Iface bridge = x.master == null ? null : x.ns.links.get(x.master);
        boolean masterOk = Objects.equals(x.master, curMaster) && (bridge == null || !created.contains(bridge));
        if (!masterOk) {
            String text = (x.master == null ? "nomaster" : "master " + x.master)
                + " (was " + (curMaster == null ? "none" : curMaster) + ")";
            int oldMaster = cur.masterIndex();
            steps.add(new Step(new Change(Change.Op.MODIFY, "link", x.where() + " " + text), () -> {
                RtNetlink rt = rt(x.ns);
                int index = rt.linkIndex(x.name);
                rt.setLink(index, x.master == null ? LinkChange.set().noMaster()
                    : LinkChange.set().master(rt.linkIndex(x.master)));
                return () -> rt.setLink(index, oldMaster == 0 ? LinkChange.set().noMaster()
                    : LinkChange.set().master(oldMaster));
            }));
        }
    }

    private void planLinkSetting(DesiredState.Ns ns, String name, String text, LinkChange change, LinkChange back) {
        steps.add(new Step(new Change(Change.Op.MODIFY, "link", ns.name + "/" + name + " " + text), () -> {
            RtNetlink rt = rt(ns);
            int index = rt.linkIndex(name);
            rt.setLink(index, change);
            return () -> rt.setLink(index, back);
        }));
    }

    private void planAddresses(DesiredState.Iface x, Set<DesiredState.Iface> created) {
        if (!usable(x.ns) || blocked(x)) {
            return;
        }
        List<IpPrefix> have = new ArrayList<>();
        Observed o = observed.get(x.ns.name);
        Link cur = o.links.get(x.name);
        if (!created.contains(x) && cur != null) {
            for (InterfaceAddress a : o.addresses) {
                if (a.index() == cur.index()) {
                    have.add(a.prefix());
                }
            }
            for (InterfaceAddress6 a : o.addresses6) {
                if (a.index() == cur.index() && !a.prefix().address().isLinkLocal() && a.isPermanent()) {
                    have.add(a.prefix()); // link-local and router-advertised (SLAAC) addresses are the kernel's own
                }
            }
        }
        for (IpFamily family : IpFamily.values()) {
            List<IpPrefix> add = new ArrayList<>(x.addresses.stream().filter(a -> a.family() == family).toList());
            add.removeAll(have);
            List<IpPrefix> remove = new ArrayList<>(have.stream().filter(a -> a.family() == family).toList());
            remove.removeAll(x.addresses);
            planAddressChanges(x, add, remove);
        }
    }

    /** Steps for one family: an address replaced where one goes and another comes, then removals, then additions. */
    private void planAddressChanges(DesiredState.Iface x, List<IpPrefix> add, List<IpPrefix> remove) {
        while (!add.isEmpty() && !remove.isEmpty()) {
            IpPrefix n = add.remove(0);
            IpPrefix old = remove.remove(0);
            steps.add(new Step(new Change(Change.Op.MODIFY, "addr", x.where() + " " + n + " (was " + old + ")"), () -> {
                RtNetlink rt = rt(x.ns);
                int index = rt.linkIndex(x.name);
                rt.deleteAddress(index, old);
                try {
                    rt.addAddress(index, n);
                } catch (RuntimeException e) {
                    rt.addAddress(index, old);
                    throw e;
                }
                return () -> {
                    rt.deleteAddress(index, n);
                    rt.addAddress(index, old);
                };
            }));
        }
        for (IpPrefix old : remove) {
            steps.add(new Step(new Change(Change.Op.REMOVE, "addr", x.where() + " " + old), () -> {
                RtNetlink rt = rt(x.ns);
                int index = rt.linkIndex(x.name);
                rt.deleteAddress(index, old);
                return () -> rt.addAddress(index, old);
            }));
        }
        for (IpPrefix n : add) {
            steps.add(new Step(new Change(Change.Op.ADD, "addr", x.where() + " " + n), () -> {
                RtNetlink rt = rt(x.ns);
                int index = rt.linkIndex(x.name);
                rt.addAddress(index, n);
                return () -> {
                    try {
                        rt.deleteAddress(index, n);
                    } catch (NetlinkException e) {
                        if (e.errno() != Errno.EADDRNOTAVAIL && e.errno() != Errno.ENODEV) {
                            throw e;
                        }
                    }
                };
            }));
        }
    }

    private void planRoutes(DesiredState.Ns ns) {
        Observed o = observed.get(ns.name);
        List<KernelRoute> have = new ArrayList<>();
        for (KernelRoute r : o.routes) {
            if (r.protocol() != Rtnl.RTPROT_KERNEL && r.type() == Rtnl.RTN_UNICAST) {
                have.add(r);
            }
        }
        Map<Integer, String> names = new HashMap<>();
        for (Link l : o.links.values()) {
            names.put(l.index(), l.name());
        }
        for (DesiredState.RouteSpec want : ns.routes) {
            KernelRoute match = null;
            for (KernelRoute r : have) {
                if (r.destination().equals(want.to())) {
                    match = r;
                    break;
                }
            }
            if (match == null) {
                steps.add(new Step(new Change(Change.Op.ADD, "route", ns.name + "/" + want.describe()), () -> {
                    RtNetlink rt = rt(ns);
                    int oif = want.dev() == null ? 0 : rt.linkIndex(want.dev());
                    rt.addRoute(want.to(), want.via(), oif, Rtnl.RTPROT_STATIC, false);
                    return () -> rt.deleteRoute(new KernelRoute(want.to(), want.via(), oif, Rtnl.RT_TABLE_MAIN,
                        Rtnl.RTPROT_STATIC, 0, Rtnl.RTN_UNICAST, 0));
                }));
                continue;
            }
            have.remove(match);
            String curDev = match.outputIndex() == 0 ? null : names.get(match.outputIndex());
            boolean same = match.gateway() == want.via() && (want.dev() == null || want.dev().equals(curDev));
            if (same) {
                continue;
            }
            KernelRoute old = match;
            String was = (old.gateway() != 0 ? "via " + Ipv4Address.format(old.gateway()) : "")
                + (curDev != null ? (old.gateway() != 0 ? " " : "") + "dev " + curDev : "");
            steps.add(new Step(new Change(Change.Op.MODIFY, "route", ns.name + "/" + want.describe()
                + " (was " + was + ")"), () -> {
                RtNetlink rt = rt(ns);
                int oif = want.dev() == null ? 0 : rt.linkIndex(want.dev());
                rt.deleteRoute(old);
                try {
                    rt.addRoute(want.to(), want.via(), oif, Rtnl.RTPROT_STATIC, false);
                } catch (RuntimeException e) {
                    rt.addRoute(old.destination(), old.gateway(), old.outputIndex(), old.protocol(), false);
                    throw e;
                }
                return () -> {
                    rt.deleteRoute(new KernelRoute(want.to(), want.via(), oif, Rtnl.RT_TABLE_MAIN,
                        Rtnl.RTPROT_STATIC, 0, Rtnl.RTN_UNICAST, 0));
                    rt.addRoute(old.destination(), old.gateway(), old.outputIndex(), old.protocol(), false);
                };
            }));
        }
        for (KernelRoute extra : have) {
            String dev = extra.outputIndex() == 0 ? null : names.get(extra.outputIndex());
            String via = extra.gateway() != 0 ? " via " + Ipv4Address.format(extra.gateway()) : "";
            String text = extra.destinationText() + via + (dev != null ? " dev " + dev : "");
            steps.add(new Step(new Change(Change.Op.REMOVE, "route", ns.name + "/" + text), () -> {
                RtNetlink rt = rt(ns);
                try {
                    rt.deleteRoute(extra);
                } catch (NetlinkException e) {
                    if (e.errno() != Errno.ESRCH) {
                        throw e;
                    }
                    return null; // already gone with its link or its gateway's subnet, earlier in this apply
                }
                return () -> rt.addRoute(extra.destination(), extra.gateway(), extra.outputIndex(), extra.protocol(),
                    false);
            }));
        }
    }

    /**
     * IPv6 routes as {@link #planRoutes} does IPv4's; the kernel's own routes (connected prefixes, link-local) and
     * those learnt from router advertisements are left alone.
     */
    private void planRoutes6(DesiredState.Ns ns) {
        Observed o = observed.get(ns.name);
        List<KernelRoute6> have = new ArrayList<>();
        for (KernelRoute6 r : o.routes6) {
            if (r.protocol() != Rtnl.RTPROT_KERNEL && r.protocol() != Rtnl.RTPROT_RA && r.type() == Rtnl.RTN_UNICAST) {
                have.add(r);
            }
        }
        Map<Integer, String> names = new HashMap<>();
        for (Link l : o.links.values()) {
            names.put(l.index(), l.name());
        }
        for (DesiredState.Route6Spec want : ns.routes6) {
            KernelRoute6 match = have.stream().filter(r -> r.destination().equals(want.to())).findFirst().orElse(null);
            if (match != null) {
                have.remove(match);
                String curDev = match.outputIndex() == 0 ? null : names.get(match.outputIndex());
                if (Objects.equals(match.gateway(), want.via())
                    && (want.dev() == null || want.dev().equals(curDev))) {
                    continue;
                }
                planRoute6Removal(ns, match, names);
            }
            steps.add(new Step(new Change(Change.Op.ADD, "route", ns.name + "/" + want.describe()), () -> {
                RtNetlink rt = rt(ns);
                int oif = want.dev() == null ? 0 : rt.linkIndex(want.dev());
                rt.addRoute6(want.to(), want.via(), oif, Rtnl.RTPROT_STATIC);
                return () -> rt.deleteRoute6(new KernelRoute6(want.to(), want.via(), oif, Rtnl.RTPROT_STATIC,
                    Rtnl.RTN_UNICAST, 0));
            }));
        }
        for (KernelRoute6 extra : have) {
            planRoute6Removal(ns, extra, names);
        }
    }

    private void planRoute6Removal(DesiredState.Ns ns, KernelRoute6 old, Map<Integer, String> names) {
        String dev = old.outputIndex() == 0 ? null : names.get(old.outputIndex());
        String text = old.destinationText() + (old.gateway() != null ? " via " + old.gateway() : "")
            + (dev != null ? " dev " + dev : "");
        steps.add(new Step(new Change(Change.Op.REMOVE, "route", ns.name + "/" + text), () -> {
            RtNetlink rt = rt(ns);
            try {
                rt.deleteRoute6(old);
            } catch (NetlinkException e) {
                if (e.errno() != Errno.ESRCH) {
                    throw e;
                }
                return null; // gone with its link or its gateway's subnet, earlier in this apply
            }
            return () -> rt.addRoute6(old.destination(), old.gateway(), old.outputIndex(), old.protocol());
        }));
    }

    // ------------------------------------------------------------------------------------------------ plan destroy

    private void planDestroy() {
        List<Step> linkSteps = new ArrayList<>();
        List<Step> nsSteps = new ArrayList<>();
        Set<String> shown = new HashSet<>();
        for (DesiredState.Ns ns : d.namespaces.values()) {
            Observed o = observed.get(ns.name);
            if (!o.exists) {
                continue;
            }
            if (!o.owned) {
                notes.add(new Change(Change.Op.NOTE, "netns", ns.display() + " was not created by nsgate for "
                    + d.topologyName + " (lo alias " + quote(o.loAlias) + "), left alone"));
                continue;
            }
            List<String> foreign = new ArrayList<>();
            List<Link> ours = new ArrayList<>();
            for (Link l : o.links.values()) {
                if (d.mark.equals(l.alias())) {
                    ours.add(l);
                } else {
                    foreign.add(l.name());
                    if (ns.links.containsKey(l.name())) {
                        notes.add(new Change(Change.Op.NOTE, "link", ns.name + "/" + l.name() + " was not created by "
                            + "nsgate (alias " + quote(l.alias()) + "), left alone"));
                    }
                }
            }
            boolean keep = !foreign.isEmpty();
            for (Link l : ours) {
                DesiredState.Iface want = ns.links.get(l.name());
                String key = ns.name + "/" + l.name();
                if (!keep && want != null && want.peer != null && shown.contains(want.peer.where())) {
                    continue; // the pair is already listed from its other end and goes with this namespace
                }
                shown.add(key);
                String text = key + " " + (want != null ? want.describe() : "(" + l.kind() + ")");
                Change c = new Change(Change.Op.REMOVE, "link", text);
                if (keep) {
                    linkSteps.add(new Step(c, () -> {
                        deleteIgnoringMissing(rt(ns), l.name());
                        return null;
                    }));
                } else {
                    linkSteps.add(new Step(c, () -> null)); // goes with its namespace
                }
            }
            if (keep) {
                notes.add(new Change(Change.Op.NOTE, "netns", ns.display() + " kept: it holds interfaces nsgate did "
                    + "not create (" + String.join(", ", foreign) + ")"));
            } else {
                nsSteps.add(new Step(new Change(Change.Op.REMOVE, "netns", ns.display()), () -> {
                    NetNs h = handles.remove(ns.name);
                    if (h != null) {
                        h.close();
                    }
                    NetNs.delete(ns.fullName);
                    return null;
                }));
            }
        }
        steps.addAll(linkSteps);
        steps.addAll(nsSteps);
    }

    // ------------------------------------------------------------------------------------------------ execute

    private TopologyReport execute(StepListener listener) {
        List<Change> done = new ArrayList<>();
        Deque<Object[]> undos = new ArrayDeque<>(); // {Change, Undo}
        for (Step step : steps) {
            try {
                if (listener != null) {
                    listener.beforeStep(step.change());
                }
                Undo undo = step.action().run();
                done.add(step.change());
                if (undo != null) {
                    undos.push(new Object[] {step.change(), undo});
                }
            } catch (Exception e) {
                List<Change> rolledBack = new ArrayList<>();
                List<String> failures = new ArrayList<>();
                while (!undos.isEmpty()) {
                    Object[] u = undos.pop();
                    try {
                        ((Undo) u[1]).run();
                        rolledBack.add((Change) u[0]);
                    } catch (Exception ue) {
                        failures.add(u[0] + ": " + ue.getMessage());
                    }
                }
                for (Change c : done) {
                    if (!rolledBack.contains(c) && failures.stream().noneMatch(f -> f.startsWith(c.toString()))) {
                        failures.add(c + ": cannot be undone");
                    }
                }
                throw new TopologyApplyException(step.change(), e, done, rolledBack, failures);
            }
        }
        return new TopologyReport(d.topologyName, d.prefix, done, notes);
    }

    private TopologyReport executeBestEffort() {
        List<Change> done = new ArrayList<>();
        Change firstFailed = null;
        Exception firstCause = null;
        List<String> failures = new ArrayList<>();
        for (Step step : steps) {
            try {
                step.action().run();
                done.add(step.change());
            } catch (Exception e) {
                if (firstFailed == null) {
                    firstFailed = step.change();
                    firstCause = e;
                }
                failures.add(step.change() + ": " + e.getMessage());
            }
        }
        if (firstFailed != null) {
            throw new TopologyApplyException(firstFailed, firstCause, done, List.of(), failures);
        }
        return new TopologyReport(d.topologyName, d.prefix, done, notes);
    }

    // ------------------------------------------------------------------------------------------------ helpers

    private NetNs handle(DesiredState.Ns ns) {
        NetNs h = handles.get(ns.name);
        if (h == null) {
            h = NetNs.open(ns.fullName);
            handles.put(ns.name, h);
        }
        return h;
    }

    private RtNetlink rt(DesiredState.Ns ns) {
        return handle(ns).rtnetlink();
    }

    private static void deleteIgnoringMissing(RtNetlink rt, String name) {
        try {
            rt.deleteLink(name);
        } catch (NetlinkException e) {
            if (e.errno() != Errno.ENODEV) {
                throw e;
            }
        }
    }

    private static String quote(String alias) {
        return alias == null ? "none" : "\"" + alias + "\"";
    }

    private void closeHandles() {
        for (NetNs h : handles.values()) {
            h.close();
        }
        handles.clear();
    }
}
