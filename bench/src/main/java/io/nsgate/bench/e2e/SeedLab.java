// The seed lab the benchmark measures on: a private copy of the namespaces, and the few things asked of them.
package io.nsgate.bench.e2e;

import java.security.SecureRandom;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import io.nsgate.control.netns.NetNs;
import io.nsgate.control.topology.Topology;
import io.nsgate.control.topology.TopologyApplier;

/**
 * The seed lab of design.md, built with {@link TopologyApplier} under a per-run prefix {@code ngbXXXX-} (what
 * {@code scripts/clean-test-leftovers} removes after a crash):
 * <pre>
 *   red   192.168.15.1 ─┐
 *                       ├─ v-net-0 192.168.15.5 ┐ edge (the gateway)
 *   blue  192.168.15.2 ─┘                       │
 *                              lan0 192.168.1.2 ┴── lan0 192.168.1.3  lan
 * </pre>
 * Commands run inside a namespace with {@code ip netns exec} (which also gives them the namespace's own /sys), so
 * every command the benchmark runs can be copied and tried by hand. Nothing is created outside the four namespaces.
 */
final class SeedLab implements AutoCloseable {
    static final String BLUE = "192.168.15.2";
    static final String GATEWAY_INSIDE = "192.168.15.5";
    static final String GATEWAY_LAN = "192.168.1.2";
    static final String LAN = "192.168.1.3";
    static final String INSIDE_NET = "192.168.15.0/24";

    private static final ObjectMapper JSON = new ObjectMapper();

    private final String prefix;
    private final Procs procs;
    private boolean destroyed;

    private SeedLab(String prefix, Procs procs) {
        this.prefix = prefix;
        this.procs = procs;
    }

    /** A fresh prefix: ngb + 4 random hex digits + "-", not in use yet. */
    static String newPrefix() {
        SecureRandom random = new SecureRandom();
        while (true) {
            String p = String.format("ngb%04x-", random.nextInt(0x10000));
            if (NetNs.list().stream().noneMatch(n -> n.startsWith(p))) {
                return p;
            }
        }
    }

    /** Builds the lab (namespaces edge, red, blue, lan with their links, addresses and routes). */
    static SeedLab create(String prefix, Procs procs) {
        SeedLab lab = new SeedLab(prefix, procs);
        try {
            TopologyApplier.apply(Topology.seedLab(), prefix);
        } catch (RuntimeException e) {
            lab.close();
            throw e;
        }
        return lab;
    }

    String prefix() {
        return prefix;
    }

    /** The full name of one of the lab's namespaces: edge → ngb1a2b-edge. */
    String ns(String name) {
        return prefix + name;
    }

    /** {@code cmd} run inside namespace {@code name} of the lab. */
    List<String> in(String name, String... cmd) {
        return in(name, List.of(cmd));
    }

    List<String> in(String name, List<String> cmd) {
        List<String> all = new ArrayList<>(List.of("ip", "netns", "exec", ns(name)));
        all.addAll(cmd);
        return all;
    }

    /** Runs a short command inside namespace {@code name}; a failure throws with its output. */
    String exec(String name, String... cmd) {
        return procs.run(Duration.ofSeconds(20), in(name, cmd));
    }

    /** Waits until something listens on TCP {@code port} in namespace {@code name}. */
    void awaitListening(String name, int port, Process server, Duration timeout) throws InterruptedException {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (System.nanoTime() < deadline) {
            if (!server.isAlive()) {
                throw new IllegalStateException("the server for port " + port + " in " + ns(name) + " exited (code "
                    + server.exitValue() + ")");
            }
            if (!exec(name, "ss", "-Hltn", "sport = :" + port).isBlank()) {
                return;
            }
            Thread.sleep(50);
        }
        throw new IllegalStateException("nothing listens on port " + port + " in " + ns(name) + " after "
            + timeout.toSeconds() + " s");
    }

    /** An interface's packet counter as the kernel reports it (ip -s link): {@code rx} or {@code tx} packets. */
    long packets(String name, String iface, String direction) {
        JsonNode link = link(name, iface, true);
        JsonNode n = link.path("stats64").path(direction).path("packets");
        if (!n.isNumber()) {
            throw new IllegalStateException("no " + direction + " packet counter for " + iface + " in " + ns(name));
        }
        return n.asLong();
    }

    /** An interface's MAC address. */
    String mac(String name, String iface) {
        return link(name, iface, false).path("address").asText();
    }

    /** The MAC address namespace {@code name} has learnt for {@code ip} (its neighbour table), or null. */
    String neighbourMac(String name, String ip) {
        try {
            JsonNode all = JSON.readTree(exec(name, "ip", "-j", "neigh", "show", ip));
            for (JsonNode n : all) {
                if (n.has("lladdr")) {
                    return n.get("lladdr").asText();
                }
            }
            return null;
        } catch (java.io.IOException e) {
            throw new IllegalStateException("cannot read the neighbour table of " + ns(name) + ": " + e.getMessage());
        }
    }

    private JsonNode link(String name, String iface, boolean stats) {
        List<String> cmd = new ArrayList<>(List.of("ip", "-j"));
        if (stats) {
            cmd.add("-s");
        }
        cmd.addAll(List.of("-n", ns(name), "link", "show", "dev", iface));
        try {
            JsonNode all = JSON.readTree(procs.run(Duration.ofSeconds(10), cmd));
            if (!all.isArray() || all.isEmpty()) {
                throw new IllegalStateException("no interface " + iface + " in " + ns(name));
            }
            return all.get(0);
        } catch (java.io.IOException e) {
            throw new IllegalStateException("cannot read " + iface + " in " + ns(name) + ": " + e.getMessage());
        }
    }

    /** Removes the lab: nsgate's destroy first, then any namespace that still carries the prefix. */
    @Override
    public synchronized void close() {
        if (destroyed) {
            return;
        }
        destroyed = true;
        try {
            TopologyApplier.destroy(Topology.seedLab(), prefix);
        } catch (RuntimeException e) {
            System.err.println("e2e: removing the lab " + prefix + ": " + e.getMessage());
        }
        for (String n : NetNs.list()) {
            if (n.startsWith(prefix)) {
                NetNs.delete(n);
            }
        }
    }
}
