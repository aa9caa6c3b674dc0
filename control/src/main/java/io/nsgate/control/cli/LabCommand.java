// `nsgate lab`: the seed lab end to end: namespaces, services, the gateway, proof in both directions.
package io.nsgate.control.cli;

import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.Callable;

import io.nsgate.control.api.server.ControlServer;
import io.nsgate.control.api.ops.ControlTarget;
import io.nsgate.control.daemon.Gateway;
import io.nsgate.control.daemon.GatewayConfig;
import io.nsgate.control.lab.EchoHttpService;
import io.nsgate.control.lab.HttpProbe;
import io.nsgate.control.netns.NetNs;
import io.nsgate.control.topology.Topology;
import io.nsgate.control.topology.TopologyApplier;
import io.nsgate.control.topology.TopologyReport;
import io.nsgate.dataplane.conntrack.FlowTimeouts;
import io.nsgate.dataplane.nat.ForwardRule;
import io.nsgate.linux.net.IpPrefix;
import io.nsgate.dataplane.nat.PortRange;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** Exit codes: 0 the lab worked (and, without --check, was stopped cleanly), 1 it did not. */
@Command(
    name = "lab",
    header = "Builds the seed lab, runs the gateway in it and proves it with real requests, over IPv4 and IPv6.",
    mixinStandardHelpOptions = true,
    description = {
        "Builds the seed lab (namespaces red, blue, lan and the gateway's edge, joined by a bridge and veths),",
        "starts a web service in blue and one in lan, runs the gateway in edge (MASQUERADE for 192.168.15.0/24",
        "and fd15::/64, port forwards tcp:80 -> blue over IPv4 and IPv6), proves both directions in both",
        "families with real requests, prints what to try",
        "next, and runs until Ctrl-C; then removes everything it created. Needs root.",
        "The gateway's control socket is /run/nsgate/PREFIXlab.sock (/run/nsgate/nsgate-lab.sock by default):",
        "try `nsgate ctl --socket /run/nsgate/nsgate-lab.sock status` while it runs.",
    },
    footer = {
        "",
        "Examples:",
        "  nsgate lab                 build the lab, prove it, leave it running until Ctrl-C",
        "  nsgate lab --check         build it, prove it, tear it down; exit 0 when it worked",
        "  nsgate lab --prefix me-    name the namespaces me-edge, me-red, ... instead of nsgate-edge, ..."
    })
public final class LabCommand implements Callable<Integer> {
    static final String BLUE = "192.168.15.2";
    static final String BLUE6 = "fd15::2";
    static final String LAN6 = "fd01::3";
    static final String GATEWAY_LAN6 = "fd01::2";
    static final String LAN = "192.168.1.3";
    static final String GATEWAY_LAN = "192.168.1.2";
    static final int LAN_SERVICE_PORT = 8080;

    @Option(names = "--prefix", paramLabel = "P", defaultValue = "nsgate-",
        description = "Prefix of the lab's namespace names (default: ${DEFAULT-VALUE}).")
    String prefix;

    @Option(names = "--check",
        description = "Exit after the proof (0 when all four worked, IPv4 and IPv6 both ways), removing the lab.")
    boolean check;

    @Option(names = "--workers", paramLabel = "N", defaultValue = "2", description = "Gateway workers.")
    int workers;

