// `nsgate topology apply|show|destroy [FILE] [--prefix P]`: the declarative topology commands.
package io.nsgate.control.cli;

import java.io.PrintWriter;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;

import io.nsgate.control.topology.Topology;
import io.nsgate.control.topology.TopologyApplier;
import io.nsgate.control.topology.TopologyApplyException;
import io.nsgate.control.topology.TopologyException;
import io.nsgate.control.topology.TopologyReport;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;

/** Exit codes: 0 done, 1 failed (rolled back, or refused for conflicts: nothing changed), 2 bad input. */
@Command(
    name = "topology",
    mixinStandardHelpOptions = true,
    description = {
        "Namespaces, bridges, veth pairs, addresses, routes and sysctls from a YAML file, over rtnetlink.",
        "Without FILE, the embedded seed lab (edge, red, blue, lan) is used.",
        "Exit codes: 0 done, 1 failed and rolled back (or refused: nothing changed), 2 bad input."
    },
    subcommands = {
        TopologyCommand.Apply.class, TopologyCommand.Show.class, TopologyCommand.Destroy.class,
        TopologyCommand.Print.class
    })
public final class TopologyCommand extends CommandGroup {

    /** Options shared by apply, show and destroy. */
    abstract static class TopologyAction implements Callable<Integer> {
        @CommandLine.Spec
        CommandLine.Model.CommandSpec spec;

        @Mixin
        TopologyFileOptions topology;

        @CommandLine.Option(names = "--json", description = "Print the report as one JSON object (changes, notes);"
            + " a refusal as {\"error\": {...}} on standard error.")
        boolean json;

        @Override
        public Integer call() {
            PrintWriter out = spec.commandLine().getOut();
            PrintWriter err = spec.commandLine().getErr();
            try {
                Topology chosen = topology.file == null ? Topology.seedLab() : Topology.load(topology.file);
                // the subcommand's name is the mode's: apply, show, destroy
                TopologyReport report = TopologyApplier.Mode.of(spec.name())
                    .run(chosen, topology.prefix);
                out.println(json ? report.toJson().toString() : report.render());
                out.flush();
                return ExitCode.OK;
            } catch (TopologyException e) {
                if (json) {
                    return JsonLines.error(err, "bad_request", topology.source() + " rejected, nothing changed",
                        e.problems(), ExitCode.BAD_INPUT);
                }
                err.println("nsgate: " + topology.source() + " rejected, nothing changed:");
                e.problems().forEach(p -> err.println("  " + p));
                err.flush();
                return ExitCode.BAD_INPUT;
            } catch (TopologyApplyException e) {
                if (json) {
                    List<String> details = new ArrayList<>();
                    e.conflicts().forEach(c -> details.add(c.toString()));
                    details.addAll(e.rollbackReport());
                    return JsonLines.error(err, e.conflicts().isEmpty() ? "failed" : "conflict",
                        e.getMessage().lines().findFirst().orElse(""), details, ExitCode.FAILED);
                }
                if (!e.conflicts().isEmpty()) {
                    err.println("nsgate: nothing changed: things nsgate did not create are in the way:");
                    e.conflicts().forEach(c -> err.println("  " + c));
                } else {
                    err.println("nsgate: " + e.getMessage().lines().findFirst().orElse(""));
                    e.rollbackReport().forEach(line -> err.println("  " + line));
                    if (e.done().isEmpty()) {
                        err.println("  nothing had been changed yet");
                    }
                }
                err.flush();
                return ExitCode.FAILED;
            } catch (RuntimeException e) {
                if (json) {
                    return JsonLines.error(err, "failed", String.valueOf(e.getMessage()), List.of(), ExitCode.FAILED);
                }
                err.println("nsgate: " + e.getMessage());
                err.flush();
                return ExitCode.FAILED;
            }
        }
    }

    @Command(name = "apply", mixinStandardHelpOptions = true,
        header = "Make the machine match FILE, and print what changed.",
        description = {"Make the machine match FILE: creates what is missing, repairs drift, removes what nsgate",
            "created and the file no longer declares; prints one line per change, or \"no changes\"."})
    static final class Apply extends TopologyAction {
    }

    @Command(name = "show", mixinStandardHelpOptions = true,
        description = "Print what apply would change, without changing anything.")
    static final class Show extends TopologyAction {
    }

    @Command(name = "destroy", mixinStandardHelpOptions = true,
        header = "Remove what FILE describes and nsgate created.",
        description = {"Remove what FILE describes and nsgate created (marked with the alias nsgate:NAME);",
            "same-named things created by someone else are left alone, with a message."})
    static final class Destroy extends TopologyAction {
    }

    @Command(name = "print-seed-lab", mixinStandardHelpOptions = true,
        description = "Print the embedded seed lab topology (a starting point for your own file).")
    static final class Print implements Callable<Integer> {
        @CommandLine.Spec
        CommandLine.Model.CommandSpec spec;

        @CommandLine.Option(names = "--json", description = "Print it as one JSON object instead of YAML.")
        boolean json;

        @Override
        public Integer call() {
            String yaml = Topology.seedLabYaml();
            if (json) {
                try {
                    yaml = new com.fasterxml.jackson.databind.ObjectMapper().writeValueAsString(
                        new com.fasterxml.jackson.databind.ObjectMapper(
                            new com.fasterxml.jackson.dataformat.yaml.YAMLFactory()).readTree(yaml)) + "\n";
                } catch (java.io.IOException e) {
                    throw new java.io.UncheckedIOException(e); // the embedded file is valid YAML (TopologyTest)
                }
            }
            spec.commandLine().getOut().print(yaml);
            spec.commandLine().getOut().flush();
            return ExitCode.OK;
        }
    }
}
