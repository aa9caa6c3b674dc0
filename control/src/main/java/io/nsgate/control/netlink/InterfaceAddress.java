// One IPv4 address on an interface, as an RTM_GETADDR dump reports it.
package io.nsgate.control.netlink;

import io.nsgate.linux.net.Ipv4Prefix;

/** @param index the interface's ifindex; {@code prefix} keeps the host bits (192.168.15.1/24). */
public record InterfaceAddress(int index, Ipv4Prefix prefix, String label, int scope) {
}
