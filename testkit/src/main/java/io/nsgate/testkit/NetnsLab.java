// A throwaway lab of network namespaces under one per-run prefix: veth pairs, commands, threads inside, all removed.
package io.nsgate.testkit;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;

import com.fasterxml.jackson.databind.JsonNode;

/**
 * Everything in a lab carries its {@link #prefix} ({@code ngtXXXX-}, or {@code ngbXXXX-} for a benchmark: what
 * {@code scripts/clean-test-leftovers} sweeps after a crash), and nothing is ever created in the root namespace.
 * {@link #addNamespace} makes a namespace ({@code ip netns add}) with lo up and IPv6 off, so that router
 * solicitations and the like do not add frames the tests did not ask for; {@link #adopt} takes in one that someone
 * else made (nsgate's own TopologyApplier). {@link #veth} makes a pair directly between two of them
 * ({@code ip -n A link add ... peer ... netns B}). {@link #exec}, {@link #tryExec} and {@link #start} run commands
 * inside with {@code ip netns exec} (through {@link #processes()}, so they are stopped by pid); {@link #inside} runs
 * Java code on the namespace's {@link NetnsThread}, which is how tests open sockets there.
 *
 * <p>{@link #close} stops the processes, ends the threads, lets a subclass remove what it built
 * ({@link #beforeNamespacesAreDeleted}), deletes the lab's namespaces, their interfaces with them, and sweeps the
 * prefix; it tries everything also after a failure and then reports what it could not remove. Methods take full
 * namespace names ({@link #ns}) and refuse any that is not the lab's. {@code ip} is the builder here: production
 * code never shells out.
 */
public class NetnsLab implements AutoCloseable {
    private static final Path RUN_NETNS = Path.of("/run/netns");

    private final String prefix;
    private final Processes processes;
    private final List<String> namespaces = new ArrayList<>();
    private final Map<String, NetnsThread> threads = new LinkedHashMap<>();
    private Path bpfFs;
    private boolean closed;

    /** A lab under a fresh prefix of {@code kind}, running its commands through {@code processes}. */
    protected NetnsLab(TestPrefix.Kind kind, Processes processes) {
        this.prefix = TestPrefix.fresh(kind);
        this.processes = processes;
    }

    /** A test lab: fresh ngt prefix, its process output in a temporary directory removed on close. */
    public static NetnsLab create() {
        return new NetnsLab(TestPrefix.Kind.TEST, new Processes());
    }

    /** A lab under a fresh prefix of {@code kind} whose processes are {@code processes} (a benchmark's run). */
    public static NetnsLab create(TestPrefix.Kind kind, Processes processes) {
        return new NetnsLab(kind, processes);
    }

    /**
     * A bpf file system of the lab's own, mounted at {@code /tmp/PREFIXbpf} (a fresh instance: empty, shared with no
     * one), for pinned guards; unmounted on {@link #close}, which drops every pin in it.
     */
    public synchronized Path bpfFileSystem() {
        if (bpfFs == null) {
            Path dir = Path.of("/tmp", prefix + "bpf");
            try {
                Files.createDirectories(dir);
            } catch (java.io.IOException e) {
                throw new java.io.UncheckedIOException(e);
            }
            Commands.Result r = Commands.run(List.of("mount", "-t", "bpf", "bpf", dir.toString()));
            if (!r.ok()) {
                throw new IllegalStateException("mount -t bpf bpf " + dir + ": " + r.stderr().strip());
            }
            bpfFs = dir;
        }
        return bpfFs;
    }

    /** The lab's prefix, e.g. "ngt1a2b-". */
    public String prefix() {
        return prefix;
    }

    /** The full name of the lab's namespace {@code name}: ns("edge") = "ngt1a2b-edge". */
    public String ns(String name) {
        return prefix + name;
    }

    /** The processes the lab runs, stopped on close. */
    public Processes processes() {
        return processes;
    }

