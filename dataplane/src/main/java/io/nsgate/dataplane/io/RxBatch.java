// A batch of received frames, as parallel arrays a worker processes in place: no object per frame.
package io.nsgate.dataplane.io;

import org.agrona.concurrent.UnsafeBuffer;

/**
 * What one {@link PacketPort#receive} returned: up to {@link #CAPACITY} frames, all in {@link #buffer} (the RX ring
 * itself for AF_PACKET, so frames are rewritten in place), valid until the port's next {@code receive}.
 *
 * <p>Per frame {@code i}: the Ethernet frame is {@code frameLength[i]} bytes at {@code frameOffset[i]}; when the
 * port delivers a virtio-net header (AF_PACKET with PACKET_VNET_HDR) its 10 bytes are at {@code vnetOffset[i]}
 * (else -1) and its fields are decoded into {@code vnetFlags}, {@code gsoType}, {@code gsoSize}.
 */
public final class RxBatch {
    /** Frames per batch: enough for the lookup stages to overlap cache misses, small enough to stay in L1. */
    public static final int CAPACITY = 32;

    public UnsafeBuffer buffer;
    public int count;
    public final int[] frameOffset = new int[CAPACITY];
    public final int[] frameLength = new int[CAPACITY];
    public final int[] vnetOffset = new int[CAPACITY];
    /** virtio_net_hdr flags: VirtioNetHeader.FLAG_NEEDS_CSUM, FLAG_DATA_VALID. */
    public final int[] vnetFlags = new int[CAPACITY];
    /** virtio_net_hdr gso_type (0 none, 1 TCPV4, 3 UDP, 4 TCPV6, 5 UDP_L4), ECN bit cleared. */
    public final int[] gsoType = new int[CAPACITY];
    /** virtio_net_hdr gso_size: payload bytes per segment, 0 when not GSO. */
    public final int[] gsoSize = new int[CAPACITY];
    /**
     * What the kernel made of the frame's destination MAC (sockaddr_ll.sll_pkttype): Linux.PACKET_HOST (the
     * interface's own MAC), PACKET_BROADCAST, PACKET_MULTICAST or PACKET_OTHERHOST (another host's, seen because the
     * interface is promiscuous). Judged against the interface's current MAC, so it follows MAC changes.
     */
    public final int[] packetType = new int[CAPACITY];
}
