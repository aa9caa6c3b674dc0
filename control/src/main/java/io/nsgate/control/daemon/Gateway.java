// A running gateway: the data plane attached to real interfaces, the kernel kept out of its flows, rules live.
package io.nsgate.control.daemon;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;

import io.nsgate.control.netlink.InterfaceAddress;
import io.nsgate.control.netlink.KernelRoute;
import io.nsgate.control.netlink.Link;
import io.nsgate.control.netlink.Neighbour;
import io.nsgate.control.netlink.RtNetlink;
import io.nsgate.control.netns.NetNs;
import io.nsgate.dataplane.conntrack.FlowRecord;
import io.nsgate.dataplane.conntrack.FlowSnapshot;
import io.nsgate.dataplane.conntrack.FlowTable;
import io.nsgate.dataplane.guard.KernelGuard;
import io.nsgate.dataplane.io.AfPacketOptions;
import io.nsgate.dataplane.io.AfPacketPort;
import io.nsgate.dataplane.io.PacketPort;
import io.nsgate.dataplane.io.PortPoller;
import io.nsgate.dataplane.nat.ForwardRule;
import io.nsgate.dataplane.nat.GatewayInterface;
import io.nsgate.dataplane.nat.MasqueradeRule;
import io.nsgate.dataplane.nat.Ownership;
import io.nsgate.dataplane.nat.RuleSet;
import io.nsgate.dataplane.pipeline.DataPlane;
import io.nsgate.linux.net.Ipv4Address;
import io.nsgate.linux.net.Ipv4Prefix;
import io.nsgate.linux.net.MacAddress;

/**
 * Starting a gateway, in order (anything failing undoes what was done and says what to check):
 * <ol>
 *   <li>enter the configured network namespace (sockets keep the namespace they are created in);</li>
 *   <li>find the interfaces over rtnetlink: index, MTU, MAC, first IPv4 address; the namespace's routes through
 *       them (e.g. a default route via a LAN router) become the data plane's routes;</li>
 *   <li>turn IP forwarding off in the namespace (the data plane forwards, not the kernel) and reserve the NAT port
 *       range from the kernel's ephemeral ports (net.ipv4.ip_local_reserved_ports), both restored on close;</li>
 *   <li>open one AF_PACKET port per worker per interface (each interface's ports form a fanout group), start the
 *       workers, seed their ARP cache from the kernel's neighbour table;</li>
 *   <li>attach the tcx guard on each interface, so the kernel stops seeing (and answering) the frames the data
 *       plane owns.</li>
 * </ol>
 * Rule changes keep the kernel from ever answering an owned SYN with RST: a new forward is added to the guard
 * first and to the workers second; a removed forward leaves the workers first and the guard only when its last
 * flow is gone ("lingering").
 */
public final class Gateway implements AutoCloseable {
    private static final String RESERVED_PORTS = "net.ipv4.ip_local_reserved_ports";
    private static final String IP_FORWARD = "net.ipv4.ip_forward";

    private final GatewayConfig config;
    private final NetNs netns;
    private final Consumer<String> log;
    private final List<KernelGuard> guards = new ArrayList<>();
    private final ScheduledExecutorService maintenance;
    private final long startedNs = System.nanoTime();
    private DataPlane dataPlane;
    // Written under the lock by changes; read without it (volatile), so that status and lists never wait behind a
    // change that waits for the workers or the kernel.
    private volatile RuleSet rules;
    private volatile GatewayConfig current;
    private String reservedPortsBefore;
    private volatile boolean closed;

    private Gateway(GatewayConfig config, NetNs netns, Consumer<String> log) {
        this.config = config;
        this.current = config;
        this.netns = netns;
        this.log = log;
        this.maintenance = Executors.newSingleThreadScheduledExecutor(r -> {
            Thread t = new Thread(r, "nsgate-maintenance");
            t.setDaemon(true);
            return t;
        });
    }

    /**
     * Starts a gateway.
     *
     * @throws GatewayConfigException the configuration does not fit the interfaces found (bad input)
     * @throws GatewayException       a missing interface, namespace or kernel feature (what to check is in the
     *                                message)
     */
    public static Gateway start(GatewayConfig config, Consumer<String> log) {
        NetNs ns = null;
        if (config.netns() != null) {
            if (!NetNs.exists(config.netns())) {
                throw new GatewayException("network namespace " + config.netns() + " does not exist "
                    + "(ip netns list; nsgate topology apply creates the seed lab's)");
            }
            ns = NetNs.open(config.netns());
        }
        Gateway g = new Gateway(config, ns, log);
        try {
            g.startInside();
            return g;
        } catch (RuntimeException e) {
            g.close();
            throw e;
        }
    }

