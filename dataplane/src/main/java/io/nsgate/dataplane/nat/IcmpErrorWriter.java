// Builds the ICMP errors a router sends (time exceeded, fragmentation needed), rate-limited like the kernel's.
package io.nsgate.dataplane.nat;

import org.agrona.DirectBuffer;
import org.agrona.MutableDirectBuffer;

import io.nsgate.dataplane.packet.Checksums;
import io.nsgate.dataplane.packet.EthernetHeader;
import io.nsgate.dataplane.packet.IcmpHeader;
import io.nsgate.dataplane.packet.IpProtocol;
import io.nsgate.dataplane.packet.Ipv4Header;
import io.nsgate.dataplane.packet.ParsedFrame;

/**
 * Writes a complete Ethernet frame carrying an ICMP error about a received frame, addressed back to the
 * neighbour it came from (MACs swapped), quoting the offending datagram's header and as much of its payload
 * as fits in 576 bytes (RFC 1812 4.3.2.3). Errors are rate-limited per worker by a token bucket with the
 * kernel's defaults (icmp_msgs_per_sec 1000, icmp_msgs_burst 50), so a flood of expiring packets cannot turn
 * the gateway into an amplifier. ICMPv6 errors ({@link #write6}) quote up to the IPv6 minimum MTU (RFC 4443) and
 * share the bucket. Checksums are computed in full: this is the slow path.
 */
public final class IcmpErrorWriter {
    /** Largest ICMP error datagram (RFC 1812). */
    static final int MAX_DATAGRAM = 576;
    /** Largest ICMPv6 error datagram: the IPv6 minimum MTU (RFC 4443 2.4 (c)). */
    static final int MAX_DATAGRAM6 = 1280;
    private static final int IPV6_HEADER = 40;
    static final long TOKEN_INTERVAL_NS = 1_000_000L; // 1000 per second
    static final int BURST = 50;

    private final EthernetHeader eth = new EthernetHeader();
    private final Ipv4Header ip = new Ipv4Header();
    private final IcmpHeader icmp = new IcmpHeader();
    private long tokens = BURST;
    private long lastRefillNs = Long.MIN_VALUE;
    private int nextIpId;

    /** True when an error may be sent now (consumes a token). */
    public boolean allow(long nowNs) {
        if (lastRefillNs == Long.MIN_VALUE) {
            lastRefillNs = nowNs;
        }
        final long elapsed = nowNs - lastRefillNs;
        if (elapsed >= TOKEN_INTERVAL_NS) {
            tokens = Math.min(BURST, tokens + elapsed / TOKEN_INTERVAL_NS);
            lastRefillNs += (elapsed / TOKEN_INTERVAL_NS) * TOKEN_INTERVAL_NS;
        }
        if (tokens <= 0) {
            return false;
        }
        tokens--;
        return true;
    }

    /**
     * Writes the error into {@code out} at 0.
     *
     * @param frame    the offending frame as parsed (KIND_IPV4, no VLAN tag)
     * @param sourceIp the gateway address the error comes from
     * @param mtu      next-hop MTU for fragmentation-needed, else 0
     * @return the frame length
     */
    public int write(DirectBuffer in, ParsedFrame frame, int type, int code, int mtu, int sourceIp,
                     MutableDirectBuffer out) {
        final int quoted = Math.min(Math.min(frame.ipTotalLength, frame.frameOffset + frame.frameLength - frame.l3Offset),
            MAX_DATAGRAM - Ipv4Header.MIN_LENGTH - IcmpHeader.LENGTH);
        final int l3 = EthernetHeader.LENGTH;
        final int l4 = l3 + Ipv4Header.MIN_LENGTH;
        final int total = Ipv4Header.MIN_LENGTH + IcmpHeader.LENGTH + quoted;

        eth.wrap(out, 0);
        out.putBytes(EthernetHeader.DESTINATION_MAC_OFFSET, in, frame.frameOffset + EthernetHeader.SOURCE_MAC_OFFSET, 6);
        out.putBytes(EthernetHeader.SOURCE_MAC_OFFSET, in, frame.frameOffset + EthernetHeader.DESTINATION_MAC_OFFSET, 6);
        eth.etherType(EthernetHeader.ETHERTYPE_IPV4);

        ip.wrap(out, l3);
        ip.versionAndIhl(4, 5);
        ip.tos(0xC0); // internetwork control, as Linux marks its ICMP errors
        ip.totalLength(total);
        ip.identification(nextIpId++ & 0xFFFF);
        ip.flagsAndFragmentOffset(0);
        ip.ttl(64);
        ip.protocol(IpProtocol.ICMP);
        ip.sourceAddress(sourceIp);
        ip.destinationAddress(frame.srcIp);
        ip.checksum(0);
        ip.checksum(Checksums.ipv4HeaderChecksum(out, l3, Ipv4Header.MIN_LENGTH));

        icmp.wrap(out, l4);
        icmp.type(type);
        icmp.code(code);
        icmp.checksum(0);
        out.putInt(l4 + 4, 0); // unused / next-hop MTU word
        if (mtu > 0) {
            icmp.nextHopMtu(mtu);
        }
        out.putBytes(l4 + IcmpHeader.LENGTH, in, frame.l3Offset, quoted);
        icmp.checksum(Checksums.icmpChecksum(out, l4, IcmpHeader.LENGTH + quoted));
        return l3 + total;
    }

