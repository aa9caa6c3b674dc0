// The gateway run by an ordinary user given the unit's capabilities, as the packaged service runs it.
package io.nsgate.control.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

import io.nsgate.control.lab.EchoHttpService;
import io.nsgate.control.lab.HttpProbe;
import io.nsgate.control.testsupport.SeedLab;
import io.nsgate.linux.sys.Capabilities;
import io.nsgate.testkit.Commands;
import io.nsgate.testkit.NsgateProcess;

/**
 * {@code nsgate run} as uid 65534 (nobody) with exactly the capabilities of the packaged unit's
 * {@code AmbientCapabilities=} (setpriv drops everything else, the bounding set too), with a state file, pinned guards
 * in a bpf file system of mode 0700 (as systemd mounts /sys/fs/bpf) and a control socket: it forwards, masquerades,
 * answers root's `nsgate ctl`, and keeps its connections across a restart. Its classpath is copied where nobody may
 * read it (the build's jars may live under root's home).
 */
class NonRootEndToEndTest {
    @RegisterExtension
    static final SeedLab LAB = new SeedLab();
    static final String CAPS = "net_admin,net_raw,bpf,sys_admin,chown,dac_read_search";
    static final int NOBODY = 65534;

    private static EchoHttpService blueWeb;
    @TempDir
    static Path dir;
    private static String classpath;
    private static Path own;
    private static Path pins;

    @BeforeAll
    static void prepare() throws Exception {
        blueWeb = EchoHttpService.start(LAB.netns("blue"), "blue", SeedLab.BLUE, 80);
        Files.setPosixFilePermissions(dir, PosixFilePermissions.fromString("rwxr-xr-x"));
        classpath = readableClasspath(dir.resolve("cp"));
        own = Files.createDirectory(dir.resolve("nobody"));
        chown(own);
        Path bpf = LAB.bpfFileSystem();
        Files.setPosixFilePermissions(bpf, PosixFilePermissions.fromString("rwx------")); // as systemd mounts it
        pins = Files.createDirectory(bpf.resolve("nsgate")); // the unit's ExecStartPre makes it, root-owned above
        chown(pins);
    }

    @AfterAll
    static void stopBlue() {
        blueWeb.close();
    }

    private static void chown(Path p) {
        Commands.Result r = Commands.run(List.of("chown", NOBODY + ":" + NOBODY, p.toString()));
        assertTrue(r.ok(), r.stderr());
    }

    /** This JVM's classpath, copied into {@code to} (world-readable), as a classpath string. */
    private static String readableClasspath(Path to) throws IOException {
        List<String> entries = new ArrayList<>();
        int n = 0;
        for (String entry : System.getProperty("java.class.path").split(java.io.File.pathSeparator)) {
            Path from = Path.of(entry);
            if (!Files.exists(from)) {
                continue;
            }
            Path copy = to.resolve(Integer.toString(n++)).resolve(from.getFileName());
            try (Stream<Path> tree = Files.walk(from)) {
                for (Path p : tree.toList()) {
                    Path target = copy.resolve(from.relativize(p).toString());
                    if (Files.isDirectory(p)) {
                        Files.createDirectories(target);
                    } else {
                        Files.createDirectories(target.getParent());
                        Files.copy(p, target, StandardCopyOption.REPLACE_EXISTING);
                    }
                }
            }
            entries.add(copy.toString());
        }
        Commands.Result r = Commands.run(List.of("chmod", "-R", "a+rX", to.toString()));
        assertTrue(r.ok(), r.stderr());
        return String.join(java.io.File.pathSeparator, entries);
    }

