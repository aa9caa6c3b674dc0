// The IP address families nsgate speaks, with what the kernel and the address types need to know of each.
package io.nsgate.linux.net;

import io.nsgate.linux.sys.Linux;

/**
 * An address family: its {@code AF_*} number (netlink messages, sockaddrs), its address size and its longest
 * prefix. {@link Ipv4Address} and {@link Ipv4Prefix} are IPv4's types; IPv6's stand beside them with the same
 * shape (parse and format once, a prefix record with {@code contains}) and name {@link #IPV6}.
 */
public enum IpFamily {
    IPV4(Linux.AF_INET, 4, "IPv4"),
    IPV6(Linux.AF_INET6, 16, "IPv6");

    private final int af;
    private final int addressBytes;
    private final String label;

    IpFamily(int af, int addressBytes, String label) {
        this.af = af;
        this.addressBytes = addressBytes;
        this.label = label;
    }

    /** AF_INET or AF_INET6: the family of rtnetlink address, route and neighbour messages, and of sockaddrs. */
    public int af() {
        return af;
    }

    /** 32 or 128. */
    public int maxPrefixLength() {
        return addressBytes * 8;
    }

    /**
     * The prefix length after a prefix's '/', 0 .. {@link #maxPrefixLength()}.
     *
     * @throws IllegalArgumentException {@code prefix length "x" is not a number}, {@code prefix length 33 is not in 0..32}
     */
    public int parsePrefixLength(String lengthText) {
        if (!lengthText.matches("[0-9]{1,3}")) {
            throw new IllegalArgumentException("prefix length \"" + lengthText + "\" is not a number");
        }
        if (Integer.parseInt(lengthText) > maxPrefixLength()) {
            throw new IllegalArgumentException(prefixLengthProblem(lengthText));
        }
        return Integer.parseInt(lengthText);
    }

    /** The message for a prefix length out of range. */
    String prefixLengthProblem(String lengthText) {
        return "prefix length " + lengthText + " is not in 0.." + maxPrefixLength();
    }

    /** "IPv4" or "IPv6", as people write it. */
    @Override
    public String toString() {
        return label;
    }
}
