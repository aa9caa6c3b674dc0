// An address with a prefix length of either family: what topology files and rtnetlink's address and route calls take.
package io.nsgate.linux.net;

/**
 * {@link Ipv4Prefix} or {@link Ipv6Prefix}, for the code that handles both families the same way (a topology's
 * addresses, rtnetlink requests) and only needs the family, the length and the bytes.
 */
public sealed interface IpPrefix permits Ipv4Prefix, Ipv6Prefix {
    IpFamily family();

    int length();

    /** Whether the host bits are zero. */
    boolean isNetwork();

    /** The address (host bits kept) in network byte order: 4 or 16 bytes. */
    byte[] addressBytes();

    /** The network address (host bits cleared) in network byte order. */
    byte[] networkBytes();

    /** This prefix with the host bits cleared. */
    IpPrefix networkPrefix();

    /** Whether both name the same network: the same family, length and network bits. */
    default boolean sameNetwork(IpPrefix other) {
        return family() == other.family() && length() == other.length()
            && java.util.Arrays.equals(networkBytes(), other.networkBytes());
    }

    /**
     * Parses either family: text with a colon is IPv6 ({@code fd15::1/64}), else IPv4 ({@code 192.168.15.1/24}); a
     * bare address is a host prefix (/32 or /128).
     */
    static IpPrefix parse(String text) {
        return text != null && Ipv6Address.looksLike(text) ? Ipv6Prefix.parse(text) : Ipv4Prefix.parse(text);
    }
}
