// What the translator decided about one frame: forward it, drop it, leave it to the kernel, or emit an ICMP error.
package io.nsgate.dataplane.nat;

import org.agrona.DirectBuffer;

import io.nsgate.dataplane.stats.DropReason;

/** One instance per worker, overwritten for every frame. The action is also returned by {@code process}. */
public final class Verdict {
    /** The frame was rewritten in place; send it out of {@link #egressInterface} to {@link #nextHopIp}'s MAC. */
    public static final int FORWARD = 1;
    /** Not forwarded; {@link #dropReason} says why (counted). */
    public static final int DROP = 2;
    /** Not the data plane's: the kernel receives its own copy (the host's traffic, IPv6, DHCP...). */
    public static final int LOCAL = 3;
    /**
     * An ARP frame (the kernel has its copy too). When {@link #neighbourIp} is not 0, its sender is a neighbour on
     * the ingress interface's subnet: learn {@link #neighbourMac} for it (requests and replies alike, as Linux does).
     * Also an IPv6 neighbour advertisement ({@link #neighbour6}) answering the data plane's solicitation.
     */
    public static final int ARP = 4;
    /**
     * The frame is dropped ({@link #dropReason}) and an ICMP error was written, Ethernet header included, to
     * {@link #emitBuffer}: send {@link #emitLength} bytes out of {@link #egressInterface}.
     */
    public static final int EMIT = 5;

    public int action;
    public int dropReason;
    public int egressInterface;
    public int nextHopIp;
    /**
     * FORWARD: how far the frame's start moved (a flow translated between IPv4 and IPv6: positive when the frame
     * shrank, negative when it grew); its virtio-net header, if it has one, is right in front of the new start.
     */
    public int frameShift;
    /** FORWARD of an IPv6 frame: the next hop is {@link #nextHop6High}/{@link #nextHop6Low}, not nextHopIp. */
    public boolean ipv6;
    public long nextHop6High;
    public long nextHop6Low;
    public int neighbourIp;
    public long neighbourMac;
    /**
     * ARP: an IPv6 neighbour advertisement's target to learn (with {@link #neighbourMac}) instead of neighbourIp, when
     * {@link #neighbour6}.
     */
    public boolean neighbour6;
    public long neighbour6High;
    public long neighbour6Low;
    /**
     * The ARP was addressed to the gateway (a request for its address, a reply to its request): it may create an
     * entry. Otherwise (gratuitous ARP, ARP between others) it only refreshes one the table has (Linux, arp_accept=0).
     */
    public boolean neighbourCreate;
    /** EMIT: the translator's buffer holding the frame to send, from offset 0. */
    public DirectBuffer emitBuffer;
    public int emitLength;

    public static String actionName(int action) {
        switch (action) {
            case FORWARD:
                return "FORWARD";
            case DROP:
                return "DROP";
            case LOCAL:
                return "LOCAL";
            case ARP:
                return "ARP";
            case EMIT:
                return "EMIT";
            default:
                return "?" + action;
        }
    }

    @Override
    public String toString() {
        String s = actionName(action);
        if (action == DROP || action == EMIT) {
            DropReason r = DropReason.ofId(dropReason);
            s += " " + (r != null ? r.name() : dropReason);
        }
        if (action == FORWARD || action == EMIT) {
            s += " on #" + egressInterface;
        }
        return s;
    }
}
