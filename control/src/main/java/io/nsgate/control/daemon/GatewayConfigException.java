// A gateway configuration refused before anything started: every problem, each naming its field and value.
package io.nsgate.control.daemon;

import java.util.List;

/** Bad input (exit code 2): nothing was started or changed. */
public final class GatewayConfigException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    private final List<String> problems;

    public GatewayConfigException(String source, List<String> problems) {
        super((source == null ? "configuration" : source) + " rejected, nothing started:\n  "
            + String.join("\n  ", problems));
        this.problems = List.copyOf(problems);
    }

    public List<String> problems() {
        return problems;
    }
}
