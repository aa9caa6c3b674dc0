// One entry of the neighbour (ARP) table, as an RTM_GETNEIGH dump reports it.
package io.nsgate.control.netlink;

/** @param state NUD_* bits (0x02 reachable, 0x04 stale, 0x80 permanent ...); {@code mac} null when incomplete. */
public record Neighbour(int index, int address, String mac, int state) {
    public static final int NUD_INCOMPLETE = 0x01;
    public static final int NUD_REACHABLE = 0x02;
    public static final int NUD_STALE = 0x04;
    public static final int NUD_FAILED = 0x20;
    public static final int NUD_PERMANENT = 0x80;
}
