// What both receive rings share: frames decoded in place into a batch, clamped ones dropped, VLAN tags put back.
package io.nsgate.dataplane.io;

import java.nio.ByteOrder;

import org.agrona.concurrent.UnsafeBuffer;

import io.nsgate.dataplane.packet.VirtioNetHeader;
import io.nsgate.dataplane.stats.PortCounter;
import io.nsgate.dataplane.stats.PortCounters;
import io.nsgate.linux.sys.Linux;

/**
 * The user-space half of an AF_PACKET RX ring: {@link RxRingV3} walks TPACKET_V3 blocks, {@link RxRingV2} TPACKET_V2
 * frame slots. They differ in how frames are handed over and back (a block status word for many frames, or one status
 * word per frame) and in the frame header's field offsets; what is done with one frame is the same and lives here
 * ({@link #take}): frames go into an {@link RxBatch} as offsets into the ring, so the worker reads and rewrites them
 * where the kernel put them, and stay valid until the next {@link #receive}.
 *
 * <p>Frames the kernel clamped (tp_snaplen &lt; tp_len: a frame longer than the block or slot) are dropped and
 * counted, never passed on truncated. A frame whose VLAN tag the device took out (TP_STATUS_VLAN_VALID: the receive
 * path always strips tags into skb metadata before packet taps see the frame) gets its tag put back in place: the
 * virtio-net header and MAC addresses move 4 bytes towards the frame header (the sockaddr_ll and a gap lie between)
 * so the worker sees the frame as it was on the wire, with csum_start and hdr_len shifted to match.
 *
 * <p>Single-threaded: one worker owns it. No allocation, no system call, no lock.
 */
abstract class RxRing {
    /** {@link #take} result: the frame went into the batch. */
    static final int TAKEN = 1;
    /** {@link #take} result: the frame was dropped and counted (clamped, or shorter than an Ethernet header). */
    static final int DROPPED = 0;
    /** {@link #take} result: the header points outside the frame's room (never written by a kernel); not counted. */
    static final int BROKEN = -1;

    private static final int VNET = VirtioNetHeader.LENGTH;
    private static final int VLAN_TAG = 4;
    private static final ByteOrder LE = ByteOrder.LITTLE_ENDIAN;
    private static final ByteOrder BE = ByteOrder.BIG_ENDIAN;

    final UnsafeBuffer ring;
    // the frame header's fields: tpacket3_hdr or tpacket2_hdr
    private final int snaplenField;
    private final int lenField;
    private final int macField;
    private final int vlanTciField;
    private final int vlanTpidField;
    /** Smallest tp_mac with room for the frame header and the virtio-net header below the frame. */
    private final int minMac;
    /** sll_pkttype of the sockaddr_ll the kernel writes right after the frame header. */
    private final int packetTypeField;

    /** Where received, truncated, malformed and re-tagged frames are counted (the port's). */
    final PortCounters counters;

    RxRing(UnsafeBuffer ring, int headerLength, int snaplenField, int lenField, int macField, int vlanTciField,
        int vlanTpidField, PortCounters counters) {
        this.ring = ring;
        this.counters = counters;
        this.snaplenField = snaplenField;
        this.lenField = lenField;
        this.macField = macField;
        this.vlanTciField = vlanTciField;
        this.vlanTpidField = vlanTpidField;
        this.minMac = headerLength + VNET;
        this.packetTypeField = headerLength + Linux.SOCKADDR_LL_PKTTYPE_OFFSET;
    }

    /** The ring buffer that the batches' offsets refer to. */
    final UnsafeBuffer buffer() {
        return ring;
    }

    /**
     * Hands back what the previous batch held, then fills {@code batch} with up to {@link RxBatch#CAPACITY} frames
     * the kernel has handed over.
     *
     * @return frames in the batch
     */
    abstract int receive(RxBatch batch);

