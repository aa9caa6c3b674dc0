// A declarative network topology: namespaces, bridges, veth pairs, addresses, routes and sysctls, as read from YAML.
package io.nsgate.control.topology;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import com.fasterxml.jackson.annotation.JsonProperty;
import com.fasterxml.jackson.annotation.JsonPropertyOrder;

import io.nsgate.linux.sys.Errno;

/**
 * The file format, one record per YAML mapping (see {@code control/TOPOLOGY.md} and the seed lab resource
 * {@code seed-lab.yaml} for an example). Namespace names are given without the {@code --prefix}; interface names
 * are as seen inside their namespace. Parse with {@link #parse}/{@link #load}, then check with
 * {@link TopologyValidator}; {@link TopologyApplier} validates again before changing anything.
 *
 * @param name       what this topology is called; links and namespaces nsgate creates carry the alias
 *                   {@code nsgate:NAME}, which is how destroy recognizes what is its own
 * @param namespaces network namespaces, each with optional sysctls
 * @param bridges    Linux bridges, each inside one namespace
 * @param veths      veth pairs; each end names its namespace and its interface name there
 * @param routes     IPv4 routes, each inside one namespace
 */
@JsonPropertyOrder({"name", "namespaces", "bridges", "veths", "routes"})
public record Topology(String name, List<Namespace> namespaces, List<Bridge> bridges, List<Veth> veths,
                       List<RouteEntry> routes) {

    public Topology {
        namespaces = namespaces == null ? List.of() : List.copyOf(namespaces);
        bridges = bridges == null ? List.of() : List.copyOf(bridges);
        veths = veths == null ? List.of() : List.copyOf(veths);
        routes = routes == null ? List.of() : List.copyOf(routes);
    }

    /** A network namespace and the sysctls to set inside it (only net.* ones are per namespace). */
    @JsonPropertyOrder({"name", "sysctls"})
    public record Namespace(String name, Map<String, String> sysctls) {
        public Namespace {
            sysctls = sysctls == null ? Map.of() : java.util.Collections.unmodifiableMap(new LinkedHashMap<>(sysctls));
        }
    }

    /** A bridge inside {@code namespace}, with optional IPv4 addresses (CIDR) and MTU. */
    @JsonPropertyOrder({"namespace", "name", "addresses", "mtu"})
    public record Bridge(String namespace, String name, List<String> addresses, Integer mtu) {
        public Bridge {
            addresses = addresses == null ? List.of() : List.copyOf(addresses);
        }
    }

    /** A veth pair; which end is {@code a} and which is {@code b} does not matter. */
    @JsonPropertyOrder({"a", "b"})
    public record Veth(End a, End b) {
    }

    /** One end of a veth pair: where it lives, its name there, its addresses, its bridge (master), its MTU. */
    @JsonPropertyOrder({"namespace", "name", "addresses", "master", "mtu"})
    public record End(String namespace, String name, List<String> addresses, String master, Integer mtu) {
        public End {
            addresses = addresses == null ? List.of() : List.copyOf(addresses);
        }
    }

    /**
     * A route inside {@code namespace}: {@code to} is "default" or a prefix (192.168.1.0/24); {@code via} a gateway on
     * one of the namespace's declared subnets; {@code dev} an optional interface of the namespace.
     */
    @JsonPropertyOrder({"namespace", "to", "via", "dev"})
    public record RouteEntry(String namespace, String to, String via, String dev) {
    }

    /** Name of the classpath resource holding the seed lab. */
    public static final String SEED_LAB_RESOURCE = "/io/nsgate/control/topology/seed-lab.yaml";

    /** The seed lab of design.md (edge, red, blue, lan), embedded in the jar; apply it with a prefix. */
    public static Topology seedLab() {
        return parse(seedLabYaml(), "seed-lab.yaml (embedded)");
    }

    /** The embedded seed lab's YAML text. */
    public static String seedLabYaml() {
        try (InputStream in = Topology.class.getResourceAsStream(SEED_LAB_RESOURCE)) {
            if (in == null) {
                throw new IllegalStateException("resource " + SEED_LAB_RESOURCE + " is missing from the jar");
            }
            return new String(in.readAllBytes(), StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new IllegalStateException("cannot read " + SEED_LAB_RESOURCE, e);
        }
    }

    /**
     * Reads a topology file.
     *
     * @throws TopologyException when the file cannot be read or does not parse (unknown field, wrong type ...)
     */
    public static Topology load(Path file) {
        String text;
        try {
            text = Files.readString(file, StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new TopologyException(List.of(file + ": cannot read: " + Errno.why(e)));
        }
        return parse(text, file.toString());
    }

    /**
     * Parses YAML (JSON, being YAML, works too). Strict: unknown fields, duplicate keys and wrong types are errors
     * naming the field path.
     *
     * @param source names the text in error messages (a file name)
     * @throws TopologyException on any parse error
     */
    public static Topology parse(String yaml, String source) {
        return TopologyParser.parse(yaml, source);
    }

    /** Serializes to YAML in the documented field order. */
    public String toYaml() {
        return TopologyParser.toYaml(this);
    }

    /** The alias nsgate puts on links and on each namespace's lo to mark them as created by this topology. */
    @JsonProperty(access = JsonProperty.Access.READ_ONLY)
    public String ownerMark() {
        return "nsgate:" + name;
    }
}
