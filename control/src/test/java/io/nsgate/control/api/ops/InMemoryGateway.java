// A ControlTarget for tests without namespaces: a running data plane over in-memory ports, flows inserted by hand.
package io.nsgate.control.api.ops;

import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.locks.LockSupport;

import io.nsgate.control.daemon.GatewayConfig;
import io.nsgate.dataplane.conntrack.FlowDraft;
import io.nsgate.dataplane.conntrack.FlowRecord;
import io.nsgate.dataplane.conntrack.FlowTimeouts;
import io.nsgate.dataplane.conntrack.FlowView;
import io.nsgate.dataplane.io.InMemoryPort;
import io.nsgate.dataplane.io.PacketPort;
import io.nsgate.dataplane.nat.ForwardRule;
import io.nsgate.dataplane.nat.GatewayInterface;
import io.nsgate.dataplane.nat.MasqueradeRule;
import io.nsgate.dataplane.nat.PortRange;
import io.nsgate.dataplane.nat.RuleSet;
import io.nsgate.dataplane.pipeline.DataPlane;
import io.nsgate.linux.net.Ipv4Address;
import io.nsgate.linux.net.Ipv4Prefix;

/**
 * The seed lab's rules (lan0 192.168.1.2/24, v-net-0 192.168.15.5/24, masquerade 192.168.15.0/24, tcp:80 to blue)
 * on a started two-worker data plane whose ports never receive anything: rule changes still travel through the
 * workers' command queues, and flows are put in the table directly.
 */
public final class InMemoryGateway implements ControlTarget, AutoCloseable {
    static final int LAN = Ipv4Address.parse("192.168.1.2");
    static final int CLIENT = Ipv4Address.parse("192.168.1.3");
    /** Frames the kernel reports dropped at worker 1's full receive rings (worker 0's report none). */
    public static final long RING_DROPS_LAN = 7;
    public static final long RING_DROPS_INSIDE = 5;

    private final DataPlane dataPlane;
    private final long started = System.nanoTime();
    private final Path configFile;
    private RuleSet rules;
    private GatewayConfig config;

    public InMemoryGateway(int flowCapacity, Path configFile) {
        this.configFile = configFile;
        rules = RuleSet.builder()
            .iface("lan0", GatewayInterface.Role.LAN, Ipv4Prefix.parse("192.168.1.2/24"), 1500)
            .iface("v-net-0", GatewayInterface.Role.INSIDE, Ipv4Prefix.parse("192.168.15.5/24"), 1500)
            .masquerade(MasqueradeRule.masquerade(Ipv4Prefix.parse("192.168.15.0/24"), "lan0"))
            .forward(ForwardRule.parse("tcp:80=192.168.15.2:80"))
            .build();
        config = new GatewayConfig(null, "lan0", List.of("v-net-0"), List.of(Ipv4Prefix.parse("192.168.15.0/24")),
            rules.forwards(), 2, PortRange.DEFAULT_NAT, flowCapacity, FlowTimeouts.DEFAULTS);
        PacketPort[][] ports = new PacketPort[2][];
        for (int w = 0; w < 2; w++) {
            ports[w] = new PacketPort[] {new InMemoryPort("lan0", 2, 0x020000000102L).kernelDrops(w * RING_DROPS_LAN),
                new InMemoryPort("v-net-0", 3, 0x020000000f05L).kernelDrops(w * RING_DROPS_INSIDE)};
        }
        dataPlane = new DataPlane(DataPlane.Settings.defaults().withFlowCapacity(flowCapacity), rules, ports,
            p -> ms -> LockSupport.parkNanos(ms * 1_000_000L));
        dataPlane.start();
    }

    /**
     * Inserts {@code n} established TCP flows from lan clients 10.1.x.y:port to the tcp:80 forward (DNAT to blue), as
     * the data plane would have created them.
     */
    public void insertDnatFlows(int n, int firstClient) {
        SyntheticFlows.insertDnat(dataPlane.flowTable(), n, firstClient);
    }

    /** Inserts one unreplied UDP flow from inside host {@code src} to {@code dst}:53, masqueraded to port natPort. */
    public long insertUdpFlow(String src, int sport, String dst, int natPort) {
        FlowDraft d = new FlowDraft();
        int s = Ipv4Address.parse(src);
        int t = Ipv4Address.parse(dst);
        d.original(17, s, t, sport, 53).reply(t, LAN, 53, natPort).route(0, t, 1, s);
        d.natFlags = FlowRecord.NAT_SNAT;
        return dataPlane.flowTable().insert(d, System.nanoTime(), new FlowView());
    }

    @Override
    public DataPlane dataPlane() {
        return dataPlane;
    }

    @Override
    public synchronized RuleSet rules() {
        return rules;
    }

    @Override
    public synchronized GatewayConfig config() {
        return config;
    }

    @Override
    public String namespace() {
        return null;
    }

    @Override
    public long uptimeNs() {
        return System.nanoTime() - started;
    }

    @Override
    public synchronized void addForward(ForwardRule forward) {
        apply(rules.toBuilder().forward(forward));
    }

    @Override
    public synchronized boolean removeForward(ForwardRule forward) {
        RuleSet.Builder b = rules.toBuilder();
        if (!b.removeForward(forward)) {
            return false;
        }
        apply(b); // the forward lingers (RuleSet.lingeringForwards), as in the daemon
        return true;
    }

    @Override
    public java.util.List<String> reloadConfig() {
        throw new IllegalStateException("an in-memory gateway has no file to read again");
    }

    @Override
    public synchronized void addMasquerade(io.nsgate.linux.net.IpPrefix source) {
        apply(rules.toBuilder().masquerade(MasqueradeRule.masquerade(source, "lan0")));
    }

    @Override
    public synchronized boolean removeMasquerade(io.nsgate.linux.net.IpPrefix source) {
        RuleSet.Builder b = rules.toBuilder();
        if (!b.removeMasquerade(MasqueradeRule.masquerade(source, "lan0"))) {
            return false;
        }
        apply(b);
        return true;
    }

    private void apply(RuleSet.Builder b) {
        RuleSet next;
        try {
            next = b.build();
        } catch (IllegalArgumentException e) {
            throw new io.nsgate.control.daemon.GatewayConfigException(null, List.of(e.getMessage()));
        }
        dataPlane.rules(next);
        rules = next;
        config = config.withForwards(next.forwards())
            .withMasquerade(next.masquerade().stream().map(MasqueradeRule::source).toList());
    }

    @Override
    public Path configFile() {
        return configFile;
    }

    @Override
    public void close() {
        dataPlane.close();
    }
}
