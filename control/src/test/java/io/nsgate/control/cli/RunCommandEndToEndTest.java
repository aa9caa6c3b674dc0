// `nsgate run` as a separate process: logs, serves, shuts down cleanly on SIGTERM, fails clearly on bad input.
package io.nsgate.control.cli;

import static org.junit.jupiter.api.Assertions.*;

import java.net.ConnectException;
import java.time.Duration;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

import io.nsgate.control.lab.EchoHttpService;
import io.nsgate.control.lab.HttpProbe;
import io.nsgate.control.testsupport.SeedLab;
import io.nsgate.testkit.NsgateProcess;

class RunCommandEndToEndTest {
    @RegisterExtension
    static final SeedLab LAB = new SeedLab();

    private static EchoHttpService blueWeb;

    @BeforeAll
    static void startBlue() throws Exception {
        blueWeb = EchoHttpService.start(LAB.netns("blue"), "blue", "192.168.15.2", 80);
    }

    @AfterAll
    static void stopBlue() {
        blueWeb.close();
    }

    @AfterEach
    void stopProcesses() {
        LAB.processes().stopAll();
    }

    /** The nsgate CLI in a JVM of its own, on this test's classpath (root namespace; it enters --netns itself). */
    private NsgateProcess nsgate(String... args) {
        return NsgateProcess.start(LAB.processes(), NsgateProcess.Launch.of(args));
    }

    @Test
    void runsInANamedNamespaceLogsItsSetupAndShutsDownCleanlyOnSigterm() throws Exception {
        String reservedBefore = LAB.netns("edge").sysctl("net.ipv4.ip_local_reserved_ports");
        NsgateProcess p = nsgate("run", "--netns", LAB.ns("edge"), "--lan", "lan0", "--inside", "v-net-0",
            "--masquerade", "192.168.15.0/24", "--forward", "tcp:80=192.168.15.2:80", "--workers", "1");
        String log = p.readUntil("nsgate: running", Duration.ofSeconds(60));
        assertTrue(log.contains("attached to lan0 (lan, 192.168.1.2/24"), log);
        assertTrue(log.contains("attached to v-net-0 (inside, 192.168.15.5/24"), log);
        assertTrue(log.contains("forward tcp:80=192.168.15.2:80"), log);
        assertTrue(log.contains("masquerade 192.168.15.0/24 out of lan0"), log);
        assertTrue(LAB.netns("edge").sysctl("net.ipv4.ip_local_reserved_ports").contains("61000-65535"),
            "the NAT range is reserved from the kernel's ephemeral ports while running");

        HttpProbe.Response r = HttpProbe.get(LAB.netns("lan"), "192.168.1.2", 80, 3000);
        assertTrue(r.body().startsWith("hello from blue"), r.body());

        p.terminate(); // SIGTERM
        assertTrue(p.waitFor(Duration.ofSeconds(30)), "nsgate stops on SIGTERM");
        String tail = p.rest();
        assertEquals(0, p.exitValue(), tail);
        assertTrue(tail.contains("shutting down"), tail);
        assertEquals(reservedBefore, LAB.netns("edge").sysctl("net.ipv4.ip_local_reserved_ports"),
            "reserved ports restored");
        // the guard went with the process: the kernel sees port 80 again and refuses it at once (RST)
        Exception refused = assertThrows(Exception.class, () -> HttpProbe.get(LAB.netns("lan"), "192.168.1.2", 80, 3000));
        assertInstanceOf(ConnectException.class, refused, refused.toString());
    }

    @Test
    void aMissingInterfaceFailsWithExitCode1AndSaysWhatExists() throws Exception {
        NsgateProcess p = nsgate("run", "--netns", LAB.ns("edge"), "--lan", "nosuch0", "--inside", "v-net-0");
        assertTrue(p.waitFor(Duration.ofSeconds(60)));
        String out = p.rest();
        assertEquals(1, p.exitValue(), out);
        assertTrue(out.contains("interface nosuch0 not found in network namespace " + LAB.ns("edge") + " (have: "), out);
        assertTrue(out.contains("lan0") && out.contains("v-net-0"), out);
    }

    @Test
    void aMissingNamespaceFailsWithExitCode1() throws Exception {
        NsgateProcess p = nsgate("run", "--netns", LAB.prefix() + "nowhere", "--lan", "lan0", "--inside", "v-net-0");
        assertTrue(p.waitFor(Duration.ofSeconds(60)));
        String out = p.rest();
        assertEquals(1, p.exitValue(), out);
        assertTrue(out.contains("network namespace " + LAB.prefix() + "nowhere does not exist"), out);
    }

    @Test
    void badConfigurationIsRefusedWholeWithExitCode2() throws Exception {
        NsgateProcess p = nsgate("run", "--netns", LAB.ns("edge"), "--lan", "lan0", "--inside", "v-net-0",
            "--forward", "tcp:80=192.168.15.300:80", "--workers", "0");
        assertTrue(p.waitFor(Duration.ofSeconds(60)));
        String out = p.rest();
        assertEquals(2, p.exitValue(), out);
        assertTrue(out.contains("forward \"tcp:80=192.168.15.300:80\": 192.168.15.300 is not an IPv4 address"), out);
        assertTrue(out.contains("workers 0: must be 1..64"), out);
    }
}
