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
}
