// A gateway that could not start or change: what failed, where, and what to check.
package io.nsgate.control.daemon;

/** Not bad input (that is {@link GatewayConfigException}) but the machine: a missing interface, a kernel feature. */
public final class GatewayException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    public GatewayException(String message) {
        super(message);
    }

    public GatewayException(String message, Throwable cause) {
        super(message, cause);
    }
}
