// Strict YAML reading of topology files, through StrictYaml, turning refusals into topology errors.
package io.nsgate.control.topology;

import java.util.List;

import io.nsgate.control.yaml.StrictYaml;

/** Package-private: {@link Topology#parse} is the entry point. */
final class TopologyParser {
    private TopologyParser() {
    }

    static Topology parse(String yaml, String source) {
        try {
            return StrictYaml.read(yaml, Topology.class, source, "ownerMark");
        } catch (StrictYaml.Rejected e) {
            throw new TopologyException(List.of(e.getMessage().replace(": empty file", ": empty topology file")));
        }
    }

    static String toYaml(Topology t) {
        return StrictYaml.write(t);
    }
}
