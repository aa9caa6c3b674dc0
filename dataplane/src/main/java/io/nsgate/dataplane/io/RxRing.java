// Walks a TPACKET_V3 receive ring in place: ready blocks in, batches of frames out, blocks back once done with.
package io.nsgate.dataplane.io;

import java.nio.ByteOrder;

import org.agrona.concurrent.UnsafeBuffer;

import io.nsgate.dataplane.packet.VirtioNetHeader;
import io.nsgate.dataplane.sys.Linux;

/**
 * The user-space half of a TPACKET_V3 RX ring (layouts in {@link Tpacket3}). Theory of operation: the kernel fills
 * blocks in ring order, one at a time, with as many frames as fit, and hands a block over by setting its
 * {@code block_status} to TP_STATUS_USER when it is full or its retire timer fires. This class keeps a cursor (the
 * block being read and the next frame in it) and reads blocks in the same order. Frames go into an {@link RxBatch}
 * as offsets into the ring buffer, so the worker reads and rewrites them where the kernel put them. A block whose
 * frames have all been put into batches is handed back (TP_STATUS_KERNEL) at the start of the <em>next</em>
 * {@link #receive}, never earlier: until then the frames of the current batch stay valid and writable, even when
 * the batch ended exactly at a block's end.
 *
 * <pre>
 *   block:   0        1        2        3        4   ...   N-1
 *          [kernel] [ user ] [ user ] [ user ] [kernel] ... [kernel]
 *                    ^releaseBlock     ^block (cursor): frames left to read
 *                    `-- taken in full, waiting for the next receive() to go back
 * </pre>
 *
 * <p>Memory ordering: {@code block_status} is read with acquire (the kernel's writes of the frames happen before it
 * publishes TP_STATUS_USER; acquire keeps our reads of them after our read of the status) and written with release
 * (our reads and in-place rewrites of the block's frames complete before the kernel may see it free and refill it).
 *
 * <p>Frames the kernel clamped (tp_snaplen < tp_len: a frame longer than the block) are dropped and counted, never
 * passed on truncated. A frame whose VLAN tag the device took out (TP_STATUS_VLAN_VALID, hardware-accelerated tag
 * on veth) gets its tag put back in place: the virtio-net header and MAC addresses move 4 bytes towards the
 * frame header (there are 34 unused bytes: the sockaddr_ll and a gap) so the worker sees the frame as it was on the
 * wire, with csum_start and hdr_len shifted to match.
 *
 * <p>Single-threaded: one worker owns it. No allocation, no system call, no lock.
 */
final class RxRing {
    /** framesLeft value meaning no block is open: the cursor block has yet to be checked for TP_STATUS_USER. */
    private static final int CLOSED = -1;
    private static final int VNET = VirtioNetHeader.LENGTH;
    private static final int VLAN_TAG = 4;
    private static final ByteOrder LE = ByteOrder.LITTLE_ENDIAN;
    private static final ByteOrder BE = ByteOrder.BIG_ENDIAN;

    private final UnsafeBuffer ring;
    private final int blockSize;
    private final int blockCount;

    /** The block being read, or the next one to check. */
    private int block;
    /** Frames of the open block not yet put in a batch, or {@link #CLOSED}. */
    private int framesLeft = CLOSED;
    /** Offset of the next frame header in the open block. */
    private int nextFrame;
    /** Oldest block taken in full and not handed back yet. */
    private int releaseBlock;
    /** Blocks taken in full and not handed back yet (they precede {@link #block}). */
    private int pendingRelease;

    private long frames;
    private long truncated;
    private long vlanRestored;
    private long malformed;

    /**
     * @param ring the RX part of the mapping: {@code blockCount} blocks of {@code blockSize} bytes
     */
    RxRing(UnsafeBuffer ring, int blockSize, int blockCount) {
        if ((long) blockSize * blockCount > ring.capacity()) {
            throw new IllegalArgumentException(blockCount + " blocks of " + blockSize + " bytes exceed the buffer of "
                + ring.capacity() + " bytes");
        }
        this.ring = ring;
        this.blockSize = blockSize;
        this.blockCount = blockCount;
    }

    /** The ring buffer that the batches' offsets refer to. */
    UnsafeBuffer buffer() {
        return ring;
    }

