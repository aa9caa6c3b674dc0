// The Debian package, built from the jar this build made: its contents, control fields, unit and man pages, then
// installed on this machine, used, and purged without a trace.
package io.nsgate.packaging;

import static org.junit.jupiter.api.Assertions.*;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code packaging/build-deb --jar control/target/nsgate.jar}: the package the README's "install on a host" path
 * installs. Installing needs root and a machine without nsgate installed (CI's clean one): the test refuses to touch
 * a package it did not install.
 */
class DebianPackageTest {
    private static final Path ROOT = Path.of(System.getProperty("user.dir")).getParent();
    private static final Path JAR = ROOT.resolve("control/target/nsgate.jar");

    @TempDir
    static Path out;
    private static Path deb;

    record Run(int code, String output) {
    }

    /** Runs a command, its output to a file so a hung one is stopped at the timeout (and killed) instead of read. */
    private static Run run(long timeoutSeconds, String... command) throws IOException, InterruptedException {
        Path output = Files.createTempFile("nsgate-package-test", ".out");
        try {
            Process p = new ProcessBuilder(command).redirectErrorStream(true).redirectOutput(output.toFile())
                .redirectInput(ProcessBuilder.Redirect.from(new java.io.File("/dev/null"))).start();
            if (!p.waitFor(timeoutSeconds, TimeUnit.SECONDS)) {
                p.destroyForcibly().waitFor();
                fail(String.join(" ", command) + ": still running after " + timeoutSeconds + " s, killed:\n"
                    + Files.readString(output, StandardCharsets.UTF_8));
            }
            return new Run(p.exitValue(), Files.readString(output, StandardCharsets.UTF_8));
        } finally {
            Files.deleteIfExists(output);
        }
    }

    private static String check(long timeoutSeconds, String... command) throws IOException, InterruptedException {
        Run r = run(timeoutSeconds, command);
        assertEquals(0, r.code, String.join(" ", command) + ":\n" + r.output);
        return r.output;
    }

    @BeforeAll
    static void build() throws Exception {
        assertTrue(Files.isRegularFile(JAR), "the build made " + JAR);
        String printed = check(600, ROOT.resolve("packaging/build-deb").toString(), "--jar", JAR.toString(), "--out",
            out.toString());
        List<String> lines = printed.lines().toList();
        deb = Path.of(lines.get(lines.size() - 1).trim());
        assertTrue(Files.isRegularFile(deb), printed);
    }

    @Test
    void carriesTheFilesControlFieldsConffileAndMaintainerScripts() throws Exception {
        String files = check(60, "dpkg-deb", "--contents", deb.toString());
        for (String f : List.of("./usr/bin/nsgate", "./usr/share/nsgate/nsgate.jar", "./usr/share/nsgate/jvm.options",
            "./etc/nsgate/gateway.yaml", "./lib/systemd/system/nsgate.service", "./usr/share/man/man1/nsgate.1.gz",
            "./usr/share/doc/nsgate/grafana-dashboard.json",
            "./usr/share/man/man1/nsgate-run.1.gz", "./usr/share/man/man1/nsgate-ctl-config-reload.1.gz",
            "./usr/share/bash-completion/completions/nsgate")) {
            assertTrue(files.contains(" " + f + "\n"), f + " in\n" + files);
        }
        assertTrue(files.lines().anyMatch(l -> l.startsWith("-rwxr-xr-x root/root") && l.endsWith(" ./usr/bin/nsgate")),
            "an executable owned by root:\n" + files);
        assertEquals("nsgate", field("Package"));
        assertEquals("all", field("Architecture"));
        assertTrue(field("Depends").startsWith("openjdk-17-jre-headless | java17-runtime-headless"), field("Depends"));
        assertTrue(field("Version").startsWith("0.1.0"), field("Version"));
        Path control = out.resolve("control");
        check(60, "dpkg-deb", "--control", deb.toString(), control.toString());
        assertEquals("/etc/nsgate/gateway.yaml", Files.readString(control.resolve("conffiles")).strip());
        for (String script : List.of("postinst", "prerm", "postrm")) {
            assertTrue(Files.isExecutable(control.resolve(script)), script);
        }
    }

    private static String field(String name) throws Exception {
        return check(60, "dpkg-deb", "--field", deb.toString(), name).strip();
    }

    @Test
    void itsUnitIsANotifyServiceWithBoundedCapabilitiesAndItsManPagesRender() throws Exception {
        Path tree = out.resolve("tree");
        check(60, "dpkg-deb", "--extract", deb.toString(), tree.toString());
        String unit = Files.readString(tree.resolve("lib/systemd/system/nsgate.service"));
        for (String line : List.of("Type=notify", "WatchdogSec=", "RestartPreventExitStatus=2",
            "ExecReload=/usr/bin/nsgate ctl config reload", "CapabilityBoundingSet=CAP_NET_ADMIN CAP_NET_RAW CAP_BPF CAP_SYS_ADMIN",
            "ProtectSystem=strict", "NoNewPrivileges=yes", "RuntimeDirectoryPreserve=yes", "CacheDirectory=nsgate",
            "User=nsgate", "AmbientCapabilities=CAP_NET_ADMIN CAP_NET_RAW CAP_BPF CAP_SYS_ADMIN")) {
            assertTrue(unit.contains(line), line + " in\n" + unit);
        }
        assertTrue(Files.readString(tree.resolve("etc/nsgate/gateway.yaml")).contains("\nstateFile: /run/nsgate/flows"),
            "the packaged gateway keeps its connections across restarts");
        for (String page : List.of("nsgate.1.gz", "nsgate-run.1.gz", "nsgate-ctl-flows-list.1.gz",
            "nsgate-state-clear.1.gz")) {
            Run man = run(60, "env", "MANWIDTH=80", "man", "-l", tree.resolve("usr/share/man/man1/" + page).toString());
            assertEquals(0, man.code, man.output);
            assertTrue(man.output.contains("NAME") && man.output.contains("SYNOPSIS"), page + ":\n" + man.output);
        }
        String completion = Files.readString(tree.resolve("usr/share/bash-completion/completions/nsgate"));
        assertTrue(completion.contains("complete -F _complete_nsgate") && completion.contains("reload"), "completion");
    }

    @Test
    void installsRunsItsCheckVerifiesItsUnitAndPurgesWithoutATrace() throws Exception {
        Run before = run(60, "dpkg-query", "--show", "--showformat=${Status}", "nsgate");
        assertFalse(before.code == 0 && before.output.contains("installed"),
            "nsgate is installed on this machine already: this test installs and purges its own (" + before.output
                + ")");
        List<String> env = new ArrayList<>(List.of("env", "DEBIAN_FRONTEND=noninteractive"));
        try {
            List<String> install = new ArrayList<>(env);
            install.addAll(List.of("apt-get", "install", "-y", "-q", deb.toAbsolutePath().toString()));
            check(600, install.toArray(new String[0]));
            String version = check(60, "/usr/bin/nsgate", "--version").strip();
            assertTrue(version.matches("nsgate 0\\.1\\.0\\S*"), "the version and nothing else: " + version);
            assertTrue(Files.isRegularFile(Path.of("/var/cache/nsgate/cli.jsa")),
                "postinst made the class-data-sharing archive of the quick commands");
            Run ctl = run(60, "/usr/bin/nsgate", "ctl", "--socket", "/var/cache/nsgate/none.sock", "status");
            assertEquals(3, ctl.code, "no daemon to reach, said plainly: " + ctl.output);
            assertFalse(ctl.output.toLowerCase().contains("cds") || ctl.output.contains("shared archive"),
                "the archive is used silently: " + ctl.output);
            String checked = check(60, "/usr/bin/nsgate", "run", "--check", "--config", "/etc/nsgate/gateway.yaml");
            assertTrue(checked.contains("is valid"), checked);
            Run verify = run(60, "systemd-analyze", "verify", "/lib/systemd/system/nsgate.service");
            assertEquals(0, verify.code, verify.output);
            assertTrue(verify.output.isBlank(), "systemd-analyze verify is clean:\n" + verify.output);
            assertEquals(0, run(60, "getent", "group", "nsgate").code, "the control socket's group exists");
            assertEquals(0, run(60, "getent", "passwd", "nsgate").code, "the service's user exists");
            String asService = check(60, "runuser", "-u", "nsgate", "--", "/usr/bin/nsgate", "run", "--check",
                "--config", "/etc/nsgate/gateway.yaml");
            assertTrue(asService.contains("is valid"), "the service's user reads its configuration: " + asService);
            String cleared = check(60, "/usr/bin/nsgate", "state", "clear", "--config", "/etc/nsgate/gateway.yaml");
            assertTrue(cleared.contains("no state file /run/nsgate/flows"), cleared);
        } finally {
            List<String> purge = new ArrayList<>(env);
            purge.addAll(List.of("apt-get", "purge", "-y", "-q", "nsgate"));
            check(600, purge.toArray(new String[0]));
        }
        for (String gone : List.of("/usr/bin/nsgate", "/usr/share/nsgate", "/etc/nsgate", "/var/cache/nsgate",
            "/lib/systemd/system/nsgate.service", "/usr/share/man/man1/nsgate.1.gz")) {
            assertFalse(Files.exists(Path.of(gone)), gone + " is gone after purge");
        }
        assertNotEquals(0, run(60, "getent", "group", "nsgate").code, "the group is gone after purge");
        assertNotEquals(0, run(60, "getent", "passwd", "nsgate").code, "the user is gone after purge");
        assertNotEquals(0, run(60, "dpkg-query", "--show", "nsgate").code, "dpkg forgot it");
    }
}
