// Fills the slots of a TPACKET_V3 or V2 transmit ring in order: a virtio-net header and a frame per slot.
package io.nsgate.dataplane.io;

import java.nio.ByteOrder;

import org.agrona.DirectBuffer;
import org.agrona.concurrent.UnsafeBuffer;

import io.nsgate.dataplane.packet.VirtioNetHeader;
import io.nsgate.dataplane.stats.PortCounter;
import io.nsgate.dataplane.stats.PortCounters;
import io.nsgate.linux.sys.Linux;

/**
 * The user-space half of a TX ring of fixed-size slots. The socket's PACKET_VERSION applies to both its rings, so a
 * port with a V2 RX ring has a V2 TX ring too: its slot header is 32 bytes with tp_status at 0 and the data at 32,
 * where V3's is 48 bytes with tp_status at 20 and the data at 48 ({@link Tpacket2}, {@link Tpacket3}); {@link #v2}
 * and {@link #v3} make one of each, the rest is the same. Theory of operation: the
 * kernel's {@code tpacket_snd} (run by the kick, {@code sendto}) walks the slots in ring order from its own head
 * and sends each one marked TP_STATUS_SEND_REQUEST, stopping at the first that is not. This class writes slots in
 * the same order from its cursor {@link #next}, so both walk one sequence. A slot is reusable once the kernel has
 * set it back to TP_STATUS_AVAILABLE, which happens when the skb built over it is freed or orphaned (the kernel maps
 * the slot's pages into the skb instead of copying, so "sent" is not "free"): until then the ring is full.
 *
 * <pre>
 *   slot:  0           1           2           3          ...  N-1
 *        [available] [sending ] [send req] [send req]  [available]
 *                     ^kernel's head          ^last queued  ^next (cursor): where transmit() writes
 * </pre>
 *
 * <p>Slot status values: AVAILABLE (0, timestamp bits aside) is free; SEND_REQUEST (ours, waiting for a kick) and
 * SENDING (the kernel's skb is alive) are busy; WRONG_FORMAT is a frame the kernel refused and left in place.
 * nsgate sets PACKET_LOSS, with which the kernel instead skips a refused frame and marks it AVAILABLE (without it
 * the kernel's head would stay on the refused slot and the ring would stall); should one still be seen, it counts as
 * {@link PortCounter#TX_WRONG_FORMAT} and the slot is reused.
 *
 * <p>Memory ordering: {@code tp_status} is read with acquire before a slot is written (the kernel set AVAILABLE
 * after its last use of the slot's bytes, so our overwrite comes after it) and published with release (the header
 * and frame bytes are in place before the kernel can see SEND_REQUEST).
 *
 * <p>Single-threaded: one worker owns it. No allocation, no system call, no lock.
 */
final class TxRing {
    private static final int VNET = VirtioNetHeader.LENGTH;
    private static final int BUSY = Linux.TP_STATUS_SEND_REQUEST | Linux.TP_STATUS_SENDING;
    private static final ByteOrder LE = ByteOrder.LITTLE_ENDIAN;

    private final UnsafeBuffer ring;
    private final int slotSize;
    private final int slotCount;
    private final int maxFrameLength;
    // the slot header's layout
    private final int statusField;
    private final int lenField;
    /** tp_next_offset (V3 only, must be 0), or -1. */
    private final int nextOffsetField;
    private final int dataOffset;

    /** The slot transmit() fills next. */
    private int next;
    /** Slots published since the last {@link #kicked()}. */
    private int queued;
    /** Offset of the most recently published slot, or -1. */
    private int lastPublished = -1;

    /** Where queued, refused and rejected frames are counted (the port's). */
    private final PortCounters counters;

    /**
     * A TPACKET_V3 TX ring.
     *
     * @param ring the TX part of the mapping: {@code slotCount} slots of {@code slotSize} bytes
     */
    static TxRing v3(UnsafeBuffer ring, int slotSize, int slotCount, PortCounters counters) {
        return new TxRing(ring, slotSize, slotCount, counters, Tpacket3.STATUS, Tpacket3.LEN, Tpacket3.NEXT_OFFSET,
            Tpacket3.TX_DATA);
    }

    /**
     * A TPACKET_V2 TX ring.
     *
     * @param ring the TX part of the mapping: {@code slotCount} slots of {@code slotSize} bytes
     */
    static TxRing v2(UnsafeBuffer ring, int slotSize, int slotCount, PortCounters counters) {
        return new TxRing(ring, slotSize, slotCount, counters, Tpacket2.STATUS, Tpacket2.LEN, -1, Tpacket2.TX_DATA);
    }

    private TxRing(UnsafeBuffer ring, int slotSize, int slotCount, PortCounters counters, int statusField,
        int lenField, int nextOffsetField, int dataOffset) {
        if ((long) slotSize * slotCount > ring.capacity()) {
            throw new IllegalArgumentException(slotCount + " slots of " + slotSize + " bytes exceed the buffer of "
                + ring.capacity() + " bytes");
        }
        if (slotSize <= dataOffset + VNET + Linux.ETH_HLEN) {
            throw new IllegalArgumentException("TX slots of " + slotSize + " bytes cannot hold a frame");
        }
        this.ring = ring;
        this.counters = counters;
        this.slotSize = slotSize;
        this.slotCount = slotCount;
        this.statusField = statusField;
        this.lenField = lenField;
        this.nextOffsetField = nextOffsetField;
        this.dataOffset = dataOffset;
        this.maxFrameLength = slotSize - dataOffset - VNET;
    }

