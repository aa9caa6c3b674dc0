// Text form of 48-bit MAC addresses held in a long, for configuration, logs and tests (never the fast path).
package io.nsgate.linux.net;

/**
 * Converts MAC addresses between {@code "02:00:00:00:00:01"} and the long the flyweights use (48 bits, first
 * byte most significant). These methods allocate; use them at setup time and in tests only.
 */
public final class MacAddress {
    private MacAddress() {
    }

    /**
     * Parses six colon-separated hex bytes.
     *
     * @throws IllegalArgumentException naming the text when it is not a MAC address
     */
    public static long parse(final String text) {
        final String[] parts = text.split(":", -1);
        if (parts.length != 6) {
            throw new IllegalArgumentException(text + " is not a MAC address (six hex bytes separated by ':')");
        }
        long mac = 0;
        for (final String part : parts) {
            if (part.isEmpty() || part.length() > 2) {
                throw new IllegalArgumentException(text + " is not a MAC address (six hex bytes separated by ':')");
            }
            try {
                mac = (mac << 8) | Integer.parseInt(part, 16);
            } catch (final NumberFormatException e) {
                throw new IllegalArgumentException(text + " is not a MAC address (six hex bytes separated by ':')", e);
            }
        }
        return mac;
    }

    /** Formats the low 48 bits as {@code "02:00:00:00:00:01"}. */
    public static String format(final long mac) {
        final StringBuilder text = new StringBuilder(17);
        for (int shift = 40; shift >= 0; shift -= 8) {
            final int b = (int) (mac >>> shift) & 0xFF;
            text.append(Character.forDigit(b >>> 4, 16)).append(Character.forDigit(b & 0xF, 16));
            if (shift > 0) {
                text.append(':');
            }
        }
        return text.toString();
    }
}
