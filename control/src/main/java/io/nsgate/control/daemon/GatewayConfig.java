// What `nsgate run` runs: interfaces, NAT rules, workers and table sizes, from flags or a YAML file, validated whole.
package io.nsgate.control.daemon;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.TimeUnit;

import com.fasterxml.jackson.annotation.JsonPropertyOrder;

import io.nsgate.control.yaml.StrictYaml;
import io.nsgate.dataplane.conntrack.FlowTable;
import io.nsgate.dataplane.conntrack.FlowTimeouts;
import io.nsgate.dataplane.conntrack.TcpState;
import io.nsgate.dataplane.conntrack.TcpTracking;
import io.nsgate.dataplane.nat.ForwardRule;
import io.nsgate.dataplane.nat.PortRange;
import io.nsgate.dataplane.nat.ReversePathFilter;
import io.nsgate.linux.net.IpPrefix;
import io.nsgate.linux.sys.Errno;

/**
 * The gateway's configuration. The file form, with every field:
 *
 * <pre>
 * netns: edge                       # optional: run inside this named network namespace (else the current one)
 * lan: lan0                         # the LAN-side interface, carrying the host's address
 * inside: [v-net-0]                 # interfaces towards the namespaces (bridges, veths)
 * masquerade: [192.168.15.0/24, "fd15::/64"]  # sources translated to the LAN interface's address (IPv4, or its
 *                                   # first IPv6 address: NAT66) when leaving through it
 * forwards:                         # PROTO:[ADDRESS:]PORT[-PORT]=IP:PORT[-PORT][,IP:PORT...]; IPv6 in brackets
 *   - tcp:80=192.168.15.2:80
 *   - tcp:80=[fd15::2]:80           # IPv6 clients, on every LAN IPv6 address ([fd01::2]:80 for one)
 *   - tcp:22=192.168.15.2:22,from=10.0.0.0/8+192.168.1.0/24   # these sources only
 * workers: 2                        # default: the number of CPUs
 * natPorts: 61000-65535             # default; reserved from the kernel's ephemeral ports while running
 * flowTableSize: 1048576            # IPv4 connections tracked at once (160 bytes each); IPv6 a quarter as many
 *                                   # (192 bytes each)
 * timeouts:                         # seconds; defaults are netfilter's
 *   udp: 30
 *   udpReplied: 120
 *   icmp: 30
 *   tcpEstablished: 432000
 *   tcpTimeWait: 120
 * reversePathFilter: strict         # strict (default), loose or off: Linux's rp_filter 1, 2 and 0
 * tcp:
 *   liberal: false                  # pass segments outside the window (nf_conntrack_tcp_be_liberal)
 *   loose: true                     # pick connections up mid-stream (nf_conntrack_tcp_loose)
 * stateFile: /run/nsgate/flows      # optional: keep connections across restarts: the flow tables live in this file
 *                                   # (put it on tmpfs) and the guards stay pinned between two runs
 * pinDirectory: /sys/fs/bpf/nsgate  # with stateFile: where the guards' links are pinned (a bpf file system)
 * </pre>
 *
 * A configuration is checked whole: every problem is reported, each naming the field and the value, and nothing
 * runs until all are fixed.
 */
