// An IPv6 address with a prefix length, as in fd15::1/64: interface addresses, subnets, route destinations.
package io.nsgate.linux.net;

/**
 * {@code address/length}, IPv6's {@link Ipv4Prefix}: {@link #address()} keeps the host bits (an interface's address,
 * fd15::1/64); {@link #network()} clears them.
 */
public record Ipv6Prefix(Ipv6Address address, int length) implements IpPrefix {
    /** The default route, ::/0. */
    public static final Ipv6Prefix ANY = new Ipv6Prefix(Ipv6Address.UNSPECIFIED, 0);

    public Ipv6Prefix {
        java.util.Objects.requireNonNull(address, "address");
        if (length < 0 || length > IpFamily.IPV6.maxPrefixLength()) {
            throw new IllegalArgumentException(IpFamily.IPV6.prefixLengthProblem(Integer.toString(length)));
        }
    }

    /**
     * Parses {@code ADDRESS/n}, or a bare address meaning /128.
     *
     * @throws IllegalArgumentException saying what is wrong ({@code prefix length 129 is not in 0..128})
     */
    public static Ipv6Prefix parse(String text) {
        if (text == null) {
            throw new IllegalArgumentException("missing (expected an IPv6 prefix like fd15::/64)");
        }
        int slash = text.indexOf('/');
        Ipv6Address address = Ipv6Address.parse(slash < 0 ? text : text.substring(0, slash));
        if (slash < 0) {
            return new Ipv6Prefix(address, IpFamily.IPV6.maxPrefixLength());
        }
        return new Ipv6Prefix(address, IpFamily.IPV6.parsePrefixLength(text.substring(slash + 1)));
    }

    private long highMask() {
        return length == 0 ? 0 : length >= 64 ? -1L : -1L << (64 - length);
    }

    private long lowMask() {
        return length <= 64 ? 0 : -1L << (128 - length);
    }

    /** The network address: host bits cleared. */
    public Ipv6Address network() {
        return new Ipv6Address(address.high() & highMask(), address.low() & lowMask());
    }

    @Override
    public byte[] addressBytes() {
        return address.toBytes();
    }

    @Override
    public byte[] networkBytes() {
        return network().toBytes();
    }

    /** This prefix with the host bits cleared. */
    @Override
    public Ipv6Prefix networkPrefix() {
        return new Ipv6Prefix(network(), length);
    }

    /** Whether the host bits are zero (a proper route destination). */
    @Override
    public boolean isNetwork() {
        return address.equals(network());
    }

    /** Whether {@code ip} lies inside this prefix. */
    public boolean contains(Ipv6Address ip) {
        return contains(ip.high(), ip.low());
    }

    /** Whether the address of the two big-endian halves lies inside this prefix (allocation-free). */
    public boolean contains(long high, long low) {
        return ((high ^ address.high()) & highMask()) == 0 && ((low ^ address.low()) & lowMask()) == 0;
    }

    @Override
    public IpFamily family() {
        return IpFamily.IPV6;
    }

    @Override
    public String toString() {
        return address + "/" + length;
    }
}
