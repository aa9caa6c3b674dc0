// A request refused or failed, carrying the error code and the message the reply names it with.
package io.nsgate.control.api;

import java.util.List;

/** Thrown by operations; the connection turns it into one error reply and goes on. */
public final class ControlException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    private final ErrorCode code;
    private final List<String> details;

    public ControlException(ErrorCode code, String message) {
        this(code, message, List.of());
    }

    public ControlException(ErrorCode code, String message, List<String> details) {
        super(message);
        this.code = code;
        this.details = List.copyOf(details);
    }

    public ErrorCode code() {
        return code;
    }

    /** Further lines (every problem of a rejected topology, the steps a failed apply undid), possibly empty. */
    public List<String> details() {
        return details;
    }

    public static ControlException badRequest(String message) {
        return new ControlException(ErrorCode.BAD_REQUEST, message);
    }
}
