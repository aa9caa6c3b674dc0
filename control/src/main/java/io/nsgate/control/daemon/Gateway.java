// A running gateway: the data plane attached to real interfaces, the kernel kept out of its flows, rules live.
package io.nsgate.control.daemon;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;

import io.nsgate.control.netlink.InterfaceAddress;
import io.nsgate.control.netlink.InterfaceAddress6;
import io.nsgate.control.netlink.Link;
import io.nsgate.control.netlink.LinkEvents;
import io.nsgate.control.netlink.Neighbour;
import io.nsgate.control.netlink.RtNetlink;
import io.nsgate.dataplane.conntrack.FlowState;
import io.nsgate.dataplane.guard.KernelGuard;
import io.nsgate.dataplane.io.AfPacketOptions;
import io.nsgate.dataplane.io.AfPacketPort;
import io.nsgate.dataplane.io.FanoutSteering;
import io.nsgate.dataplane.io.InterfaceLock;
import io.nsgate.dataplane.io.PacketPort;
import io.nsgate.dataplane.io.PortPoller;
import io.nsgate.dataplane.nat.ForwardRule;
import io.nsgate.dataplane.nat.GatewayInterface;
import io.nsgate.dataplane.nat.MasqueradeRule;
import io.nsgate.dataplane.nat.RuleSet;
import io.nsgate.dataplane.pipeline.DataPlane;
import io.nsgate.linux.net.IpPrefix;
import io.nsgate.linux.net.Ipv4Prefix;
import io.nsgate.linux.net.Ipv6Address;
import io.nsgate.linux.net.Ipv6Prefix;
import io.nsgate.linux.net.MacAddress;
import io.nsgate.linux.sys.Linux;
import io.nsgate.linux.sys.SyscallException;
import io.nsgate.linux.sys.Syscalls;

/**
 * Starting a gateway, in order (anything failing undoes what was done and says what to check):
 * <ol>
 *   <li>enter the configured network namespace (sockets keep the namespace they are created in:
 *       {@link HostNamespace});</li>
 *   <li>find the interfaces over rtnetlink: index, MTU, MAC, first IPv4 address; the namespace's routes through
 *       them (e.g. a default route via a LAN router) become the data plane's routes ({@link InterfaceScan});</li>
 *   <li>turn IP forwarding off in the namespace (the data plane forwards, not the kernel) and reserve the NAT port
 *       range from the kernel's ephemeral ports, restored on close ({@link KernelSettings});</li>
 *   <li>open one AF_PACKET port per worker per interface (each interface's ports form a fanout group), start the
 *       workers, seed their ARP cache from the kernel's neighbour table;</li>
 *   <li>attach the tcx guard on each interface, so the kernel stops seeing (and answering) the frames the data
 *       plane owns.</li>
 * </ol>
 * Rule changes then go through {@link RuleChanges}, which orders each between the guards and the workers; a
 * maintenance thread follows the interfaces' MTUs and lets removed forwards go once their last flow ended.
 */
public final class Gateway implements AutoCloseable {
    private static final long MAINTENANCE_PERIOD_S = 2;
    /**
     * Slots of an opening ring (4 blocks of 15): what a worker's share of a burst of new connections may queue while
     * it serves established flows; a flood beyond it is dropped by the kernel there, counted as that ring's drops.
     */
    private static final int OPENING_RING_SLOTS = 60;

    private final GatewayConfig config;
    private final HostNamespace host;
    private final KernelSettings kernelSettings;
    private final Consumer<String> log;
    private final List<KernelGuard> guards = new ArrayList<>();
    private final List<InterfaceLock> locks = new ArrayList<>();
    private final ScheduledExecutorService maintenance;
    private final long startedNs = System.nanoTime();
    private DataPlane dataPlane;
    private FlowState flowState;
    private LocalAccess localAccess;
    private static final int LINK_POLL_MS = 200;
    private LinkEvents linkEvents;
    private Thread linkWatcher;
    /** The served interfaces' MACs as last seen (the link watcher's). */
    private final java.util.Map<String, Long> macs = new java.util.concurrent.ConcurrentHashMap<>();
    private RuleChanges changes;
    private volatile boolean closed;

