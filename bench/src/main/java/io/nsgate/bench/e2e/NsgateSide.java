// nsgate as a user runs it, the side measured against the kernel: `nsgate run` in edge, a JVM of its own.
package io.nsgate.bench.e2e;

import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.stream.Collectors;

import io.nsgate.control.api.StatsJson;
import io.nsgate.control.api.client.ControlClient;
import io.nsgate.control.testsupport.SeedLab;
import io.nsgate.dataplane.stats.DropReason;
import io.nsgate.dataplane.stats.PortCounter;
import io.nsgate.dataplane.stats.StatsSnapshot;
import io.nsgate.testkit.CommandException;
import io.nsgate.testkit.NsgateProcess;

/**
 * Starts {@code io.nsgate.control.cli.Main run --netns PREFIXedge --lan lan0 --inside v-net-0 --masquerade
 * 192.168.15.0/24 --forward ... --workers N} as an {@link NsgateProcess} from the benchmark's own jar (it contains
 * the control module), with the launcher's production flags (Agrona exports, no Agrona bounds checks, plus
 * NSGATE_JAVA_OPTS if set) and, when asked, a JFR recording with the profile settings, dumped when the gateway exits;
 * its output goes to nsgate.log in the run's directory. The gateway turns ip_forward off itself; {@link #start}
 * returns once it prints that it is running. {@link #close} sends SIGTERM (the gateway detaches from the kernel and
 * the JFR file is written) and waits for it. Its drop counters are read over its control socket.
 */
final class NsgateSide implements Side {
    static final String READY = "nsgate: running";
    private static final Duration START_TIMEOUT = Duration.ofSeconds(60);

    private final SeedLab lab;
    private final int workers;
    private final Path jfr;
    private final List<String> extraArgs;
    private final List<String> extraJvmFlags;
    private final Path log;
    private Path gatewayJar;
    private NsgateProcess process;

    /** @param jfr where to write the recording, or null for none */
    NsgateSide(SeedLab lab, int workers, Path jfr) {
        this(lab, workers, jfr, List.of());
    }

    /** @param extraArgs more `nsgate run` flags, e.g. --flow-table-size 4096 */
    NsgateSide(SeedLab lab, int workers, Path jfr, List<String> extraArgs) {
        this(lab, workers, jfr, extraArgs, List.of());
    }

    /** @param extraJvmFlags more JVM flags after the production ones (e.g. a perf map) */
    NsgateSide(SeedLab lab, int workers, Path jfr, List<String> extraArgs, List<String> extraJvmFlags) {
        this.lab = lab;
        this.workers = workers;
        this.jfr = jfr;
        this.extraArgs = List.copyOf(extraArgs);
        this.extraJvmFlags = List.copyOf(extraJvmFlags);
        this.log = lab.processes().dir().resolve("nsgate.log");
    }

    /**
     * Runs the gateway from another build's benchmark jar ({@code bench/target/benchmarks.jar} of an older checkout),
     * so two builds meet the same harness, lab and tools; null: this jar.
     */
    NsgateSide gatewayJar(Path jar) {
        this.gatewayJar = jar;
        return this;
    }

    /** The forwards of {@link NatRules}: each to blue over IPv4, and the TCP ones to blue's IPv6 address too. */
    static List<String> forwardFlags() {
        List<String> flags = new ArrayList<>();
        for (NatRules.Forward f : NatRules.FORWARDS) {
            flags.add(f.proto() + ":" + f.port() + "=" + SeedLab.BLUE + ":" + f.port());
        }
        for (NatRules.Forward f : NatRules.FORWARDS6) {
            flags.add(f.proto() + ":" + f.port() + "=[" + SeedLab.BLUE6 + "]:" + f.port());
        }
        return flags;
    }

    @Override
    public String name() {
        return "nsgate";
    }

    /**
     * The options of the repository's {@code jvm.options} (what ./nsgate runs with), found through the system property
     * {@code nsgate.jvmOptions} that bench/run sets.
     */
    static List<String> productionFlags() {
        String file = System.getProperty("nsgate.jvmOptions");
        if (file == null) {
            throw new IllegalStateException("-Dnsgate.jvmOptions=FILE is not set (bench/run sets it to jvm.options)");
        }
        return NsgateProcess.jvmOptions(Path.of(file));
    }

    NsgateProcess.Launch launch() {
        List<String> flags = new ArrayList<>(productionFlags());
        flags.addAll(extraJvmFlags);
        String extra = System.getenv("NSGATE_JAVA_OPTS");
        if (extra != null && !extra.isBlank()) {
            flags.addAll(List.of(extra.trim().split("\\s+")));
        }
        if (jfr != null) {
            flags.add("-XX:StartFlightRecording=filename=" + jfr + ",settings=profile,dumponexit=true");
        }
        List<String> args = new ArrayList<>(List.of("run", "--netns", lab.ns("edge"), "--lan", "lan0", "--inside",
            "v-net-0", "--masquerade", SeedLab.INSIDE_NET, SeedLab.INSIDE_NET6, "--workers", String.valueOf(workers),
            "--control-socket", controlSocket().toString(), "--forward"));
        args.addAll(forwardFlags());
        args.addAll(extraArgs);
        String jar = (gatewayJar != null ? gatewayJar : Path.of(System.getProperty("java.class.path").split(":")[0]))
            .toAbsolutePath().toString();
        return NsgateProcess.Launch.of(args.toArray(new String[0])).withJvmFlags(flags).withClasspath(jar)
            .withOutput(log);
    }

    /**
     * The gateway's drop counters, read over its control socket: every drop reason and every port counter that counts
     * lost frames (the kernel's {@code rx_ring_drops} among them), by name.
     */
    Map<String, Long> drops() {
        StatsSnapshot stats = stats();
        Map<String, Long> m = new TreeMap<>();
        for (DropReason d : DropReason.values()) {
            m.put(StatsJson.name(d), stats.total(d));
        }
        for (PortCounter p : PortCounter.values()) {
            if (p.drop) {
                m.put(StatsJson.name(p), stats.total(p));
            }
        }
        return m;
    }

    /** The gateway's whole statistics, over its control socket. */
    StatsSnapshot stats() {
        try (ControlClient c = ControlClient.connect(controlSocket(), Duration.ofSeconds(5))) {
            ControlClient.Reply r = c.call("stats", null);
            if (!r.ok()) {
                throw new IllegalStateException("nsgate stats: " + r.message());
            }
            return StatsJson.read(r.result());
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
        process = NsgateProcess.start(lab.processes(), launch());
        try {
            process.readUntil(READY, START_TIMEOUT);
        } catch (CommandException e) {
            throw new IllegalStateException(e.getMessage() + "\n    (log " + log + ")", e);
        }
    }

    @Override
    public void checkAlive() {
        if (process != null && !process.isAlive()) {
            throw new IllegalStateException(process + " died with exit code " + process.exitValue() + " (log " + log
                + ")" + CommandException.tail(process.output()));
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
        return process == null ? "" : process.output();
    }

    /** SIGTERM and wait (up to 30 s: the shutdown detaches the guards and writes the JFR file), then SIGKILL. */
    @Override
    public void close() {
        if (process != null) {
            process.close();
        }
    }
}
