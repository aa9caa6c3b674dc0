// The topology CLI: its output lines and exit codes (0 done, 1 failed/refused, 2 bad input).
package io.nsgate.control.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import io.nsgate.control.netns.NetNs;
import io.nsgate.control.testsupport.RequiresNetns;
import io.nsgate.control.topology.Topology;
import io.nsgate.testkit.Commands;
import io.nsgate.testkit.FreshPrefix;
import org.junit.jupiter.api.extension.RegisterExtension;

@RequiresNetns
class TopologyCommandTest {
    @TempDir
    Path dir;
    @RegisterExtension
    final FreshPrefix prefix = FreshPrefix.perTest();
    private final StringWriter out = new StringWriter();
    private final StringWriter err = new StringWriter();

    private int run(String... args) {
        out.getBuffer().setLength(0);
        err.getBuffer().setLength(0);
        return Main.commandLine().setOut(new PrintWriter(out)).setErr(new PrintWriter(err)).execute(args);
    }

    @Test
    void applyShowDestroyTheEmbeddedSeedLab() {
        assertEquals(0, run("topology", "show", "--prefix", prefix.get()));
        assertTrue(out.toString().startsWith("+ netns edge (" + prefix.ns("edge") + ")\n"), out.toString());
        assertTrue(NetNs.list().stream().noneMatch(n -> n.startsWith(prefix.get())), "show changes nothing");

        assertEquals(0, run("topology", "apply", "--prefix", prefix.get()), err.toString());
        assertEquals(24, out.toString().lines().count(), out.toString());
        assertEquals(0, run("topology", "apply", "--prefix", prefix.get()));
        assertEquals("no changes\n", out.toString());
        assertEquals(0, run("topology", "show", "--prefix", prefix.get()));
        assertEquals("no changes\n", out.toString());

        assertEquals(0, run("topology", "destroy", "--prefix", prefix.get()));
        assertTrue(out.toString().endsWith("- netns lan (" + prefix.ns("lan") + ")\n"), out.toString());
        assertTrue(NetNs.list().stream().noneMatch(n -> n.startsWith(prefix.get())));
    }

    @Test
    void applyFromAFile() throws IOException {
        Path file = dir.resolve("lab.yaml");
        Files.writeString(file, Topology.seedLabYaml());
        assertEquals(0, run("topology", "apply", file.toString(), "--prefix", prefix.get()), err.toString());
        assertTrue(out.toString().contains("+ route blue/default via 192.168.15.5"), out.toString());
        assertEquals(0, run("topology", "destroy", file.toString(), "--prefix", prefix.get()));
    }

    @Test
    void badInputExitsWithTwoAndNamesTheField() throws IOException {
        Path file = dir.resolve("bad.yaml");
        Files.writeString(file, Topology.seedLabYaml().replace("name: veth-blue-br,", "name: veth-blue-bridge-0,"));
        assertEquals(2, run("topology", "apply", file.toString(), "--prefix", prefix.get()));
        assertEquals("nsgate: " + file + " rejected, nothing changed:\n"
            + "  veths[1].b.name \"veth-blue-bridge-0\": longer than 15 characters\n", err.toString());
        assertTrue(NetNs.list().stream().noneMatch(n -> n.startsWith(prefix.get())));

        Files.writeString(file, "name: x\nnamespaces: [{name: a, sysctl: {}}]\n");
        assertEquals(2, run("topology", "show", file.toString()));
        assertTrue(err.toString().contains("namespaces[0]: unknown field \"sysctl\" (valid: name, sysctls)"),
            err.toString());

        assertEquals(2, run("topology", "apply", dir.resolve("missing.yaml").toString()));
        assertTrue(err.toString().contains("missing.yaml: cannot read"), err.toString());
    }

    @Test
    void jsonReportsAndRefusals() throws IOException {
        assertEquals(0, run("topology", "show", "--json", "--prefix", prefix.get()));
        com.fasterxml.jackson.databind.JsonNode report = new com.fasterxml.jackson.databind.ObjectMapper()
            .readTree(out.toString());
        assertTrue(report.path("changed").asBoolean(), out.toString());
        assertEquals("+ netns edge (" + prefix.ns("edge") + ")", report.path("changes").get(0).asText());
        assertEquals(prefix.get(), report.path("prefix").asText());
        assertEquals(1, out.toString().lines().count(), "one line");
        Path file = dir.resolve("bad.yaml");
        Files.writeString(file, "name: x\nnamespaces: [{name: a, sysctl: {}}]\n");
        assertEquals(2, run("topology", "show", "--json", file.toString()));
        com.fasterxml.jackson.databind.JsonNode error = new com.fasterxml.jackson.databind.ObjectMapper()
            .readTree(err.toString()).path("error");
        assertEquals("bad_request", error.path("code").asText(), err.toString());
        assertTrue(error.path("details").get(0).asText().contains("unknown field \"sysctl\""), err.toString());
    }

    @Test
    void failureMidwayExitsWithOneAndListsWhatWasUndone() throws IOException {
        Path file = dir.resolve("knob.yaml");
        Files.writeString(file, Topology.seedLabYaml().replace("net.ipv4.ip_forward: \"0\"",
            "net.ipv4.ip_forward: \"0\"\n      net.ipv4.no_such_knob: \"1\""));
        assertEquals(1, run("topology", "apply", file.toString(), "--prefix", prefix.get()));
        String e = err.toString();
        assertTrue(e.startsWith("nsgate: apply failed at \"+ sysctl edge/net.ipv4.no_such_knob=1\": sysctl "
            + "net.ipv4.no_such_knob does not exist in " + prefix.ns("edge")), e);
        assertTrue(e.contains("  undone: + netns edge (" + prefix.ns("edge") + ")"), e);
        assertTrue(NetNs.list().stream().noneMatch(n -> n.startsWith(prefix.get())));
    }

    @Test
    void conflictsExitWithOneAndChangeNothing() {
        Commands.ip("netns", "add", prefix.ns("lan"));
        assertEquals(1, run("topology", "apply", "--prefix", prefix.get()));
        assertEquals("nsgate: nothing changed: things nsgate did not create are in the way:\n"
            + "  ! netns lan (" + prefix.ns("lan")
            + ") exists but was not created by nsgate for seed-lab (lo alias none): "
            + "delete it, or use another --prefix\n", err.toString());
        assertEquals(0, run("topology", "destroy", "--prefix", prefix.get()));
        assertTrue(out.toString().contains("! netns lan (" + prefix.ns("lan") + ") was not created by nsgate"),
            out.toString());
        assertTrue(NetNs.exists(prefix.ns("lan")));
    }

    @Test
    void printsTheEmbeddedSeedLab() {
        assertEquals(0, run("topology", "print-seed-lab"));
        assertEquals(Topology.seedLabYaml(), out.toString());
    }
}
