// JUnit support: a prefixed copy of the seed lab per test class, destroyed in teardown even when tests fail.
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

/**
 * Use as {@code @RegisterExtension static final SeedLab LAB = new SeedLab();}. Before the class's first test it
 * checks the namespace capability (failing with the cause, see {@link NetnsAvailability}), picks a fresh
 * {@code ngtXXXX-} prefix and applies the embedded seed lab with it; after the last test it destroys the lab and
 * sweeps any namespace left with the prefix. Handles from {@link #netns} are closed in teardown too.
 *
 * <pre>
 *   String edge = LAB.ns("edge");                       // "ngt1a2b-edge"
 *   LAB.netns("blue").startProcess(new ProcessBuilder("python3", "-m", "http.server", "80"));
 *   LAB.netns("edge").call(() -> openAfPacketSocket());  // code inside edge, on its dedicated thread
 * </pre>
 */
public final class SeedLab implements BeforeAllCallback, AfterAllCallback {
    private final Topology topology;
    private String prefix;
    private TopologyReport applied;
    private final Map<String, NetNs> handles = new HashMap<>();

    public SeedLab() {
        this(Topology.seedLab());
    }

    /** Any topology, managed the same way. */
    public SeedLab(Topology topology) {
        this.topology = topology;
    }

    @Override
    public void beforeAll(ExtensionContext context) {
        new NetnsAvailability().beforeAll(context);
        prefix = TestPrefix.fresh();
        try {
            applied = TopologyApplier.apply(topology, prefix);
        } catch (RuntimeException e) {
            TestPrefix.sweep(prefix);
            throw e;
        }
    }

    @Override
    public void afterAll(ExtensionContext context) {
        if (prefix == null) {
            return;
        }
        try {
            handles.values().forEach(NetNs::close);
            handles.clear();
            TopologyApplier.destroy(topology, prefix);
        } finally {
            TestPrefix.sweep(prefix);
        }
    }

    /** The prefix of this class's lab, e.g. "ngt1a2b-". */
    public String prefix() {
        return prefix;
    }

    /** The machine name of a lab namespace: ns("edge") = prefix + "edge". */
    public String ns(String name) {
        return prefix + name;
    }

    public Topology topology() {
        return topology;
    }

    /** What the initial apply printed. */
    public TopologyReport applied() {
        return applied;
    }

    /** A handle on a lab namespace (run code, start processes, rtnetlink), closed in teardown. */
    public synchronized NetNs netns(String name) {
        return handles.computeIfAbsent(name, n -> NetNs.open(ns(n)));
    }
}
