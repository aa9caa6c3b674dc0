// The translator's fast path allocates nothing per frame, for IPv4 and IPv6 flows alike.
package io.nsgate.dataplane.nat;

import static io.nsgate.dataplane.nat.SeedLabRules.*;
import static io.nsgate.dataplane.testsupport.Frames.ACK;
import static io.nsgate.dataplane.testsupport.Frames.SYN;
import static org.junit.jupiter.api.Assertions.*;

import java.lang.management.ManagementFactory;

import org.agrona.concurrent.UnsafeBuffer;
import org.junit.jupiter.api.Test;

import io.nsgate.dataplane.testsupport.Frames;

/**
 * Established flows of both families (a forward's data segments in both directions, masqueraded UDP and pings)
 * through the translator many times; {@code ThreadMXBean#getThreadAllocatedBytes} must not move. The slow path (new
 * flows) may allocate; these frames never take it after the first round.
 */
class TranslatorAllocationTest {
    private static final int ROUNDS = 100_000;
    private static final long SLACK_BYTES = 4096;

    @Test
    void establishedFlowsOfBothFamiliesAllocateNothing() {
        com.sun.management.ThreadMXBean threads =
            (com.sun.management.ThreadMXBean) ManagementFactory.getThreadMXBean();
        try (Harness h = new Harness(rules())) {
            byte[][] opening = {
                Translator6Test.tcp6("fd01::3", 40000, "fd01::2", 80, SYN, 0),
                Frames.tcp().src(LAN, 40000).dst(GW_LAN, 80).flags(SYN).build(),
            };
            int[] ingress = {LAN_IF, LAN_IF, INSIDE_IF, INSIDE_IF};
            for (int i = 0; i < opening.length; i++) {
                assertEquals(Verdict.FORWARD, h.process(opening[i], ingress[i]), h.verdict::toString);
            }
            // the segments that follow (ACKs in the window the SYN opened; the window checks stay liberal enough
            // while nothing is acknowledged) and NAT flows that need no handshake
            byte[][] frames = {
                Translator6Test.tcp6("fd01::3", 40000, "fd01::2", 80, ACK, 0),
                Frames.tcp().src(LAN, 40000).dst(GW_LAN, 80).flags(ACK).build(),
                Translator6Test.udp6("fd15::1", 5000, "fd01::3", 53, 32),
                Translator6Test.echo6("fd15::1", "fd01::3", 128, 9),
            };
            UnsafeBuffer scratch = new UnsafeBuffer(new byte[2048]);
            run(h, frames, ingress, scratch, 1000);
            long before = threads.getCurrentThreadAllocatedBytes();
            long forwarded = run(h, frames, ingress, scratch, ROUNDS);
            long allocated = threads.getCurrentThreadAllocatedBytes() - before;
            assertEquals(ROUNDS, forwarded, "every frame took the fast path and was forwarded");
            assertTrue(allocated < SLACK_BYTES, allocated + " bytes allocated over " + ROUNDS * frames.length
                + " frames");
        }
    }

    /** Copies each frame into {@code scratch} (translation rewrites in place) and processes it; counts forwards. */
    private static long run(Harness h, byte[][] frames, int[] ingress, UnsafeBuffer scratch, int rounds) {
        long forwarded = 0;
        for (int i = 0; i < rounds; i++) {
            int f = i % frames.length;
            scratch.putBytes(0, frames[f]);
            if (h.translator.process(scratch, 0, frames[f].length, ingress[f], 0, 0, 0, h.now, h.verdict)
                == Verdict.FORWARD) {
                forwarded++;
            }
        }
        return forwarded;
    }
}