    private Gateway(GatewayConfig config, HostNamespace host, Consumer<String> log) {
        this.config = config;
        this.host = host;
        this.kernelSettings = new KernelSettings(host, log);
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
        Gateway g = new Gateway(config, HostNamespace.open(config.netns()), log);
        try {
            g.startInside();
            return g;
        } catch (RuntimeException e) {
            g.close();
            throw e;
        }
    }

    private void startInside() {
        // subscribed before the interfaces are read: a change after the scan cannot slip by
        linkEvents = host.call(() -> LinkEvents.open(host.describe(), LINK_POLL_MS));
        RuleSet.Builder b = RuleSet.builder().natPorts(config.natPorts()).reversePathFilter(config.reversePathFilter());
        InterfaceScan interfaces = host.rtnetlink(rt -> InterfaceScan.scan(rt, config, host.describe(), b));
        for (IpPrefix source : config.masquerade()) {
            b.masquerade(MasqueradeRule.masquerade(source, config.lan()));
        }
        config.forwards().forEach(b::forward);
        RuleSet rules;
        try {
            rules = b.build();
        } catch (IllegalArgumentException e) {
            throw new GatewayConfigException("configuration", List.of(e.getMessage()));
        }

        // one data plane per interface: refused here, before anything of the host is changed
        for (Link link : interfaces.links()) {
            try {
                locks.add(host.call(() -> InterfaceLock.acquire(link.name())));
            } catch (IllegalStateException e) {
                throw new GatewayException(e.getMessage());
            }
        }
        Path pins = null;
        if (config.keepsState()) {
            pins = config.pinDirectory().resolve(openState(interfaces.links()));
        }
        kernelSettings.apply(config.natPorts());
        openDataPlane(interfaces.links(), rules);
        if (flowState != null) {
            log.accept(flowState.summary()); // the tables were taken over (or not) as the data plane opened them
        }
        seedNeighbours(interfaces);
        for (Link link : interfaces.links()) {
            if (pins == null) {
                guards.add(host.call(() -> KernelGuard.attach(link.name(), rules.ownership())));
                continue;
            }
            Path pin = pins.resolve(link.name());
            KernelGuard guard = KernelGuard.load(rules.ownership());
            try {
                KernelGuard.Attachment how = host.call(
                    () -> guard.attachTo(Syscalls.interfaceIndex(link.name()), link.name(), pin));
                if (how == KernelGuard.Attachment.TAKEN_OVER) {
                    log.accept("  guard of " + link.name() + ": the previous run's pinned link taken over (" + pin + ")");
                }
            } catch (RuntimeException e) {
                guard.close();
                throw e;
            }
            guards.add(guard);
        }
        if (pins != null) {
            unpinUnserved(pins, interfaces.links());
        }
        changes = new RuleChanges(rules, config, dataPlane, guards, log);
        localAccess = new LocalAccess(host, log, Runtime.getRuntime().availableProcessors());
        localAccess.forwards(rules.forwards());
        log.accept("nsgate running in " + host.describe() + " with " + config.workers() + " worker(s)");
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
        for (Link link : interfaces.links()) {
            if (link.mac() != null) {
                macs.put(link.name(), MacAddress.parse(link.mac()));
            }
        }
        linkWatcher = new Thread(this::watchLinks, "nsgate-links");
        linkWatcher.setDaemon(true);
        linkWatcher.start();
        maintenance.scheduleWithFixedDelay(this::maintain, MAINTENANCE_PERIOD_S, MAINTENANCE_PERIOD_S,
            TimeUnit.SECONDS);
    }

