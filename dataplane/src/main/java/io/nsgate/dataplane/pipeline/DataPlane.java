// The assembled data plane: shared tables, one worker thread per fanout member, rule changes as commands.
package io.nsgate.dataplane.pipeline;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Function;

import org.agrona.ErrorHandler;
import org.agrona.concurrent.AgentRunner;
import org.agrona.concurrent.NanoClock;
import org.agrona.concurrent.SystemNanoClock;

import io.nsgate.dataplane.conntrack.ExpirySweeper;
import io.nsgate.dataplane.conntrack.FlowState;
import io.nsgate.dataplane.conntrack.FlowTable;
import io.nsgate.dataplane.conntrack.FlowTable6;
import io.nsgate.dataplane.conntrack.FlowTimeouts;
import io.nsgate.dataplane.io.PacketPort;
import io.nsgate.dataplane.nat.FragmentTable;
import io.nsgate.dataplane.nat.RuleSet;
import io.nsgate.dataplane.nat.Translator;
import io.nsgate.dataplane.stats.Counter;
import io.nsgate.dataplane.stats.DropReason;
import io.nsgate.dataplane.stats.PortCounter;
import io.nsgate.dataplane.stats.StatsSnapshot;
import io.nsgate.dataplane.stats.WorkerCounters;
import io.nsgate.linux.net.Ipv6Address;

/**
 * Owns what workers share (the {@link FlowTable} and the IPv6 {@link FlowTable6}, the {@link FragmentTable}, the
 * {@link NeighbourTable}s of each family) and the
 * workers themselves, each on its own thread (an Agrona {@link AgentRunner}). The control plane talks to workers
 * only through commands ({@link #rules(RuleSet)}): it never writes their state, so a change never stops traffic.
 */
public final class DataPlane implements AutoCloseable {
    /**
     * Sizes and timeouts, fixed at start; {@code state}, when not null, is the file the flow tables live in (and are
     * taken over from), of {@link #flowCapacity} and {@link #flow6Capacity}.
     */
    public record Settings(int flowCapacity, FlowTimeouts timeouts, int fragmentEntries, int neighbourEntries,
                           FlowState state) {
        public Settings(int flowCapacity, FlowTimeouts timeouts, int fragmentEntries, int neighbourEntries) {
            this(flowCapacity, timeouts, fragmentEntries, neighbourEntries, null);
        }

        public static Settings defaults() {
            return new Settings(1 << 20, FlowTimeouts.DEFAULTS, 4096, 1024);
        }

        public Settings withFlowCapacity(int capacity) {
            return new Settings(capacity, timeouts, fragmentEntries, neighbourEntries, state);
        }

        public Settings withState(FlowState newState) {
            return new Settings(flowCapacity, timeouts, fragmentEntries, neighbourEntries, newState);
        }

        /**
         * The IPv6 table's capacity: a quarter of the IPv4 table's (at least 1024). Edge hosts carry most connections
         * over IPv4 still; a quarter keeps the two tables' memory near the IPv4 table's alone plus 30 %.
         */
        public int flow6Capacity() {
            return Math.max(1024, Integer.highestOneBit(Math.max(1, flowCapacity / 4)));
        }
    }

    private static final long COMMAND_TIMEOUT_MS = 5_000;

    private final FlowTable table;
    private final FlowTable6 table6;
    private final FragmentTable fragments;
    private final NeighbourTable neighbours;
    private final NeighbourTable neighbours6;
    private final Worker[] workers;
    private final List<AgentRunner> runners = new ArrayList<>();
    private final Function<PacketPort[], PollingIdleStrategy.Waiter> waiters;
    private final PacketPort[][] ports;
    private final PacketPort[][] openingPorts;
    private final AtomicLong workerErrors = new AtomicLong();
    private volatile RuleSet rules;
    private volatile Throwable lastWorkerError;
    private boolean closed;

