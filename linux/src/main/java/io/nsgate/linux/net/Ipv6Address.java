// An IPv6 address as two longs, with the text forms of RFC 4291 (parse) and RFC 5952 (format).
package io.nsgate.linux.net;

/**
 * An IPv6 address held as its high and low 64 bits, big-endian (the first byte on the wire is the top byte of
 * {@code high}), so that the data plane can compare addresses as two longs read from a frame. Parsing and formatting
 * allocate: use them at setup time and in tests.
 *
 * <p>{@link #parse} takes every text form of RFC 4291 2.2: eight groups of 1-4 hex digits, one {@code ::} for a run
 * of zero groups, and a dotted IPv4 address in the last 32 bits ({@code ::ffff:192.168.1.2}); no zone index
 * ({@code %eth0}) and no brackets. {@link #toString} writes the canonical form of RFC 5952: lower case, no leading
 * zeros, the longest run of two or more zero groups (the first of equals) as {@code ::}.
 */
public record Ipv6Address(long high, long low) {
    public static final Ipv6Address UNSPECIFIED = new Ipv6Address(0, 0);

    /**
     * Parses an IPv6 address.
     *
     * @throws IllegalArgumentException naming the text and what is wrong with it
     */
    public static Ipv6Address parse(String text) {
        int[] groups = new int[8];
        String s = text;
        int ipv4 = 0;
        int lastColon = s.lastIndexOf(':');
        boolean ipv4Tail = lastColon >= 0 && s.indexOf('.', lastColon) > 0;
        if (ipv4Tail) {
            try {
                ipv4 = Ipv4Address.parse(s.substring(lastColon + 1));
            } catch (IllegalArgumentException e) {
                throw invalid(text, "its last part is not an IPv4 address");
            }
            s = s.substring(0, lastColon + 1) + "0:0"; // two placeholder groups, filled in below
        }
        int doubleColon = s.indexOf("::");
        if (doubleColon >= 0 && s.indexOf("::", doubleColon + 1) >= 0) {
            throw invalid(text, "'::' may appear once");
        }
        String head = doubleColon >= 0 ? s.substring(0, doubleColon) : s;
        String tail = doubleColon >= 0 ? s.substring(doubleColon + 2) : "";
        String[] headGroups = head.isEmpty() ? new String[0] : head.split(":", -1);
        String[] tailGroups = tail.isEmpty() ? new String[0] : tail.split(":", -1);
        int count = headGroups.length + tailGroups.length;
        if (doubleColon < 0 ? count != 8 : count > 7) {
            throw invalid(text, doubleColon < 0 ? "it needs eight groups of hex digits, or '::'"
                : "too many groups beside '::'");
        }
        for (int i = 0; i < headGroups.length; i++) {
            groups[i] = group(text, headGroups[i]);
        }
        for (int i = 0; i < tailGroups.length; i++) {
            groups[8 - tailGroups.length + i] = group(text, tailGroups[i]);
        }
        if (ipv4Tail) {
            groups[6] = ipv4 >>> 16;
            groups[7] = ipv4 & 0xFFFF;
        }
        long high = 0;
        long low = 0;
        for (int i = 0; i < 4; i++) {
            high = (high << 16) | groups[i];
            low = (low << 16) | groups[i + 4];
        }
        return new Ipv6Address(high, low);
    }

    private static int group(String text, String g) {
        if (g.isEmpty() || g.length() > 4) {
            throw invalid(text, g.isEmpty() ? "an empty group (use '::' once for zeros)"
                : "group " + g + " has more than four hex digits");
        }
        int v = 0;
        for (int i = 0; i < g.length(); i++) {
            int d = Character.digit(g.charAt(i), 16);
            if (d < 0) {
                throw invalid(text, "group " + g + " is not hex");
            }
            v = (v << 4) | d;
        }
        return v;
    }

    private static IllegalArgumentException invalid(String text, String why) {
        return new IllegalArgumentException(text + " is not an IPv6 address (" + why + ")");
    }

    /** True for text that looks like an IPv6 address rather than IPv4 (it has a colon). */
    public static boolean looksLike(String text) {
        return text.indexOf(':') >= 0;
    }

    /** The address's 16 bytes, in network order. */
    public byte[] toBytes() {
        byte[] b = new byte[16];
        for (int i = 0; i < 8; i++) {
            b[i] = (byte) (high >>> (56 - 8 * i));
            b[8 + i] = (byte) (low >>> (56 - 8 * i));
        }
        return b;
    }

    /** The address of an {@link java.net.Inet6Address}. */
    public static Ipv6Address of(java.net.InetAddress address) {
        byte[] b = address.getAddress();
        if (b.length != 16) {
            throw new IllegalArgumentException(address + " is not an IPv6 address");
        }
        return fromBytes(b, 0);
    }

    /** The address from 16 bytes in network order at {@code offset}. */
    public static Ipv6Address fromBytes(byte[] b, int offset) {
        long high = 0;
        long low = 0;
        for (int i = 0; i < 8; i++) {
            high = (high << 8) | (b[offset + i] & 0xFF);
            low = (low << 8) | (b[offset + 8 + i] & 0xFF);
        }
        return new Ipv6Address(high, low);
    }

    /** ff00::/8. */
    public boolean isMulticast() {
        return isMulticast(high);
    }

    /** fe80::/10, unicast link-local: never routed. */
    public boolean isLinkLocal() {
        return isLinkLocal(high);
    }

    /** :: */
    public boolean isUnspecified() {
        return high == 0 && low == 0;
    }

    /** ::1 */
    public boolean isLoopback() {
        return high == 0 && low == 1;
    }

    /** ff00::/8, from the address's high 64 bits (the fast path's form). */
    public static boolean isMulticast(long high) {
        return (high >>> 56) == 0xFF;
    }

    /** fe80::/10, from the address's high 64 bits (the fast path's form). */
    public static boolean isLinkLocal(long high) {
        return (high >>> 54) == (0xFE80L >>> 6);
    }

    /** The canonical text form (RFC 5952). */
    @Override
    public String toString() {
        int[] g = new int[8];
        for (int i = 0; i < 4; i++) {
            g[i] = (int) (high >>> (48 - 16 * i)) & 0xFFFF;
            g[i + 4] = (int) (low >>> (48 - 16 * i)) & 0xFFFF;
        }
        int bestStart = -1;
        int bestLength = 1; // a single zero group is written as 0, not ::
        for (int i = 0; i < 8; ) {
            if (g[i] != 0) {
                i++;
                continue;
            }
            int j = i;
            while (j < 8 && g[j] == 0) {
                j++;
            }
            if (j - i > bestLength) {
                bestStart = i;
                bestLength = j - i;
            }
            i = j;
        }
        StringBuilder sb = new StringBuilder(39);
        for (int i = 0; i < 8; i++) {
            if (i == bestStart) {
                sb.append("::");
                i += bestLength - 1;
                continue;
            }
            if (sb.length() > 0 && sb.charAt(sb.length() - 1) != ':') {
                sb.append(':');
            }
            sb.append(Integer.toHexString(g[i]));
        }
        return sb.toString();
    }
}
