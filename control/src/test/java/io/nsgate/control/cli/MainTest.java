package io.nsgate.control.cli;

import static org.junit.jupiter.api.Assertions.*;

import java.io.PrintWriter;
import java.io.StringWriter;

import org.junit.jupiter.api.Test;

/** The command line's answers to bad input: the problem, where help is, exit 2; not the whole usage text again. */
class MainTest {
    private static String[] run(String... args) {
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        picocli.CommandLine cl = Main.commandLine();
        cl.setOut(new PrintWriter(out, true));
        cl.setErr(new PrintWriter(err, true));
        int code = cl.execute(args);
        return new String[] {Integer.toString(code), out.toString(), err.toString()};
    }

    @Test
    void aBadValueNamesTheCommandAndTheOptionAndPointsToHelp() {
        String[] r = run("run", "--workers", "abc");
        assertEquals("2", r[0]);
        assertEquals("nsgate run: Invalid value for option '--workers': 'abc' is not an int\n"
            + "(`nsgate run --help` lists its options)\n", r[2]);
        assertFalse(r[2].contains("Usage:"), r[2]);
    }

    @Test
    void anUnknownSubcommandGetsSuggestions() {
        String[] r = run("ctl", "flowz");
        assertEquals("2", r[0]);
        assertTrue(r[2].startsWith("nsgate ctl: Unmatched argument at index 1: 'flowz'\nDid you mean: ctl flows"),
            r[2]);
        assertFalse(r[2].contains("Usage:"), r[2]);
    }

    @Test
    void theDaemonsFieldNamesReadAsTheFlagsTyped() {
        assertEquals("--state \"BOGUS\": not a state; --src \"10.0.0.300\": bad", CtlCommand.Action.asTyped(
            "args.filter.state \"BOGUS\": not a state; args.filter.src \"10.0.0.300\": bad"));
    }

    @Test
    void everyCommandListShowsWholeOneLineSummaries() {
        java.util.ArrayDeque<picocli.CommandLine> todo = new java.util.ArrayDeque<>(java.util.List.of(Main.commandLine()));
        int lists = 0;
        java.util.List<String> cut = new java.util.ArrayList<>();
        while (!todo.isEmpty()) {
            picocli.CommandLine c = todo.pop();
            todo.addAll(c.getSubcommands().values());
            if (c.getSubcommands().isEmpty()) {
                continue;
            }
            assertEquals(120, c.getUsageHelpWidth(), c.getCommandSpec().qualifiedName());
            String usage = c.getUsageMessage();
            String list = usage.substring(usage.indexOf("Commands:\n") + "Commands:\n".length());
            for (String line : list.lines().takeWhile(l -> !l.isBlank()).toList()) {
                if (!line.matches("  \\S.*[.)]")) {
                    cut.add(c.getCommandSpec().qualifiedName() + ": \"" + line + "\"");
                }
            }
            lists++;
        }
        assertEquals(java.util.List.of(), cut, "summaries cut mid-sentence or wrapped");
        assertTrue(lists >= 6, "command groups seen: " + lists);
    }

    @Test
    void everyCommandThatPrintsDataHasJson() {
        // lab is a demonstration: its lines are for a person (its exit code says whether the proof worked)
        java.util.Set<String> forPeople = java.util.Set.of("nsgate lab", "nsgate help");
        java.util.ArrayDeque<picocli.CommandLine> todo = new java.util.ArrayDeque<>(java.util.List.of(Main.commandLine()));
        java.util.List<String> without = new java.util.ArrayList<>();
        int commands = 0;
        while (!todo.isEmpty()) {
            picocli.CommandLine c = todo.pop();
            todo.addAll(c.getSubcommands().values());
            String name = c.getCommandSpec().qualifiedName();
            if (!c.getSubcommands().isEmpty() && !(c.getCommandSpec().userObject() instanceof java.util.concurrent.Callable)
                || forPeople.contains(name)) {
                continue;
            }
            commands++;
            if (c.getCommandSpec().findOption("--json") == null) {
                without.add(name);
            }
        }
        assertEquals(java.util.List.of(), without, "commands without --json");
        assertTrue(commands >= 30, "commands seen: " + commands);
    }

    @Test
    void runCheckAndPrintSeedLabAnswerInJson() throws Exception {
        String[] ok = run("run", "--check", "--json", "--lan", "lan0", "--inside", "v-net-0", "--forward",
            "tcp:80=192.168.15.2:80");
        com.fasterxml.jackson.databind.JsonNode verdict = new com.fasterxml.jackson.databind.ObjectMapper().readTree(ok[1]);
        assertTrue(verdict.path("valid").asBoolean(), ok[1]);
        assertEquals("tcp:80=192.168.15.2:80", verdict.path("configuration").path("forwards").path(0).asText(), ok[1]);
        String[] bad = run("run", "--check", "--json", "--lan", "lan0", "--inside", "v-net-0", "--workers", "0");
        assertEquals("2", bad[0]);
        com.fasterxml.jackson.databind.JsonNode error = new com.fasterxml.jackson.databind.ObjectMapper().readTree(bad[2]);
        assertEquals("bad_request", error.path("error").path("code").asText(), bad[2]);
        assertTrue(error.path("error").path("details").path(0).asText().startsWith("workers 0"), bad[2]);
        assertEquals("2", run("run", "--json", "--lan", "lan0", "--inside", "v-net-0")[0], "--json without --check");
        String[] lab = run("topology", "print-seed-lab", "--json");
        assertTrue(new com.fasterxml.jackson.databind.ObjectMapper().readTree(lab[1]).has("namespaces"), lab[1]);
    }
}
