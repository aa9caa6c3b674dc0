// Live rule changes, each in the order that keeps the kernel from answering what the data plane owns, and back.
package io.nsgate.control.daemon;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.function.Consumer;

import io.nsgate.control.netlink.Link;
import io.nsgate.dataplane.conntrack.FlowCursor;
import io.nsgate.dataplane.conntrack.FlowRecord;
import io.nsgate.dataplane.conntrack.FlowSnapshot;
import io.nsgate.dataplane.conntrack.FlowTable;
import io.nsgate.dataplane.guard.KernelGuard;
import io.nsgate.dataplane.nat.ForwardRule;
import io.nsgate.dataplane.nat.GatewayInterface;
import io.nsgate.dataplane.nat.MasqueradeRule;
import io.nsgate.dataplane.nat.RuleSet;
import io.nsgate.dataplane.pipeline.DataPlane;
import io.nsgate.linux.net.IpPrefix;
import io.nsgate.linux.net.Ipv4Prefix;
import io.nsgate.linux.net.Ipv6Address;
import io.nsgate.linux.net.Ipv6Prefix;

/**
 * The rules change in two places that do not change together: the kernel guards ({@link KernelGuard#update}, which
 * frames the kernel no longer sees) and the workers ({@link DataPlane#rules}, which frames they serve). The order
 * decides what a client sees in between:
 * <ul>
 *   <li>a forward is <b>added</b>: guards first (for a moment the port is unanswered and clients retransmit their
 *       SYN), then the workers; were it the other way round, the kernel would answer the first SYNs with RST;</li>
 *   <li>a forward is <b>removed</b>: the workers first (they stop creating flows for it), and the forward
 *       <em>lingers</em> in the rules ({@link RuleSet#lingeringForwards()}), so the guards keep its frames from the
 *       kernel while its flows live; {@link #dropDrainedLingeringForwards} lets it go once the last flow ended;</li>
 *   <li>masquerade rules and MTUs concern the workers alone.</li>
 * </ul>
 * Changes are serialized (this object's lock). The rules and the running configuration are published through
 * volatile fields, so status and lists never wait behind a change that waits for the workers or the kernel.
 */
final class RuleChanges {
    private final DataPlane dataPlane;
    private final List<KernelGuard> guards;
    private final String lan;
    private final Consumer<String> log;
    private volatile RuleSet rules;
    private volatile GatewayConfig config;
    private boolean closed;

    /** @param guards the attached guards, enforcing {@code rules} already */
    RuleChanges(RuleSet rules, GatewayConfig config, DataPlane dataPlane, List<KernelGuard> guards,
                Consumer<String> log) {
        this.rules = rules;
        this.config = config;
        this.dataPlane = dataPlane;
        this.guards = List.copyOf(guards);
        this.lan = config.lan();
        this.log = log;
    }

    RuleSet rules() {
        return rules;
    }

    /** The running configuration: the one started with, and every rule change since. */
    GatewayConfig config() {
        return config;
    }

    /** Adds a forward: the guard starts dropping its frames for the kernel first, then workers start serving it. */
    synchronized void addForward(ForwardRule forward) {
        checkOpen();
        RuleSet next = build(rules.toBuilder().forward(forward));
        try {
            updateGuards(next);
        } catch (RuntimeException e) {
            restoreGuards(e);
            throw e;
        }
        commit(next);
    }

    /**
     * Removes a forward: workers stop creating flows for it first; the guard keeps its frames from the kernel while
     * flows through it live, so those keep working and the kernel never resets them.
     *
     * @return false when no such forward exists
     */
    synchronized boolean removeForward(ForwardRule forward) {
        checkOpen();
        RuleSet.Builder b = rules.toBuilder();
        if (!b.removeForward(forward)) {
            return false;
        }
        RuleSet next = build(b); // the forward lingers: its flows stay hidden from the kernel while they live
        try {
            commit(next);
        } finally {
            updateGuards(next);
        }
        return true;
    }