    /**
     * Puts the frame whose header is at {@code header} into {@code batch} at index {@code count}, unless it must be
     * dropped. {@code end} bounds the room the frame may occupy (its block or slot end); {@code status} is its
     * tp_status word.
     *
     * @return {@link #TAKEN}, {@link #DROPPED} or {@link #BROKEN}
     */
    final int take(RxBatch batch, int count, int header, int end, int status) {
        final int snaplen = ring.getInt(header + snaplenField);
        final int length = ring.getInt(header + lenField);
        final int mac = ring.getShort(header + macField) & 0xFFFF;
        int frame = header + mac;
        if (mac < minMac || snaplen < 0 || frame + snaplen > end) {
            return BROKEN; // the kernel never writes this: a broken ring must not send us outside it
        }
        final boolean tagged = (status & Linux.TP_STATUS_VLAN_VALID) != 0;
        if (snaplen != length) {
            counters.increment(PortCounter.RX_TRUNCATED);
            return DROPPED;
        }
        if (snaplen < Linux.ETH_HLEN || tagged && mac < minMac + VLAN_TAG) {
            counters.increment(PortCounter.RX_MALFORMED);
            return DROPPED;
        }
        int frameLength = snaplen;
        if (tagged) {
            frame = restoreVlanTag(header, frame, status);
            frameLength += VLAN_TAG;
        }
        final int vnet = frame - VNET;
        batch.packetType[count] = ring.getByte(header + packetTypeField) & 0xFF;
        batch.frameOffset[count] = frame;
        batch.frameLength[count] = frameLength;
        batch.vnetOffset[count] = vnet;
        batch.vnetFlags[count] = ring.getByte(vnet + VirtioNetHeader.FLAGS_OFFSET) & 0xFF;
        batch.gsoType[count] = ring.getByte(vnet + VirtioNetHeader.GSO_TYPE_OFFSET) & ~VirtioNetHeader.GSO_ECN & 0xFF;
        batch.gsoSize[count] = ring.getShort(vnet + VirtioNetHeader.GSO_SIZE_OFFSET, LE) & 0xFFFF;
        return TAKEN;
    }

    /**
     * Puts the 802.1Q (or 802.1ad) tag the kernel reported in tp_vlan_tci back between the MAC addresses and the
     * EtherType, moving the virtio-net header and the addresses 4 bytes down; returns the new frame offset.
     */
    private int restoreVlanTag(int header, int frame, int status) {
        final int tci = ring.getShort(header + vlanTciField) & 0xFFFF;
        final int tpid = (status & Linux.TP_STATUS_VLAN_TPID_VALID) != 0
            ? ring.getShort(header + vlanTpidField) & 0xFFFF : Linux.ETH_P_8021Q;
        final long vnetHead = ring.getLong(frame - VNET);
        final short vnetTail = ring.getShort(frame - 2);
        final long addresses = ring.getLong(frame);
        final int addressesTail = ring.getInt(frame + 8);
        final int moved = frame - VLAN_TAG; // take() checked tp_mac >= header + 10 + 4: room below for the move
        final int vnet = moved - VNET;
        ring.putLong(vnet, vnetHead);
        ring.putShort(vnet + 8, vnetTail);
        ring.putLong(moved, addresses);
        ring.putInt(moved + 8, addressesTail);
        ring.putShort(moved + 12, (short) tpid, BE);
        ring.putShort(moved + 14, (short) tci, BE);
        // csum_start and hdr_len count from the start of the frame: the tag moved the headers 4 bytes further
        if ((ring.getByte(vnet + VirtioNetHeader.FLAGS_OFFSET) & VirtioNetHeader.FLAG_NEEDS_CSUM) != 0) {
            final int csumStart = ring.getShort(vnet + VirtioNetHeader.CSUM_START_OFFSET, LE) & 0xFFFF;
            ring.putShort(vnet + VirtioNetHeader.CSUM_START_OFFSET, (short) (csumStart + VLAN_TAG), LE);
        }
        final int hdrLen = ring.getShort(vnet + VirtioNetHeader.HDR_LEN_OFFSET, LE) & 0xFFFF;
        if (hdrLen != 0) {
            ring.putShort(vnet + VirtioNetHeader.HDR_LEN_OFFSET, (short) (hdrLen + VLAN_TAG), LE);
        }
        counters.increment(PortCounter.RX_VLAN_RESTORED);
        return moved;
    }
}
