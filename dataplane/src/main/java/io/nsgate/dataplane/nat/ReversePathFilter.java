// Source validation by reverse path, as Linux's rp_filter: strict, loose or off.
package io.nsgate.dataplane.nat;

import java.util.Locale;

/**
 * How a frame's source is checked against the routes (RFC 3704, Linux's {@code net.ipv4.conf.*.rp_filter}):
 * <ul>
 *   <li>{@link #STRICT} (rp_filter=1, the default): the route back to the source leaves through the interface the
 *       frame came in on. A LAN frame claiming an inside address is refused. For a tracked flow, the frame must
 *       arrive where the other direction leaves.</li>
 *   <li>{@link #LOOSE} (rp_filter=2): some route leads back to the source (asymmetric routing).</li>
 *   <li>{@link #OFF} (rp_filter=0): no check.</li>
 * </ul>
 */
public enum ReversePathFilter {
    OFF, LOOSE, STRICT;

    /** The name in configuration files and on the command line. */
    public String id() {
        return name().toLowerCase(Locale.ROOT);
    }

    /** The filter named {@code id} (strict, loose, off). */
    public static ReversePathFilter of(String id) {
        for (ReversePathFilter f : values()) {
            if (f.id().equals(id)) {
                return f;
            }
        }
        throw new IllegalArgumentException("\"" + id + "\": not a reverse-path filter (strict, loose or off)");
    }
}
