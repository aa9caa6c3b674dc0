// `nsgate ctl ...`: the operator's client of a running daemon's control socket (status, stats, flows, rules, config).
package io.nsgate.control.cli;

import java.io.IOException;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.Callable;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;

import io.nsgate.control.api.client.ControlClient;
import io.nsgate.control.api.Protocol;
import io.nsgate.linux.sys.Errno;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.ScopeType;
import picocli.CommandLine.Mixin;

/** {@code nsgate ctl}: requests to a running daemon's control socket, printed as tables or JSON ({@link ExitCode}). */
@Command(
    name = "ctl",
    mixinStandardHelpOptions = true,
    description = {
        "Controls a running nsgate (`nsgate run`, `nsgate lab`) through its control socket.",
        "Status, counters, the connection tracking table, port forwards and masquerade rules, the configuration,",
        "topologies.",
        "Changes apply at once, between two batches of the workers, and never drop existing connections.",
        "Human-readable tables by default; --json prints the daemon's answer as JSON (one line; flows: one per line).",
        "",
        "Exit codes: 0 done, 1 the operation failed, 2 bad usage or refused input, 3 cannot reach the daemon,",
        "4 forbidden (the socket serves root and the daemon's --control-group only), 141 the output was closed",
        "early (`flows | head`: like ip or conntrack killed by SIGPIPE)."
    },
    footer = {
        "",
        "Examples:",
        "  nsgate ctl status",
        "  nsgate ctl flows -p tcp --dport 80                 connections to port 80 (forwarded or outbound)",
        "  nsgate ctl flows flush -p udp --dst 192.168.15.3   forget UDP flows to a backend that moved",
        "  nsgate ctl forward add tcp:8080=192.168.15.2:80",
        "  nsgate ctl --socket /run/nsgate/nsgate-lab.sock --json stats | jq .drops"
    },
    subcommands = {
        CommandLine.HelpCommand.class, CtlCommand.Status.class, CtlCommand.Stats.class, CtlFlows.class,
        CtlCommand.Forward.class, CtlCommand.Masquerade.class, CtlCommand.Config.class, CtlCommand.Topology.class
    })
public final class CtlCommand extends CommandGroup {
    @Option(names = "--socket", paramLabel = "PATH", scope = ScopeType.INHERIT,
        description = "The daemon's control socket (default: $NSGATE_SOCKET, else " + Protocol.DEFAULT_SOCKET + ").")
    Path socket;

    @Option(names = "--json", scope = ScopeType.INHERIT, description = "Print JSON instead of tables.")
    boolean json;

    @Option(names = "--timeout", paramLabel = "SECONDS", scope = ScopeType.INHERIT, defaultValue = "60",
        description = "Give up when the daemon sends nothing for this long (default: ${DEFAULT-VALUE}).")
    double timeoutSeconds;

    Path socketPath() {
        if (socket != null) {
            return socket;
        }
        String env = System.getenv("NSGATE_SOCKET");
        return env != null && !env.isBlank() ? Path.of(env) : Path.of(Protocol.DEFAULT_SOCKET);
    }

    // ------------------------------------------------------------------ the common part of every action

    /** One request (or a few) to the daemon; subclasses say which and print the answer. */
    abstract static class Action implements Callable<Integer> {
        @CommandLine.Spec
        CommandLine.Model.CommandSpec spec;

        PrintWriter out;
        PrintWriter err;
        CtlCommand ctl;

        /** Sends the request(s) and prints; returns the exit code. */
        abstract int act(ControlClient client) throws IOException;

        /** Local checks before connecting (reading a file, say); a non-zero code stops there. */
        int prepare() {
            return ExitCode.OK;
        }

