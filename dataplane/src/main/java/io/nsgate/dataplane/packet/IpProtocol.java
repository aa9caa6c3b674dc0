// IP protocol numbers nsgate translates, and their names as people and the control socket write them.
package io.nsgate.dataplane.packet;

import java.util.Locale;

/** The IPv4 header's protocol field values the data plane tracks (IANA numbers). */
public final class IpProtocol {
    public static final int ICMP = 1;
    public static final int ICMPV6 = 58;
    public static final int TCP = 6;
    public static final int UDP = 17;

    private IpProtocol() {
    }

    /** "tcp", "udp", "icmp", or "protoN" for any other number. */
    public static String name(int proto) {
        switch (proto) {
            case TCP:
                return "tcp";
            case UDP:
                return "udp";
            case ICMP:
                return "icmp";
            case ICMPV6:
                return "icmpv6";
            default:
                return "proto" + proto;
        }
    }

    /** The number of "tcp", "udp", "icmp" or "icmpv6" (any case), or -1 for anything else. */
    public static int byName(String name) {
        switch (name.toLowerCase(Locale.ROOT)) {
            case "tcp":
                return TCP;
            case "udp":
                return UDP;
            case "icmp":
                return ICMP;
            case "icmpv6":
                return ICMPV6;
            default:
                return -1;
        }
    }
}
