// A named network namespace could not be created, opened, entered or deleted, and why.
package io.nsgate.control.netns;

/** Wraps the failing syscall (as cause) with the namespace and what to check. */
public final class NetNsException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    public NetNsException(String message, Throwable cause) {
        super(message, cause);
    }

    public NetNsException(String message) {
        super(message);
    }
}
