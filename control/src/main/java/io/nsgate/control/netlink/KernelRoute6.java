// One IPv6 route in the kernel's main table, as an RTM_GETROUTE dump reports it.
package io.nsgate.control.netlink;

import io.nsgate.linux.net.Ipv6Address;
import io.nsgate.linux.net.Ipv6Prefix;

/**
 * @param destination network prefix; ::/0 is the default route
 * @param gateway     next hop, null when directly connected
 * @param outputIndex RTA_OIF, 0 when unspecified
 * @param protocol    RTPROT_* (kernel, static, ra, ...)
 * @param type        RTN_* (unicast, multicast, ...)
 */
public record KernelRoute6(Ipv6Prefix destination, Ipv6Address gateway, int outputIndex, int protocol, int type,
                           int priority) {

    /** The destination as people write it: "default" or the prefix. */
    public String destinationText() {
        return destination.length() == 0 ? "default" : destination.toString();
    }

    @Override
    public String toString() {
        return destinationText() + (gateway != null ? " via " + gateway : "")
            + (outputIndex != 0 ? " oif " + outputIndex : "");
    }
}
