// `nsgate ctl flows [list|count|flush]`: the connection tracking table, like conntrack -L/-C/-D.
package io.nsgate.control.cli;

import java.io.IOException;

import com.fasterxml.jackson.databind.node.ObjectNode;

import io.nsgate.control.api.client.ControlClient;
import io.nsgate.control.api.LowPriority;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/** Filters may be given before or after the subcommand ({@code flows -p udp count} = {@code flows count -p udp}). */
@Command(
    name = "flows",
    mixinStandardHelpOptions = true,
    description = {
        "The connections nsgate tracks: list (the default), count or flush them, like conntrack -L/-C/-D.",
        "Listing streams from the daemon: a million flows do not hold up forwarding. It runs at the lowest CPU",
        "priority (nice 19), in the daemon and here, so it takes only the CPU forwarding leaves.",
        "--src/--sport match the source as the client sent it; --dst/--dport match the destination as the",
        "client addressed it or as nsgate translated it (--dst 192.168.15.3 finds what a forward sent there)."
    },
    footer = {
        "",
        "Examples:",
        "  nsgate ctl flows                                   every flow",
        "  nsgate ctl flows -p tcp --dport 80                 connections to port 80",
        "  nsgate ctl flows -s 192.168.15.0/24 --state ESTABLISHED",
        "  nsgate ctl flows count -p udp",
        "  nsgate ctl flows flush -p udp --dst 192.168.15.3   forget UDP flows to a backend that moved",
        "  nsgate ctl --json flows -n 10 | jq -c '{src: .orig.src, bytes: .orig.bytes}'"
    },
    subcommands = {CtlFlows.ListFlows.class, CtlFlows.Count.class, CtlFlows.Flush.class})
final class CtlFlows extends CtlCommand.Action {
    @Mixin
    CtlCommand.FilterOptions filter;

    @Option(names = {"-n", "--limit"}, paramLabel = "N", description = "Show at most N flows (default: all).")
    Long limit;

    @Option(names = "--mappings",
        description = "Also show the UDP/ICMP port mappings (endpoint-independent; they live with their flows).")
    boolean mappings;

    @Override
    int act(ControlClient client) throws IOException {
        return list(this, client, filter.toJson(null), limit, mappings);
    }

    static int list(CtlCommand.Action a, ControlClient client, ObjectNode filter, Long limit, boolean mappings)
        throws IOException {
        ObjectNode args = filterArgs(filter);
        if (limit != null) {
            args.put("limit", limit);
        }
        if (mappings) {
            args.put("mappings", true);
        }
        if (Main.standalone()) {
            // printing a million lines is bulk work: at nice 19 it never competes with the workers for a CPU
            LowPriority.wholeProcess();
        }
        boolean[] header = {false};
        ControlClient.Reply reply = client.streamWhile("flows.list", args, item -> {
            if (a.ctl.json) {
                a.out.println(item);
            } else {
                if (!header[0]) {
                    header[0] = true;
                    CtlOutput.flowHeader(a.out);
                }
                CtlOutput.flow(a.out, item);
            }
            // a PrintWriter never throws: a reader that went away (`| head`) shows only here. Reading on would
            // drain the whole table into a closed pipe
            return !a.out.checkError();
        });
        if (reply == null) {
            return ExitCode.BROKEN_PIPE;
        }
        if (!reply.ok()) {
            return a.refused(reply);
        }
        if (!a.ctl.json) {
            a.out.flush();
            a.err.println(reply.count() + " flow" + (reply.count() == 1 ? "" : "s"));
        }
        return ExitCode.OK;
    }

    /** A request's args holding the filter, or none when it is empty (every flow). */
    private static ObjectNode filterArgs(ObjectNode filter) {
        ObjectNode args = CtlCommand.Action.args();
        if (!filter.isEmpty()) {
            args.set("filter", filter);
        }
        return args;
    }

    private static CtlFlows parent(CommandLine.Model.CommandSpec spec) {
        return (CtlFlows) spec.parent().userObject();
    }

    @Command(name = "list", aliases = {"ls", "show"}, mixinStandardHelpOptions = true,
        description = "List the flows matching the filter (the default of `flows`).",
        footer = {"", "Examples:", "  nsgate ctl flows list -p udp",
            "  nsgate ctl flows list --dst 192.168.15.2 -n 20"})
    static final class ListFlows extends CtlCommand.Action {
        @Mixin
        CtlCommand.FilterOptions filter;

        @Option(names = {"-n", "--limit"}, paramLabel = "N", description = "Show at most N flows (default: all).")
        Long limit;

        @Option(names = "--mappings", description = "Also show the UDP/ICMP port mappings.")
        boolean mappings;

        @Override
        int act(ControlClient client) throws IOException {
            CtlFlows p = parent(spec);
            return list(this, client, filter.toJson(p.filter), limit != null ? limit : p.limit,
                mappings || p.mappings);
        }
    }

    @Command(name = "count", mixinStandardHelpOptions = true,
        description = "How many flows match the filter (all flows without one), like `conntrack -C`.",
        footer = {"", "Examples:", "  nsgate ctl flows count", "  nsgate ctl flows count -p tcp --state ESTABLISHED"})
    static final class Count extends CtlCommand.Action {
        @Mixin
        CtlCommand.FilterOptions filter;

        @Override
        int act(ControlClient client) throws IOException {
            ObjectNode args = filterArgs(filter.toJson(parent(spec).filter));
            return request(client, "flows.count", args, r -> out.println(r.path("count").asLong()));
        }
    }

    @Command(name = "flush", aliases = {"delete"}, mixinStandardHelpOptions = true,
        description = {"Delete the flows matching the filter (every flow without one), like `conntrack -D/-F`.",
            "Their next packets are treated as new: a TCP connection is cut (nothing matches its segments), a",
            "UDP exchange starts a new flow, to the backend the forward picks now. Port mappings are freed with",
            "their last flow."},
        footer = {"", "Examples:", "  nsgate ctl flows flush -p udp --dst 192.168.15.3",
            "  nsgate ctl flows flush --state TIME_WAIT", "  nsgate ctl flows flush              every flow"})
    static final class Flush extends CtlCommand.Action {
        @Mixin
        CtlCommand.FilterOptions filter;

        @Override
        int act(ControlClient client) throws IOException {
            ObjectNode args = filterArgs(filter.toJson(parent(spec).filter));
            return request(client, "flows.flush", args, r -> {
                long n = r.path("deleted").asLong();
                out.println("deleted " + n + " flow" + (n == 1 ? "" : "s"));
            });
        }
    }
}