public record GatewayConfig(String netns, String lan, List<String> inside, List<IpPrefix> masquerade,
                            List<ForwardRule> forwards, int workers, PortRange natPorts, int flowTableSize,
                            FlowTimeouts timeouts, ReversePathFilter reversePathFilter, TcpTracking tcp,
                            Path stateFile, Path pinDirectory) {
    public static final int DEFAULT_FLOW_TABLE_SIZE = 1 << 20;
    public static final Path DEFAULT_PIN_DIRECTORY = Path.of("/sys/fs/bpf/nsgate");
    public static final int MAX_WORKERS = 64;

    public GatewayConfig {
        inside = List.copyOf(inside);
        masquerade = List.copyOf(masquerade);
        forwards = List.copyOf(forwards);
        Objects.requireNonNull(reversePathFilter, "reversePathFilter");
        Objects.requireNonNull(tcp, "tcp");
        if (stateFile != null && pinDirectory == null) {
            pinDirectory = DEFAULT_PIN_DIRECTORY;
        }
    }

    /** True when connections are kept across restarts ({@code stateFile} set). */
    public boolean keepsState() {
        return stateFile != null;
    }

    /** A configuration with the router's defaults: strict reverse-path filter, netfilter's TCP tracking. */
    public GatewayConfig(String netns, String lan, List<String> inside, List<IpPrefix> masquerade,
                         List<ForwardRule> forwards, int workers, PortRange natPorts, int flowTableSize,
                         FlowTimeouts timeouts) {
        this(netns, lan, inside, masquerade, forwards, workers, natPorts, flowTableSize, timeouts,
            ReversePathFilter.STRICT, TcpTracking.DEFAULTS, null, null);
    }

    /** The file form: plain fields Jackson fills, strings parsed and checked by {@link #toConfig}. */
    @JsonPropertyOrder({"netns", "lan", "inside", "masquerade", "forwards", "workers", "natPorts", "flowTableSize",
        "timeouts", "reversePathFilter", "tcp", "stateFile", "pinDirectory"})
    public static final class File {
        public String netns;
        public String lan;
        public List<String> inside = new ArrayList<>();
        public List<String> masquerade = new ArrayList<>();
        public List<String> forwards = new ArrayList<>();
        public Integer workers;
        public String natPorts;
        public Integer flowTableSize;
        public Timeouts timeouts;
        public String reversePathFilter;
        public Tcp tcp;
        public String stateFile;
        public String pinDirectory;

        /** TCP tracking switches, netfilter's. */
        @JsonPropertyOrder({"liberal", "loose"})
        public static final class Tcp {
            public Boolean liberal;
            public Boolean loose;
        }

        /** Idle timeouts in seconds. */
        @JsonPropertyOrder({"udp", "udpReplied", "icmp", "tcpEstablished", "tcpTimeWait"})
        public static final class Timeouts {
            public Integer udp;
            public Integer udpReplied;
            public Integer icmp;
            public Integer tcpEstablished;
            public Integer tcpTimeWait;
        }

        /**
         * Checks every field and builds the configuration.
         *
         * @throws GatewayConfigException listing every problem, each naming the field and the value
         */
        public GatewayConfig toConfig(String source) {
            List<String> errors = new ArrayList<>();
            String lanName = lan;
            if (lanName == null || lanName.isBlank()) {
                errors.add("lan: missing (the LAN-side interface, e.g. lan0)");
            } else {
                checkInterfaceName("lan", lanName, errors);
            }
            Set<String> names = new HashSet<>();
            if (lanName != null) {
                names.add(lanName);
            }
            if (inside.isEmpty()) {
                errors.add("inside: missing (at least one interface towards the namespaces, e.g. v-net-0)");
            }
            for (int i = 0; i < inside.size(); i++) {
                String name = inside.get(i);
                String field = "inside[" + i + "]";
                if (checkInterfaceName(field, name, errors) && !names.add(name)) {
                    errors.add(field + " \"" + name + "\": listed twice (or also the lan interface)");
                }
            }
            List<IpPrefix> prefixes = new ArrayList<>();
            for (int i = 0; i < masquerade.size(); i++) {
                try {
                    prefixes.add(IpPrefix.parse(masquerade.get(i)));
                } catch (IllegalArgumentException e) {
                    errors.add("masquerade[" + i + "] \"" + masquerade.get(i) + "\": " + e.getMessage());
                }
            }
            List<ForwardRule> rules = new ArrayList<>();
            List<Integer> ruleIndex = new ArrayList<>();
            for (int i = 0; i < forwards.size(); i++) {
                try {
                    rules.add(ForwardRule.parse(forwards.get(i)));
                    ruleIndex.add(i);
                } catch (IllegalArgumentException e) {
                    errors.add("forwards[" + i + "] " + e.getMessage());
                }
            }
            int workerCount = workers == null ? Runtime.getRuntime().availableProcessors() : workers;
            if (workerCount < 1 || workerCount > MAX_WORKERS) {
                errors.add("workers " + workerCount + ": must be 1.." + MAX_WORKERS);
            }
            PortRange ports = PortRange.DEFAULT_NAT;
            if (natPorts != null) {
                try {
                    ports = PortRange.parse(natPorts);
                    if (ports.first() < 1024) {
                        errors.add("natPorts \"" + natPorts + "\": must not include ports below 1024");
                    }
                } catch (IllegalArgumentException e) {
                    errors.add("natPorts \"" + natPorts + "\": " + e.getMessage());
                }
            }
            // what the rules can be checked for without the interfaces (the running gateway checks the rest)
            for (int i = 0; i < rules.size(); i++) {
                ForwardRule f = rules.get(i);
                if (f.externalPorts().overlaps(ports)) {
                    errors.add("forwards[" + ruleIndex.get(i) + "] " + f + ": external ports overlap natPorts " + ports);
                }
                for (int j = 0; j < i; j++) {
                    if (rules.get(j).external().overlaps(f.external())) {
                        errors.add("forwards[" + ruleIndex.get(i) + "] " + f + ": overlaps forwards[" + ruleIndex.get(j)
                            + "] " + rules.get(j));
                    }
                }
            }
            int tableSize = flowTableSize == null ? DEFAULT_FLOW_TABLE_SIZE : flowTableSize;
            if (tableSize < 1024 || tableSize > FlowTable.MAX_CAPACITY) {
                errors.add("flowTableSize " + tableSize + ": must be 1024.." + FlowTable.MAX_CAPACITY);
            }
            FlowTimeouts flowTimeouts = timeouts(errors);
            if (netns != null && (netns.isBlank() || netns.contains("/"))) {
                errors.add("netns \"" + netns + "\": not a namespace name");
            }
            ReversePathFilter filter = ReversePathFilter.STRICT;
            if (reversePathFilter != null) {
                try {
                    filter = ReversePathFilter.of(reversePathFilter);
                } catch (IllegalArgumentException e) {
                    errors.add("reversePathFilter " + e.getMessage());
                }
            }
            TcpTracking tracking = TcpTracking.DEFAULTS;
            if (tcp != null) {
                tracking = new TcpTracking(tcp.liberal != null ? tcp.liberal : tracking.liberal(),
                    tcp.loose != null ? tcp.loose : tracking.loose());
            }
            Path state = absolutePath("stateFile", stateFile, errors);
            Path pins = absolutePath("pinDirectory", pinDirectory, errors);
            if (pins != null && state == null) {
                errors.add("pinDirectory \"" + pinDirectory + "\": only used with stateFile (pins keep the guards "
                    + "between two runs that share a state file)");
            }
            if (!errors.isEmpty()) {
                throw new GatewayConfigException(source, errors);
            }
            return new GatewayConfig(netns, lanName, inside, prefixes, rules, workerCount, ports, tableSize,
                flowTimeouts, filter, tracking, state, pins);
        }

        private static Path absolutePath(String field, String value, List<String> errors) {
            if (value == null) {
                return null;
            }
            if (!value.startsWith("/") || value.contains("\0") || value.length() > 200) {
                errors.add(field + " \"" + value + "\": must be an absolute path (of at most 200 characters)");
                return null;
            }
            return Path.of(value).normalize();
        }

        private FlowTimeouts timeouts(List<String> errors) {
            FlowTimeouts.Builder b = FlowTimeouts.DEFAULTS.toBuilder();
            if (timeouts == null) {
                return b.build();
            }
            if (positive("timeouts.udp", timeouts.udp, errors)) {
                b.udpUnreplied(timeouts.udp, TimeUnit.SECONDS);
            }
            if (positive("timeouts.udpReplied", timeouts.udpReplied, errors)) {
                b.udpReplied(timeouts.udpReplied, TimeUnit.SECONDS);
            }
            if (positive("timeouts.icmp", timeouts.icmp, errors)) {
                b.icmp(timeouts.icmp, TimeUnit.SECONDS);
            }
            if (positive("timeouts.tcpEstablished", timeouts.tcpEstablished, errors)) {
                b.tcp(TcpState.ESTABLISHED, timeouts.tcpEstablished, TimeUnit.SECONDS);
            }
            if (positive("timeouts.tcpTimeWait", timeouts.tcpTimeWait, errors)) {
                b.tcp(TcpState.TIME_WAIT, timeouts.tcpTimeWait, TimeUnit.SECONDS);
            }
            return b.build();
        }

        private static boolean positive(String field, Integer seconds, List<String> errors) {
            if (seconds == null) {
                return false;
            }
            if (seconds <= 0) {
                errors.add(field + " " + seconds + ": must be a positive number of seconds");
                return false;
            }
            return true;
        }

        private static boolean checkInterfaceName(String field, String name, List<String> errors) {
            if (name == null || name.isEmpty()) {
                errors.add(field + ": empty interface name");
                return false;
            }
            if (name.length() > 15) {
                errors.add(field + " \"" + name + "\": longer than 15 characters (IFNAMSIZ)");
                return false;
            }
            if (name.contains("/") || name.chars().anyMatch(Character::isWhitespace)) {
                errors.add(field + " \"" + name + "\": not an interface name");
                return false;
            }
            return true;
        }
    }

    /** Reads and checks a configuration file. */
    public static GatewayConfig load(Path path) {
        String text;
        try {
            text = Files.readString(path);
        } catch (IOException e) {
            throw new GatewayConfigException(path.toString(), List.of("cannot read: " + Errno.why(e)));
        }
        return parse(text, path.toString());
    }

    /** Parses and checks a configuration text. */
    public static GatewayConfig parse(String yaml, String source) {
        File file;
        try {
            file = StrictYaml.read(yaml, File.class, source);
        } catch (StrictYaml.Rejected e) {
            throw new GatewayConfigException(null, List.of(e.getMessage()));
        }
        return file.toConfig(source);
    }

    /** The file form of this configuration (what `config save` writes). */
    public File toFile() {
        File f = new File();
        f.netns = netns;
        f.lan = lan;
        f.inside = new ArrayList<>(inside);
        masquerade.forEach(p -> f.masquerade.add(p.toString()));
        forwards.forEach(r -> f.forwards.add(r.toString()));
        f.workers = workers;
        f.natPorts = natPorts.toString();
        f.flowTableSize = flowTableSize;
        f.timeouts = new File.Timeouts();
        f.timeouts.udp = (int) TimeUnit.NANOSECONDS.toSeconds(timeouts.udpUnrepliedNs());
        f.timeouts.udpReplied = (int) TimeUnit.NANOSECONDS.toSeconds(timeouts.udpRepliedNs());
        f.timeouts.icmp = (int) TimeUnit.NANOSECONDS.toSeconds(timeouts.icmpNs());
        f.timeouts.tcpEstablished = (int) TimeUnit.NANOSECONDS.toSeconds(timeouts.tcpNs(TcpState.ESTABLISHED));
        f.timeouts.tcpTimeWait = (int) TimeUnit.NANOSECONDS.toSeconds(timeouts.tcpNs(TcpState.TIME_WAIT));
        f.reversePathFilter = reversePathFilter.id();
        f.tcp = new File.Tcp();
        f.tcp.liberal = tcp.liberal();
        f.tcp.loose = tcp.loose();
        f.stateFile = stateFile == null ? null : stateFile.toString();
        f.pinDirectory = stateFile == null ? null : pinDirectory.toString();
        return f;
    }

    /** YAML text of {@link #toFile()}. */
    public String toYaml() {
        return StrictYaml.write(toFile());
    }

    public GatewayConfig withForwards(List<ForwardRule> newForwards) {
        return new GatewayConfig(netns, lan, inside, masquerade, newForwards, workers, natPorts, flowTableSize,
            timeouts, reversePathFilter, tcp, stateFile, pinDirectory);
    }

    public GatewayConfig withMasquerade(List<IpPrefix> newMasquerade) {
        return new GatewayConfig(netns, lan, inside, newMasquerade, forwards, workers, natPorts, flowTableSize,
            timeouts, reversePathFilter, tcp, stateFile, pinDirectory);
    }
}
