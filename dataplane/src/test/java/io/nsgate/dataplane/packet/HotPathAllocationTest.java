// The parser and the checksum arithmetic allocate nothing per frame, measured with the JVM's allocation counter.
package io.nsgate.dataplane.packet;

import io.nsgate.dataplane.testsupport.Frames;
import io.nsgate.dataplane.testsupport.PcapReader;
import org.agrona.concurrent.UnsafeBuffer;
import org.junit.jupiter.api.Test;

import java.lang.management.ManagementFactory;
import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * JMH with {@code -prof gc} is the real judge (module bench); this is the cheap guard in the unit tests. It runs
 * the parser and a NAT-style checksum update over a mix of frames many times and reads
 * {@code com.sun.management.ThreadMXBean#getThreadAllocatedBytes} for the current thread before and after.
 */
class HotPathAllocationTest {
    private static final int ROUNDS = 200_000;
    /** Slack for the measurement itself; one allocation per frame would be megabytes. */
    private static final long SLACK_BYTES = 4096;

    @Test
    void parsingAndChecksummingAllocateNothing() {
        final com.sun.management.ThreadMXBean threads =
            (com.sun.management.ThreadMXBean) ManagementFactory.getThreadMXBean();
        assertTrue(threads.isThreadAllocatedMemorySupported() && threads.isThreadAllocatedMemoryEnabled());
        final List<UnsafeBuffer> frames = new ArrayList<>();
        for (final byte[] frame : PcapReader.readResource("golden/icmp-frag-needed.pcap")) {
            frames.add(new UnsafeBuffer(frame));
        }
        frames.add(new UnsafeBuffer(Frames.tcp().flags(Frames.SYN).vlan(3).ipOptions(new byte[4]).build()));
        frames.add(new UnsafeBuffer(Frames.arpRequest("02:00:00:00:00:01", "10.0.0.1", "10.0.0.2")));
        frames.add(new UnsafeBuffer(Frames.udp().fragmentOffset(8).build()));
        frames.add(new UnsafeBuffer(Frames.udp().ipChecksum(1).build()));
        final UnsafeBuffer[] mix = frames.toArray(new UnsafeBuffer[0]);
        final FrameParser parser = new FrameParser();
        final ParsedFrame parsed = new ParsedFrame();

        long sink = run(parser, parsed, mix, ROUNDS); // warm-up: interpreter, C1, C2
        final long before = threads.getCurrentThreadAllocatedBytes();
        sink += run(parser, parsed, mix, ROUNDS);
        final long allocated = threads.getCurrentThreadAllocatedBytes() - before;

        assertTrue(sink != 42, "keeps the work alive");
        assertTrue(allocated < SLACK_BYTES, allocated + " bytes allocated over " + ROUNDS * mix.length + " frames");
        assertEquals(0, parser.parse(mix[0], 0, mix[0].capacity(), parsed));
    }

    private static long run(final FrameParser parser, final ParsedFrame parsed, final UnsafeBuffer[] mix,
        final int rounds) {
        long sink = 0;
        for (int i = 0; i < rounds; i++) {
            final UnsafeBuffer frame = mix[i % mix.length];
            final int reason = parser.parse(frame, 0, frame.capacity(), parsed);
            sink += reason;
            if (reason == 0 && parsed.l4Offset >= 0 && parsed.ipProto != IpProtocol.ICMP) {
                final int delta = Checksums.addDeltas(Checksums.delta32(parsed.srcIp, 0x0A000001),
                    Checksums.delta16(parsed.srcPort, 61000));
                sink += Checksums.applyToChecksum(parsed.ipTotalLength, delta);
                sink += Checksums.applyToPartial(parsed.srcPort, delta);
                sink += Checksums.applyToUdpChecksum(parsed.dstPort, Checksums.negateDelta(delta));
                sink += Checksums.l4Checksum(frame, parsed.l4Offset, parsed.l4Length, parsed.srcIp, parsed.dstIp,
                    parsed.ipProto);
            }
        }
        return sink;
    }
}
