// Frames already translated that wait for their next hop's MAC: a worker's small holding area while ARP resolves.
package io.nsgate.dataplane.pipeline;

import org.agrona.DirectBuffer;
import org.agrona.concurrent.UnsafeBuffer;

/**
 * Like the kernel's per-neighbour queue (unres_qlen), so that the first SYN towards a host not yet resolved is
 * delayed by one ARP round trip instead of lost and retransmitted a second later. Fixed slots allocated once; a
 * frame larger than a slot, or arriving when all slots are busy, is dropped (NO_NEIGHBOUR). A frame whose
 * neighbour does not answer within {@link #HOLD_NS} is dropped too. One instance per worker; not thread-safe.
 */
final class PendingFrames {
    static final int SLOTS = 64;
    /** Largest frame held. */
    static final int SLOT_BYTES = 2048;
    /** A slot: the frame's virtio-net header at 0 (10 bytes), the frame at {@link #FRAME_AT}. */
    static final int FRAME_AT = 16;
    static final int STRIDE = FRAME_AT + SLOT_BYTES;
    /** Linux holds unresolved packets for about retrans_time x mcast_solicit (3 s); one second is kinder to flows. */
    static final long HOLD_NS = 1_000_000_000L;

    final UnsafeBuffer data = new UnsafeBuffer(new byte[SLOTS * STRIDE]);
    final boolean[] used = new boolean[SLOTS];
    final boolean[] hasVnet = new boolean[SLOTS];
    final int[] length = new int[SLOTS];
    final int[] egress = new int[SLOTS];
    final int[] nextHop = new int[SLOTS];
    /** An IPv6 frame's next hop (then nextHop is unused). */
    final boolean[] ipv6 = new boolean[SLOTS];
    final long[] nextHop6High = new long[SLOTS];
    final long[] nextHop6Low = new long[SLOTS];
    final long[] since = new long[SLOTS];
    int count;

    /** Copies a frame (and its virtio-net header, if any) in; false when it does not fit. */
    boolean hold(DirectBuffer source, int vnetOffset, int frameOffset, int frameLength, int egressInterface,
                 int nextHopIp, long nowNs) {
        return hold(source, vnetOffset, frameOffset, frameLength, egressInterface, nextHopIp, false, 0, 0, nowNs);
    }

    /** As above for an IPv6 frame waiting for {@code (high, low)}'s MAC. */
    boolean hold6(DirectBuffer source, int vnetOffset, int frameOffset, int frameLength, int egressInterface,
                  long high, long low, long nowNs) {
        return hold(source, vnetOffset, frameOffset, frameLength, egressInterface, 0, true, high, low, nowNs);
    }

    private boolean hold(DirectBuffer source, int vnetOffset, int frameOffset, int frameLength, int egressInterface,
                         int nextHopIp, boolean v6, long high, long low, long nowNs) {
        if (frameLength > SLOT_BYTES || count == SLOTS) {
            return false;
        }
        for (int s = 0; s < SLOTS; s++) {
            if (!used[s]) {
                data.putBytes(s * STRIDE + FRAME_AT, source, frameOffset, frameLength);
                hasVnet[s] = vnetOffset >= 0;
                if (vnetOffset >= 0) {
                    data.putBytes(s * STRIDE, source, vnetOffset, 10);
                }
                used[s] = true;
                length[s] = frameLength;
                egress[s] = egressInterface;
                nextHop[s] = nextHopIp;
                ipv6[s] = v6;
                nextHop6High[s] = high;
                nextHop6Low[s] = low;
                since[s] = nowNs;
                count++;
                return true;
            }
        }
        return false;
    }

    int vnetOffset(int slot) {
        return hasVnet[slot] ? slot * STRIDE : -1;
    }

    int frameOffset(int slot) {
        return slot * STRIDE + FRAME_AT;
    }

    void release(int slot) {
        used[slot] = false;
        count--;
    }
}
