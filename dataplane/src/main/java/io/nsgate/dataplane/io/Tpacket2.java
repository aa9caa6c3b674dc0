// Byte layouts of the TPACKET_V2 ring structures nsgate reads and writes in place (linux/if_packet.h, x86_64/arm64).
package io.nsgate.dataplane.io;

import io.nsgate.dataplane.packet.VirtioNetHeader;

/**
 * Offsets into TPACKET_V2 rings, checked against the kernel's uapi header and {@code af_packet.c}
 * ({@code tpacket_rcv}, {@code packet_set_ring}, {@code tpacket_parse_header}), and asserted by the tests on a live
 * socket. Host order (little-endian here), unlike the frames they carry.
 *
 * <p>A V2 ring is a run of fixed-size frame slots, each with its own status word: nothing has to fill up before a
 * hand-over and there is no retire timer, so the kernel hands every frame over (TP_STATUS_USER) and wakes the socket
 * as soon as it is written. Slots are grouped in blocks (the kernel's allocation unit, a power of two of pages):
 * block {@code b} is at {@code b * tp_block_size} in the mapping and holds {@code tp_block_size / tp_frame_size}
 * slots one after another, the rest of it unused ({@code packet_lookup_frame}). nsgate packs its default 65680-byte
 * slots 15 to a 1 MiB block.
 *
 * <p><b>Frame header</b> ({@code struct tpacket2_hdr}, 32 bytes = TPACKET_ALIGN(sizeof), the same in both rings;
 * note tp_status first, where V3 has it at 20):
 * <pre>
 *  0           4        8            12      14      16       20        24            26             28         32
 * +-----------+--------+------------+-------+-------+--------+---------+-------------+--------------+----------+
 * | tp_status | tp_len | tp_snaplen |tp_mac |tp_net | tp_sec | tp_nsec | tp_vlan_tci | tp_vlan_tpid | padding  |
 * +-----------+--------+------------+-------+-------+--------+---------+-------------+--------------+----------+
 * </pre>
 *
 * <p><b>RX frame</b> (SOCK_RAW, PACKET_VNET_HDR): TPACKET2_HDRLEN = 32 + sizeof(struct sockaddr_ll) = 52; the kernel
 * puts the sockaddr_ll at 32..52 and computes {@code netoff = TPACKET_ALIGN(52 + max(maclen, 16)) + 10},
 * {@code macoff = netoff - maclen}: for an Ethernet frame tp_net = 90 and tp_mac = 76, the virtio-net header at
 * 66..76, just before the frame as in V3. A frame longer than {@code frameSize - tp_mac} is clamped
 * (tp_snaplen &lt; tp_len). nsgate reads tp_mac rather than assuming 76.
 * <pre>
 *  0                  32              52         66            76                90
 * +------------------+---------------+----------+-------------+-----------------+-----------------------------+
 * | tpacket2_hdr     | sockaddr_ll   | (gap)    | virtio_net  | Ethernet header | IP header ... up to the     |
 * | tp_status first  |               |          | _hdr (10)   | (tp_mac)        | (tp_net)        slot's end  |
 * +------------------+---------------+----------+-------------+-----------------+-----------------------------+
 * </pre>
 *
 * <p><b>TX slot</b>: the data starts at {@code tp_hdrlen - sizeof(sockaddr_ll)} = 52 - 20 = <b>32</b> (48 in V3),
 * the virtio-net header first, and tp_len counts it, as in V3. V2 has no tp_next_offset.
 * <pre>
 *  0                  32                42
 * +------------------+-----------------+-----------------------------------------------+
 * | tpacket2_hdr     | virtio_net_hdr  | Ethernet frame (tp_len - 10 bytes)            |
 * +------------------+-----------------+-----------------------------------------------+
 * </pre>
 */
final class Tpacket2 {
    private Tpacket2() {
    }

    // struct tpacket2_hdr
    static final int STATUS = 0;
    static final int LEN = 4;
    static final int SNAPLEN = 8;
    static final int MAC = 12;
    static final int NET = 14;
    static final int VLAN_TCI = 24;
    static final int VLAN_TPID = 26;
    /** TPACKET_ALIGN(sizeof(struct tpacket2_hdr)). */
    static final int HEADER_LENGTH = 32;
    /** TPACKET2_HDRLEN: header plus sockaddr_ll. */
    static final int HDRLEN = HEADER_LENGTH + Tpacket3.SOCKADDR_LL_LENGTH;
    /** tp_mac of an Ethernet frame received with PACKET_VNET_HDR (what the tests expect; the code reads tp_mac). */
    static final int ETHERNET_MAC = 76;

    /** Where a TX slot's data (the virtio-net header) starts: TPACKET2_HDRLEN - sizeof(struct sockaddr_ll). */
    static final int TX_DATA = HDRLEN - Tpacket3.SOCKADDR_LL_LENGTH;
    /** Where a TX slot's Ethernet frame starts. */
    static final int TX_FRAME = TX_DATA + VirtioNetHeader.LENGTH;
}