    /**
     * Opens the state file (the flow tables a previous run left, or new ones) and checks the pin directory; returns
     * the namespace's pin subdirectory name ({@code net-INODE}: pins of two gateways in two namespaces never meet).
     */
    private String openState(List<Link> links) {
        long inode = host.call(io.nsgate.control.netns.NetNs::currentInode);
        checkBpfFileSystem(config.pinDirectory());
        try {
            flowState = FlowState.open(config.stateFile(), config.flowTableSize(),
                DataPlane.Settings.defaults().withFlowCapacity(config.flowTableSize()).flow6Capacity(),
                links.stream().map(Link::name).toList(), inode);
        } catch (IllegalStateException | java.io.UncheckedIOException | SyscallException e) {
            throw new GatewayException("stateFile " + config.stateFile() + ": " + e.getMessage());
        }
        if (!flowState.onTmpfs()) {
            log.accept("warning: stateFile " + config.stateFile() + " is not on tmpfs: the kernel writes the tables "
                + "back to disk as they change (use /run)");
        }
        return "net-" + inode;
    }

    /** The pin directory must be (or be made in) a bpf file system: pins cannot live anywhere else. */
    private static void checkBpfFileSystem(Path dir) {
        Path existing = dir;
        while (existing != null && !Files.exists(existing, java.nio.file.LinkOption.NOFOLLOW_LINKS)) { // lstat
            existing = existing.getParent();
        }
        if (existing == null || Syscalls.fileSystemType(existing.toString()) != Linux.BPF_FS_MAGIC) {
            throw new GatewayException("pinDirectory " + dir + ": not in a bpf file system (systemd mounts one at "
                + "/sys/fs/bpf; else mount -t bpf bpf /sys/fs/bpf)");
        }
    }

    /**
     * Pins of interfaces this gateway no longer serves (the configuration changed between two runs) would keep their
     * old guards forever: each goes, unless another gateway serves that interface now (it holds its lock).
     */
    private void unpinUnserved(Path pins, List<Link> links) {
        Set<String> served = new HashSet<>();
        links.forEach(l -> served.add(l.name()));
        try (java.util.stream.Stream<Path> entries = Files.list(pins)) {
            for (Path pin : entries.toList()) {
                String name = pin.getFileName().toString();
                if (served.contains(name)) {
                    continue;
                }
                InterfaceLock lock;
                try {
                    lock = host.call(() -> InterfaceLock.acquire(name));
                } catch (IllegalStateException e) {
                    continue; // another gateway's
                }
                try {
                    KernelGuard.unpin(pin);
                    log.accept("  guard of " + name + " (no longer served) removed: the kernel sees its frames again");
                } finally {
                    lock.close();
                }
            }
        } catch (java.io.IOException | RuntimeException e) {
            log.accept("warning: looking for guards of interfaces no longer served in " + pins + ": " + e.getMessage());
        }
    }

    /**
     * Per interface, a steered fanout group ({@link FanoutSteering}): each worker joins with its established port and
     * then its opening port, a small ring for bare SYNs, so that a SYN flood cannot take the rings established flows
     * use.
     */
    private void openDataPlane(List<Link> links, RuleSet rules) {
        PacketPort[][] ports = new PacketPort[config.workers()][links.size()];
        PacketPort[][] opening = new PacketPort[config.workers()][links.size()];
        try {
            for (int i = 0; i < links.size(); i++) {
                Link link = links.get(i);
                int group = (int) ((ProcessHandle.current().pid() * 131 + link.index()) & 0xFFFF);
                AfPacketOptions options = AfPacketOptions.defaults().toBuilder()
                    .steeredFanoutGroup(group, config.workers()).build();
                AfPacketOptions openingOptions = options.toBuilder().rxFrameCount(OPENING_RING_SLOTS)
                    .txFrameSize(AfPacketOptions.PAGE_SIZE).txFrameCount(1).build();
                for (int w = 0; w < config.workers(); w++) {
                    // the join order is the program's numbering: 2 * worker + (0 established, 1 opening)
                    ports[w][i] = host.call(() -> AfPacketPort.open(link.name(), options));
                    opening[w][i] = host.call(() -> AfPacketPort.open(link.name(), openingOptions));
                }
            }
        } catch (RuntimeException e) {
            for (PacketPort[][] set : new PacketPort[][][] {ports, opening}) {
                for (PacketPort[] row : set) {
                    for (PacketPort p : row) {
                        if (p != null) {
                            p.close();
                        }
                    }
                }
            }
            throw e;
        }
        dataPlane = new DataPlane(new DataPlane.Settings(config.flowTableSize(), config.timeouts(), 4096, 1024,
            flowState),
            rules, ports, opening, workerPorts -> {
                PortPoller poller = new PortPoller(workerPorts);
                return poller::poll;
            });
        dataPlane.flowTable().tcpTracking(config.tcp());
        dataPlane.flowTable6().table().tcpTracking(config.tcp());
        dataPlane.start();
    }