    synchronized void addMasquerade(IpPrefix source) {
        checkOpen();
        commit(build(rules.toBuilder().masquerade(MasqueradeRule.masquerade(source, lan))));
    }

    synchronized boolean removeMasquerade(IpPrefix source) {
        checkOpen();
        RuleSet.Builder b = rules.toBuilder();
        if (!b.removeMasquerade(MasqueradeRule.masquerade(source, lan))) {
            return false;
        }
        commit(build(b));
        return true;
    }

    /** Follows MTU changes of the interfaces (the router checks use the egress MTU). */
    synchronized void followMtus(List<Link> links) {
        if (closed) {
            return;
        }
        boolean changed = false;
        RuleSet.Builder b = rules.toBuilder();
        for (GatewayInterface i : rules.interfaces()) {
            for (Link l : links) {
                if (l.name().equals(i.name()) && l.mtu() != i.mtu()) {
                    log.accept("interface " + i.name() + ": MTU " + i.mtu() + " -> " + l.mtu());
                    b.mtu(i.name(), l.mtu());
                    changed = true;
                }
            }
        }
        if (changed) {
            commit(build(b));
        }
    }

    /**
     * The kernel changed an interface's IPv4 address: the rules take the new one (guards first, so the kernel never
     * answers what the data plane will own, then the workers), and, as netfilter's MASQUERADE does when an address
     * goes, the flows translated to the old address end (nobody can answer them there any more). An interface that
     * lost its last address keeps the one it had, with a warning; a change the rules cannot take (a forward bound to
     * the old address) is refused with a warning and the rules stay as they were.
     *
     * @param current each served interface's first IPv4 address now, by name (absent: none)
     */
    synchronized void followAddresses(Map<String, Ipv4Prefix> current, Map<String, List<Ipv6Prefix>> current6) {
        if (closed) {
            return;
        }
        RuleSet.Builder b = rules.toBuilder();
        List<Integer> gone = new ArrayList<>();
        boolean ipv6Changed = false;
        for (GatewayInterface i : rules.interfaces()) {
            List<Ipv6Prefix> now6 = current6.getOrDefault(i.name(), List.of());
            if (!new java.util.HashSet<>(now6).equals(new java.util.HashSet<>(i.ipv6()))) {
                log.accept("interface " + i.name() + ": IPv6 addresses " + i.ipv6() + " -> " + now6);
                b.ipv6Addresses(i.name(), now6);
                ipv6Changed = true;
            }
            Ipv4Prefix now = current.get(i.name());
            if (now == null) {
                log.accept("warning: interface " + i.name() + " has no IPv4 address any more; the data plane keeps "
                    + i.address() + " until it has one");
            } else if (!now.equals(i.address())) {
                log.accept("interface " + i.name() + ": address " + i.address() + " -> " + now);
                b.address(i.name(), now);
                gone.add(i.ip());
            }
        }
        if (gone.isEmpty() && !ipv6Changed) {
            return;
        }
        RuleSet next;
        try {
            next = build(b);
        } catch (GatewayConfigException e) {
            log.accept("warning: the new address does not fit the rules, which stay as they were: " + e.getMessage());
            return;
        }
        try {
            updateGuards(next);
        } catch (RuntimeException e) {
            restoreGuards(e);
            log.accept("warning: the guards refused the new addresses: " + e.getMessage());
            return;
        }
        commit(next);
        int ended = 0;
        FlowTable table = dataPlane.flowTable();
        for (FlowCursor flows = table.cursor(); flows.next(); ) {
            FlowSnapshot f = flows.flow();
            if (!f.mapping && (f.natFlags & FlowRecord.NAT_SNAT) != 0 && gone.contains(f.replyDstIp)
                && table.delete(FlowTable.handle(f.flowId, f.generation))) {
                ended++;
            }
        }
        if (ended > 0) {
            log.accept("  " + ended + " flow(s) translated to the old address ended, as MASQUERADE's do");
        }
    }