        @Override
        public Integer call() {
            out = spec.commandLine().getOut();
            err = spec.commandLine().getErr();
            for (CommandLine.Model.CommandSpec s = spec; s != null; s = s.parent()) {
                if (s.userObject() instanceof CtlCommand c) {
                    ctl = c;
                }
            }
            try {
                int prepared = prepare();
                if (prepared != ExitCode.OK) {
                    return prepared;
                }
                Duration timeout = Duration.ofMillis(Math.max(1, (long) (ctl.timeoutSeconds * 1000)));
                try (ControlClient client = ControlClient.connect(ctl.socketPath(), timeout)) {
                    return act(client);
                }
            } catch (ControlClient.Forbidden e) {
                return fail(ExitCode.FORBIDDEN, "forbidden", e.getMessage());
            } catch (ControlClient.Unreachable e) {
                return fail(ExitCode.UNREACHABLE, "unreachable", e.getMessage());
            } catch (IOException e) {
                return fail(ExitCode.UNREACHABLE, "unreachable", e.getMessage());
            } finally {
                out.flush();
                err.flush();
            }
        }

        private int fail(int code, String what, String message) {
            if (ctl.json) {
                ObjectNode e = Protocol.JSON.createObjectNode();
                e.putObject("error").put("code", what).put("message", message);
                err.println(e);
            } else {
                err.println("nsgate ctl: " + message);
            }
            return code;
        }

        /** Sends {@code op}; on success prints the result as JSON (--json) or via {@code human}. */
        int request(ControlClient client, String op, ObjectNode args, java.util.function.Consumer<JsonNode> human)
            throws IOException {
            ControlClient.Reply reply = client.call(op, args);
            if (!reply.ok()) {
                return refused(reply);
            }
            if (ctl.json) {
                out.println(reply.result());
            } else {
                human.accept(reply.result());
            }
            return ExitCode.OK;
        }

        /** Prints an error reply; returns its exit code. */
        int refused(ControlClient.Reply reply) {
            if (ctl.json) {
                ObjectNode e = Protocol.JSON.createObjectNode();
                e.set("error", reply.line().path("error"));
                err.println(e);
            } else {
                err.println("nsgate ctl: " + asTyped(reply.message()));
                reply.details().forEach(d -> err.println("  " + asTyped(d)));
            }
            return ExitCode.of(reply.error());
        }

        /**
         * The daemon names a request's fields ({@code args.filter.state "BOGUS"}); the person typed a flag: the
         * message names that ({@code --state "BOGUS"}). JSON answers keep the protocol's paths.
         */
        static String asTyped(String message) {
            String m = message;
            for (String[] field : TYPED) {
                m = m.replace(field[0], field[1]);
            }
            return m;
        }

        private static final String[][] TYPED = {
            {"args.filter.proto", "--proto"}, {"args.filter.src", "--src"}, {"args.filter.dst", "--dst"},
            {"args.filter.sport", "--sport"}, {"args.filter.dport", "--dport"}, {"args.filter.state", "--state"},
            {"args.limit", "--limit"},
        };

        static ObjectNode args() {
            return Protocol.JSON.createObjectNode();
        }
    }

    // ------------------------------------------------------------------ status, stats

    @Command(name = "status", mixinStandardHelpOptions = true,
        description = "Uptime, interfaces, workers, how full the flow table is, rule counts.",
        footer = {"", "Examples:", "  nsgate ctl status", "  nsgate ctl status --json | jq .flows.fill_percent"})
    static final class Status extends Action {
        @Override
        int act(ControlClient client) throws IOException {
            return request(client, "status", null, r -> CtlOutput.status(out, r));
        }
    }

    @Command(name = "stats", mixinStandardHelpOptions = true,
        description = {"Every counter and the drops per reason, in total and per worker.",
            "Drop reasons that are still 0 are left out unless --all is given."},
        footer = {"", "Examples:", "  nsgate ctl stats", "  nsgate ctl stats --all",
            "  nsgate ctl --json stats | jq '.drops | with_entries(select(.value > 0))'"})
    static final class Stats extends Action {
        @Option(names = "--all", description = "Also list drop reasons that never happened.")
        boolean all;

        @Override
        int act(ControlClient client) throws IOException {
            return request(client, "stats", null, r -> CtlOutput.stats(out, r, all));
        }
    }

    // ------------------------------------------------------------------ forward

