// The seed lab under a per-run prefix, built by nsgate's own TopologyApplier: for a test class or a benchmark run.
package io.nsgate.control.testsupport;

import java.util.HashMap;
import java.util.Map;

import org.junit.jupiter.api.extension.AfterAllCallback;
import org.junit.jupiter.api.extension.BeforeAllCallback;
import org.junit.jupiter.api.extension.ExtensionContext;

import io.nsgate.control.netns.NetNs;
import io.nsgate.control.topology.Topology;
import io.nsgate.control.topology.TopologyApplier;
import io.nsgate.control.topology.TopologyReport;
import io.nsgate.testkit.NetnsLab;
import io.nsgate.testkit.Processes;
import io.nsgate.testkit.TestPrefix;

/**
 * The seed lab of design.md, applied with {@link TopologyApplier} under a fresh prefix and adopted by a
 * {@link NetnsLab} (commands, processes and threads inside, removal even after a failure):
 * <pre>
 *   red   192.168.15.1 ─┐
 *                       ├─ v-net-0 192.168.15.5 ┐ edge (the gateway)
 *   blue  192.168.15.2 ─┘                       │
 *                              lan0 192.168.1.2 ┴── lan0 192.168.1.3  lan
 * </pre>
 * A test class uses it as a JUnit extension, {@code @RegisterExtension static final SeedLab LAB = new SeedLab();}:
 * before the first test it checks {@link RequiresNetns}'s requirement and applies the lab under an {@code ngtXXXX-}
 * prefix; after the last it destroys it with TopologyApplier, then the lab deletes whatever still carries the
 * prefix. A benchmark calls {@link #create} (an {@code ngbXXXX-} prefix, its processes' output in its run directory)
 * and {@link #close}s it. Handles from {@link #netns} are closed on close too.
 *
 * <pre>
 *   String edge = LAB.ns("edge");                                  // "ngt1a2b-edge"
 *   LAB.start(LAB.ns("blue"), "iperf3", "-s", "-1");               // stopped by pid on close
 *   LAB.netns("edge").call(() -> openAfPacketSocket());            // nsgate's own NetNs handle
 * </pre>
 */
public final class SeedLab extends NetnsLab implements BeforeAllCallback, AfterAllCallback {
    /** red's address on the inside network. */
    public static final String RED = "192.168.15.1";
    /** blue's address on the inside network: where port forwards lead. */
    public static final String BLUE = "192.168.15.2";
    /** The gateway's (edge's) address on the inside network, v-net-0. */
    public static final String GATEWAY_INSIDE = "192.168.15.5";
    /** The gateway's (edge's) address on the LAN, lan0: what masquerading shows and port forwards listen on. */
    public static final String GATEWAY_LAN = "192.168.1.2";
    /** lan's address, the outside host. */
    public static final String LAN = "192.168.1.3";
    /** The inside network, masqueraded out of lan0. */
    public static final String INSIDE_NET = "192.168.15.0/24";
    /** The IPv6 twins: blue, the gateway on the LAN, lan, and the inside network. */
    public static final String BLUE6 = "fd15::2";
    public static final String GATEWAY_LAN6 = "fd01::2";
    public static final String LAN6 = "fd01::3";
    public static final String INSIDE_NET6 = "fd15::/64";

    private final Topology topology;
    private final Map<String, NetNs> handles = new HashMap<>();
    private TopologyReport applied;

    /** The seed lab, for a test class (applied before its first test). */
    public SeedLab() {
        this(Topology.seedLab());
    }

    /** Any topology, managed the same way. */
    public SeedLab(Topology topology) {
        this(topology, TestPrefix.Kind.TEST, new Processes());
    }

    private SeedLab(Topology topology, TestPrefix.Kind kind, Processes processes) {
        super(kind, processes);
        this.topology = topology;
    }

    /** The seed lab applied now under a fresh prefix of {@code kind}, run through {@code processes}. */
    public static SeedLab create(TestPrefix.Kind kind, Processes processes) {
        SeedLab lab = new SeedLab(Topology.seedLab(), kind, processes);
        lab.apply();
        return lab;
    }

    private void apply() {
        try {
            applied = TopologyApplier.apply(topology, prefix());
            topology.namespaces().forEach(n -> adopt(n.name()));
        } catch (RuntimeException e) {
            try {
                close();
            } catch (RuntimeException cleanup) {
                e.addSuppressed(cleanup);
            }
            throw e;
        }
    }

    @Override
    public void beforeAll(ExtensionContext context) {
        new NetnsRequirement().check(context.getDisplayName());
        apply();
    }

    @Override
    public void afterAll(ExtensionContext context) {
        close();
    }

    /** The topology applied. */
    public Topology topology() {
        return topology;
    }

    /** What the initial apply printed. */
    public TopologyReport applied() {
        return applied;
    }

    /** nsgate's own handle on lab namespace {@code name} (run code, start processes, rtnetlink), closed on close. */
    public synchronized NetNs netns(String name) {
        return handles.computeIfAbsent(name, n -> NetNs.open(ns(n)));
    }

    /** Closes the handles and destroys the topology with TopologyApplier (then the lab deletes what is left). */
    @Override
    protected synchronized void beforeNamespacesAreDeleted() {
        handles.values().forEach(NetNs::close);
        handles.clear();
        if (applied != null) {
            TopologyApplier.destroy(topology, prefix());
        }
    }
}