    private void seedNeighbours(InterfaceScan interfaces) {
        long now = System.nanoTime();
        for (Neighbour n : host.rtnetlink(RtNetlink::neighbours)) {
            int index = interfaces.indexOf(n.index());
            if (index >= 0 && n.mac() != null && n.address() != 0) {
                dataPlane.neighbours().learn(index, n.address(), MacAddress.parse(n.mac()), now);
            }
        }
    }

    /**
     * Follows the kernel's link and address notifications as they come: a served interface's new MAC goes to the
     * data plane at once (its frames and ARP carry it, and a gratuitous ARP announces it, so no neighbour keeps
     * sending to the old one: a bridge takes a new MAC when a port leaves), a new MTU and a new address to the rules.
     * Lost notifications are made up for by reading every link and address again.
     */
    private void watchLinks() {
        try (LinkEvents events = linkEvents) {
            while (!closed) {
                LinkEvents.Events news;
                try {
                    news = events.poll();
                } catch (LinkEvents.Overflow e) {
                    log.accept("warning: " + e.getMessage() + "; reading the links and addresses again");
                    news = new LinkEvents.Events(host.rtnetlink(RtNetlink::links), true);
                }
                if (!news.links().isEmpty() && !closed) {
                    followLinks(news.links());
                }
                if (news.addressesChanged() && !closed) {
                    followAddresses();
                }
            }
        } catch (RuntimeException e) {
            if (!closed) {
                log.accept("warning: following link changes stopped: " + e.getMessage()
                    + " (MTUs are still polled every " + MAINTENANCE_PERIOD_S + " s; MAC changes are not followed)");
            }
        }
    }

    private void followLinks(List<Link> links) {
        RuleSet rules = changes.rules();
        for (Link link : links) {
            GatewayInterface served = rules.iface(link.name());
            if (served == null || link.mac() == null) {
                continue;
            }
            long mac = MacAddress.parse(link.mac());
            Long known = macs.put(link.name(), mac);
            if (known == null || known != mac) {
                dataPlane.interfaceMac(served.index(), mac);
                log.accept("interface " + link.name() + ": MAC " + (known == null ? "?" : MacAddress.format(known))
                    + " -> " + link.mac() + " (sent with from now on, announced by gratuitous ARP)");
            }
        }
        changes.followMtus(links);
    }

    /** An address came or went: each served interface's first IPv4 address and its IPv6 addresses, to the rules. */
    private void followAddresses() {
        Map<Integer, Ipv4Prefix> byIndex = new java.util.HashMap<>();
        for (InterfaceAddress a : host.rtnetlink(RtNetlink::addresses)) {
            byIndex.putIfAbsent(a.index(), a.prefix());
        }
        List<InterfaceAddress6> addresses6 = host.rtnetlink(RtNetlink::addresses6);
        Map<String, Ipv4Prefix> current = new java.util.HashMap<>();
        Map<String, List<Ipv6Prefix>> current6 = new java.util.HashMap<>();
        for (Link link : host.rtnetlink(RtNetlink::links)) {
            Ipv4Prefix p = byIndex.get(link.index());
            if (p != null) {
                current.put(link.name(), p);
            }
            current6.put(link.name(), InterfaceScan.ipv6Of(addresses6, link.index()));
        }
        changes.followAddresses(current, current6);
    }

