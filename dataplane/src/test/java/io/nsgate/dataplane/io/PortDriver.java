// Test helpers that drive a PacketPort: wait for frames matching a condition, copying them out of the batches.
package io.nsgate.dataplane.io;

import java.util.ArrayList;
import java.util.List;
import java.util.function.Predicate;
import io.nsgate.dataplane.stats.PortCounter;

/** Polls and receives until enough matching frames arrived or the time is up. */
final class PortDriver {
    private PortDriver() {
    }

    /**
     * Receives from {@code port} until {@code wanted} frames matching {@code match} were seen or {@code timeoutMs}
     * passed; returns copies of the matching frames (possibly fewer than wanted) and hands every other frame to
     * {@code others} (may be null).
     */
    static List<ReceivedFrame> collect(PacketPort port, Predicate<ReceivedFrame> match, int wanted, long timeoutMs,
        List<ReceivedFrame> others) {
        PortPoller poller = new PortPoller(port);
        RxBatch batch = new RxBatch();
        List<ReceivedFrame> found = new ArrayList<>();
        long deadline = System.nanoTime() + timeoutMs * 1_000_000L;
        while (found.size() < wanted && System.nanoTime() < deadline) {
            int n = port.receive(batch);
            if (n == 0) {
                poller.poll(5);
                continue;
            }
            for (int i = 0; i < n; i++) {
                ReceivedFrame f = ReceivedFrame.copy(batch, i);
                if (match.test(f)) {
                    found.add(f);
                } else if (others != null) {
                    others.add(f);
                }
            }
        }
        port.receive(batch); // hand back the last blocks
        return found;
    }

    static List<ReceivedFrame> collect(PacketPort port, Predicate<ReceivedFrame> match, int wanted, long timeoutMs) {
        return collect(port, match, wanted, timeoutMs, null);
    }

    /** Receives and discards everything already in the ring. */
    static int drain(PacketPort port) {
        RxBatch batch = new RxBatch();
        int total = 0;
        int n;
        while ((n = port.receive(batch)) > 0) {
            total += n;
        }
        return total;
    }

    /** The frames the kernel dropped at the port's full receive ring so far (asks the kernel first). */
    static long ringDrops(PacketPort port) {
        port.refreshKernelCounters();
        return port.counters().get(PortCounter.RX_RING_DROPS);
    }

    /** The times the kernel froze the port's V3 receive ring so far (asks the kernel first). */
    static long ringFreezes(PacketPort port) {
        port.refreshKernelCounters();
        return port.counters().get(PortCounter.RX_RING_FREEZES);
    }
}
