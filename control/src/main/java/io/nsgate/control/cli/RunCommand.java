// `nsgate run`: the gateway daemon, in the current network namespace or a named one, until SIGTERM/SIGINT.
package io.nsgate.control.cli;

import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.Callable;

import io.nsgate.control.api.server.ControlServer;
import io.nsgate.control.api.ops.ControlTarget;
import io.nsgate.control.daemon.Gateway;
import io.nsgate.control.daemon.GatewayConfig;
import io.nsgate.control.daemon.GatewayConfigException;
import io.nsgate.control.daemon.GatewayException;
import io.nsgate.control.daemon.ServiceNotifier;
import io.nsgate.linux.sys.SyscallException;
import io.nsgate.linux.sys.SystemdNotify;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import sun.misc.Signal;
import io.nsgate.control.api.Protocol;

/** Exit codes: 0 after a clean shutdown, 1 when the gateway could not start, 2 for bad configuration. */
@Command(
    name = "run",
    header = "Runs the gateway: masquerade and port forwards between the LAN and the inside interfaces.",
    mixinStandardHelpOptions = true,
    description = {
        "Runs the gateway: MASQUERADE and port forwards between the LAN interface and the inside interfaces,",
        "in user space, until SIGTERM or Ctrl-C. Runs in the current network namespace (so `ip netns exec edge",
        "nsgate run ...` works) or in --netns NAME. Needs root.",
        "",
        "Exit codes: 0 after a clean shutdown, 1 when it could not start (the message says what to check),",
        "2 for bad configuration (every problem is listed, nothing was started)."
    },
    footer = {
        "",
        "Examples:",
        "  nsgate run --netns edge --lan lan0 --inside v-net-0 --masquerade 192.168.15.0/24 fd15::/64 \\",
        "             --forward tcp:80=192.168.15.2:80 'tcp:80=[fd15::2]:80'",
        "  nsgate run --config /etc/nsgate/gateway.yaml",
        "  nsgate run --config gateway.yaml --workers 1        (flags override the file)",
        "  nsgate run --config gateway.yaml --control-group nsgate-ops --metrics-port 9469",
        "",
        "While it runs, `nsgate ctl` talks to it through the control socket (see `nsgate ctl --help`)."
    })
public final class RunCommand implements Callable<Integer> {
    @Option(names = "--config", paramLabel = "FILE", description = "YAML configuration (see the README).")
    Path config;

    @Option(names = "--netns", paramLabel = "NAME",
        description = "Run inside this named network namespace (default: the current one).")
    String netns;

    @Option(names = "--lan", paramLabel = "IFACE", description = "The LAN-side interface (carries the host's address).")
    String lan;

    @Option(names = "--inside", paramLabel = "IFACE", arity = "1..*",
        description = "Interfaces towards the namespaces (bridges, veths).")
    List<String> inside;

    @Option(names = "--masquerade", paramLabel = "CIDR", arity = "1..*",
        description = "Source prefixes translated to the LAN address when leaving through it.")
    List<String> masquerade;

    @Option(names = "--forward", paramLabel = "SPEC", arity = "1..*",
        description = "Port forward: PROTO:[ADDRESS:]PORT[-PORT]=IP:PORT[-PORT][,IP:PORT...][,from=CIDR[+CIDR...]]; "
            + "IPv6 addresses in brackets: tcp:80=[fd15::2]:80; from= admits those sources only")
    List<String> forward;

    @Option(names = "--workers", paramLabel = "N", description = "Worker threads (default: the number of CPUs).")
    Integer workers;

    @Option(names = "--nat-ports", paramLabel = "FIRST-LAST", description = "NAT port range (default 61000-65535).")
    String natPorts;

    @Option(names = "--flow-table-size", paramLabel = "N",
        description = "IPv4 connections tracked at once (default 1048576; the IPv6 table holds a quarter as many).")
    Integer flowTableSize;

    @Option(names = "--reverse-path-filter", paramLabel = "MODE",
        description = "Source validation: strict (default, rp_filter=1), loose (2) or off (0).")
    String reversePathFilter;

    @Option(names = "--tcp-liberal", negatable = true,
        description = "Pass TCP segments outside the window (nf_conntrack_tcp_be_liberal; default off).")
    Boolean tcpLiberal;

    @Option(names = "--tcp-loose", negatable = true,
        description = "Pick TCP connections up mid-stream (nf_conntrack_tcp_loose; default on).")
    Boolean tcpLoose;