    @Override
    public Integer call() {
        Topology lab = Topology.seedLab();
        EchoHttpService blueService = null;
        EchoHttpService lanService = null;
        Gateway gateway = null;
        NetNs blue = null;
        NetNs lan = null;
        boolean ok = false;
        try {
            TopologyReport applied = TopologyApplier.apply(lab, prefix);
            System.out.println("nsgate lab: topology " + prefix + "{edge,red,blue,lan}");
            applied.lines().forEach(l -> System.out.println("  " + l));
            blue = NetNs.open(prefix + "blue");
            lan = NetNs.open(prefix + "lan");
            blueService = EchoHttpService.start(blue, "blue", BLUE, 80);
            lanService = EchoHttpService.start(lan, "lan", LAN, LAN_SERVICE_PORT);
            services6.add(EchoHttpService.start(blue, "blue", BLUE6, 80));
            services6.add(EchoHttpService.start(lan, "lan", LAN6, LAN_SERVICE_PORT));
            System.out.println("nsgate lab: web services: blue " + BLUE + ":80 and [" + BLUE6 + "]:80, lan " + LAN
                + ":" + LAN_SERVICE_PORT + " and [" + LAN6 + "]:" + LAN_SERVICE_PORT);
            gateway = Gateway.start(labConfig(prefix, workers), line -> System.out.println("nsgate lab: " + line));
            ok = prove(lan, blue);
            if (ok && !check) {
                try {
                    services = DaemonServices.start(ControlServer.Settings.of(socket(prefix)), null,
                        ControlTarget.of(gateway, null), line -> System.out.println("nsgate lab: " + line));
                } catch (DaemonServices.Failure e) {
                    System.err.println("nsgate lab: no control socket: " + e.getMessage());
                }
            }
            if (ok) {
                printNextSteps(services == null ? null : services.socket());
            }
            if (!check && ok) {
                final Gateway g = gateway;
                final EchoHttpService bs = blueService;
                final EchoHttpService ls = lanService;
                final NetNs b = blue;
                final NetNs l = lan;
                ShutdownSignals signals = new ShutdownSignals(() -> tearDown(g, bs, ls, b, l, lab));
                System.out.println("nsgate lab: running; Ctrl-C stops it and removes the lab");
                signals.await();
                System.out.println("nsgate lab: stopping and removing the lab");
                tearDown(g, bs, ls, b, l, lab);
                return ExitCode.OK;
            }
        } catch (Exception e) {
            System.err.println("nsgate lab: " + e.getMessage());
        }
        tearDown(gateway, blueService, lanService, blue, lan, lab);
        return ok ? ExitCode.OK : ExitCode.FAILED;
    }

    /** The lab's control socket: /run/nsgate/PREFIXlab.sock. */
    public static Path socket(String prefix) {
        return Path.of("/run/nsgate", prefix + "lab.sock");
    }

    /** The gateway configuration of the seed lab. */
    public static GatewayConfig labConfig(String prefix, int workers) {
        return new GatewayConfig(prefix + "edge", "lan0", List.of("v-net-0"),
            List.of(IpPrefix.parse("192.168.15.0/24"), IpPrefix.parse("fd15::/64")),
            List.of(ForwardRule.parse("tcp:80=" + BLUE + ":80"), ForwardRule.parse("tcp:80=[" + BLUE6 + "]:80")),
            workers, PortRange.DEFAULT_NAT, 1 << 16, FlowTimeouts.DEFAULTS);
    }

    private boolean prove(NetNs lan, NetNs blue) {
        boolean in = check("lan -> " + GATEWAY_LAN + ":80 (port forward)", () -> {
            HttpProbe.Response r = HttpProbe.get(lan, GATEWAY_LAN, 80, 3000);
            return r.status() == 200 && r.body().contains("hello from blue") && r.body().contains("you are " + LAN + ":")
                ? "answered by blue, which saw the real client " + LAN : "unexpected answer: " + r.body();
        });
        boolean out = check("blue -> " + LAN + ":" + LAN_SERVICE_PORT + " (masquerade)", () -> {
            HttpProbe.Response r = HttpProbe.get(blue, LAN, LAN_SERVICE_PORT, 3000);
            String seen = r.body().replaceAll("(?s).*you are ([0-9.:]+).*", "$1");
            int port = Integer.parseInt(seen.substring(seen.indexOf(':') + 1));
            return r.status() == 200 && seen.startsWith(GATEWAY_LAN + ":") && PortRange.DEFAULT_NAT.contains(port)
                ? "lan saw " + seen + ": the gateway's address and a port from " + PortRange.DEFAULT_NAT
                : "unexpected answer: " + r.body();
        });
        boolean in6 = check("lan -> [" + GATEWAY_LAN6 + "]:80 (IPv6 port forward)", () -> {
            HttpProbe.Response r = HttpProbe.get(lan, GATEWAY_LAN6, 80, 3000);
            String seen = seenAddress(r);
            return r.status() == 200 && r.body().contains("hello from blue") && seen.equals(LAN6)
                ? "answered by blue, which saw the real client " + LAN6 : "unexpected answer: " + r.body();
        });
        boolean out6 = check("blue -> [" + LAN6 + "]:" + LAN_SERVICE_PORT + " (IPv6 masquerade)", () -> {
            HttpProbe.Response r = HttpProbe.get(blue, LAN6, LAN_SERVICE_PORT, 3000);
            return r.status() == 200 && seenAddress(r).equals(GATEWAY_LAN6)
                ? "lan saw the gateway's " + GATEWAY_LAN6 : "unexpected answer: " + r.body();
        });
        boolean local = check("edge -> 127.0.0.1:80 (the gateway host itself)", () -> {
            try (NetNs edge = NetNs.open(prefix + "edge")) {
                HttpProbe.Response r = HttpProbe.get(edge, "127.0.0.1", 80, 3000);
                return r.status() == 200 && r.body().contains("hello from blue")
                    ? "answered by blue, which saw the gateway's inside address " + seenAddress(r)
                    : "unexpected answer: " + r.body();
            }
        });
        return in && out && in6 && out6 && local;
    }