    private NsgateProcess gatewayAsNobody(Path config) {
        List<String> wrapper = new ArrayList<>(Commands.inNetns(LAB.ns("edge"), List.of()));
        String caps = "-all," + ("+" + CAPS).replace(",", ",+");
        wrapper.addAll(List.of("setpriv", "--reuid=" + NOBODY, "--regid=" + NOBODY, "--clear-groups",
            "--inh-caps=" + caps, "--ambient-caps=" + caps, "--bounding-set=" + caps));
        return NsgateProcess.start(LAB.processes(), NsgateProcess.Launch.of("run", "--config", config.toString(),
                "--control-socket", own.resolve("ctl.sock").toString())
            .withJvmOptionsFile(NsgateProcess.repositoryJvmOptions()).withClasspath(classpath)
            .withJvmFlags(List.of("-Djava.io.tmpdir=" + own)).under(wrapper));
    }

    @Test
    void anOrdinaryUserWithTheUnitsCapabilitiesRunsTheWholeGateway() throws Exception {
        Path config = own.resolve("gateway.yaml");
        Files.writeString(config, "lan: lan0\ninside: [v-net-0]\nmasquerade: [192.168.15.0/24]\n"
            + "forwards: [\"tcp:80=192.168.15.2:80\"]\nworkers: 1\nstateFile: " + own.resolve("flows") + "\n"
            + "pinDirectory: " + pins + "\n");
        chown(config);
        NsgateProcess gateway = gatewayAsNobody(config);
        String log = gateway.readUntil("nsgate: running", Duration.ofSeconds(90));
        assertTrue(log.contains("attached to"), log);
        String status = Files.readString(Path.of("/proc", Long.toString(gateway.pid()), "status"));
        assertTrue(status.contains("\nUid:\t" + NOBODY + "\t" + NOBODY), "runs as nobody: " + status);
        long unitCaps = (1L << Capabilities.CAP_NET_ADMIN) | (1L << Capabilities.CAP_NET_RAW)
            | (1L << Capabilities.CAP_BPF) | (1L << Capabilities.CAP_SYS_ADMIN) | (1L << Capabilities.CAP_CHOWN)
            | (1L << Capabilities.CAP_DAC_READ_SEARCH);
        assertTrue(status.contains(String.format("\nCapEff:\t%016x\n", unitCaps)),
            "with the unit's capabilities only: " + status);

        HttpProbe.Response viaForward = HttpProbe.get(LAB.netns("lan"), SeedLab.GATEWAY_LAN, 80, 3000);
        assertTrue(viaForward.body().startsWith("hello from blue\nyou are " + SeedLab.LAN + ":"), viaForward.body());
        try (EchoHttpService lanWeb = EchoHttpService.start(LAB.netns("lan"), "lan", SeedLab.LAN, 8080)) {
            HttpProbe.Response masqueraded = HttpProbe.get(LAB.netns("blue"), SeedLab.LAN, 8080, 3000);
            assertTrue(masqueraded.body().startsWith("hello from lan\nyou are " + SeedLab.GATEWAY_LAN + ":"),
                masqueraded.body());
        }

        StringWriter out = new StringWriter();
        picocli.CommandLine cl = Main.commandLine();
        cl.setOut(new PrintWriter(out, true));
        assertEquals(0, cl.execute("ctl", "--socket", own.resolve("ctl.sock").toString(), "status"),
            "root's ctl is admitted by a daemon of another user");
        assertTrue(out.toString().contains("pid " + gateway.pid()), out.toString());

        gateway.terminate();
        assertTrue(gateway.waitFor(Duration.ofSeconds(30)));
        String stopped = gateway.rest();
        assertEquals(0, gateway.exitValue(), stopped);
        assertTrue(stopped.contains("connections kept in " + own.resolve("flows")), stopped);
        NsgateProcess again = gatewayAsNobody(config);
        String taken = again.readUntil("nsgate: running", Duration.ofSeconds(90));
        assertTrue(taken.contains("guard of lan0: the previous run's pinned link taken over"), taken);
        again.terminate();
        assertTrue(again.waitFor(Duration.ofSeconds(30)));
        assertEquals(0, again.exitValue(), again.rest());
    }
}