    private void maintain() {
        try {
            changes.followMtus(host.rtnetlink(RtNetlink::links));
            changes.dropDrainedLingeringForwards();
        } catch (RuntimeException e) {
            log.accept("warning: maintenance: " + e.getMessage());
        }
    }

    // ------------------------------------------------------------------ the running gateway

    public RuleSet rules() {
        return changes.rules();
    }

    /** The running configuration: the one started with, and every rule change since. */
    public GatewayConfig config() {
        return changes.config();
    }

    public DataPlane dataPlane() {
        return dataPlane;
    }

    /** The named namespace it runs in, or null for the one it was started in. */
    public String namespace() {
        return host.name();
    }

    public long uptimeNs() {
        return System.nanoTime() - startedNs;
    }

    /** Adds a forward (guards first, then workers). */
    /**
     * Applies a configuration read again (SIGHUP, {@code nsgate ctl config reload}): see {@code RuleChanges.reload}.
     *
     * @return what changed, one line each
     * @throws GatewayConfigException when refused (nothing changed)
     */
    public List<String> reload(GatewayConfig next) {
        try {
            return changes.reload(next);
        } finally {
            followForwardsLocally();
        }
    }

    public void addForward(ForwardRule forward) {
        try {
            changes.addForward(forward);
        } finally {
            followForwardsLocally();
        }
    }

    /** The host's own clients reach the forwards as they are now ({@link LocalAccess}). */
    private void followForwardsLocally() {
        if (localAccess != null) {
            localAccess.forwards(changes.rules().forwards());
        }
    }

    /** Connections of the host's own clients to the forwards, proxied now. */
    public List<LocalAccess.Connection> localConnections() {
        return localAccess == null ? List.of() : localAccess.connections();
    }

    /** Removes a forward (workers first; it lingers in the guards while its flows live); false when unknown. */
    public boolean removeForward(ForwardRule forward) {
        try {
            return changes.removeForward(forward);
        } finally {
            followForwardsLocally();
        }
    }

    public void addMasquerade(IpPrefix source) {
        changes.addMasquerade(source);
    }

    public boolean removeMasquerade(IpPrefix source) {
        return changes.removeMasquerade(source);
    }

    /**
     * Detaches the guards first (the kernel sees everything again), then stops the workers, then restores sysctls.
     * With a state file, the guards stay pinned and the tables stay in the file: the next run takes them over. The
     * reserved ports are given back all the same (the kernel's default ephemeral range, 32768-60999, does not meet the
     * NAT range in the gap anyway).
     */
    @Override
    public synchronized void close() {
        if (closed) {
            return;
        }
        closed = true;
        maintenance.shutdownNow();
        try {
            // a pass in flight uses the flow table and the netlink socket closed below: let it end first
            if (!maintenance.awaitTermination(5, TimeUnit.SECONDS)) {
                log.accept("warning: the maintenance pass did not end within 5 s");
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        if (linkWatcher != null) {
            try {
                // it sees `closed` within one poll and closes its socket
                linkWatcher.join(TimeUnit.SECONDS.toMillis(5));
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        } else if (linkEvents != null) {
            linkEvents.close();
        }
        if (localAccess != null) {
            localAccess.close();
        }
        if (changes != null) {
            changes.close();
        }
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
        if (flowState != null) {
            flowState.close();
            log.accept("nsgate: connections kept in " + config.stateFile() + " for the next run; the guards stay "
                + "pinned in " + config.pinDirectory() + " (nsgate state clear removes both)");
        }
        kernelSettings.restore();
        locks.forEach(InterfaceLock::close);
        locks.clear();
        host.close();
    }
}
