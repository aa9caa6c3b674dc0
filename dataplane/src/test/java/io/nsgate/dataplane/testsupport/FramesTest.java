// Frames builds what it promises: fields, valid checksums by default, partial checksums, quotes, padding, VLAN.
package io.nsgate.dataplane.testsupport;

import io.nsgate.dataplane.packet.Checksums;
import io.nsgate.dataplane.packet.FrameParser;
import io.nsgate.dataplane.packet.IcmpHeader;
import io.nsgate.dataplane.packet.ParsedFrame;
import io.nsgate.dataplane.packet.TcpHeader;
import io.nsgate.dataplane.packet.UdpHeader;
import org.agrona.concurrent.UnsafeBuffer;
import org.junit.jupiter.api.Test;

import java.util.Arrays;

import static io.nsgate.dataplane.testsupport.Frames.ACK;
import static io.nsgate.dataplane.testsupport.Frames.SYN;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import io.nsgate.linux.net.Ipv4Address;

class FramesTest {
    private final FrameParser parser = new FrameParser();
    private final ParsedFrame f = new ParsedFrame();

    private UnsafeBuffer parse(final byte[] frame) {
        final UnsafeBuffer buf = new UnsafeBuffer(frame);
        assertEquals(0, parser.parse(buf, 0, frame.length, f));
        return buf;
    }

    @Test
    void buildsATcpSegmentWithWhatWasAskedAndValidChecksums() {
        final byte[] frame = Frames.tcp().src("192.168.15.2", 40000).dst("192.168.1.3", 80).flags(SYN).seq(1000)
            .ack(0).window(29200).payload("hello").df().ttl(63).ipId(99).build();
        final UnsafeBuffer buf = parse(frame);
        assertEquals(14 + 20 + 20 + 5, frame.length);
        assertEquals(Ipv4Address.parse("192.168.15.2"), f.srcIp);
        assertEquals(Ipv4Address.parse("192.168.1.3"), f.dstIp);
        assertEquals(40000, f.srcPort);
        assertEquals(80, f.dstPort);
        assertEquals(SYN, f.tcpFlags);
        assertTrue(f.dontFragment);
        assertEquals(63, f.ttl);
        assertEquals(99, f.ipId);
        final TcpHeader tcp = new TcpHeader().wrap(buf, f.l4Offset, f.l4Length);
        assertEquals(1000, tcp.sequenceNumber());
        assertEquals(29200, tcp.window());
        assertEquals(5, tcp.payloadLength());
        assertEquals(tcp.checksum(), Checksums.l4Checksum(buf, f.l4Offset, f.l4Length, f.srcIp, f.dstIp, 6));
    }

    @Test
    void defaultsToAnAckFromBlueToLan() {
        parse(Frames.tcp().build());
        assertEquals(ACK, f.tcpFlags);
        assertEquals(Ipv4Address.parse(Frames.DEFAULT_SRC_IP), f.srcIp);
        assertEquals(Ipv4Address.parse(Frames.DEFAULT_DST_IP), f.dstIp);
        assertEquals(64, f.ttl);
    }

    @Test
    void storesThePseudoHeaderSumForAPartialChecksum() {
        final UnsafeBuffer buf = parse(Frames.udp().payloadLength(11).checksumPartial().build());
        assertEquals(Checksums.pseudoHeaderSum(f.srcIp, f.dstIp, 17, 19),
            new UdpHeader().wrap(buf, f.l4Offset).checksum());
    }

    @Test
    void quotesTheOffendingDatagramFromItsDestinationToItsSource() {
        final byte[] udp = Frames.udp().src("10.0.0.1", 1234).dst("10.0.0.2", 53).payloadLength(1000).padTo(1100)
            .vlan(5).build();
        final byte[] error = Frames.icmpPortUnreachable(udp).build();
        final UnsafeBuffer buf = parse(error);
        assertEquals(Ipv4Address.parse("10.0.0.2"), f.srcIp);
        assertEquals(Ipv4Address.parse("10.0.0.1"), f.dstIp);
        assertEquals(576, f.ipTotalLength, "quotes at most 548 bytes, like Linux");
        assertArrayEquals(Arrays.copyOfRange(udp, 18, 18 + 548), Arrays.copyOfRange(error, 42, 42 + 548));
        assertEquals(new IcmpHeader().wrap(buf, f.l4Offset).checksum(), Checksums.icmpChecksum(buf, f.l4Offset,
            f.l4Length));

        parse(Frames.icmpFragmentationNeeded(udp, 1400).src("10.9.9.9").quoteBytes(28).build());
        assertEquals(Ipv4Address.parse("10.9.9.9"), f.srcIp);
        assertEquals(36, f.l4Length);
        assertEquals(1400, new IcmpHeader().wrap(new UnsafeBuffer(
            Frames.icmpFragmentationNeeded(udp, 1400).build()), 34).nextHopMtu());
    }

    @Test
    void padsAndTagsAndWritesIntoABuffer() {
        final byte[] padded = Frames.udp().vlan(0x2005).padTo(64).build();
        assertEquals(64, padded.length);
        parse(padded);
        assertEquals(0x2005, f.vlanTci);
        assertEquals(28, f.ipTotalLength);

        final UnsafeBuffer target = new UnsafeBuffer(new byte[128]);
        final int length = Frames.tcp().buildInto(target, 10);
        assertEquals(54, length);
        assertEquals(0, parser.parse(target, 10, length, f));
        assertEquals(10 + 34, f.l4Offset);
    }

    @Test
    void refreshesTheIpChecksumAfterAManualEdit() {
        final byte[] frame = Frames.udp().build();
        frame[14 + 8] = 1; // TTL
        assertEquals(7, parser.parse(new UnsafeBuffer(frame), 0, frame.length, f));
        parse(Frames.refreshIpChecksum(frame));
        assertEquals(1, f.ttl);
    }
}