    /**
     * Forgets removed forwards whose last flow is gone, so the kernel sees their ports again. The scan of the flow
     * table runs without the lock (changes and readers never wait for it); the result is applied only if the rules
     * did not change meanwhile (else the next pass decides).
     */
    void dropDrainedLingeringForwards() {
        final RuleSet scannedRules = rules;
        final List<ForwardRule> scanned = scannedRules.lingeringForwards();
        if (scanned.isEmpty()) {
            return;
        }
        List<ForwardRule> stillUsed = new ArrayList<>();
        collectUsed(dataPlane.flowTable(), false, scanned, stillUsed);
        collectUsed(dataPlane.flowTable6().table(), true, scanned, stillUsed);
        if (stillUsed.size() == scanned.size()) {
            return;
        }
        synchronized (this) {
            if (closed || rules != scannedRules) {
                return; // the rules changed meanwhile: the next pass decides
            }
            RuleSet next = build(rules.toBuilder().retainLingering(stillUsed::contains));
            try {
                commit(next);
            } finally {
                updateGuards(next); // as removeForward: the guards follow the rules even when the workers are late
            }
        }
    }

    /**
     * Adds to {@code stillUsed} the forwards of {@code scanned} (of the table's family) that a live DNAT flow of
     * {@code table} was made by. The IPv6 table's addresses are digests: a forward bound to an address is matched by
     * its digest, an address-less one by protocol and port (a LAN address then).
     */
    private void collectUsed(FlowTable table, boolean ipv6, List<ForwardRule> scanned, List<ForwardRule> stillUsed) {
        for (FlowCursor flows = table.cursor(); stillUsed.size() < scanned.size() && flows.next(); ) {
            FlowSnapshot s = flows.flow();
            if (s.mapping || (s.natFlags & FlowRecord.NAT_DNAT) == 0) {
                continue;
            }
            for (ForwardRule f : scanned) {
                if (stillUsed.contains(f) || f.ipv6() != ipv6) {
                    continue;
                }
                // a flow of an address-less forward was made to a LAN address: it matched then
                boolean used = ipv6
                    ? f.proto() == s.proto && f.externalPorts().contains(s.origDstPort) && (f.external().address6() == null
                        || dataPlane.flowTable6().digest(f.external().address6().high(),
                            f.external().address6().low()) == s.origDstIp)
                    : f.matches(s.proto, s.origDstIp, s.origDstPort, true);
                if (used) {
                    stillUsed.add(f);
                }
            }
        }
    }