    /**
     * @param ports        {@code ports[w][i]}: worker w's port on data-plane interface i (the RuleSet's index)
     * @param openingPorts {@code openingPorts[w][i]}: worker w's port for frames that open a flow on interface i (a
     *                     steered fanout group's, see {@code io.FanoutSteering}), or null when there are none
     * @param waiters      how an idle worker waits for its ports (poll() on their sockets, or a park in tests)
     */
    public DataPlane(Settings settings, RuleSet rules, PacketPort[][] ports, PacketPort[][] openingPorts,
                     Function<PacketPort[], PollingIdleStrategy.Waiter> waiters, NanoClock clock) {
        if (ports.length == 0) {
            throw new IllegalArgumentException("a data plane needs at least one worker");
        }
        if (openingPorts != null && openingPorts.length != ports.length) {
            throw new IllegalArgumentException(openingPorts.length + " workers' opening ports for " + ports.length
                + " workers");
        }
        this.rules = rules;
        this.ports = ports;
        this.openingPorts = openingPorts;
        this.waiters = waiters;
        if (settings.state() != null) {
            this.table = settings.state().table4(settings.timeouts());
            this.table6 = settings.state().table6(settings.timeouts());
        } else {
            this.table = new FlowTable(settings.flowCapacity(), settings.timeouts(), clock.nanoTime());
            this.table6 = new FlowTable6(settings.flow6Capacity(), settings.timeouts(), clock.nanoTime());
        }
        this.table6.gatewayAddresses(rules.ownership().ipv6Addresses());
        this.fragments = new FragmentTable(settings.fragmentEntries());
        this.neighbours = new NeighbourTable(settings.neighbourEntries());
        this.neighbours6 = new NeighbourTable(settings.neighbourEntries());
        this.workers = new Worker[ports.length];
        for (int w = 0; w < ports.length; w++) {
            WorkerCounters counters = new WorkerCounters();
            Translator translator = new Translator(table, table6, fragments, counters, rules,
                ThreadLocalRandom.current().nextLong());
            ExpirySweeper sweeper = ExpirySweeper.forWorker(table, w, ports.length);
            ExpirySweeper sweeper6 = ExpirySweeper.forWorker(table6.table(), w, ports.length);
            workers[w] = new Worker(w, ports[w], openingPorts == null ? null : openingPorts[w], translator, rules,
                counters, sweeper, neighbours, sweeper6, neighbours6, clock);
        }
    }

    public DataPlane(Settings settings, RuleSet rules, PacketPort[][] ports,
                     Function<PacketPort[], PollingIdleStrategy.Waiter> waiters, NanoClock clock) {
        this(settings, rules, ports, null, waiters, clock);
    }

    public DataPlane(Settings settings, RuleSet rules, PacketPort[][] ports, PacketPort[][] openingPorts,
                     Function<PacketPort[], PollingIdleStrategy.Waiter> waiters) {
        this(settings, rules, ports, openingPorts, waiters, new SystemNanoClock());
    }

    public DataPlane(Settings settings, RuleSet rules, PacketPort[][] ports,
                     Function<PacketPort[], PollingIdleStrategy.Waiter> waiters) {
        this(settings, rules, ports, null, waiters, new SystemNanoClock());
    }

    /** Worker w's ports, established then opening: what its idle strategy waits on. */
    private PacketPort[] allPorts(int w) {
        List<PacketPort> all = new ArrayList<>(List.of(ports[w]));
        if (openingPorts != null) {
            all.addAll(java.util.Arrays.asList(openingPorts[w]));
        }
        all.removeIf(java.util.Objects::isNull);
        return all.toArray(new PacketPort[0]);
    }

    /** Starts one thread per worker. */
    public synchronized void start() {
        if (!runners.isEmpty()) {
            throw new IllegalStateException("data plane already started");
        }
        ErrorHandler onError = t -> {
            // a bug in one frame's processing must not stop forwarding: count it, remember it, carry on
            workerErrors.incrementAndGet();
            lastWorkerError = t;
        };
        for (int w = 0; w < workers.length; w++) {
            AgentRunner runner = new AgentRunner(new PollingIdleStrategy(waiters.apply(allPorts(w))), onError, null,
                workers[w]);
            AgentRunner.startOnThread(runner, r -> {
                Thread t = new Thread(r);
                t.setDaemon(true);
                return t;
            });
            runners.add(runner);
        }
    }

    /**
     * Makes every worker use {@code newRules} for new flows, and returns once all applied it. Flows that exist keep
     * their translation.
     */
    public synchronized void rules(RuleSet newRules) {
        // The IPv6 table resolves the gateway addresses of both rule sets while workers switch (a worker still on the
        // old rules may make a flow with an address the new ones dropped); only the new ones once all switched.
        List<Ipv6Address> now = newRules.ownership().ipv6Addresses();
        List<Ipv6Address> both = new ArrayList<>(rules.ownership().ipv6Addresses());
        now.stream().filter(a -> !both.contains(a)).forEach(both::add);
        table6.gatewayAddresses(both.size() <= FlowTable6.MAX_GATEWAY_ADDRESSES ? both : now);
        switchRules(newRules); // throws when a worker is late: then the old addresses stay resolvable too
        table6.gatewayAddresses(now);
    }

