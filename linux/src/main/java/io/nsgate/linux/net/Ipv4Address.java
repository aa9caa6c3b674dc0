// Text form of IPv4 addresses held in a big-endian int, for configuration, logs and tests (never the fast path).
package io.nsgate.linux.net;

/**
 * Converts IPv4 addresses between dotted quads and the big-endian int the parser and flyweights use
 * ({@code "192.168.1.2"} is {@code 0xC0A80102}). These methods allocate; use them at setup time and in tests.
 */
public final class Ipv4Address {
    private Ipv4Address() {
    }

    /**
     * Parses a dotted quad of decimal octets 0-255.
     *
     * @throws IllegalArgumentException naming the text when it is not an IPv4 address
     */
    public static int parse(final String text) {
        final String[] parts = text.split("\\.", -1);
        if (parts.length != 4) {
            throw new IllegalArgumentException(text + " is not an IPv4 address (four octets 0-255 separated by '.')");
        }
        int address = 0;
        for (final String part : parts) {
            final int octet;
            try {
                octet = part.isEmpty() || part.length() > 3 ? -1 : Integer.parseInt(part);
            } catch (final NumberFormatException e) {
                throw new IllegalArgumentException(
                    text + " is not an IPv4 address (four octets 0-255 separated by '.')", e);
            }
            if (octet < 0 || octet > 255 || !part.chars().allMatch(Character::isDigit)) {
                throw new IllegalArgumentException(
                    text + " is not an IPv4 address (" + part + " is not an octet 0-255)");
            }
            address = (address << 8) | octet;
        }
        return address;
    }

    /** The address of an {@link java.net.Inet4Address}, as an int. */
    public static int of(java.net.InetAddress address) {
        byte[] b = address.getAddress();
        if (b.length != 4) {
            throw new IllegalArgumentException(address + " is not an IPv4 address");
        }
        return (b[0] & 0xFF) << 24 | (b[1] & 0xFF) << 16 | (b[2] & 0xFF) << 8 | (b[3] & 0xFF);
    }

    /** The four bytes of {@code address}, network order. */
    public static byte[] toBytes(int address) {
        return new byte[] {(byte) (address >>> 24), (byte) (address >>> 16), (byte) (address >>> 8), (byte) address};
    }

    /** Formats a big-endian int as a dotted quad. */
    public static String format(final int address) {
        return (address >>> 24) + "." + ((address >>> 16) & 0xFF) + "." + ((address >>> 8) & 0xFF) + "."
            + (address & 0xFF);
    }
}