    /**
     * Writes an ICMPv6 error (time exceeded, packet too big...) about an IPv6 frame into {@code out} at 0: hop limit
     * 64, from {@code (srcHigh, srcLow)} back to the frame's source, quoting as much of the datagram as keeps the error
     * within 1280 bytes.
     *
     * @param mtu the MTU word of packet too big, else 0
     * @return the frame length
     */
    public int write6(DirectBuffer in, ParsedFrame frame, int type, int code, int mtu, long srcHigh, long srcLow,
                      MutableDirectBuffer out) {
        final int quoted = Math.min(Math.min(frame.ipTotalLength, frame.frameOffset + frame.frameLength - frame.l3Offset),
            MAX_DATAGRAM6 - IPV6_HEADER - IcmpHeader.LENGTH);
        final int l3 = EthernetHeader.LENGTH;
        final int l4 = l3 + IPV6_HEADER;
        final int payload = IcmpHeader.LENGTH + quoted;
        out.putBytes(EthernetHeader.DESTINATION_MAC_OFFSET, in, frame.frameOffset + EthernetHeader.SOURCE_MAC_OFFSET, 6);
        out.putBytes(EthernetHeader.SOURCE_MAC_OFFSET, in, frame.frameOffset + EthernetHeader.DESTINATION_MAC_OFFSET, 6);
        eth.wrap(out, 0);
        eth.etherType(EthernetHeader.ETHERTYPE_IPV6);
        out.putInt(l3, 0x6000_0000, java.nio.ByteOrder.BIG_ENDIAN);
        out.putInt(l3 + 4, (payload << 16) | (IpProtocol.ICMPV6 << 8) | 64, java.nio.ByteOrder.BIG_ENDIAN);
        out.putLong(l3 + 8, srcHigh, java.nio.ByteOrder.BIG_ENDIAN);
        out.putLong(l3 + 16, srcLow, java.nio.ByteOrder.BIG_ENDIAN);
        out.putLong(l3 + 24, frame.src6High, java.nio.ByteOrder.BIG_ENDIAN);
        out.putLong(l3 + 32, frame.src6Low, java.nio.ByteOrder.BIG_ENDIAN);
        out.putByte(l4, (byte) type);
        out.putByte(l4 + 1, (byte) code);
        out.putShort(l4 + 2, (short) 0);
        out.putInt(l4 + 4, mtu, java.nio.ByteOrder.BIG_ENDIAN);
        out.putBytes(l4 + IcmpHeader.LENGTH, in, frame.l3Offset, quoted);
        out.putShort(l4 + 2, (short) Checksums.l4Checksum6(out, l4, payload, srcHigh, srcLow, frame.src6High,
            frame.src6Low, IpProtocol.ICMPV6), java.nio.ByteOrder.BIG_ENDIAN);
        return l3 + IPV6_HEADER + payload;
    }
}