    @Command(name = "forward", mixinStandardHelpOptions = true,
        description = {"Port forwards (DNAT): add, del, list.",
            "A forward is PROTO:[ADDRESS:]PORT[-PORT]=IP:PORT[-PORT][,IP:PORT...][,from=CIDR[+CIDR...]]; from= admits",
            "new connections from those sources only (the others are dropped, counted). A new one serves new connections",
            "at once; a removed one stops taking new connections while those it carries keep working until they end."},
        footer = {"", "Examples:", "  nsgate ctl forward list",
            "  nsgate ctl forward add tcp:8080=192.168.15.2:80",
            "  nsgate ctl forward add udp:53=192.168.15.2:53,192.168.15.3:53     two backends, chosen per client",
            "  nsgate ctl forward add tcp:22=192.168.15.2:22,from=10.0.0.0/8+192.168.1.0/24   these sources only",
            "  nsgate ctl forward del tcp:8080                                   the external side is enough"},
        subcommands = {Forward.Add.class, Forward.Del.class, Forward.List.class})
    static final class Forward extends CommandGroup {
        @Command(name = "add", mixinStandardHelpOptions = true, description = "Add a port forward.",
            footer = {"", "Examples:", "  nsgate ctl forward add tcp:8080=192.168.15.2:80",
                "  nsgate ctl forward add tcp:192.168.1.2:8000-8010=192.168.15.2:9000-9010"})
        static final class Add extends Action {
            @Parameters(paramLabel = "SPEC",
                description = "PROTO:[ADDRESS:]PORT[-PORT]=IP:PORT[-PORT][,IP:PORT...][,from=CIDR[+CIDR...]]")
            String forward;

            @Override
            int act(ControlClient client) throws IOException {
                return request(client, "forward.add", args().put("spec", forward),
                    r -> out.println("added forward " + r.path("added").asText()));
            }
        }

        @Command(name = "del", aliases = {"delete", "remove"}, mixinStandardHelpOptions = true,
            description = {"Remove a port forward: new connections stop, existing ones keep working until they end.",
                "The external side (PROTO:[ADDRESS:]PORT[-PORT]) names it; the whole spec works too."},
            footer = {"", "Examples:", "  nsgate ctl forward del tcp:8080",
                "  nsgate ctl forward del tcp:8080=192.168.15.2:80"})
        static final class Del extends Action {
            @Parameters(paramLabel = "SPEC", description = "PROTO:[ADDRESS:]PORT[-PORT][=...]")
            String forward;

            @Override
            int act(ControlClient client) throws IOException {
                return request(client, "forward.del", args().put("spec", forward),
                    r -> out.println("removed forward " + r.path("removed").asText()
                        + " (connections it carries keep working until they end)"));
            }
        }

        @Command(name = "list", aliases = {"ls", "show"}, mixinStandardHelpOptions = true,
            description = "The port forwards, and removed ones whose connections still live.",
            footer = {"", "Examples:", "  nsgate ctl forward list",
                "  nsgate ctl --json forward list | jq -r '.forwards[]'"})
        static final class List extends Action {
            @Override
            int act(ControlClient client) throws IOException {
                return request(client, "forward.list", null, r -> CtlOutput.forwards(out, r));
            }
        }
    }

    // ------------------------------------------------------------------ masquerade

    @Command(name = "masquerade", mixinStandardHelpOptions = true,
        description = {"Masqueraded source prefixes: add, del, list.",
            "Sources in these prefixes take the LAN interface's address when leaving through it (MASQUERADE).",
            "Changes apply to new connections; existing ones keep their translation."},
        footer = {"", "Examples:", "  nsgate ctl masquerade list", "  nsgate ctl masquerade add 10.0.0.0/24",
            "  nsgate ctl masquerade del 10.0.0.0/24"},
        subcommands = {Masquerade.Add.class, Masquerade.Del.class, Masquerade.List.class})
    static final class Masquerade extends CommandGroup {
        @Command(name = "add", mixinStandardHelpOptions = true, description = "Masquerade a source prefix.",
            footer = {"", "Examples:", "  nsgate ctl masquerade add 10.0.0.0/24"})
        static final class Add extends Action {
            @Parameters(paramLabel = "CIDR", description = "Source prefix, e.g. 10.0.0.0/24.")
            String source;

            @Override
            int act(ControlClient client) throws IOException {
                return request(client, "masquerade.add", args().put("source", source),
                    r -> out.println("masquerading " + r.path("added").asText()));
            }
        }

