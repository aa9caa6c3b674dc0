// A command a test or benchmark ran that failed, did not finish or could not start: the message says which and why.
package io.nsgate.testkit;

import java.time.Duration;
import java.util.List;

/**
 * Thrown by {@link Commands}, {@link Processes} and {@link NsgateProcess}. The message names the command (for a
 * command inside a namespace the whole {@code ip netns exec NS ...} line, so it can be copied and tried by hand) and
 * ends with the last lines of what it printed.
 */
public final class CommandException extends RuntimeException {
    private static final long serialVersionUID = 1L;
    private static final int TAIL_LINES = 20;

    /** {@code what} happened to {@code command}; {@code output} is what it printed (its tail is shown). */
    public CommandException(List<String> command, String what, String output) {
        this(String.join(" ", command), what, output);
    }

    /** {@code what} happened to {@code subject} (a process described in words); {@code output} as above. */
    public CommandException(String subject, String what, String output) {
        super(subject + ": " + what + tail(output));
    }

    /** {@code command} could not be started at all. */
    public CommandException(List<String> command, Exception cause) {
        super("cannot start " + String.join(" ", command) + ": " + cause.getMessage(), cause);
    }

    /** A timeout for error messages: "5 s", or "300 ms" when it is not whole seconds. */
    public static String seconds(Duration timeout) {
        return timeout.toMillis() % 1000 == 0 ? timeout.toSeconds() + " s" : timeout.toMillis() + " ms";
    }

    /** The last lines of a command's output, indented, for error messages; " (no output)" when it printed nothing. */
    public static String tail(String output) {
        String s = output == null ? "" : output.strip();
        if (s.isEmpty()) {
            return " (no output)";
        }
        String[] lines = s.split("\n");
        StringBuilder b = new StringBuilder(":");
        for (int i = Math.max(0, lines.length - TAIL_LINES); i < lines.length; i++) {
            b.append("\n    ").append(lines[i]);
        }
        return b.toString();
    }
}