    @Option(names = "--state-file", paramLabel = "FILE",
        description = "Keep connections across restarts: the flow tables live in FILE (on tmpfs, e.g. "
            + "/run/nsgate/flows) and the guards stay pinned between two runs; a run with the same FILE takes them over.")
    String stateFile;

    @Option(names = "--pin-dir", paramLabel = "DIR",
        description = "With --state-file: where the guards' links are pinned, in a bpf file system (default "
            + "/sys/fs/bpf/nsgate).")
    String pinDirectory;

    @Option(names = "--control-socket", paramLabel = "PATH", defaultValue = Protocol.DEFAULT_SOCKET,
        description = "The control socket `nsgate ctl` talks to (default: ${DEFAULT-VALUE}); mode 0660, root and "
            + "--control-group only.")
    Path controlSocket;

    @Option(names = "--no-control-socket", description = "Serve no control socket.")
    boolean noControlSocket;

    @Option(names = "--control-group", paramLabel = "NAME",
        description = "Members of this group may use the control socket too (it is chgrp'ed to it).")
    String controlGroup;

    @Option(names = "--metrics-port", paramLabel = "N",
        description = "Serve Prometheus metrics on http://127.0.0.1:N/metrics (in the namespace nsgate was started "
            + "in; off by default; 0 picks a free port and logs it).")
    Integer metricsPort;

    @Option(names = "--check",
        description = "Check the configuration (the file with the flags on top) and exit: 0 when it is valid, 2 when "
            + "not, every problem named; nothing is started or changed (like nginx -t).")
    boolean check;

    @Option(names = "--json",
        description = "With --check: the verdict as one JSON object (the configuration's summary on standard output, "
            + "or the error object with every problem on standard error).")
    boolean json;

    @picocli.CommandLine.Spec
    picocli.CommandLine.Model.CommandSpec spec;

    @Override
    public Integer call() {
        // what run --check answers goes to picocli's streams (the console, or a caller's); a running gateway logs
        java.io.PrintWriter out = spec.commandLine().getOut();
        java.io.PrintWriter err = spec.commandLine().getErr();
        if (json && !check) {
            err.println("nsgate: --json goes with --check (a running gateway logs; `nsgate ctl status --json` "
                + "asks it)");
            err.flush();
            return ExitCode.BAD_INPUT;
        }
        GatewayConfig cfg;
        try {
            cfg = configuration();
        } catch (GatewayConfigException e) {
            if (json) {
                return JsonLines.error(err, "bad_request",
                    (config != null ? config.toString() : "the flags") + " is not valid", e.problems(),
                    ExitCode.BAD_INPUT);
            }
            err.println("nsgate: " + e.getMessage());
            err.flush();
            return ExitCode.BAD_INPUT;
        }
        if (metricsPort != null && (metricsPort < 0 || metricsPort > 65535)) {
            System.err.println("nsgate: --metrics-port " + metricsPort + ": not a port 0..65535");
            return ExitCode.BAD_INPUT;
        }
        if (check && json) {
            com.fasterxml.jackson.databind.node.ObjectNode n = JsonLines.object();
            n.put("valid", true);
            n.put("config", config != null ? config.toString() : null);
            n.set("configuration", new com.fasterxml.jackson.databind.ObjectMapper().valueToTree(cfg.toFile()));
            out.println(n);
            out.flush();
            return ExitCode.OK;
        }
        if (check) {
            out.println("nsgate: configuration " + (config != null ? config : "(flags)") + " is valid: "
                + cfg.forwards().size() + " forward(s), " + cfg.masquerade().size() + " masquerade prefix(es), "
                + cfg.workers() + " worker(s), lan " + cfg.lan() + ", inside " + String.join(" ", cfg.inside())
                + (cfg.netns() != null ? ", in network namespace " + cfg.netns() : "")
                + " (the interfaces and addresses are checked when it starts)");
            out.flush();
            return ExitCode.OK;
        }
        ControlServer.Settings control = noControlSocket ? null
            : ControlServer.Settings.of(controlSocket).withGroup(controlGroup);
        try {
            DaemonServices.check(control, System.out::println);
        } catch (DaemonServices.Failure e) {
            System.err.println("nsgate: " + (e.badInput ? "" : "could not start: ") + e.getMessage());
            return e.badInput ? ExitCode.BAD_INPUT : ExitCode.FAILED;
        }
        Gateway gateway;
        try {
            gateway = Gateway.start(cfg, System.out::println);
        } catch (GatewayConfigException e) {
            System.err.println("nsgate: " + e.getMessage());
            return ExitCode.BAD_INPUT;
        } catch (GatewayException | IllegalStateException e) {
            System.err.println("nsgate: could not start: " + e.getMessage());
            return ExitCode.FAILED;
        }
        DaemonServices services;
        try {
            services = DaemonServices.start(control, metricsPort,
                ControlTarget.of(gateway, config, config == null ? null : this::configuration), System.out::println);
        } catch (DaemonServices.Failure e) {
            gateway.close();
            System.err.println("nsgate: could not start: " + e.getMessage());
            return e.badInput ? ExitCode.BAD_INPUT : ExitCode.FAILED;
        }
        reloadOnHangup(gateway); // before READY=1: a reload right after start must not meet SIGHUP's default
        ServiceNotifier notifier = serviceNotifier(gateway);
        ShutdownSignals signals = new ShutdownSignals(() -> {
            if (notifier != null) {
                notifier.stopping();
            }
            services.close();
            gateway.close();
        });
        System.out.println("nsgate: running; SIGTERM or Ctrl-C stops it"
            + (config != null ? ", SIGHUP reads " + config + " again" : ""));
        signals.await();
        System.out.println("nsgate: shutting down (detaching from the kernel, stopping workers)");
        if (notifier != null) {
            notifier.stopping();
        }
        services.close();
        gateway.close();
        if (notifier != null) {
            notifier.close();
        }
        return ExitCode.OK;
    }