    /** The longest frame a slot holds (the slot less the frame header and the virtio-net header). */
    int maxFrameLength() {
        return maxFrameLength;
    }

    /**
     * Whether frames that are not GSO super-frames are copied whole into the skb ({@code -Dnsgate.txLinear}, off).
     * Measured alternately twice on the 2-vCPU AMD EPYC: 64-byte UDP +20 % (246-251k to 290-302k frames/s), new
     * connections unchanged, HTTP keep-alive -15 to -18 % (72-74k to 59-64k req/s): off, since keep-alive is the
     * goal still missed.
     */
    static final boolean LINEAR = Boolean.parseBoolean(System.getProperty("nsgate.txLinear", "false"));
    private boolean linear = LINEAR;

    /** Overrides {@link #LINEAR} for this ring (tests). */
    void linear(boolean on) {
        this.linear = on;
    }

    /**
     * Copies a frame and its virtio-net header ({@code vnetOffset} -1: zeroes) into the next slot and publishes it.
     * A frame the kernel would refuse (longer than a slot, shorter than an Ethernet header, or whose header's
     * checksum position lies beyond it) is dropped and counted ({@link PortCounter#TX_REJECTED}): true is returned all
     * the same, for trying again would not help.
     *
     * @return false when the next slot is still busy: the ring is full
     */
    boolean offer(DirectBuffer source, int vnetOffset, int frameOffset, int frameLength) {
        if (frameLength > maxFrameLength || frameLength < Linux.ETH_HLEN
            || vnetOffset >= 0 && !kernelWouldAccept(source, vnetOffset, frameLength)) {
            counters.increment(PortCounter.TX_REJECTED);
            return true;
        }
        final int slot = next * slotSize;
        // acquire: AVAILABLE is set after the kernel's last use of the slot, so our overwrite below comes after it
        final int status = ring.getIntAcquire(slot + statusField);
        if ((status & BUSY) != 0) {
            counters.increment(PortCounter.TX_RING_FULL);
            return false;
        }
        if ((status & Linux.TP_STATUS_WRONG_FORMAT) != 0) {
            counters.increment(PortCounter.TX_WRONG_FORMAT);
        }
        final int data = slot + dataOffset;
        if (vnetOffset >= 0) {
            ring.putLong(data, source.getLong(vnetOffset));
            ring.putShort(data + 8, source.getShort(vnetOffset + 8));
        } else {
            ring.putLong(data, 0L);
            ring.putShort(data + 8, (short) 0);
        }
        if (linear && (ring.getByte(data + VirtioNetHeader.GSO_TYPE_OFFSET) & 0xFF) == VirtioNetHeader.GSO_NONE) {
            // hdr_len is what the kernel copies into the skb's own buffer; the rest it attaches as the ring's pages
            // (zero-copy), which veth then copies again (skb_copy_ubufs) when the skb enters the peer's namespace,
            // and which hold the slot until then. A frame that is not a GSO super-frame is copied whole instead.
            ring.putShort(data + VirtioNetHeader.HDR_LEN_OFFSET, (short) frameLength, LE);
        }
        ring.putBytes(data + VNET, source, frameOffset, frameLength);
        if (nextOffsetField >= 0) {
            ring.putInt(slot + nextOffsetField, 0);
        }
        ring.putInt(slot + lenField, VNET + frameLength);
        // release: the header, tp_len and the frame are in place before the kernel can see the request
        ring.putIntRelease(slot + statusField, Linux.TP_STATUS_SEND_REQUEST);
        lastPublished = slot;
        next = next + 1 == slotCount ? 0 : next + 1;
        queued++;
        counters.increment(PortCounter.TX_FRAMES);
        return true;
    }

    /**
     * The kernel's {@code __packet_snd_vnet_parse} check: with NEEDS_CSUM the checksum field must lie within
     * hdr_len (raised to cover it), and hdr_len within the frame.
     */
    static boolean kernelWouldAccept(DirectBuffer source, int vnetOffset, int frameLength) {
        int hdrLen = source.getShort(vnetOffset + VirtioNetHeader.HDR_LEN_OFFSET, LE) & 0xFFFF;
        if ((source.getByte(vnetOffset + VirtioNetHeader.FLAGS_OFFSET) & VirtioNetHeader.FLAG_NEEDS_CSUM) != 0) {
            final int checksumEnd = (source.getShort(vnetOffset + VirtioNetHeader.CSUM_START_OFFSET, LE) & 0xFFFF)
                + (source.getShort(vnetOffset + VirtioNetHeader.CSUM_OFFSET_OFFSET, LE) & 0xFFFF) + 2;
            hdrLen = Math.max(hdrLen, checksumEnd);
        }
        return hdrLen <= frameLength;
    }

    /** Slots published since the last kick. */
    int queued() {
        return queued;
    }

    /** Called after a kick: the kernel has walked the ring (whatever it managed to send). */
    void kicked() {
        queued = 0;
    }

    /**
     * True when the kernel has taken every published slot (none is still SEND_REQUEST), false when a kick left
     * some behind (EAGAIN, ENOBUFS, interface down) and another kick is owed.
     */
    boolean drained() {
        // acquire: pairs with the kernel's status store after it took the slot
        return lastPublished < 0
            || (ring.getIntAcquire(lastPublished + statusField) & Linux.TP_STATUS_SEND_REQUEST) == 0;
    }
}
