// An IPv4 address with a prefix length, as in 192.168.15.1/24: interface addresses, subnets, route destinations.
package io.nsgate.linux.net;

/**
 * {@code address/length}. {@link #address()} keeps the host bits (an interface's address, 192.168.15.1/24);
 * {@link #network()} clears them (the subnet, or a route's destination). Addresses are big-endian ints as
 * {@link Ipv4Address} reads and writes them. {@link Ipv6Prefix} has the same shape over 128 bits; {@link IpPrefix} is either.
 */
public record Ipv4Prefix(int address, int length) implements IpPrefix {
    /** The default route, 0.0.0.0/0. */
    public static final Ipv4Prefix ANY = new Ipv4Prefix(0, 0);

    public Ipv4Prefix {
        if (length < 0 || length > IpFamily.IPV4.maxPrefixLength()) {
            throw new IllegalArgumentException(IpFamily.IPV4.prefixLengthProblem(Integer.toString(length)));
        }
    }

    /**
     * Parses {@code a.b.c.d/n}, or a bare address meaning /32 (as {@code ip route add 10.0.0.1 ...} does).
     *
     * @throws IllegalArgumentException saying what is wrong, without repeating the whole text (the caller names the
     *                                  field and the value): {@code 192.168.15.300 is not an IPv4 address (300 is not
     *                                  an octet 0-255)}, {@code prefix length 33 is not in 0..32}
     */
    public static Ipv4Prefix parse(String text) {
        if (text == null) {
            throw new IllegalArgumentException("missing (expected an IPv4 prefix like 192.168.15.0/24)");
        }
        int slash = text.indexOf('/');
        int address = Ipv4Address.parse(slash < 0 ? text : text.substring(0, slash));
        if (slash < 0) {
            return new Ipv4Prefix(address, IpFamily.IPV4.maxPrefixLength());
        }
        return new Ipv4Prefix(address, IpFamily.IPV4.parsePrefixLength(text.substring(slash + 1)));
    }

    /** The netmask as an int (/24 = 0xffffff00). */
    public int mask() {
        return length == 0 ? 0 : -1 << (32 - length);
    }

    /** The network address: host bits cleared. */
    public int network() {
        return address & mask();
    }

    /** The directed broadcast address of the subnet (host bits set; meaningless for /31 and /32). */
    public int broadcast() {
        return network() | ~mask();
    }

    /** True when the subnet has a directed broadcast address (/30 and wider: /31 and /32 have none). */
    public boolean hasBroadcast() {
        return length <= 30;
    }

    /** This prefix with the host bits cleared: the subnet an interface address is on. */
    @Override
    public Ipv4Prefix networkPrefix() {
        return new Ipv4Prefix(network(), length);
    }

    @Override
    public byte[] addressBytes() {
        return java.nio.ByteBuffer.allocate(4).putInt(address).array();
    }

    @Override
    public byte[] networkBytes() {
        return java.nio.ByteBuffer.allocate(4).putInt(network()).array();
    }

    /** Whether the host bits are zero (a proper route destination). */
    @Override
    public boolean isNetwork() {
        return address == network();
    }

    /** Whether {@code ip} lies inside this prefix: its first {@code length} bits are the same. */
    public boolean contains(int ip) {
        return ((ip ^ address) & mask()) == 0;
    }

    /** Whether both are the same subnet (host bits ignored): 10.0.0.1/24 and 10.0.0.0/24 are. */
    public boolean sameNetwork(Ipv4Prefix other) {
        return length == other.length && network() == other.network();
    }

    @Override
    public IpFamily family() {
        return IpFamily.IPV4;
    }

    @Override
    public String toString() {
        return Ipv4Address.format(address) + "/" + length;
    }
}
