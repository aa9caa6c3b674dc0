// `nsgate state clear`: forget what a stopped gateway kept for its next run (the state file and the pinned guards).
package io.nsgate.control.cli;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.stream.Stream;

import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

import io.nsgate.control.daemon.GatewayConfig;
import io.nsgate.control.daemon.GatewayConfigException;
import io.nsgate.dataplane.conntrack.FlowState;
import io.nsgate.dataplane.guard.KernelGuard;
import io.nsgate.linux.sys.Errno;

/** {@code nsgate state}: what a gateway with a state file keeps between two runs. */
@Command(
    name = "state",
    header = "What a gateway with a state file keeps between two runs.",
    mixinStandardHelpOptions = true,
    subcommands = StateCommand.Clear.class)
final class StateCommand extends CommandGroup {

    @Command(
        name = "clear",
        header = "Forgets the kept connections and removes the pinned guards of a stopped gateway.",
        mixinStandardHelpOptions = true,
        description = {
            "A gateway run with a state file (stateFile in the configuration, or --state-file) leaves its flow",
            "tables in the file and its guards pinned when it stops, so that the next run takes its connections",
            "over. This removes both: the next run starts with empty tables, and the kernel sees every frame of the",
            "interfaces again at once (forwarded ports answer with RST until a gateway runs). Refused while a",
            "gateway holds the file.",
            "",
            "Exit codes: 0 done (also when there was nothing to remove), 1 refused or failed, 2 bad configuration."
        },
        footer = {
            "",
            "Examples:",
            "  nsgate state clear --config /etc/nsgate/gateway.yaml",
            "  nsgate state clear --state-file /run/nsgate/flows --pin-dir /sys/fs/bpf/nsgate"
        })
    static final class Clear implements Callable<Integer> {
        @Option(names = "--config", paramLabel = "FILE", description = "The gateway's YAML configuration.")
        Path config;

        @Option(names = "--state-file", paramLabel = "FILE", description = "The state file (overrides the file's).")
        Path stateFile;

        @Option(names = "--pin-dir", paramLabel = "DIR",
            description = "Where the guards are pinned (default: the configuration's, else /sys/fs/bpf/nsgate).")
        Path pinDirectory;

        @Option(names = "--json", description = "Print what was removed as one JSON object.")
        boolean json;

        @picocli.CommandLine.Spec
        picocli.CommandLine.Model.CommandSpec spec;

        private int fail(String code, String message, int exit) {
            java.io.PrintWriter err = spec.commandLine().getErr();
            if (json) {
                return JsonLines.error(err, code, message, List.of(), exit);
            }
            err.println("nsgate: " + message);
            err.flush();
            return exit;
        }

        @Override
        public Integer call() {
            Path state = stateFile;
            Path pins = pinDirectory;
            if (config != null) {
                try {
                    GatewayConfig c = GatewayConfig.load(config);
                    state = state != null ? state : c.stateFile();
                    pins = pins != null ? pins : c.pinDirectory();
                } catch (GatewayConfigException e) {
                    if (json) {
                        return JsonLines.error(spec.commandLine().getErr(), "bad_request", config + " is not valid",
                            e.problems(), ExitCode.BAD_INPUT);
                    }
                    return fail("bad_request", e.getMessage(), ExitCode.BAD_INPUT);
                }
            }
            if (state == null) {
                return fail("bad_request", "state clear: no state file (give --state-file, or --config of a "
                    + "configuration with stateFile)", ExitCode.BAD_INPUT);
            }
            pins = pins != null ? pins : GatewayConfig.DEFAULT_PIN_DIRECTORY;
            long inode;
            try {
                inode = FlowState.delete(state);
            } catch (IllegalStateException | java.io.UncheckedIOException e) {
                return fail(e instanceof IllegalStateException ? "conflict" : "failed", "state clear: "
                    + e.getMessage(), ExitCode.FAILED);
            }
            List<String> lines = new java.util.ArrayList<>();
            com.fasterxml.jackson.databind.node.ObjectNode report = JsonLines.object();
            report.put("stateFile", state.toString());
            report.put("removed", inode >= 0);
            lines.add(inode < 0 ? "no state file " + state : "removed " + state);
            if (inode <= 0) {
                try {
                    inode = io.nsgate.control.netns.NetNs.currentInode();
                } catch (IOException e) {
                    return fail("failed", "state clear: cannot tell the network namespace: " + Errno.why(e),
                        ExitCode.FAILED);
                }
                lines.add("(the file did not name its network namespace: removing this namespace's pins)");
            }
            Path dir = pins.resolve("net-" + inode);
            report.put("pinDirectory", dir.toString());
            com.fasterxml.jackson.databind.node.ArrayNode removedPins = report.putArray("pinsRemoved");
            if (!Files.isDirectory(dir, java.nio.file.LinkOption.NOFOLLOW_LINKS)) {
                lines.add("no pinned guards in " + dir);
            } else {
                try (Stream<Path> entries = Files.list(dir)) {
                    for (Path pin : entries.toList()) {
                        KernelGuard.unpin(pin);
                        removedPins.add(pin.toString());
                        lines.add("removed the guard pinned at " + pin);
                    }
                    Files.deleteIfExists(dir);
                } catch (IOException e) {
                    return fail("failed", "state clear: " + dir + ": " + Errno.why(e), ExitCode.FAILED);
                } catch (RuntimeException e) {
                    return fail("failed", "state clear: " + dir + ": " + e.getMessage(), ExitCode.FAILED);
                }
            }
            java.io.PrintWriter out = spec.commandLine().getOut();
            if (json) {
                out.println(report);
            } else {
                lines.forEach(out::println);
            }
            out.flush();
            return ExitCode.OK;
        }
    }
}
