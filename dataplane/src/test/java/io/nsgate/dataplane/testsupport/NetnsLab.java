// Network namespaces, veth pairs and processes for end-to-end tests, under one per-run prefix, removed on close.
package io.nsgate.dataplane.testsupport;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.Callable;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.FutureTask;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;

import io.nsgate.linux.net.MacAddress;
import io.nsgate.linux.sys.Linux;
import io.nsgate.linux.sys.Syscalls;

/**
 * A throwaway lab: {@link #ns} makes a namespace named {@code ngtXXXX-NAME} (a fresh random prefix per lab, the
 * pattern {@code scripts/clean-test-leftovers} sweeps after a crash) with {@code ip netns add}; {@link #veth} makes a
 * veth pair directly between two of them ({@code ip -n A link add ... peer ... netns B}: nothing is ever created in
 * the root namespace); {@link #exec} and {@link #start} run commands inside with {@code ip netns exec};
 * {@link #inside} runs Java code on a dedicated thread that entered the namespace with setns(2) once (one thread per
 * namespace, never a pooled one), which is how tests open sockets there. {@link #close} stops the processes it
 * started (by their handles, i.e. by pid), ends the threads and deletes the namespaces, their interfaces with them,
 * also after a failure. IPv6 is switched off in every namespace so that router solicitations and the like do not
 * add frames the tests did not ask for.
 *
 * <p>{@code ip} is the test oracle and builder here; production code never shells out.
 */
public final class NetnsLab implements AutoCloseable {
    private static final SecureRandom RANDOM = new SecureRandom();
    private static final String PYTHON = Files.isExecutable(Path.of("/usr/bin/python3")) ? "/usr/bin/python3"
        : "python3";

    private final String prefix;
    private final List<String> namespaces = new ArrayList<>();
    private final Map<String, NamespaceThread> threads = new LinkedHashMap<>();
    private final List<Process> processes = new ArrayList<>();
    private final Path scratch;

    private NetnsLab(String prefix) {
        this.prefix = prefix;
        try {
            this.scratch = Files.createTempDirectory(prefix);
        } catch (IOException e) {
            throw new AssertionError("cannot create a scratch directory: " + e, e);
        }
    }

    /** A lab with a fresh prefix no existing namespace uses. */
    public static NetnsLab create() {
        while (true) {
            String prefix = String.format("ngt%04x-", RANDOM.nextInt(0x10000));
            String existing = run(List.of(ip(), "netns", "list")).stdout;
            if (Arrays.stream(existing.split("\n")).noneMatch(line -> line.startsWith(prefix))) {
                return new NetnsLab(prefix);
            }
        }
    }

    /** The python3 interpreter the tests run inside namespaces. */
    public static String python() {
        return PYTHON;
    }

    public String prefix() {
        return prefix;
    }

    /** Creates namespace {@code prefix + name} with lo up and IPv6 off; returns its full name. */
    public String ns(String name) {
        String full = prefix + name;
        ip("netns", "add", full);
        namespaces.add(full);
        ip("-n", full, "link", "set", "lo", "up");
        exec(full, "sysctl", "-qw", "net.ipv6.conf.all.disable_ipv6=1", "net.ipv6.conf.default.disable_ipv6=1");
        return full;
    }

    /** A veth pair {@code ifA} in {@code nsA}, {@code ifB} in {@code nsB}, both up. */
    public void veth(String nsA, String ifA, String nsB, String ifB) {
        ip("-n", nsA, "link", "add", ifA, "type", "veth", "peer", "name", ifB, "netns", nsB);
        ip("-n", nsA, "link", "set", ifA, "up");
        ip("-n", nsB, "link", "set", ifB, "up");
    }

    /** Adds {@code cidr} to {@code ifName} in {@code ns}. */
    public void address(String ns, String ifName, String cidr) {
        ip("-n", ns, "address", "add", cidr, "dev", ifName);
    }

    /** The MAC address of {@code ifName} in {@code ns}, as 48 bits. */
    public long mac(String ns, String ifName) {
        return MacAddress.parse(exec(ns, "cat", "/sys/class/net/" + ifName + "/address").trim());
    }

    /** Runs {@code ip ARGS}; AssertionError with its stderr when it fails. */
    public static String ip(String... args) {
        List<String> cmd = new ArrayList<>();
        cmd.add(ip());
        cmd.addAll(Arrays.asList(args));
        Result r = run(cmd);
        if (r.exitCode != 0) {
            throw new AssertionError(String.join(" ", cmd) + " failed (" + r.exitCode + "): " + r.stderr);
        }
        return r.stdout;
    }

    /** Runs a command inside {@code ns} and waits for it; AssertionError when it fails. Returns stdout. */
    public String exec(String ns, String... command) {
        Result r = tryExec(ns, command);
        if (r.exitCode != 0) {
            throw new AssertionError("in " + ns + ": " + String.join(" ", command) + " failed (" + r.exitCode
                + "): " + r.stderr + r.stdout);
        }
        return r.stdout;
    }

    /** Runs a command inside {@code ns} and waits for it, whatever its exit code. */
    public Result tryExec(String ns, String... command) {
        return run(nsCommand(ns, command));
    }

    /**
     * Starts a command inside {@code ns} in the background, its output (stdout and stderr) going to a scratch file
     * ({@link #output}); it is stopped on {@link #close} if still running.
     */
    public Process start(String ns, String... command) {
        try {
            Path out = scratch.resolve("p" + processes.size() + ".out");
            Process p = new ProcessBuilder(nsCommand(ns, command)).redirectErrorStream(true)
                .redirectOutput(out.toFile()).start();
            processes.add(p);
            return p;
        } catch (IOException e) {
            throw new AssertionError("cannot start " + Arrays.toString(command) + " in " + ns + ": " + e, e);
        }
    }

