// An IPv4 address with a prefix length, as in 192.168.15.0/24: subnets, interface addresses, route targets.
package io.nsgate.dataplane.nat;

import io.nsgate.dataplane.packet.Ipv4Address;

/** {@code address/length}; {@link #contains} compares the first {@code length} bits. */
public record Ipv4Prefix(int address, int length) {
    public Ipv4Prefix {
        if (length < 0 || length > 32) {
            throw new IllegalArgumentException("prefix length " + length + " is not in 0..32");
        }
    }

    /** The default route, 0.0.0.0/0. */
    public static final Ipv4Prefix ANY = new Ipv4Prefix(0, 0);

    /**
     * Parses {@code a.b.c.d/n} (or a bare address, meaning /32).
     *
     * @throws IllegalArgumentException naming the text and what is wrong with it
     */
    public static Ipv4Prefix parse(String text) {
        int slash = text.indexOf('/');
        String addressText = slash < 0 ? text : text.substring(0, slash);
        int address = Ipv4Address.parse(addressText);
        if (slash < 0) {
            return new Ipv4Prefix(address, 32);
        }
        String lengthText = text.substring(slash + 1);
        int length;
        try {
            length = Integer.parseInt(lengthText);
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("\"" + text + "\": prefix length \"" + lengthText + "\" is not a number");
        }
        if (length < 0 || length > 32) {
            throw new IllegalArgumentException("\"" + text + "\": prefix length " + length + " is not in 0..32");
        }
        return new Ipv4Prefix(address, length);
    }

    public int mask() {
        return length == 0 ? 0 : -1 << (32 - length);
    }

    public int network() {
        return address & mask();
    }

    /** The directed broadcast address of the subnet (meaningless for /31 and /32). */
    public int broadcast() {
        return network() | ~mask();
    }

    public boolean contains(int ip) {
        return ((ip ^ address) & mask()) == 0;
    }

    @Override
    public String toString() {
        return Ipv4Address.format(address) + "/" + length;
    }
}