        @Command(name = "del", aliases = {"delete", "remove"}, mixinStandardHelpOptions = true,
            description = "Stop masquerading a source prefix (existing connections keep their translation).",
            footer = {"", "Examples:", "  nsgate ctl masquerade del 10.0.0.0/24"})
        static final class Del extends Action {
            @Parameters(paramLabel = "CIDR", description = "Source prefix, e.g. 10.0.0.0/24.")
            String source;

            @Override
            int act(ControlClient client) throws IOException {
                return request(client, "masquerade.del", args().put("source", source),
                    r -> out.println("no longer masquerading " + r.path("removed").asText()));
            }
        }

        @Command(name = "list", aliases = {"ls", "show"}, mixinStandardHelpOptions = true,
            description = "The masqueraded source prefixes.",
            footer = {"", "Examples:", "  nsgate ctl masquerade list"})
        static final class List extends Action {
            @Override
            int act(ControlClient client) throws IOException {
                return request(client, "masquerade.list", null, r -> CtlOutput.masquerade(out, r));
            }
        }
    }

    // ------------------------------------------------------------------ config

    @Command(name = "config", mixinStandardHelpOptions = true,
        description = {"The running configuration: show, save, reload.",
            "That is the daemon's file (or flags) plus every change made through the control socket since."},
        footer = {"", "Examples:", "  nsgate ctl config show", "  nsgate ctl config save",
            "  nsgate ctl config reload"},
        subcommands = {Config.Show.class, Config.Save.class, Config.Reload.class})
    static final class Config extends CommandGroup {
        @Command(name = "show", mixinStandardHelpOptions = true,
            description = "Print the running configuration as YAML (the format of `nsgate run --config`).",
            footer = {"", "Examples:", "  nsgate ctl config show > gateway.yaml"})
        static final class Show extends Action {
            @Override
            int act(ControlClient client) throws IOException {
                return request(client, "config.show", null, r -> out.print(r.path("yaml").asText()));
            }
        }

        @Command(name = "save", mixinStandardHelpOptions = true,
            header = "Write the running configuration to the daemon's --config file, atomically.",
            description = {"Write the running configuration to the file the daemon was started with (--config),",
                "atomically: readers see the old file or the new one, never a mix. A daemon started without",
                "--config has no file to write: the command fails (exit 1) and says so."},
            footer = {"", "Examples:", "  nsgate ctl forward add tcp:8080=192.168.15.2:80 && nsgate ctl config save"})
        static final class Save extends Action {
            @Override
            int act(ControlClient client) throws IOException {
                return request(client, "config.save", null, r -> out.println("saved the running configuration to "
                    + r.path("file").asText() + " (" + r.path("bytes").asLong() + " bytes)"));
            }
        }

        @Command(name = "reload", mixinStandardHelpOptions = true,
            header = "Read the daemon's --config file again and apply the difference live (as SIGHUP).",
            description = {"Read the daemon's --config file again and apply the difference live, as SIGHUP does:",
                "forwards and masquerade added and removed, policies changed; no connection is dropped. A file that",
                "does not parse, whose rules do not fit together, or that changes what takes a restart (namespace,",
                "interfaces, workers, NAT ports, table size, timeouts) is refused whole (exit 2) and nothing changes."},
            footer = {"", "Examples:", "  nsgate ctl config reload"})
        static final class Reload extends Action {
            @Override
            int act(ControlClient client) throws IOException {
                return request(client, "config.reload", null, r -> {
                    if (r.path("changed").isEmpty()) {
                        out.println("reloaded " + r.path("file").asText() + ": no changes");
                    } else {
                        out.println("reloaded " + r.path("file").asText() + ":");
                        r.path("changed").forEach(c -> out.println("  " + c.asText()));
                    }
                });
            }
        }
    }

    // ------------------------------------------------------------------ topology

