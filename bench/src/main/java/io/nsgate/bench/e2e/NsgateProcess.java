// nsgate as a user runs it: `nsgate run` in edge, a JVM of its own, started and stopped by pid.
package io.nsgate.bench.e2e;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.stream.Collectors;

import io.nsgate.control.api.client.ControlClient;
import io.nsgate.control.api.ops.Operations;

/**
 * Starts {@code io.nsgate.control.cli.Main run --netns PREFIXedge --lan lan0 --inside v-net-0 --masquerade
 * 192.168.15.0/24 --forward ... --workers N} from the benchmark's own jar (it contains the control module), with the
 * launcher's production flags (Agrona exports, no Agrona bounds checks, plus NSGATE_JAVA_OPTS if set) and, when
 * asked, a JFR recording with the profile settings, dumped when the gateway exits. The gateway turns ip_forward off
 * itself; {@link #start} returns once it prints that it is running. {@link #close} sends SIGTERM (the gateway
 * detaches from the kernel and the JFR file is written) and waits for it.
 */
final class NsgateProcess implements Side {
    static final String READY = "nsgate: running";
    private static final Duration START_TIMEOUT = Duration.ofSeconds(60);

    private final SeedLab lab;
    private final Procs procs;
    private final int workers;
    private final Path jfr;
    private final Path log;
    private Process process;

    /** @param jfr where to write the recording, or null for none */
    NsgateProcess(SeedLab lab, Procs procs, int workers, Path jfr) {
        this.lab = lab;
        this.procs = procs;
        this.workers = workers;
        this.jfr = jfr;
        this.log = procs.dir().resolve("nsgate.log");
    }

    @Override
    public String name() {
        return "nsgate";
    }

    List<String> command() {
        List<String> cmd = new ArrayList<>();
        cmd.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
        cmd.add("--add-exports");
        cmd.add("java.base/jdk.internal.misc=ALL-UNNAMED");
        cmd.add("-Dagrona.disable.bounds.checks=true");
        String extra = System.getenv("NSGATE_JAVA_OPTS");
        if (extra != null && !extra.isBlank()) {
            cmd.addAll(List.of(extra.trim().split("\\s+")));
        }
        if (jfr != null) {
            cmd.add("-XX:StartFlightRecording=filename=" + jfr + ",settings=profile,dumponexit=true");
        }
        cmd.add("-cp");
        cmd.add(Path.of(System.getProperty("java.class.path").split(":")[0]).toAbsolutePath().toString());
        cmd.add("io.nsgate.control.cli.Main");
        cmd.addAll(List.of("run", "--netns", lab.ns("edge"), "--lan", "lan0", "--inside", "v-net-0",
            "--masquerade", SeedLab.INSIDE_NET, "--workers", String.valueOf(workers),
            "--control-socket", controlSocket().toString(), "--forward"));
        for (NatRules.Forward f : NatRules.FORWARDS) {
            cmd.add(f.proto() + ":" + f.port() + "=" + SeedLab.BLUE + ":" + f.port());
        }
        return cmd;
    }

    /**
     * The gateway's drop counters, read over its control socket: every drop reason and the frames the kernel dropped
     * at full receive rings ({@code rx_ring_drops}), by name.
     */
    Map<String, Long> drops() {
        try (ControlClient c = ControlClient.connect(controlSocket(), Duration.ofSeconds(5))) {
            ControlClient.Reply r = c.call("stats", null);
            if (!r.ok()) {
                throw new IllegalStateException("nsgate stats: " + r.message());
            }
            Map<String, Long> m = new TreeMap<>();
            r.result().path("drops").fields().forEachRemaining(e -> m.put(e.getKey(), e.getValue().asLong()));
            m.put(Operations.RING_DROPS, r.result().path("counters").path(Operations.RING_DROPS).asLong());
            return m;
        } catch (IOException e) {
            throw new IllegalStateException("nsgate's control socket " + controlSocket() + ": " + e.getMessage(), e);
        }
    }

    /** The drops between two {@link #drops()} readings, largest first ("rx_ring_drops 1234, tx_ring_full 5"). */
    static String dropsBetween(Map<String, Long> before, Map<String, Long> after) {
        return after.entrySet().stream()
            .map(e -> Map.entry(e.getKey(), e.getValue() - before.getOrDefault(e.getKey(), 0L)))
            .filter(e -> e.getValue() > 0)
            .sorted(Map.Entry.<String, Long>comparingByValue().reversed())
            .map(e -> e.getKey() + " " + e.getValue())
            .collect(Collectors.joining(", "));
    }

    /** This run's control socket (never the default one a production daemon on this host may serve). */
    Path controlSocket() {
        return Path.of("/run/nsgate", lab.prefix() + "bench.sock");
    }

    @Override
    public void start() throws InterruptedException {
        process = procs.start(command(), log);
        long deadline = System.nanoTime() + START_TIMEOUT.toNanos();
        while (System.nanoTime() < deadline) {
            if (Procs.read(log).contains(READY)) {
                return;
            }
            if (!process.isAlive()) {
                throw new IllegalStateException("nsgate exited with code " + process.exitValue()
                    + " before it was running (log " + log + ")" + Procs.tail(Procs.read(log)));
            }
            Thread.sleep(50);
        }
        throw new IllegalStateException("nsgate did not print \"" + READY + "\" within " + START_TIMEOUT.toSeconds()
            + " s (log " + log + ")" + Procs.tail(Procs.read(log)));
    }

    @Override
    public void checkAlive() {
        if (process != null && !process.isAlive()) {
            throw new IllegalStateException("nsgate (pid " + process.pid() + ") died with exit code "
                + process.exitValue() + " (log " + log + ")" + Procs.tail(Procs.read(log)));
        }
    }

    @Override
    public long pid() {
        return process == null ? -1 : process.pid();
    }

    Path log() {
        return log;
    }

    /** What the gateway printed. */
    String output() {
        return Files.exists(log) ? Procs.read(log) : "";
    }

    /** SIGTERM and wait (up to 30 s: the shutdown detaches the guards and writes the JFR file), then SIGKILL. */
    @Override
    public void close() {
        if (process != null) {
            procs.stop(process, Duration.ofSeconds(30));
            process = null;
        }
    }
}
