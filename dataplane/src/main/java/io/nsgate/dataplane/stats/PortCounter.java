// What a port counts of its own: frames through its rings, what the rings or the kernel dropped, transmit kicks.
package io.nsgate.dataplane.stats;

/**
 * Every counter of one worker's port on one interface ({@code io.PacketPort#counters}), with a stable name for the
 * control socket and the metrics and a label a person can act on. The drops among them are frames lost before the
 * translator saw them (or after it let them go), so no {@link DropReason} counts them.
 */
public enum PortCounter {
    RX_FRAMES("frames received", false),
    RX_RING_DROPS("frames the kernel dropped: the receive ring was full (PACKET_STATISTICS tp_drops)", true),
    RX_RING_FREEZES("times the kernel found the next receive block in use and froze the ring (V3 only)", false),
    RX_TRUNCATED("frames dropped: longer than a receive slot (the kernel cut them short)", true),
    RX_MALFORMED("receive slots skipped: an impossible header, or a frame shorter than Ethernet", true),
    RX_VLAN_RESTORED("frames whose offloaded 802.1Q tag was put back into the frame", false),
    TX_FRAMES("frames queued for transmission", false),
    TX_RING_FULL("frames refused: the transmit ring was full (the worker counts them as tx_ring_full drops)", false),
    TX_REJECTED("frames dropped: the kernel would refuse them (longer than a slot, a bad virtio-net header)", true),
    TX_WRONG_FORMAT("frames the kernel refused to send (TP_STATUS_WRONG_FORMAT)", true),
    TX_IN_PLACE("frames sent straight from the receive ring (sendmmsg), never copied into the transmit ring", false),
    TX_IN_PLACE_DROPPED("frames to send in place dropped: the socket's send buffer was full", true),
    TX_KICKS("transmit kicks (one send per batch)", false),
    TX_KICK_FAILURES("kicks refused for now (EAGAIN, ENOBUFS, ENETDOWN): the frames stayed queued for the next", false);

    /** What a person reads in {@code nsgate ctl stats}. */
    public final String label;
    /** Counts frames lost here, which no {@link DropReason} counts (a full TX ring is one: tx_ring_full). */
    public final boolean drop;

    PortCounter(String label, boolean drop) {
        this.label = label;
        this.drop = drop;
    }
}