    private void switchRules(RuleSet newRules) {
        if (runners.isEmpty()) {
            for (Worker w : workers) {
                w.rules(newRules);
            }
            rules = newRules;
            return;
        }
        CountDownLatch done = new CountDownLatch(workers.length);
        for (Worker w : workers) {
            Worker.send(w, new WorkerCommand(done) {
                @Override
                protected void apply(Worker worker) {
                    worker.rules(newRules);
                }
            });
        }
        // the commands are queued and cannot be recalled: these are the rules now, whether or not a worker is late
        rules = newRules;
        try {
            if (!done.await(COMMAND_TIMEOUT_MS, TimeUnit.MILLISECONDS)) {
                throw new IllegalStateException("workers did not confirm the new rules within " + COMMAND_TIMEOUT_MS
                    + " ms (" + done.getCount() + " of " + workers.length + " pending); the change stands and "
                    + "applies as each worker runs again");
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted while applying rules (the change stands)", e);
        }
    }

    /**
     * Interface {@code iface} (a data-plane index) now has MAC {@code mac}: every worker's port sends with it, and one
     * worker announces it with a gratuitous ARP. Returns without waiting for the workers.
     */
    public synchronized void interfaceMac(int iface, long mac) {
        CountDownLatch done = new CountDownLatch(workers.length);
        for (int i = 0; i < workers.length; i++) {
            final boolean announce = i == 0;
            final Worker w = workers[i];
            if (runners.isEmpty()) {
                w.interfaceMac(iface, mac, announce);
                continue;
            }
            Worker.send(w, new WorkerCommand(done) {
                @Override
                protected void apply(Worker worker) {
                    worker.interfaceMac(iface, mac, announce);
                }
            });
        }
    }

    public RuleSet rules() {
        return rules;
    }

    public FlowTable flowTable() {
        return table;
    }

    public NeighbourTable neighbours() {
        return neighbours;
    }

    /** The IPv6 flow table (flows of IPv6 forwards and NAT66 masquerade). */
    public FlowTable6 flowTable6() {
        return table6;
    }

    public NeighbourTable neighbours6() {
        return neighbours6;
    }

    public int workerCount() {
        return workers.length;
    }

    /**
     * Each worker's duty cycles so far: an idle worker still runs one per poll timeout (10 ms), so a count that does
     * not grow for a second means a worker is stuck (a watchdog's question).
     */
    public long[] workerCycles() {
        long[] c = new long[workers.length];
        for (int i = 0; i < c.length; i++) {
            c[i] = workers[i].cycles();
        }
        return c;
    }

    /**
     * Blocks worker {@code index} in a command until {@code release} is counted down (for tests of what watches the
     * workers: a wedged worker). Returns at once.
     */
    public void wedgeWorker(int index, CountDownLatch release) {
        Worker.send(workers[index], new WorkerCommand(new CountDownLatch(1)) {
            @Override
            protected void apply(Worker worker) {
                try {
                    release.await();
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            }
        });
    }

    /**
     * Everything the data plane counts, now: every worker's counters and drops, every port's counters (the kernel's
     * ring drops included: one system call per port, so for the control plane, never a worker) and the flow table's
     * figures.
     */
    public StatsSnapshot stats() {
        List<StatsSnapshot.Worker> snapshot = new ArrayList<>(workers.length);
        for (int w = 0; w < workers.length; w++) {
            WorkerCounters c = workers[w].counters();
            long[] counters = new long[Counter.values().length];
            for (Counter k : Counter.values()) {
                counters[k.ordinal()] = c.get(k);
            }
            long[] drops = new long[DropReason.values().length];
            for (DropReason k : DropReason.values()) {
                drops[k.ordinal()] = c.get(k);
            }
            List<StatsSnapshot.Port> portStats = new ArrayList<>();
            for (int i = 0; i < ports[w].length; i++) {
                addPortStats(portStats, ports[w][i], "");
            }
            if (openingPorts != null) {
                for (PacketPort p : openingPorts[w]) {
                    addPortStats(portStats, p, OPENING_SUFFIX);
                }
            }
            snapshot.add(new StatsSnapshot.Worker(w, counters, drops, portStats));
        }
        return new StatsSnapshot(snapshot, figures(table), figures(table6.table()), workerErrors.get());
    }

    private static StatsSnapshot.FlowTableFigures figures(FlowTable t) {
        return new StatsSnapshot.FlowTableFigures(Math.max(0, t.size()), t.capacity(), t.insertedTotal(),
            t.deletedTotal(), t.evictedTotal(), t.probeWindowFullTotal());
    }

    /** Appended to an interface's name for the counters of its opening ring ("lan0/opening"). */
    public static final String OPENING_SUFFIX = "/opening";

    private static void addPortStats(List<StatsSnapshot.Port> out, PacketPort p, String suffix) {
        if (p == null) {
            return;
        }
        p.refreshKernelCounters();
        long[] values = new long[PortCounter.values().length];
        for (PortCounter k : PortCounter.values()) {
            values[k.ordinal()] = p.counters().get(k);
        }
        out.add(new StatsSnapshot.Port(p.interfaceName() + suffix, values));
    }

    /** Exceptions workers caught and survived (a bug; they keep forwarding). */
    public long workerErrors() {
        return workerErrors.get();
    }

    public Throwable lastWorkerError() {
        return lastWorkerError;
    }

    /** Stops the workers (closing their ports) and frees the tables. */
    @Override
    public synchronized void close() {
        if (closed) {
            return;
        }
        closed = true;
        if (runners.isEmpty()) {
            for (Worker w : workers) {
                w.onClose();
            }
        }
        for (AgentRunner r : runners) {
            r.close();
        }
        table.close();
        table6.close();
        fragments.close();
        neighbours.close();
        neighbours6.close();
    }
}
