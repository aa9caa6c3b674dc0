// An apply that could not be carried out: refused before any change (conflicts) or failed midway and rolled back.
package io.nsgate.control.topology;

import java.util.ArrayList;
import java.util.List;

/**
 * Exit code 1. Either {@link #conflicts()} is non-empty (something same-named but not nsgate's is in the way;
 * nothing was changed), or {@link #failedAt()} names the step the kernel refused, {@link #getCause()} says why,
 * {@link #rolledBack()} lists what was undone and {@link #rollbackFailures()} anything that could not be.
 */
public final class TopologyApplyException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    private final transient Change failedAt;
    private final transient List<Change> done;
    private final transient List<Change> rolledBack;
    private final List<String> rollbackFailures;
    private final transient List<Change> conflicts;

    TopologyApplyException(List<Change> conflicts) {
        super("nothing changed: " + conflicts.size() + " conflict" + (conflicts.size() == 1 ? "" : "s")
            + " with things nsgate did not create:\n" + String.join("\n",
            conflicts.stream().map(Change::toString).toList()));
        this.failedAt = null;
        this.done = List.of();
        this.rolledBack = List.of();
        this.rollbackFailures = List.of();
        this.conflicts = List.copyOf(conflicts);
    }

    TopologyApplyException(Change failedAt, Throwable cause, List<Change> done, List<Change> rolledBack,
                           List<String> rollbackFailures) {
        super("apply failed at \"" + failedAt + "\": " + cause.getMessage() + "\n"
            + (done.isEmpty() ? "nothing had been changed yet"
            : "rolled back " + rolledBack.size() + " of " + done.size() + " change" + (done.size() == 1 ? "" : "s")
            + (rollbackFailures.isEmpty() ? "" : "; could not undo:\n  " + String.join("\n  ", rollbackFailures))),
            cause);
        this.failedAt = failedAt;
        this.done = List.copyOf(done);
        this.rolledBack = List.copyOf(rolledBack);
        this.rollbackFailures = List.copyOf(rollbackFailures);
        this.conflicts = List.of();
    }

    /** The step that failed, or null when the apply was refused for conflicts. */
    public Change failedAt() {
        return failedAt;
    }

    /** The steps that had succeeded before the failure. */
    public List<Change> done() {
        return done;
    }

    /** The steps that were undone (in undo order). */
    public List<Change> rolledBack() {
        return rolledBack;
    }

    public List<String> rollbackFailures() {
        return rollbackFailures;
    }

    /**
     * What became of each step done before the failure, one line each ("undone: ...", "kept:   ...", then
     * "could not undo: ..."), for the CLI and the control socket alike; empty for a refusal.
     */
    public List<String> rollbackReport() {
        List<String> lines = new ArrayList<>();
        for (Change c : done) {
            lines.add((rolledBack.contains(c) ? "undone: " : "kept:   ") + c);
        }
        rollbackFailures.forEach(f -> lines.add("could not undo: " + f));
        return lines;
    }

    /** Same-named things that are not nsgate's and stood in the way (nothing was changed). */
    public List<Change> conflicts() {
        return conflicts;
    }
}