    @Command(name = "topology", mixinStandardHelpOptions = true,
        description = {"Topologies through the daemon: apply, show, destroy (what `nsgate topology` does).",
            "The file is read here and sent as text; without FILE, the embedded seed lab."},
        footer = {"", "Examples:", "  nsgate ctl topology show lab.yaml --prefix p-",
            "  nsgate ctl topology apply lab.yaml --prefix p-", "  nsgate ctl topology destroy lab.yaml --prefix p-"},
        subcommands = {Topology.Apply.class, Topology.Show.class, Topology.Destroy.class})
    static final class Topology extends CommandGroup {
        abstract static class TopologyAction extends Action {
            @Mixin
            TopologyFileOptions topology;

            String yaml;

            @Override
            int prepare() {
                if (topology.file == null) {
                    return ExitCode.OK;
                }
                try {
                    yaml = Files.readString(topology.file, StandardCharsets.UTF_8);
                    return ExitCode.OK;
                } catch (IOException e) {
                    err.println("nsgate ctl: cannot read " + topology.file + ": " + Errno.why(e));
                    return ExitCode.BAD_INPUT;
                }
            }

            @Override
            int act(ControlClient client) throws IOException {
                ObjectNode a = args().put("prefix", topology.prefix == null ? "" : topology.prefix);
                if (yaml != null) {
                    a.put("yaml", yaml);
                } else {
                    a.put("seedLab", true); // no file: the embedded seed lab, as `nsgate topology` does
                }
                // the subcommand's name is the operation's: topology apply -> topology.apply
                return request(client, "topology." + spec.name(), a, r -> CtlOutput.topology(out, r));
            }
        }

        @Command(name = "apply", mixinStandardHelpOptions = true,
            description = "Make the machine match FILE; prints one line per change, or \"no changes\".",
            footer = {"", "Examples:", "  nsgate ctl topology apply lab.yaml --prefix p-"})
        static final class Apply extends TopologyAction {
        }

        @Command(name = "show", mixinStandardHelpOptions = true,
            description = "Print what apply would change, without changing anything.",
            footer = {"", "Examples:", "  nsgate ctl topology show lab.yaml --prefix p-"})
        static final class Show extends TopologyAction {
        }

        @Command(name = "destroy", mixinStandardHelpOptions = true,
            description = "Remove what FILE describes and nsgate created.",
            footer = {"", "Examples:", "  nsgate ctl topology destroy lab.yaml --prefix p-"})
        static final class Destroy extends TopologyAction {
        }
    }

    /** Filter options shared by the flows commands. */
    static final class FilterOptions {
        @Option(names = {"-p", "--proto"}, paramLabel = "PROTO", description = "tcp, udp, icmp or icmpv6.")
        String proto;

        @Option(names = {"-s", "--src"}, paramLabel = "ADDR[/LEN]",
            description = "Source address or prefix (as the client sent it).")
        String src;

        @Option(names = {"-d", "--dst"}, paramLabel = "ADDR[/LEN]",
            description = "Destination address or prefix, as addressed or as translated (a forward's backend).")
        String dst;

        @Option(names = "--sport", paramLabel = "PORT", description = "Source port.")
        Integer sport;

        @Option(names = "--dport", paramLabel = "PORT",
            description = "Destination port, as addressed or as translated.")
        Integer dport;

        @Option(names = "--state", paramLabel = "STATE",
            description = "ESTABLISHED, SYN_SENT, TIME_WAIT... (TCP); UNREPLIED or REPLIED (UDP, ICMP).")
        String state;

        /** {@code args.filter}: these options over {@code parent}'s (given before the subcommand). */
        ObjectNode toJson(FilterOptions parent) {
            ObjectNode f = Protocol.JSON.createObjectNode();
            put(f, "proto", proto != null ? proto : parent == null ? null : parent.proto);
            put(f, "src", src != null ? src : parent == null ? null : parent.src);
            put(f, "dst", dst != null ? dst : parent == null ? null : parent.dst);
            Integer sp = sport != null ? sport : parent == null ? null : parent.sport;
            Integer dp = dport != null ? dport : parent == null ? null : parent.dport;
            if (sp != null) {
                f.put("sport", sp);
            }
            if (dp != null) {
                f.put("dport", dp);
            }
            put(f, "state", state != null ? state : parent == null ? null : parent.state);
            return f;
        }

        private static void put(ObjectNode f, String key, String value) {
            if (value != null) {
                f.put(key, value);
            }
        }
    }
}