    /** Creates namespace {@code ns(name)} with lo up and IPv6 off; returns its full name. */
    public String addNamespace(String name) {
        String full = ns(name);
        Commands.ip("netns", "add", full);
        register(full);
        Commands.ip("-n", full, "link", "set", "lo", "up");
        exec(full, "sysctl", "-qw", "net.ipv6.conf.all.disable_ipv6=1", "net.ipv6.conf.default.disable_ipv6=1");
        return full;
    }

    /**
     * Deletes namespace {@code ns(name)} now, as a fault would (its interfaces go with it; veth peers elsewhere
     * vanish too). Its thread, if any, is stopped first.
     */
    public void removeNamespace(String name) {
        String full = ns(name);
        requireOwn(full);
        NetnsThread thread;
        synchronized (this) {
            thread = threads.remove(full);
        }
        if (thread != null) {
            thread.close();
        }
        Commands.ip("netns", "del", full);
    }

    /** Takes in namespace {@code ns(name)}, made by someone else, as the lab's (deleted on close); its full name. */
    public String adopt(String name) {
        String full = ns(name);
        if (!Files.exists(RUN_NETNS.resolve(full))) {
            throw new IllegalArgumentException("no namespace " + full + " to adopt (ip netns list shows what exists)");
        }
        register(full);
        return full;
    }

    private synchronized void register(String full) {
        if (closed) {
            throw new IllegalStateException("lab " + prefix + " is closed");
        }
        namespaces.add(full);
    }

    /** A veth pair: {@code ifA} in {@code nsA}, {@code ifB} in {@code nsB}, both up. */
    public void veth(String nsA, String ifA, String nsB, String ifB) {
        requireOwn(nsA);
        requireOwn(nsB);
        Commands.ip("-n", nsA, "link", "add", ifA, "type", "veth", "peer", "name", ifB, "netns", nsB);
        Commands.ip("-n", nsA, "link", "set", ifA, "up");
        Commands.ip("-n", nsB, "link", "set", ifB, "up");
    }

    /** Adds {@code cidr} (e.g. "10.1.1.1/24") to {@code ifName} in {@code ns}. */
    public void address(String ns, String ifName, String cidr) {
        requireOwn(ns);
        Commands.ip("-n", ns, "address", "add", cidr, "dev", ifName);
    }

    /** The MAC address of {@code ifName} in {@code ns}, e.g. "02:42:0a:00:00:01". */
    public String mac(String ns, String ifName) {
        return link(ns, ifName, false).path("address").asText();
    }

    /** An interface's packet counter as the kernel reports it ({@code ip -s link}): direction "rx" or "tx". */
    public long packets(String ns, String ifName, String direction) {
        JsonNode n = link(ns, ifName, true).path("stats64").path(direction).path("packets");
        if (!n.isNumber()) {
            throw new IllegalStateException("ip -s -n " + ns + " link show " + ifName + " reports no " + direction
                + " packet counter");
        }
        return n.asLong();
    }

    /** The MAC address namespace {@code ns} has learnt for {@code ip} (its neighbour table), or null. */
    public String neighbourMac(String ns, String ip) {
        requireOwn(ns);
        for (JsonNode n : Commands.ipJson("-n", ns, "neigh", "show", ip)) {
            if (n.has("lladdr")) {
                return n.get("lladdr").asText();
            }
        }
        return null;
    }

    private JsonNode link(String ns, String ifName, boolean stats) {
        requireOwn(ns);
        JsonNode all = stats ? Commands.ipJson("-s", "-n", ns, "link", "show", "dev", ifName)
            : Commands.ipJson("-n", ns, "link", "show", "dev", ifName);
        if (!all.isArray() || all.isEmpty()) {
            throw new IllegalStateException("no interface " + ifName + " in " + ns + " (ip -n " + ns + " link)");
        }
        return all.get(0);
    }

    /** Runs a command inside {@code ns} and returns its stdout; {@link CommandException} when it fails. */
    public String exec(String ns, String... command) {
        requireOwn(ns);
        return processes.check(Commands.TIMEOUT, Commands.inNetns(ns, command));
    }