    /**
     * Under a service manager ($NOTIFY_SOCKET: a Type=notify systemd unit): READY=1 now that the rings, the guard and
     * the control socket are up, then status lines and watchdog pings (ServiceNotifier); null otherwise.
     */
    private static ServiceNotifier serviceNotifier(Gateway gateway) {
        try {
            SystemdNotify sd = SystemdNotify.fromEnvironment();
            return sd == null ? null : ServiceNotifier.ready(sd, gateway.dataPlane(), System.out::println);
        } catch (IllegalArgumentException | SyscallException e) {
            System.out.println("nsgate: warning: not telling the service manager: " + e.getMessage());
            return null;
        }
    }

    /**
     * SIGHUP, the usual "reload": the file read again (with the flags on top) and its difference applied live, or
     * refused whole with the reason logged; the gateway keeps running either way. Without --config there is no file:
     * the signal is logged and ignored.
     */
    private void reloadOnHangup(Gateway gateway) {
        try {
            Signal.handle(new Signal("HUP"), s -> {
                if (config == null) {
                    System.out.println("nsgate: SIGHUP: started without --config, nothing to read again");
                    return;
                }
                try {
                    List<String> changed = gateway.reload(configuration());
                    System.out.println("nsgate: SIGHUP: reloaded " + config
                        + (changed.isEmpty() ? ": no changes" : ""));
                    changed.forEach(c -> System.out.println("  " + c));
                } catch (GatewayConfigException e) {
                    System.out.println("nsgate: SIGHUP: " + config + " refused, nothing changed: "
                        + String.join("; ", e.problems()));
                } catch (RuntimeException e) {
                    System.out.println("nsgate: SIGHUP: reload failed: " + e.getMessage());
                }
            });
        } catch (IllegalArgumentException e) {
            // SIGHUP is ignored by our parent (nohup): nothing to handle
        }
    }

    /** The file (if any) with the flags given on top. */
    GatewayConfig configuration() {
        GatewayConfig.File file;
        String source = "command line";
        if (config != null) {
            file = GatewayConfig.load(config).toFile();
            source = config.toString();
        } else {
            file = new GatewayConfig.File();
            file.workers = null;
        }
        if (netns != null) {
            file.netns = netns;
        }
        if (lan != null) {
            file.lan = lan;
        }
        if (inside != null) {
            file.inside = inside;
        }
        if (masquerade != null) {
            file.masquerade = masquerade;
        }
        if (forward != null) {
            file.forwards = forward;
        }
        if (workers != null) {
            file.workers = workers;
        }
        if (natPorts != null) {
            file.natPorts = natPorts;
        }
        if (flowTableSize != null) {
            file.flowTableSize = flowTableSize;
        }
        if (reversePathFilter != null) {
            file.reversePathFilter = reversePathFilter;
        }
        if (stateFile != null) {
            file.stateFile = stateFile;
        }
        if (pinDirectory != null) {
            file.pinDirectory = pinDirectory;
        }
        if (tcpLiberal != null || tcpLoose != null) {
            if (file.tcp == null) {
                file.tcp = new GatewayConfig.File.Tcp();
            }
            if (tcpLiberal != null) {
                file.tcp.liberal = tcpLiberal;
            }
            if (tcpLoose != null) {
                file.tcp.loose = tcpLoose;
            }
        }
        return file.toConfig(source);
    }
}
