// One IPv4 route in the kernel's routing table, as an RTM_GETROUTE dump reports it or as nsgate asks for it.
package io.nsgate.control.netlink;

import io.nsgate.linux.net.Ipv4Address;
import io.nsgate.linux.net.Ipv4Prefix;

/**
 * @param destination network prefix; 0.0.0.0/0 is the default route
 * @param gateway     next hop, 0 when directly connected
 * @param outputIndex RTA_OIF, 0 when unspecified
 * @param protocol    RTPROT_* (kernel, boot, static, ...)
 */
public record KernelRoute(Ipv4Prefix destination, int gateway, int outputIndex, int table, int protocol, int scope,
                    int type, int priority) {

    public boolean isDefault() {
        return destination.length() == 0;
    }

    /** The destination as people write it: "default" or the prefix. */
    public String destinationText() {
        return isDefault() ? "default" : destination.toString();
    }

    @Override
    public String toString() {
        return destinationText() + (gateway != 0 ? " via " + Ipv4Address.format(gateway) : "")
            + (outputIndex != 0 ? " oif " + outputIndex : "");
    }
}
