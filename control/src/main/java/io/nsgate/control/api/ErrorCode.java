// Why the control socket refused or failed a request: the stable codes of the protocol's error replies.
package io.nsgate.control.api;

import java.util.Locale;

/**
 * The {@code error.code} of a reply, written in lower case on the wire ({@code bad_json}). Codes never change
 * meaning; a client decides what to do from the code and shows the message to a person.
 */
public enum ErrorCode {
    /** The line is not JSON (or has duplicate keys, trailing garbage). */
    BAD_JSON,
    /** JSON, but not a valid request: a missing or invalid field, an unknown field, a bad value in args. */
    BAD_REQUEST,
    /** No such operation. */
    UNKNOWN_OP,
    /** The request line is longer than {@link Protocol#MAX_REQUEST_BYTES}. */
    TOO_LARGE,
    /** {@code v} is not a protocol version this daemon speaks. */
    UNSUPPORTED_VERSION,
    /** The peer is neither root nor in the control group. */
    FORBIDDEN,
    /** The change contradicts the running configuration (a forward that exists or overlaps another). */
    CONFLICT,
    /** The thing to delete does not exist. */
    NOT_FOUND,
    /** A valid request that could not be carried out (the message says why; nothing was half-applied). */
    FAILED,
    /** A partial request line and then nothing for too long: the daemon closes the connection. */
    TIMEOUT,
    /** Too many control connections at once. */
    BUSY,
    /** A bug in the daemon; the connection and the daemon keep working. */
    INTERNAL;

    /** The name on the wire. */
    public String wire() {
        return name().toLowerCase(Locale.ROOT);
    }

    /** The code with this wire name, or null. */
    public static ErrorCode ofWire(String wire) {
        for (ErrorCode c : values()) {
            if (c.wire().equals(wire)) {
                return c;
            }
        }
        return null;
    }
}
