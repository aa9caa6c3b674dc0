// One IPv4 address on an interface, as an RTM_GETADDR dump reports it.
package io.nsgate.control.netlink;

/** @param index the interface's ifindex; {@code cidr} keeps the host bits (192.168.15.1/24). */
public record InterfaceAddress(int index, Ipv4Cidr cidr, String label, int scope) {
}