    /** What a process from {@link #start} has printed so far. */
    public String output(Process process) {
        int index = processes.indexOf(process);
        try {
            return Files.readString(scratch.resolve("p" + index + ".out"), StandardCharsets.UTF_8);
        } catch (IOException e) {
            return "(no output: " + e + ")";
        }
    }

    /** Waits for a process from {@link #start} to end; AssertionError with its output if it does not or fails. */
    public String await(Process process, int seconds) {
        try {
            if (!process.waitFor(seconds, TimeUnit.SECONDS)) {
                throw new AssertionError("process did not end within " + seconds + " s; output: " + output(process));
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new AssertionError("interrupted", e);
        }
        if (process.exitValue() != 0) {
            throw new AssertionError("process failed (" + process.exitValue() + "): " + output(process));
        }
        return output(process);
    }

    /** Runs {@code task} on this namespace's dedicated thread (created on first use) and returns its result. */
    public <T> T inside(String ns, Callable<T> task) {
        NamespaceThread thread = threads.computeIfAbsent(ns, NamespaceThread::new);
        return thread.call(task);
    }

    /** Stops processes, ends threads, deletes namespaces; reports the first failure after trying everything. */
    @Override
    public void close() {
        List<String> problems = new ArrayList<>();
        for (Process p : processes) {
            if (p.isAlive()) {
                p.destroy();
                try {
                    if (!p.waitFor(3, TimeUnit.SECONDS)) {
                        p.destroyForcibly().waitFor(3, TimeUnit.SECONDS);
                    }
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            }
        }
        for (NamespaceThread t : threads.values()) {
            t.stop();
        }
        for (String ns : namespaces) {
            Result r = run(List.of(ip(), "netns", "del", ns));
            if (r.exitCode != 0) {
                problems.add("ip netns del " + ns + ": " + r.stderr.trim());
            }
        }
        try (var files = Files.list(scratch)) {
            for (Path f : files.toList()) {
                Files.deleteIfExists(f);
            }
            Files.deleteIfExists(scratch);
        } catch (IOException e) {
            problems.add("scratch " + scratch + ": " + e);
        }
        if (!problems.isEmpty()) {
            throw new AssertionError("lab " + prefix + " cleanup: " + problems);
        }
    }

    private static List<String> nsCommand(String ns, String... command) {
        List<String> cmd = new ArrayList<>(List.of(ip(), "netns", "exec", ns));
        cmd.addAll(Arrays.asList(command));
        return cmd;
    }

    private static String ip() {
        for (String dir : List.of("/usr/sbin", "/sbin", "/usr/bin", "/bin")) {
            if (Files.isExecutable(Path.of(dir, "ip"))) {
                return dir + "/ip";
            }
        }
        throw new AssertionError("iproute2's ip is not installed: run scripts/ensure-deps test");
    }

    /** Runs a command to completion (60 s at most). */
    public static Result run(List<String> cmd) {
        try {
            Process p = new ProcessBuilder(cmd).start();
            byte[] out = p.getInputStream().readAllBytes();
            byte[] err = p.getErrorStream().readAllBytes();
            if (!p.waitFor(60, TimeUnit.SECONDS)) {
                p.destroyForcibly();
                throw new AssertionError(cmd + " did not finish in 60 s");
            }
            return new Result(p.exitValue(), new String(out, StandardCharsets.UTF_8),
                new String(err, StandardCharsets.UTF_8));
        } catch (IOException e) {
            throw new AssertionError("cannot run " + cmd + ": " + e, e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new AssertionError("interrupted running " + cmd, e);
        }
    }

    /** A finished command. */
    public record Result(int exitCode, String stdout, String stderr) {
    }

    /** A thread that enters one namespace once and then runs the tasks given to it, until stopped. */
    private static final class NamespaceThread {
        private static final Runnable STOP = () -> { };
        private final BlockingQueue<Runnable> tasks = new LinkedBlockingQueue<>();
        private final Thread thread;
        private final FutureTask<Void> entered;

        NamespaceThread(String ns) {
            entered = new FutureTask<>(() -> {
                int fd = Syscalls.open("/run/netns/" + ns, Linux.O_RDONLY | Linux.O_CLOEXEC, 0);
                try {
                    Syscalls.setns(fd, Linux.CLONE_NEWNET, ns);
                } finally {
                    Syscalls.close(fd, "/run/netns/" + ns);
                }
                return null;
            });
            thread = new Thread(this::serve, "netns-" + ns);
            thread.setDaemon(true);
            thread.start();
            await(entered);
        }

        private void serve() {
            entered.run();
            try {
                entered.get();
            } catch (InterruptedException | ExecutionException e) {
                return; // never serve tasks from a namespace we failed to enter
            }
            while (true) {
                Runnable task;
                try {
                    task = tasks.take();
                } catch (InterruptedException e) {
                    continue;
                }
                if (task == STOP) {
                    return;
                }
                task.run();
            }
        }

        <T> T call(Callable<T> task) {
            FutureTask<T> future = new FutureTask<>(task);
            tasks.add(future);
            return await(future);
        }

        void stop() {
            tasks.add(STOP);
            try {
                thread.join(5000);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }

        private static <T> T await(FutureTask<T> future) {
            try {
                return future.get(60, TimeUnit.SECONDS);
            } catch (ExecutionException e) {
                Throwable cause = e.getCause();
                if (cause instanceof RuntimeException r) {
                    throw r;
                }
                if (cause instanceof Error err) {
                    throw err;
                }
                throw new AssertionError(cause);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new AssertionError("interrupted", e);
            } catch (java.util.concurrent.TimeoutException e) {
                throw new AssertionError("namespace task did not finish in 60 s", e);
            }
        }
    }
}
