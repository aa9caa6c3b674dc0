// One IPv6 address on an interface, as an RTM_GETADDR dump reports it.
package io.nsgate.control.netlink;

import io.nsgate.linux.net.Ipv6Prefix;

/**
 * @param index the interface's ifindex; {@code prefix} keeps the host bits (fd15::5/64); scope as the kernel's
 * @param flags IFA_F_* (the IFA_FLAGS attribute when present, else ifa_flags)
 */
public record InterfaceAddress6(int index, Ipv6Prefix prefix, int scope, int flags) {
    /** Configured by someone (ip addr add, a topology), not made by the kernel from router advertisements. */
    public boolean isPermanent() {
        return (flags & Rtnl.IFA_F_PERMANENT) != 0;
    }
}