    /**
     * Makes {@code next} (a configuration file read again) the running configuration, applying the difference live
     * as forward and masquerade changes do: forwards and masquerade rules added and removed (removed forwards linger
     * while their flows live), the reverse-path filter and TCP tracking policies changed; no flow is dropped. What only
     * a start can change (namespace, interfaces, workers, NAT range, table size, timeouts) must be as it runs, or the
     * whole file is refused; a file whose rules do not build is refused whole too. Either way nothing changes then.
     *
     * @return what changed, one line each (empty: nothing)
     * @throws GatewayConfigException naming every reason the file was refused
     */
    synchronized List<String> reload(GatewayConfig next) {
        checkOpen();
        GatewayConfig now = config;
        List<String> fixed = new ArrayList<>();
        fixedField(fixed, "netns", now.netns(), next.netns());
        fixedField(fixed, "lan", now.lan(), next.lan());
        fixedField(fixed, "inside", now.inside(), next.inside());
        fixedField(fixed, "workers", now.workers(), next.workers());
        fixedField(fixed, "natPorts", now.natPorts(), next.natPorts());
        fixedField(fixed, "flowTableSize", now.flowTableSize(), next.flowTableSize());
        fixedField(fixed, "timeouts", timeouts(now), timeouts(next));
        fixedField(fixed, "stateFile", now.stateFile(), next.stateFile());
        fixedField(fixed, "pinDirectory", now.pinDirectory(), next.pinDirectory());
        if (!fixed.isEmpty()) {
            throw new GatewayConfigException(null, fixed);
        }
        List<String> changed = new ArrayList<>();
        RuleSet.Builder b = rules.toBuilder();
        for (ForwardRule f : rules.forwards()) {
            if (!next.forwards().contains(f)) {
                b.removeForward(f);
                changed.add("forward removed: " + f + " (lingers while its connections live)");
            }
        }
        for (ForwardRule f : next.forwards()) {
            if (!rules.forwards().contains(f)) {
                b.forward(f);
                changed.add("forward added: " + f);
            }
        }
        List<IpPrefix> before = now.masquerade();
        for (IpPrefix p : before) {
            if (next.masquerade().stream().noneMatch(p::sameNetwork)) {
                b.removeMasquerade(MasqueradeRule.masquerade(p, lan));
                changed.add("masquerade removed: " + p);
            }
        }
        for (IpPrefix p : next.masquerade()) {
            if (before.stream().noneMatch(p::sameNetwork)) {
                b.masquerade(MasqueradeRule.masquerade(p, lan));
                changed.add("masquerade added: " + p);
            }
        }
        if (next.reversePathFilter() != now.reversePathFilter()) {
            b.reversePathFilter(next.reversePathFilter());
            changed.add("reversePathFilter: " + now.reversePathFilter().id() + " -> " + next.reversePathFilter().id());
        }
        if (!next.tcp().equals(now.tcp())) {
            changed.add("tcp: " + now.tcp() + " -> " + next.tcp());
        }
        if (changed.isEmpty()) {
            return changed;
        }
        RuleSet built = build(b);
        try {
            updateGuards(built);
        } catch (RuntimeException e) {
            restoreGuards(e);
            throw e;
        }
        try {
            commit(built); // may throw when workers are late: the change stands all the same (see commit)
        } finally {
            if (!next.tcp().equals(now.tcp())) {
                dataPlane.flowTable().tcpTracking(next.tcp());
                dataPlane.flowTable6().table().tcpTracking(next.tcp());
            }
            config = next.withForwards(built.forwards())
                .withMasquerade(built.masquerade().stream().map(MasqueradeRule::source).toList());
        }
        return changed;
    }

    /** The timeouts as the file has them, in seconds. */
    private static String timeouts(GatewayConfig c) {
        GatewayConfig.File.Timeouts t = c.toFile().timeouts;
        return "{udp " + t.udp + ", udpReplied " + t.udpReplied + ", icmp " + t.icmp + ", tcpEstablished "
            + t.tcpEstablished + ", tcpTimeWait " + t.tcpTimeWait + "}";
    }

    private static void fixedField(List<String> problems, String field, Object now, Object next) {
        if (!java.util.Objects.equals(now, next)) {
            problems.add(field + ": " + now + " -> " + next + " takes a restart (a reload changes rules and policies"
                + " only); nothing was changed");
        }
    }

    /** No change after this one (the gateway is closing). */
    synchronized void close() {
        closed = true;
    }

    private void checkOpen() {
        if (closed) {
            throw new IllegalStateException("the gateway is shutting down");
        }
    }

    /**
     * Makes {@code next} the gateway's rules, then hands it to the workers. The state is committed first: if the
     * workers do not confirm in time, their commands are queued all the same and apply when they run, so what
     * status, lists and config save report is what the workers will use (the caller still learns of the delay).
     */
    private void commit(RuleSet next) {
        rules = next;
        config = config.withForwards(next.forwards())
            .withMasquerade(next.masquerade().stream().map(MasqueradeRule::source).toList());
        dataPlane.rules(next);
    }

    /** After a failed guard update: every guard back to the current rules (best effort), the failure kept. */
    private void restoreGuards(RuntimeException failure) {
        try {
            updateGuards(rules);
        } catch (RuntimeException e) {
            failure.addSuppressed(e);
        }
    }

    private void updateGuards(RuleSet next) {
        for (KernelGuard g : guards) {
            g.update(next.ownership());
        }
    }

    private static RuleSet build(RuleSet.Builder b) {
        try {
            return b.build();
        } catch (IllegalArgumentException e) {
            throw new GatewayConfigException(null, List.of(e.getMessage()));
        }
    }
}
