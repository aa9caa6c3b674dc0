// Walks a TPACKET_V2 receive ring in place: one status word per frame slot, each frame handed over as soon as written.
package io.nsgate.dataplane.io;

import org.agrona.concurrent.UnsafeBuffer;

import io.nsgate.dataplane.stats.PortCounter;
import io.nsgate.dataplane.stats.PortCounters;
import io.nsgate.linux.sys.Linux;

/**
 * The user-space half of a TPACKET_V2 RX ring (layouts in {@link Tpacket2}). Theory of operation: the ring is
 * {@code slotCount} slots of {@code slotSize} bytes, as many to a block of {@code blockSize} bytes as fit (the
 * kernel's allocation unit: a block's tail that holds no whole slot is unused); the kernel writes each received frame
 * into the slot at its head, sets that slot's {@code tp_status} to TP_STATUS_USER and wakes the socket, frame by
 * frame, with no timer. A slot
 * whose status is not TP_STATUS_KERNEL when the kernel's head reaches it makes the kernel drop the frame (counted
 * in PACKET_STATISTICS), never wait. This class keeps a cursor {@link #next} that follows the kernel's head and reads
 * slots in the same order, stopping at the first one not handed over. Slots taken into a batch (or dropped from it)
 * are handed back (TP_STATUS_KERNEL) at the start of the <em>next</em> {@link #receive}, never earlier: until then
 * the frames of the current batch stay valid and writable.
 *
 * <pre>
 *   slot:    0        1        2        3        4   ...   N-1
 *          [kernel] [ user ] [ user ] [ user ] [kernel] ... [kernel]
 *                    ^release           ^next (cursor): the next slot to look at
 *                    `-- slots 1 and 2 are in the current batch, going back at the next receive()
 * </pre>
 *
 * <p>Memory ordering: {@code tp_status} is read with acquire (the kernel writes the frame and its header, then
 * smp_wmb, then TP_STATUS_USER; acquire keeps our reads of them after our read of the status) and written with
 * release (our reads and in-place rewrites of the frame complete before the kernel may see the slot free and
 * refill it). Two CPUs may fill neighbouring slots at once and finish out of order; the cursor then waits at the
 * unfinished one, whose completion wakes the socket again, so nothing is skipped or read early.
 *
 * <p>A kernel hazard V3 does not have (read in {@code tpacket_rcv}, not reproduced here: it needs a GSO type the
 * virtio-net header cannot express, which only SCTP GSO is, and this kernel has no SCTP): the kernel marks the head
 * slot as being filled ({@code rx_owner_map}) before it writes the virtio-net header, and when
 * {@code virtio_net_hdr_from_skb} refuses the frame it drops it without clearing that mark or moving its head, so
 * every later frame is dropped too: nothing arrives and the port's ring drops ({@code RX_RING_DROPS}) climb until
 * the port is reopened. V3 drops only that frame.
 *
 * <p>Single-threaded: one worker owns it. No allocation, no system call, no lock.
 */
final class RxRingV2 extends RxRing {
    private final int slotSize;
    private final int slotCount;
    /** Where each slot starts in the ring: blocks one after another, slots one after another in a block. */
    private final int[] slotOffset;

    /** The slot to look at next: where the kernel's head was when we last caught up with it. */
    private int next;
    /** Oldest slot taken and not handed back yet. */
    private int release;
    /** Slots taken (into the batch, or dropped) and not handed back yet: they run from {@link #release} to next. */
    private int pendingRelease;

    /**
     * @param ring the RX part of the mapping: {@code slotCount / slotsPerBlock} blocks of {@code blockSize} bytes
     */
    RxRingV2(UnsafeBuffer ring, int blockSize, int slotSize, int slotCount, PortCounters counters) {
        super(ring, Tpacket2.HEADER_LENGTH, Tpacket2.SNAPLEN, Tpacket2.LEN, Tpacket2.MAC, Tpacket2.VLAN_TCI,
            Tpacket2.VLAN_TPID, counters);
        if (slotSize < Tpacket2.HDRLEN || slotSize > blockSize) {
            throw new IllegalArgumentException("RX slots of " + slotSize + " bytes cannot hold a frame header or do"
                + " not fit a " + blockSize + "-byte block");
        }
        final int perBlock = blockSize / slotSize;
        if (slotCount < 1 || slotCount % perBlock != 0 || (long) blockSize * (slotCount / perBlock) > ring.capacity()) {
            throw new IllegalArgumentException(slotCount + " slots of " + slotSize + " bytes, " + perBlock + " per "
                + blockSize + "-byte block, do not make whole blocks within the buffer of " + ring.capacity()
                + " bytes");
        }
        this.slotSize = slotSize;
        this.slotCount = slotCount;
        this.slotOffset = new int[slotCount];
        for (int i = 0; i < slotCount; i++) {
            slotOffset[i] = i / perBlock * blockSize + i % perBlock * slotSize;
        }
    }

    /**
     * Hands back the slots the previous batch held, then fills {@code batch} with up to {@link RxBatch#CAPACITY}
     * frames from the slots the kernel has handed over since.
     *
     * @return frames in the batch
     */
    @Override
    int receive(RxBatch batch) {
        releaseTakenSlots();
        batch.buffer = ring;
        int count = 0;
        while (count < RxBatch.CAPACITY && pendingRelease < slotCount) {
            final int slot = slotOffset[next];
            // acquire: seeing TP_STATUS_USER makes the kernel's writes of the frame and its header visible below
            final int status = ring.getIntAcquire(slot + Tpacket2.STATUS);
            if ((status & Linux.TP_STATUS_USER) == 0) {
                break;
            }
            final int taken = take(batch, count, slot, slot + slotSize, status);
            if (taken == BROKEN) {
                counters.increment(PortCounter.RX_MALFORMED);
            } else {
                count += taken;
            }
            next = next + 1 == slotCount ? 0 : next + 1;
            pendingRelease++;
        }
        counters.add(PortCounter.RX_FRAMES, count);
        batch.count = count;
        return count;
    }

    private void releaseTakenSlots() {
        while (pendingRelease > 0) {
            // release: our reads and in-place rewrites of the frame happen before the kernel refills the slot
            ring.putIntRelease(slotOffset[release] + Tpacket2.STATUS, Linux.TP_STATUS_KERNEL);
            release = release + 1 == slotCount ? 0 : release + 1;
            pendingRelease--;
        }
    }
}
