// A topology file that cannot be used as it is: every problem found, each naming the field and the value.
package io.nsgate.control.topology;

import java.util.List;

/**
 * Bad input, found before anything changed (exit code 2). Each problem reads
 * {@code field "value": what is wrong, and what would be valid}, e.g.
 * {@code veths[1].b.name "veth-blue-bridge-0": longer than 15 characters}.
 */
public final class TopologyException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    private final List<String> problems;

    public TopologyException(List<String> problems) {
        super(problems.size() == 1 ? problems.get(0)
            : problems.size() + " problems:\n  " + String.join("\n  ", problems));
        this.problems = List.copyOf(problems);
    }

    public List<String> problems() {
        return problems;
    }
}