    /** The client address an echo service reports ("you are ADDRESS:PORT"), IPv6 in its short form. */
    public static String seenAddress(HttpProbe.Response r) {
        String seen = r.body().replaceAll("(?s).*you are ([0-9a-f.:]+):[0-9]+.*", "$1");
        return seen.contains(":") ? io.nsgate.linux.net.Ipv6Address.parse(seen).toString() : seen;
    }

    private interface Probe {
        String run() throws Exception;
    }

    private static boolean check(String what, Probe probe) {
        String result;
        try {
            result = probe.run();
        } catch (Exception e) {
            result = "failed: " + e;
        }
        boolean ok = !result.startsWith("failed") && !result.startsWith("unexpected");
        System.out.println("nsgate lab: " + (ok ? "ok   " : "FAIL ") + what + ": " + result);
        return ok;
    }

    private void printNextSteps(Path socket) {
        String p = prefix;
        System.out.println("nsgate lab: try next (in another terminal):");
        System.out.println("  ip netns exec " + p + "lan curl -s http://" + GATEWAY_LAN + "/             # port forward to blue");
        System.out.println("  ip netns exec " + p + "red curl -s http://" + GATEWAY_LAN + "/             # hairpin: red reaches blue");
        System.out.println("  ip netns exec " + p + "edge curl -s http://127.0.0.1/               # the gateway host itself");
        System.out.println("  ip netns exec " + p + "blue curl -s http://" + LAN + ":" + LAN_SERVICE_PORT
            + "/       # masquerade: lan sees the gateway");
        System.out.println("  ip netns exec " + p + "red ping -c 3 " + LAN + "                     # ping through the NAT");
        System.out.println("  ip netns exec " + p + "lan curl -s --max-time 2 http://192.168.15.2/  # default deny: nothing");
        System.out.println("  ip netns exec " + p + "lan curl -s http://[" + GATEWAY_LAN6 + "]/               # the same over IPv6");
        System.out.println("  ip netns exec " + p + "red ping -c 3 " + LAN6 + "                         # ping through NAT66");
        if (socket != null) {
            String[][] ctl = {
                {"export NSGATE_SOCKET=" + socket, "nsgate ctl finds the lab's control socket"},
                {"nsgate ctl status", "the running gateway"},
                {"nsgate ctl flows -p tcp --dport 80", "its connections, like conntrack -L"},
                {"nsgate ctl forward add tcp:8080=" + BLUE + ":80", "a new port forward, live"},
                {"nsgate ctl stats", "counters and drops, per worker"},
            };
            for (String[] line : ctl) {
                System.out.println(String.format("  %-" + (65 + p.length() - "nsgate-".length()) + "s# %s", line[0],
                    line[1]).stripTrailing());
            }
        }
    }

    private boolean tornDown;
    /** The IPv6 web services of blue and lan. */
    private final List<EchoHttpService> services6 = new java.util.ArrayList<>();
    /** The control socket, once the lab proved itself (not with --check). */
    private DaemonServices services;

    private synchronized void tearDown(Gateway gateway, EchoHttpService blueService, EchoHttpService lanService,
                                       NetNs blue, NetNs lan, Topology lab) {
        if (tornDown) {
            return;
        }
        tornDown = true;
        if (services != null) {
            services.close();
        }
        if (gateway != null) {
            gateway.close();
        }
        if (blueService != null) {
            blueService.close();
        }
        if (lanService != null) {
            lanService.close();
        }
        services6.forEach(EchoHttpService::close);
        if (blue != null) {
            blue.close();
        }
        if (lan != null) {
            lan.close();
        }
        try {
            TopologyApplier.destroy(lab, prefix);
        } catch (RuntimeException e) {
            System.err.println("nsgate lab: removing the lab: " + e.getMessage());
        }
    }
}
