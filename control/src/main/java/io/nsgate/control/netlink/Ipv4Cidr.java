// An IPv4 address with a prefix length ("192.168.15.1/24"), as used for interface addresses and route destinations.
package io.nsgate.control.netlink;

/**
 * An address and prefix length; {@link #address()} keeps the host bits (an interface address), {@link #network()}
 * clears them (a route destination). Addresses are ints in network order of significance (a.b.c.d = a<<24 | ...).
 */
public record Ipv4Cidr(int address, int length) {

    public Ipv4Cidr {
        if (length < 0 || length > 32) {
            throw new IllegalArgumentException("prefix length " + length + " is outside 0..32");
        }
    }

    /**
     * Parses {@code a.b.c.d/len}.
     *
     * @throws IllegalArgumentException saying what is wrong, e.g. {@code "10.0.0.300" is not an IPv4 address}
     */
    public static Ipv4Cidr parse(String text) {
        if (text == null) {
            throw new IllegalArgumentException("missing; expected an IPv4 address with prefix length like 192.168.15.1/24");
        }
        int slash = text.indexOf('/');
        if (slash < 0) {
            throw new IllegalArgumentException("no prefix length; expected an IPv4 address with prefix length like "
                + "192.168.15.1/24");
        }
        int address = parseAddress(text.substring(0, slash));
        String len = text.substring(slash + 1);
        if (!len.matches("[0-9]{1,2}") || Integer.parseInt(len) > 32) {
            throw new IllegalArgumentException("prefix length \"" + len + "\" is not a number from 0 to 32");
        }
        return new Ipv4Cidr(address, Integer.parseInt(len));
    }

    /**
     * Parses a dotted-quad IPv4 address.
     *
     * @throws IllegalArgumentException saying why not
     */
    public static int parseAddress(String text) {
        String[] parts = text.split("\\.", -1);
        if (parts.length != 4) {
            throw new IllegalArgumentException(text + " is not an IPv4 address (expected four numbers a.b.c.d)");
        }
        int value = 0;
        for (String p : parts) {
            if (!p.matches("[0-9]{1,3}") || Integer.parseInt(p) > 255) {
                throw new IllegalArgumentException(text + " is not an IPv4 address (each part must be 0..255)");
            }
            value = value << 8 | Integer.parseInt(p);
        }
        return value;
    }

    /** Formats an address as a.b.c.d. */
    public static String format(int address) {
        return (address >>> 24) + "." + (address >>> 16 & 0xff) + "." + (address >>> 8 & 0xff) + "." + (address & 0xff);
    }

    /** The netmask as an int (/24 = 0xffffff00). */
    public int mask() {
        return length == 0 ? 0 : -1 << (32 - length);
    }

    /** The network address: host bits cleared. */
    public int network() {
        return address & mask();
    }

    /** The directed broadcast address (host bits set). */
    public int broadcast() {
        return address | ~mask();
    }

    /** This prefix with the host bits cleared. */
    public Ipv4Cidr networkPrefix() {
        return new Ipv4Cidr(network(), length);
    }

    /** Whether {@code other} lies inside this prefix. */
    public boolean contains(int other) {
        return (other & mask()) == network();
    }

    /** Whether the host bits are zero (a proper route destination). */
    public boolean isNetwork() {
        return address == network();
    }

    @Override
    public String toString() {
        return format(address) + "/" + length;
    }
}
