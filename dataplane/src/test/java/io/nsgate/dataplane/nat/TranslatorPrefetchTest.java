// The prefetch pass a worker runs over a block of frames: a hint that reads safely and changes nothing.
package io.nsgate.dataplane.nat;

import static io.nsgate.dataplane.nat.SeedLabRules.*;
import static io.nsgate.dataplane.testsupport.Frames.ACK;
import static io.nsgate.dataplane.testsupport.Frames.SYN;
import static org.junit.jupiter.api.Assertions.*;

import java.util.Arrays;
import java.util.SplittableRandom;

import org.agrona.concurrent.UnsafeBuffer;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import io.nsgate.dataplane.conntrack.FlowDraft;
import io.nsgate.dataplane.conntrack.FlowTable;
import io.nsgate.dataplane.conntrack.FlowTimeouts;
import io.nsgate.dataplane.testsupport.Frames;

class TranslatorPrefetchTest {
    private static final int SLOT = 256;

    /** A table big enough for the prefetch to be on: the crowd plus room for the test's own flows. */
    private final Harness h = new Harness(rules(),
        new FlowTable(Translator.PREFETCH_MIN_FLOWS * 2, FlowTimeouts.DEFAULTS, 0, 7));

    TranslatorPrefetchTest() {
        FlowDraft d = new FlowDraft();
        for (int i = 0; i < Translator.PREFETCH_MIN_FLOWS; i++) {
            d.original(6, 0x0A000000 + i, 0x08080808, 40000, 443).reply(0x08080808, 0x0B000000 + i, 443, 40000);
            assertTrue(h.table.insert(d, 0, null) >= 0);
        }
    }

    @AfterEach
    void close() {
        h.close();
    }

    @Test
    void randomAndTruncatedFramesAreReadWithinTheirLengthAndLeftUnchanged() {
        // Bounds checks are on in tests, so a read past the buffer throws: each round's last frame, another random
        // shape every time, sits at the very end of the buffer, so reading past a frame's length would throw.
        SplittableRandom rnd = new SplittableRandom(42);
        int batch = 32;
        UnsafeBuffer buf = new UnsafeBuffer(new byte[batch * SLOT]);
        int[] offsets = new int[batch];
        int[] lengths = new int[batch];
        byte[] tcp = Frames.tcp().src("192.168.15.2", 40000).dst("192.168.1.3", 80).flags(ACK).build();
        for (int round = 0; round < 20_000; round++) {
            for (int i = 0; i < batch; i++) {
                offsets[i] = i * SLOT;
                byte[] frame = rnd.nextInt(4) == 0 ? randomBytes(rnd, rnd.nextInt(SLOT)) : mangled(rnd, tcp);
                lengths[i] = frame.length;
                buf.putBytes(offsets[i], frame);
            }
            int last = batch - 1;
            offsets[last] = batch * SLOT - lengths[last];
            buf.putBytes(offsets[last], buf.byteArray(), last * SLOT, lengths[last]);
            byte[] before = buf.byteArray().clone();
            h.translator.prefetch(buf, offsets, lengths, batch, h.now);
            assertArrayEquals(before, buf.byteArray(), "prefetch writes nothing");
        }
    }

    private static byte[] randomBytes(SplittableRandom rnd, int n) {
        byte[] b = new byte[n];
        for (int i = 0; i < n; i++) {
            b[i] = (byte) rnd.nextInt(256);
        }
        return b;
    }

    /** A real TCP frame cut short somewhere, sometimes with a wild IHL or fragment offset. */
    private static byte[] mangled(SplittableRandom rnd, byte[] frame) {
        byte[] b = Arrays.copyOf(frame, rnd.nextInt(frame.length + 1));
        if (b.length > 14 && rnd.nextBoolean()) {
            b[14] = (byte) (0x40 | rnd.nextInt(16));
        }
        if (b.length > 21 && rnd.nextInt(4) == 0) {
            b[20] = (byte) rnd.nextInt(256);
        }
        return b;
    }

    @Test
    void framesTranslateTheSameWithAndWithoutThePrefetch() {
        byte[][] frames = new byte[8][];
        for (int i = 0; i < frames.length; i++) {
            frames[i] = Frames.tcp().src("192.168.15.2", 41000 + i).dst("192.168.1.3", 80).flags(SYN).build();
            assertEquals(Verdict.FORWARD, h.process(frames[i].clone(), INSIDE_IF));
        }
        UnsafeBuffer plain = new UnsafeBuffer(new byte[frames.length * SLOT]);
        UnsafeBuffer prefetched = new UnsafeBuffer(new byte[frames.length * SLOT]);
        int[] offsets = new int[frames.length];
        int[] lengths = new int[frames.length];
        for (int i = 0; i < frames.length; i++) {
            byte[] ack = Frames.tcp().src("192.168.15.2", 41000 + i).dst("192.168.1.3", 80).flags(ACK).build();
            offsets[i] = i * SLOT;
            lengths[i] = ack.length;
            plain.putBytes(offsets[i], ack);
            prefetched.putBytes(offsets[i], ack);
        }
        Verdict a = new Verdict();
        Verdict b = new Verdict();
        for (int i = 0; i < frames.length; i++) {
            assertEquals(Verdict.FORWARD,
                h.translator.process(plain, offsets[i], lengths[i], INSIDE_IF, 0, 0, 0, h.now, a));
        }
        h.translator.prefetch(prefetched, offsets, lengths, frames.length, h.now);
        for (int i = 0; i < frames.length; i++) {
            assertEquals(Verdict.FORWARD,
                h.translator.process(prefetched, offsets[i], lengths[i], INSIDE_IF, 0, 0, 0, h.now, b));
            assertEquals(a.egressInterface, b.egressInterface);
        }
        assertArrayEquals(plain.byteArray(), prefetched.byteArray(), "the same rewrites");
    }
}
