// The exit codes of every nsgate command, defined once: what scripts and systemd can rely on.
package io.nsgate.control.cli;

import io.nsgate.control.api.ErrorCode;

/**
 * <ul>
 *   <li>{@link #OK} 0: done (for {@code run} and {@code lab}: stopped cleanly by SIGTERM or Ctrl-C);</li>
 *   <li>{@link #FAILED} 1: the operation failed, or the gateway could not start (the message says what to check;
 *       nothing was half-applied);</li>
 *   <li>{@link #BAD_INPUT} 2: bad usage or input refused (a malformed configuration or spec, a forward that exists
 *       or overlaps, one that does not exist); picocli's own usage errors are 2 as well;</li>
 *   <li>{@link #UNREACHABLE} 3: {@code nsgate ctl} cannot reach the daemon (the message names the socket and why);</li>
 *   <li>{@link #FORBIDDEN} 4: not root and not in the daemon's control group;</li>
 *   <li>{@link #BROKEN_PIPE} 141: the output's reader went away mid-listing ({@code nsgate ctl flows | head}). ip and
 *       conntrack do not catch SIGPIPE, so a closed pipe kills them and the shell reports 128 + 13
 *       ({@code set -o pipefail} sees it). The JVM ignores SIGPIPE, so nsgate stops at the failed write and exits with
 *       that status itself, silently, as they do.</li>
 * </ul>
 */
public final class ExitCode {
    public static final int OK = 0;
    public static final int FAILED = 1;
    public static final int BAD_INPUT = 2;
    public static final int UNREACHABLE = 3;
    public static final int FORBIDDEN = 4;
    /** 128 + SIGPIPE: the status of ip or conntrack writing to a closed pipe. */
    public static final int BROKEN_PIPE = 141;

    private ExitCode() {
    }

    /** The exit code for an error reply of the control socket. */
    static int of(ErrorCode code) {
        if (code == null) {
            return FAILED;
        }
        return switch (code) {
            case BAD_JSON, BAD_REQUEST, UNKNOWN_OP, TOO_LARGE, UNSUPPORTED_VERSION, CONFLICT, NOT_FOUND -> BAD_INPUT;
            case FORBIDDEN -> FORBIDDEN;
            default -> FAILED;
        };
    }
}