    private void startInside() {
        String where = netns == null ? "the current network namespace" : "network namespace " + netns.name();
        RtNetlink rt = netns != null ? netns.rtnetlink() : RtNetlink.open("current namespace");
        try {
            List<Link> links = rt.links();
            List<InterfaceAddress> addresses = rt.addresses();
            List<String> names = new ArrayList<>();
            names.add(config.lan());
            names.addAll(config.inside());
            RuleSet.Builder b = RuleSet.builder().natPorts(config.natPorts());
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
                b.iface(name, i == 0 ? GatewayInterface.Role.LAN : GatewayInterface.Role.INSIDE,
                    address.prefix(), link.mtu());
                found.add(link);
            }
            for (KernelRoute r : rt.routes()) {
                for (Link l : found) {
                    if (r.outputIndex() == l.index() && r.gateway() != 0) {
                        b.route(r.destination(), l.name(),
                            r.gateway());
                    }
                }
            }
            for (Ipv4Prefix source : config.masquerade()) {
                b.masquerade(MasqueradeRule.masquerade(source, config.lan()));
            }
            config.forwards().forEach(b::forward);
            try {
                rules = b.build();
            } catch (IllegalArgumentException e) {
                throw new GatewayConfigException("configuration", List.of(e.getMessage()));
            }

            setSysctls();
            openDataPlane(found);
            seedNeighbours(rt, found);
            attachGuards(found);
            log.accept("nsgate running in " + where + " with " + config.workers() + " worker(s)");
            for (GatewayInterface i : rules.interfaces()) {
                log.accept("  attached to " + i);
            }
            for (MasqueradeRule m : rules.masquerade()) {
                log.accept("  masquerade " + m.source() + " out of " + m.egressInterface());
            }
            for (ForwardRule f : rules.forwards()) {
                log.accept("  forward " + f);
            }
            log.accept("  NAT ports " + rules.natPorts() + " (reserved from the kernel's ephemeral ports)");
            maintenance.scheduleWithFixedDelay(this::maintain, 2, 2, TimeUnit.SECONDS);
        } finally {
            if (netns == null) {
                rt.close();
            }
        }
    }

    private void setSysctls() {
        String forward = sysctl(IP_FORWARD);
        if (!"0".equals(forward)) {
            setSysctl(IP_FORWARD, "0");
            log.accept("  set " + IP_FORWARD + "=0 (was " + forward + "): the data plane forwards, not the kernel");
        }
        reservedPortsBefore = sysctl(RESERVED_PORTS);
        String range = config.natPorts().first() + "-" + config.natPorts().last();
        setSysctl(RESERVED_PORTS, reservedPortsBefore.isEmpty() ? range : reservedPortsBefore + "," + range);
    }

    private void openDataPlane(List<Link> links) {
        PacketPort[][] ports = new PacketPort[config.workers()][links.size()];
        try {
            for (int i = 0; i < links.size(); i++) {
                Link link = links.get(i);
                int group = (int) ((ProcessHandle.current().pid() * 131 + link.index()) & 0xFFFF);
                AfPacketOptions options = AfPacketOptions.defaults().toBuilder().fanoutGroup(group).build();
                for (int w = 0; w < config.workers(); w++) {
                    ports[w][i] = inside(() -> AfPacketPort.open(link.name(), options));
                }
            }
        } catch (RuntimeException e) {
            for (PacketPort[] row : ports) {
                for (PacketPort p : row) {
                    if (p != null) {
                        p.close();
                    }
                }
            }
            throw e;
        }
        dataPlane = new DataPlane(new DataPlane.Settings(config.flowTableSize(), config.timeouts(), 4096, 1024),
            rules, ports, workerPorts -> {
                PortPoller poller = new PortPoller(workerPorts);
                return poller::poll;
            });
        dataPlane.start();
    }

    private void seedNeighbours(RtNetlink rt, List<Link> links) {
        long now = System.nanoTime();
        for (Neighbour n : rt.neighbours()) {
            for (int i = 0; i < links.size(); i++) {
                if (links.get(i).index() == n.index() && n.mac() != null && n.address() != 0) {
                    dataPlane.neighbours().learn(i, n.address(), MacAddress.parse(n.mac()), now);
                }
            }
        }
    }

    private void attachGuards(List<Link> links) {
        Ownership ownership = rules.ownership();
        for (Link link : links) {
            guards.add(inside(() -> KernelGuard.attach(link.name(), ownership)));
        }
    }

    // ------------------------------------------------------------------ live changes

    public RuleSet rules() {
        return rules;
    }

    public GatewayConfig config() {
        return current;
    }

    public DataPlane dataPlane() {
        return dataPlane;
    }

    public String namespace() {
        return netns == null ? null : netns.name();
    }

    public long uptimeNs() {
        return System.nanoTime() - startedNs;
    }

    /** Adds a forward: the guard starts dropping its frames for the kernel first, then workers start serving it. */
    public synchronized void addForward(ForwardRule forward) {
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
    public synchronized boolean removeForward(ForwardRule forward) {
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

    public synchronized void addMasquerade(Ipv4Prefix source) {
        RuleSet next = build(rules.toBuilder().masquerade(MasqueradeRule.masquerade(source, config.lan())));
        commit(next);
    }

    public synchronized boolean removeMasquerade(Ipv4Prefix source) {
        RuleSet.Builder b = rules.toBuilder();
        if (!b.removeMasquerade(MasqueradeRule.masquerade(source, config.lan()))) {
            return false;
        }
        RuleSet next = build(b);
        commit(next);
        return true;
    }

    /**
     * Makes {@code next} the gateway's rules, then hands it to the workers. The state is committed first: if the
     * workers do not confirm in time, their commands are queued all the same and apply when they run, so what
     * status, lists and config save report is what the workers will use (the caller still learns of the delay).
     */
    private void commit(RuleSet next) {
        rules = next;
        current = current.withForwards(next.forwards())
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

    private static RuleSet build(RuleSet.Builder b) {
        try {
            return b.build();
        } catch (IllegalArgumentException e) {
            throw new GatewayConfigException(null, List.of(e.getMessage()));
        }
    }

    private void updateGuards(RuleSet next) {
        for (KernelGuard g : guards) {
            g.update(next.ownership());
        }
    }

    private void maintain() {
        try {
            refreshMtus();
            dropDrainedLingeringForwards();
        } catch (RuntimeException e) {
            log.accept("warning: maintenance: " + e.getMessage());
        }
    }

    /** Follows MTU changes of the interfaces (the router checks use the egress MTU). */
    private synchronized void refreshMtus() {
        if (closed) {
            return;
        }
        List<Link> links = netns != null ? netns.rtnetlink().links() : List.of();
        if (netns == null) {
            try (RtNetlink rt = RtNetlink.open("current namespace")) {
                links = rt.links();
            }
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
     * Forgets removed forwards whose last flow is gone, so the kernel sees their ports again. The scan of the flow
     * table runs without the lock (changes and readers never wait for it); the result is applied only if the
     * lingering forwards did not change meanwhile (else the next pass decides).
     */
    private void dropDrainedLingeringForwards() {
        final RuleSet scannedRules = rules;
        final List<ForwardRule> scanned = scannedRules.lingeringForwards();
        if (scanned.isEmpty() || closed) {
            return;
        }
        FlowTable table = dataPlane.flowTable();
        FlowSnapshot s = new FlowSnapshot();
        List<ForwardRule> stillUsed = new ArrayList<>();
        for (int id = 0; id < table.capacity() && stillUsed.size() < scanned.size(); id++) {
            if (!table.snapshot(id, s) || s.mapping || (s.natFlags & FlowRecord.NAT_DNAT) == 0) {
                continue;
            }
            for (ForwardRule f : scanned) {
                if (f.proto() == s.proto && f.externalPorts().contains(s.origDstPort)
                    && (f.externalAddress() == 0 || f.externalAddress() == s.origDstIp) && !stillUsed.contains(f)) {
                    stillUsed.add(f);
                }
            }
        }
        if (stillUsed.size() == scanned.size()) {
            return;
        }
        synchronized (this) {
            if (closed || rules != scannedRules) {
                return; // the rules changed meanwhile: the next pass decides
            }
            RuleSet next = build(rules.toBuilder().retainLingering(stillUsed::contains));
            commit(next);
            updateGuards(next);
        }
    }

    // ------------------------------------------------------------------ plumbing

    private <T> T inside(Callable<T> task) {
        try {
            return netns == null ? task.call() : netns.call(task);
        } catch (RuntimeException e) {
            throw e;
        } catch (Exception e) {
            throw new GatewayException(e.getMessage(), e);
        }
    }

    private String sysctl(String key) {
        return netns != null ? netns.sysctl(key) : NetNs.readSysctl(key);
    }

    private void setSysctl(String key, String value) {
        if (netns != null) {
            netns.setSysctl(key, value);
        } else {
            NetNs.writeSysctl(key, value);
        }
    }

    /** Detaches the guards first (the kernel sees everything again), then stops the workers, then restores sysctls. */
    @Override
    public synchronized void close() {
        if (closed) {
            return;
        }
        closed = true;
        maintenance.shutdownNow();
        for (KernelGuard g : guards) {
            try {
                g.close();
            } catch (RuntimeException e) {
                log.accept("warning: detaching the kernel guard: " + e.getMessage());
            }
        }
        guards.clear();
        if (dataPlane != null) {
            dataPlane.close();
        }
        if (reservedPortsBefore != null) {
            try {
                setSysctl(RESERVED_PORTS, reservedPortsBefore);
            } catch (RuntimeException e) {
                log.accept("warning: restoring " + RESERVED_PORTS + ": " + e.getMessage());
            }
        }
        if (netns != null) {
            netns.close();
        }
    }

    /** For messages: "192.168.1.2". */
    static String ip(int address) {
        return Ipv4Address.format(address);
    }
}
