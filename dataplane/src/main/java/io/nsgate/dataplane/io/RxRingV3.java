// Walks a TPACKET_V3 receive ring in place: ready blocks in, batches of frames out, blocks back once done with.
package io.nsgate.dataplane.io;

import org.agrona.concurrent.UnsafeBuffer;

import io.nsgate.dataplane.stats.PortCounter;
import io.nsgate.dataplane.stats.PortCounters;
import io.nsgate.linux.sys.Linux;

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
 * <p>What is done with each frame (clamped ones dropped, VLAN tags put back, the virtio-net header decoded) is
 * {@link RxRing#take}, shared with the V2 ring. A block is handed over only when full or when its retire timer
 * fires, so a lone frame waits up to that timer: see {@link RxRingV2} for the ring without that wait.
 *
 * <p>Single-threaded: one worker owns it. No allocation, no system call, no lock.
 */
final class RxRingV3 extends RxRing {
    /** framesLeft value meaning no block is open: the cursor block has yet to be checked for TP_STATUS_USER. */
    private static final int CLOSED = -1;

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

    /**
     * @param ring the RX part of the mapping: {@code blockCount} blocks of {@code blockSize} bytes
     */
    RxRingV3(UnsafeBuffer ring, int blockSize, int blockCount, PortCounters counters) {
        super(ring, Tpacket3.HEADER_LENGTH, Tpacket3.SNAPLEN, Tpacket3.LEN, Tpacket3.MAC, Tpacket3.VLAN_TCI,
            Tpacket3.VLAN_TPID, counters);
        if ((long) blockSize * blockCount > ring.capacity()) {
            throw new IllegalArgumentException(blockCount + " blocks of " + blockSize + " bytes exceed the buffer of "
                + ring.capacity() + " bytes");
        }
        this.blockSize = blockSize;
        this.blockCount = blockCount;
    }

    /**
     * Hands back the blocks the previous batch finished, then fills {@code batch} with up to
     * {@link RxBatch#CAPACITY} frames from ready blocks.
     *
     * @return frames in the batch
     */
    @Override
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
            nextFrame = header + ring.getInt(header + Tpacket3.NEXT_OFFSET);
            final int taken = take(batch, count, header, blockEnd, ring.getInt(header + Tpacket3.STATUS));
            if (taken == BROKEN) {
                skipRestOfBlock();
                continue;
            }
            count += taken;
            if (framesLeft == 0) {
                finishBlock();
            }
        }
        counters.add(PortCounter.RX_FRAMES, count);
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
            counters.increment(PortCounter.RX_MALFORMED);
        } else {
            framesLeft = count;
        }
        nextFrame = base + first;
        return true;
    }

    private void skipRestOfBlock() {
        counters.increment(PortCounter.RX_MALFORMED);
        finishBlock();
    }

    private void finishBlock() {
        framesLeft = CLOSED;
        pendingRelease++;
        block = block + 1 == blockCount ? 0 : block + 1;
    }
}
