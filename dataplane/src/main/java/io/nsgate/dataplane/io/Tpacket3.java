// Byte layouts of the TPACKET_V3 ring structures nsgate reads and writes in place (linux/if_packet.h, x86_64/arm64).
package io.nsgate.dataplane.io;

import io.nsgate.dataplane.packet.VirtioNetHeader;

/**
 * Offsets into the mapped AF_PACKET rings, checked against the kernel's uapi header and {@code af_packet.c}
 * ({@code tpacket_rcv}, {@code tpacket_parse_header}, {@code tpacket_snd}), and asserted by the tests on a live
 * socket. All fields are host order (little-endian here), unlike the frames they carry.
 *
 * <p><b>RX block</b> ({@code struct tpacket_block_desc} with {@code tpacket_hdr_v1}; one per {@code tp_block_size}
 * bytes, handed back and forth whole through {@code block_status}):
 * <pre>
 *  0        4        8              12         16                    20       24         32            40          48
 * +--------+--------+--------------+----------+---------------------+--------+----------+-------------+-----------+
 * |version |off_priv| block_status | num_pkts | offset_to_first_pkt | blk_len| seq_num  | ts_first    | ts_last   |
 * +--------+--------+--------------+----------+---------------------+--------+----------+-------------+-----------+
 * then num_pkts frames, the first at offset_to_first_pkt (48: no private area), each 8-byte aligned, chained by
 * tp_next_offset.
 * </pre>
 *
 * <p><b>Frame header</b> ({@code struct tpacket3_hdr}, 48 bytes = TPACKET_ALIGN(sizeof), the same in both rings):
 * <pre>
 *  0               4        8        12           16       20          24      26      28        32           36
 * +---------------+--------+--------+------------+--------+-----------+-------+-------+---------+------------+
 * |tp_next_offset | tp_sec |tp_nsec | tp_snaplen | tp_len | tp_status |tp_mac |tp_net |tp_rxhash|tp_vlan_tci |
 * +---------------+--------+--------+------------+--------+-----------+-------+-------+---------+------------+
 *  36             38             40                48
 * +--------------+--------------+------------------+
 * | tp_vlan_tpid | (padding)    | tp_padding[8]    |
 * +--------------+--------------+------------------+
 * </pre>
 *
 * <p><b>RX frame</b> (SOCK_RAW, PACKET_VNET_HDR): the kernel puts a {@code struct sockaddr_ll} at 48..68, then
 * computes {@code netoff = TPACKET_ALIGN(68 + max(maclen, 16)) + 10} and {@code macoff = netoff - maclen}: for an
 * Ethernet frame that is tp_net = 106 and tp_mac = 92, so the virtio-net header sits at 82..92 and the IP header at
 * 106 (only 2-byte aligned: the 10-byte header pushes it off the 16 the kernel aims at). nsgate never assumes these
 * numbers: it reads tp_mac and takes the header at {@code tp_mac - 10}.
 * <pre>
 *  0                  48              68         82            92                106
 * +------------------+---------------+----------+-------------+-----------------+------------------------------+
 * | tpacket3_hdr     | sockaddr_ll   | (gap)    | virtio_net  | Ethernet header | IP header ... (tp_snaplen    |
 * |                  |               |          | _hdr (10)   | (tp_mac)        | (tp_net)        bytes from 92)|
 * +------------------+---------------+----------+-------------+-----------------+------------------------------+
 * </pre>
 *
 * <p><b>TX slot</b> (fixed {@code tp_frame_size} slots, one after another): without PACKET_TX_HAS_OFF the kernel
 * takes the data at {@code tp_hdrlen - sizeof(sockaddr_ll)} = TPACKET3_HDRLEN (68) - 20 = <b>48</b>, ignoring
 * tp_mac/tp_net; with PACKET_VNET_HDR the first 10 data bytes are the virtio-net header and
 * <b>tp_len counts them</b> (tpacket_snd subtracts 10 after parsing). tp_next_offset must be 0 ("variable sized slot
 * not supported" otherwise).
 * <pre>
 *  0                  48                58
 * +------------------+-----------------+-----------------------------------------------+
 * | tpacket3_hdr     | virtio_net_hdr  | Ethernet frame (tp_len - 10 bytes)            |
 * | tp_len, tp_status|                 |                                               |
 * +------------------+-----------------+-----------------------------------------------+
 * </pre>
 */
final class Tpacket3 {
    private Tpacket3() {
    }

    // struct tpacket_block_desc + tpacket_hdr_v1
    static final int BLOCK_STATUS = 8;
    static final int BLOCK_NUM_PKTS = 12;
    static final int BLOCK_OFFSET_TO_FIRST_PKT = 16;
    static final int BLOCK_LENGTH = 20;
    static final int BLOCK_SEQ_NUM = 24;
    /** sizeof(struct tpacket_block_desc) rounded to 8: where the first frame starts without a private area. */
    static final int BLOCK_HEADER_LENGTH = 48;

    // struct tpacket3_hdr
    static final int NEXT_OFFSET = 0;
    static final int SNAPLEN = 12;
    static final int LEN = 16;
    static final int STATUS = 20;
    static final int MAC = 24;
    static final int NET = 26;
    static final int VLAN_TCI = 32;
    static final int VLAN_TPID = 36;
    /** TPACKET_ALIGN(sizeof(struct tpacket3_hdr)). */
    static final int HEADER_LENGTH = 48;
    /** sizeof(struct sockaddr_ll), which the kernel writes after the header of each received frame. */
    static final int SOCKADDR_LL_LENGTH = 20;
    /** TPACKET3_HDRLEN: header plus sockaddr_ll, the minimum frame size the kernel accepts for either ring. */
    static final int HDRLEN = HEADER_LENGTH + SOCKADDR_LL_LENGTH;

    /** Where a TX slot's data (the virtio-net header) starts: TPACKET3_HDRLEN - sizeof(struct sockaddr_ll). */
    static final int TX_DATA = HDRLEN - SOCKADDR_LL_LENGTH;
    /** Where a TX slot's Ethernet frame starts. */
    static final int TX_FRAME = TX_DATA + VirtioNetHeader.LENGTH;
}