    /**
     * Hands back the blocks the previous batch finished, then fills {@code batch} with up to
     * {@link RxBatch#CAPACITY} frames from ready blocks.
     *
     * @return frames in the batch
     */
    int receive(RxBatch batch) {
        releaseFinishedBlocks();
        batch.buffer = ring;
        int count = 0;
        while (count < RxBatch.CAPACITY) {
            if (framesLeft == CLOSED && !openBlock()) {
                break;
            }
            if (framesLeft == 0) {
                finishBlock();
                continue;
            }
            final int header = nextFrame;
            final int blockEnd = (block + 1) * blockSize;
            framesLeft--;
            if (header + Tpacket3.HEADER_LENGTH > blockEnd) {
                skipRestOfBlock();
                continue;
            }
            final int snaplen = ring.getInt(header + Tpacket3.SNAPLEN);
            final int length = ring.getInt(header + Tpacket3.LEN);
            final int mac = ring.getShort(header + Tpacket3.MAC) & 0xFFFF;
            final int status = ring.getInt(header + Tpacket3.STATUS);
            nextFrame = header + ring.getInt(header + Tpacket3.NEXT_OFFSET);
            int frame = header + mac;
            if (mac < Tpacket3.HEADER_LENGTH + VNET || snaplen < 0 || frame + snaplen > blockEnd) {
                skipRestOfBlock(); // the kernel never writes this: a broken ring must not send us outside it
                continue;
            }
            final boolean tagged = (status & Linux.TP_STATUS_VLAN_VALID) != 0;
            if (snaplen != length) {
                truncated++;
            } else if (snaplen >= Linux.ETH_HLEN && (!tagged || mac >= Tpacket3.HEADER_LENGTH + VNET + VLAN_TAG)) {
                int frameLength = snaplen;
                if (tagged) {
                    frame = restoreVlanTag(header, frame, status);
                    frameLength += VLAN_TAG;
                }
                final int vnet = frame - VNET;
                batch.frameOffset[count] = frame;
                batch.frameLength[count] = frameLength;
                batch.vnetOffset[count] = vnet;
                batch.vnetFlags[count] = ring.getByte(vnet + VirtioNetHeader.FLAGS_OFFSET) & 0xFF;
                batch.gsoType[count] = ring.getByte(vnet + VirtioNetHeader.GSO_TYPE_OFFSET) & ~VirtioNetHeader.GSO_ECN
                    & 0xFF;
                batch.gsoSize[count] = ring.getShort(vnet + VirtioNetHeader.GSO_SIZE_OFFSET, LE) & 0xFFFF;
                count++;
            } else {
                malformed++;
            }
            if (framesLeft == 0) {
                finishBlock();
            }
        }
        frames += count;
        batch.count = count;
        return count;
    }

    private void releaseFinishedBlocks() {
        while (pendingRelease > 0) {
            // release: our reads and in-place rewrites of the block's frames happen before the kernel refills it
            ring.putIntRelease(releaseBlock * blockSize + Tpacket3.BLOCK_STATUS, Linux.TP_STATUS_KERNEL);
            releaseBlock = releaseBlock + 1 == blockCount ? 0 : releaseBlock + 1;
            pendingRelease--;
        }
    }

    /** Opens the cursor block if the kernel has handed it over; false when it has not (or all blocks are taken). */
    private boolean openBlock() {
        if (pendingRelease == blockCount) {
            return false; // a small ring whose every block is in this batch: the cursor is back at the oldest
        }
        final int base = block * blockSize;
        // acquire: seeing TP_STATUS_USER makes the kernel's writes of the block's frames visible to the reads below
        final int status = ring.getIntAcquire(base + Tpacket3.BLOCK_STATUS);
        if ((status & Linux.TP_STATUS_USER) == 0) {
            return false;
        }
        final int first = ring.getInt(base + Tpacket3.BLOCK_OFFSET_TO_FIRST_PKT);
        final int count = ring.getInt(base + Tpacket3.BLOCK_NUM_PKTS);
        if (first < Tpacket3.BLOCK_HEADER_LENGTH || first >= blockSize || count < 0) {
            framesLeft = 0; // nothing readable: hand it back
            malformed++;
        } else {
            framesLeft = count;
        }
        nextFrame = base + first;
        return true;
    }

    private void skipRestOfBlock() {
        malformed++;
        finishBlock();
    }

    private void finishBlock() {
        framesLeft = CLOSED;
        pendingRelease++;
        block = block + 1 == blockCount ? 0 : block + 1;
    }

    /**
     * Puts the 802.1Q (or 802.1ad) tag the kernel reported in tp_vlan_tci back between the MAC addresses and the
     * EtherType, moving the virtio-net header and the addresses 4 bytes down; returns the new frame offset.
     */
    private int restoreVlanTag(int header, int frame, int status) {
        final int tci = ring.getInt(header + Tpacket3.VLAN_TCI) & 0xFFFF;
        final int tpid = (status & Linux.TP_STATUS_VLAN_TPID_VALID) != 0
            ? ring.getShort(header + Tpacket3.VLAN_TPID) & 0xFFFF : Linux.ETH_P_8021Q;
        final long vnetHead = ring.getLong(frame - VNET);
        final short vnetTail = ring.getShort(frame - 2);
        final long addresses = ring.getLong(frame);
        final int addressesTail = ring.getInt(frame + 8);
        final int moved = frame - VLAN_TAG; // the caller checked tp_mac >= 48 + 10 + 4: room below for the move
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
        vlanRestored++;
        return moved;
    }

    /** Frames put into batches. */
    long frames() {
        return frames;
    }

    /** Frames dropped because the kernel clamped them to the block (tp_snaplen < tp_len). */
    long truncated() {
        return truncated;
    }

    /** Frames whose offloaded VLAN tag was put back. */
    long vlanRestored() {
        return vlanRestored;
    }

    /** Frames or blocks skipped because their header made no sense (never expected) or shorter than Ethernet. */
    long malformed() {
        return malformed;
    }
}
