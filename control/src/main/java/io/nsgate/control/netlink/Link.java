// One network interface as an RTM_GETLINK dump reports it.
package io.nsgate.control.netlink;

/**
 * @param kind        IFLA_INFO_KIND ("veth", "bridge", ...) or null for devices without one (lo)
 * @param masterIndex ifindex of the bridge it is enslaved to, 0 when none
 * @param peerIndex   IFLA_LINK: for a veth, the peer's ifindex in the peer's namespace; 0 when absent
 * @param peerNetnsId IFLA_LINK_NETNSID: the peer namespace's id as seen from here, -1 when absent (same namespace)
 * @param alias       IFLA_IFALIAS, null when unset
 * @param mac         the hardware address as aa:bb:cc:dd:ee:ff, or null
 */
public record Link(int index, String name, String kind, int flags, int mtu, int masterIndex, int peerIndex,
                   int peerNetnsId, String alias, String mac) {

    /** Administratively up (IFF_UP). */
    public boolean isUp() {
        return (flags & Rtnl.IFF_UP) != 0;
    }

    public boolean isLoopback() {
        return (flags & Rtnl.IFF_LOOPBACK) != 0;
    }
}