    /** Runs a command inside {@code ns} and returns what happened, whatever its exit code. */
    public Commands.Result tryExec(String ns, String... command) {
        requireOwn(ns);
        return processes.run(Commands.TIMEOUT, Commands.inNetns(ns, command));
    }

    /** Starts a command inside {@code ns} in the background (output: {@link #output}); stopped on close. */
    public Process start(String ns, String... command) {
        requireOwn(ns);
        return processes.start(Commands.inNetns(ns, command));
    }

    /** What a process from {@link #start} has printed so far. */
    public String output(Process process) {
        return processes.output(process);
    }

    /** Waits for a process from {@link #start} to end with exit code 0 and returns its output (see Processes). */
    public String await(Process process, Duration timeout) {
        return processes.await(process, timeout);
    }

    /** Waits until something listens on TCP {@code port} in {@code ns}; throws if {@code server} exits first. */
    public void awaitListening(String ns, int port, Process server, Duration timeout) throws InterruptedException {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (System.nanoTime() < deadline) {
            if (!server.isAlive()) {
                throw new IllegalStateException("the server for port " + port + " in " + ns + " exited (code "
                    + server.exitValue() + ")" + CommandException.tail(output(server)));
            }
            if (!exec(ns, "ss", "-Hltn", "sport = :" + port).isBlank()) {
                return;
            }
            Thread.sleep(50);
        }
        throw new IllegalStateException("nothing listens on port " + port + " in " + ns + " after "
            + CommandException.seconds(timeout) + CommandException.tail(output(server)));
    }

    /** Runs {@code task} on {@code ns}'s dedicated thread (created on first use) and returns its result. */
    public <T> T inside(String ns, Callable<T> task) {
        requireOwn(ns);
        NetnsThread thread;
        synchronized (this) {
            if (closed) {
                throw new IllegalStateException("lab " + prefix + " is closed");
            }
            thread = threads.computeIfAbsent(ns, NetnsThread::enter);
        }
        return thread.call(task);
    }

    private void requireOwn(String ns) {
        if (!ns.startsWith(prefix) || ns.length() == prefix.length()) {
            throw new IllegalArgumentException(ns + " is not a namespace of lab " + prefix + " (use ns(name))");
        }
    }

    /**
     * Called by {@link #close} after processes and threads are stopped, before the namespaces are deleted: where a
     * subclass removes what it built in them. Nothing by default.
     */
    protected void beforeNamespacesAreDeleted() {
    }

    /**
     * Stops the processes, ends the threads, deletes the namespaces and sweeps the prefix; tries all of it even when
     * a step fails, then throws naming what is left. Once: later calls do nothing.
     */
    @Override
    public synchronized void close() {
        if (closed) {
            return;
        }
        closed = true;
        List<String> problems = new ArrayList<>();
        processes.stopAll();
        threads.values().forEach(NetnsThread::close);
        threads.clear();
        try {
            beforeNamespacesAreDeleted();
        } catch (RuntimeException e) {
            problems.add(e.getMessage());
        }
        if (bpfFs != null) {
            Commands.Result r = Commands.run(List.of("umount", bpfFs.toString()));
            if (!r.ok()) {
                problems.add("umount " + bpfFs + ": " + r.stderr().strip());
            } else {
                try {
                    Files.deleteIfExists(bpfFs);
                } catch (java.io.IOException e) {
                    problems.add("rmdir " + bpfFs + ": " + e.getMessage());
                }
            }
        }
        for (int i = namespaces.size() - 1; i >= 0; i--) {
            String ns = namespaces.get(i);
            if (Files.exists(RUN_NETNS.resolve(ns))) {
                Commands.Result r = Commands.tryIp("netns", "del", ns);
                if (!r.ok()) {
                    problems.add("ip netns del " + ns + ": " + r.stderr().strip());
                }
            }
        }
        try {
            TestPrefix.sweep(prefix);
        } catch (RuntimeException e) {
            problems.add(e.getMessage());
        }
        processes.close();
        if (!problems.isEmpty()) {
            throw new IllegalStateException("lab " + prefix + " was not removed completely: " + problems);
        }
    }
}
