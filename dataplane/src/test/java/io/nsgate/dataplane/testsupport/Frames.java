// Builds Ethernet/IPv4 test frames (TCP, UDP, ICMP echo and errors, ARP) with valid checksums by default.
package io.nsgate.dataplane.testsupport;

import org.agrona.MutableDirectBuffer;
import org.agrona.concurrent.UnsafeBuffer;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;

import io.nsgate.dataplane.packet.IpProtocol;
import io.nsgate.dataplane.packet.TcpHeader;
import io.nsgate.linux.net.Ipv4Address;
import io.nsgate.linux.net.Ipv6Address;
import io.nsgate.linux.net.MacAddress;

/**
 * A fluent builder of Ethernet frames for tests: pick a protocol, set what matters, {@link Builder#build()}.
 *
 * <pre>
 *   import static io.nsgate.dataplane.testsupport.Frames.*;
 *
 *   byte[] syn = Frames.tcp().src("192.168.15.2", 40000).dst("192.168.1.3", 80).flags(SYN).seq(1000).build();
 *   byte[] dns = Frames.udp().src("192.168.15.1", 5353).dst("8.8.8.8", 53).payload("query").df().build();
 *   byte[] ping = Frames.icmpEchoRequest().src("192.168.15.1").dst("192.168.1.3").icmpId(7).icmpSeq(1).build();
 *   byte[] unreachable = Frames.icmpPortUnreachable(dns).build();              // from 8.8.8.8 to 192.168.15.1
 *   byte[] tooBig = Frames.icmpFragmentationNeeded(syn, 1280).src("10.0.0.254").build();
 *   UnsafeBuffer buffer = Frames.tcp().flags(SYN | ACK).vlan(42).buildBuffer();
 * </pre>
 *
 * <p>Defaults: MACs {@link #DEFAULT_SRC_MAC} → {@link #DEFAULT_DST_MAC}, addresses 192.168.15.2 → 192.168.1.3,
 * ports 40000 → 80, TTL 64, TOS 0, IP id 0, DF off, no VLAN tag, no options, no payload, TCP flags ACK, window
 * 65535, and complete, valid checksums (IPv4 header and L4) computed by this class's own straightforward
 * RFC 1071 loop, independent of the production {@code Checksums}.
 *
 * <p>ICMP errors quote the IP datagram of the frame they are given (Ethernet and VLAN header stripped, padding
 * dropped), at most {@link #DEFAULT_QUOTE_LIMIT} bytes as Linux does (the error then fits in 576 bytes), or
 * {@link Builder#quoteBytes(int)} bytes. Their addresses default to "from the quoted destination to the quoted
 * source", right for a host's port unreachable; set {@code src} to a router's address for the others.
 *
 * <p>Malformed frames: the {@code ipVersion}, {@code ihl}, {@code ipTotalLength}, {@code tcpDataOffset},
 * {@code udpLength} overrides write a raw field value and keep the IPv4 checksum valid (so a test reaches the check
 * it aims at); {@link Builder#ipChecksum(int)} and {@link Builder#l4Checksum(int)} store a given value instead;
 * {@link Builder#padTo(int)} appends zero bytes beyond the IP total length; {@link #truncate} cuts a frame.
 * {@link Builder#checksumPartial()} stores, like a CHECKSUM_PARTIAL (NEEDS_CSUM) frame, the folded
 * un-complemented pseudo-header sum in the TCP/UDP checksum field.
 */
public final class Frames {
    // the TCP flag bits, here too so that tests building frames need one import
    public static final int FIN = TcpHeader.FIN;
    public static final int SYN = TcpHeader.SYN;
    public static final int RST = TcpHeader.RST;
    public static final int PSH = TcpHeader.PSH;
    public static final int ACK = TcpHeader.ACK;
    public static final int URG = TcpHeader.URG;
    public static final int ECE = TcpHeader.ECE;
    public static final int CWR = TcpHeader.CWR;

    public static final String DEFAULT_SRC_MAC = "02:00:00:00:00:01";
    public static final String DEFAULT_DST_MAC = "02:00:00:00:00:02";
    public static final String DEFAULT_SRC_IP = "192.168.15.2";
    public static final String DEFAULT_DST_IP = "192.168.1.3";
    /** Bytes of the offending datagram an ICMP error quotes by default: 576 - 20 (IP) - 8 (ICMP), as Linux. */
    public static final int DEFAULT_QUOTE_LIMIT = 548;

    private Frames() {
    }

    private enum Kind { TCP, UDP, ICMP_ECHO_REQUEST, ICMP_ECHO_REPLY, ICMP_ERROR, RAW }

    /** A TCP segment (flags ACK unless set). */
    public static Builder tcp() {
        return new Builder(Kind.TCP, IpProtocol.TCP);
    }

    /** A UDP datagram. */
    public static Builder udp() {
        return new Builder(Kind.UDP, IpProtocol.UDP);
    }

    /** An ICMP echo request (type 8). */
    public static Builder icmpEchoRequest() {
        return new Builder(Kind.ICMP_ECHO_REQUEST, IpProtocol.ICMP).icmpTypeCode(8, 0);
    }

    /** An ICMP echo reply (type 0). */
    public static Builder icmpEchoReply() {
        return new Builder(Kind.ICMP_ECHO_REPLY, IpProtocol.ICMP).icmpTypeCode(0, 0);
    }

    /** An ICMP error of any type and code quoting the IP datagram of {@code offendingFrame}. */
    public static Builder icmpError(final int type, final int code, final byte[] offendingFrame) {
        final Builder builder = new Builder(Kind.ICMP_ERROR, IpProtocol.ICMP).icmpTypeCode(type, code);
        builder.quotedDatagram = ipDatagramOf(offendingFrame);
        final ByteBuffer quoted = ByteBuffer.wrap(builder.quotedDatagram);
        builder.srcIp = quoted.getInt(16);
        builder.dstIp = quoted.getInt(12);
        return builder;
    }

    /** Destination unreachable, port unreachable (3/3), as the quoted datagram's destination host sends it. */
    public static Builder icmpPortUnreachable(final byte[] offendingFrame) {
        return icmpError(3, 3, offendingFrame);
    }

    /** Destination unreachable, fragmentation needed and DF set (3/4), with the next-hop MTU (RFC 1191). */
    public static Builder icmpFragmentationNeeded(final byte[] offendingFrame, final int nextHopMtu) {
        return icmpError(3, 4, offendingFrame).icmpRestOfHeader(nextHopMtu & 0xFFFF);
    }

    /** Time exceeded in transit (11/0). */
    public static Builder icmpTimeExceeded(final byte[] offendingFrame) {
        return icmpError(11, 0, offendingFrame);
    }

    /** An IPv4 packet of any protocol whose payload is exactly {@link Builder#payload(byte[])}. */
    public static Builder ipv4(final int protocol) {
        return new Builder(Kind.RAW, protocol);
    }

    /** A broadcast ARP request: who has {@code targetIp}? tell {@code senderIp}. */
    public static byte[] arpRequest(final String senderMac, final String senderIp, final String targetIp) {
        return arp(1, MacAddress.parse(senderMac), Ipv4Address.parse(senderIp), 0xFFFF_FFFF_FFFFL, 0L,
            Ipv4Address.parse(targetIp));
    }

    /** A unicast ARP reply: {@code senderIp} is at {@code senderMac}. */
    public static byte[] arpReply(
        final String senderMac, final String senderIp, final String targetMac, final String targetIp) {
        return arp(2, MacAddress.parse(senderMac), Ipv4Address.parse(senderIp), MacAddress.parse(targetMac),
            MacAddress.parse(targetMac), Ipv4Address.parse(targetIp));
    }

    private static byte[] arp(
        final int op, final long senderMac, final int senderIp, final long ethDst, final long targetMac,
        final int targetIp) {
        final ByteBuffer b = ByteBuffer.allocate(14 + 28);
        putMac(b, ethDst);
        putMac(b, senderMac);
        b.putShort((short) 0x0806);
        b.putShort((short) 1).putShort((short) 0x0800).put((byte) 6).put((byte) 4).putShort((short) op);
        putMac(b, senderMac);
        b.putInt(senderIp);
        putMac(b, targetMac);
        b.putInt(targetIp);
        return b.array();
    }

    /** An {@link UnsafeBuffer} over a copy of {@code frame}. */
    public static UnsafeBuffer buffer(final byte[] frame) {
        return new UnsafeBuffer(frame.clone());
    }

    /** The first {@code length} bytes of {@code frame}. */
    public static byte[] truncate(final byte[] frame, final int length) {
        return Arrays.copyOf(frame, length);
    }

    /** Offset of the IPv4 (or ARP) header: 14, or 18 with an 802.1Q tag. */
    public static int l3Offset(final byte[] frame) {
        return (((frame[12] & 0xFF) << 8) | (frame[13] & 0xFF)) == 0x8100 ? 18 : 14;
    }

    /** Recomputes the IPv4 header checksum in place (after a test mangled a header field), returns the frame. */
    public static byte[] refreshIpChecksum(final byte[] frame) {
        final int l3 = l3Offset(frame);
        final int headerLength = (frame[l3] & 0x0F) * 4;
        frame[l3 + 10] = 0;
        frame[l3 + 11] = 0;
        final int checksum = internetChecksum(frame, l3, Math.min(headerLength, frame.length - l3), 0);
        frame[l3 + 10] = (byte) (checksum >>> 8);
        frame[l3 + 11] = (byte) checksum;
        return frame;
    }

    /** The IP datagram of an Ethernet frame: from the IPv4 header to its total length (padding dropped). */
    public static byte[] ipDatagramOf(final byte[] frame) {
        final int l3 = l3Offset(frame);
        final int totalLength = ((frame[l3 + 2] & 0xFF) << 8) | (frame[l3 + 3] & 0xFF);
        return Arrays.copyOfRange(frame, l3, l3 + Math.min(totalLength, frame.length - l3));
    }

    /** Lower-case hex, for assertion messages. */
    public static String hex(final byte[] bytes) {
        final StringBuilder text = new StringBuilder(bytes.length * 2);
        for (final byte b : bytes) {
            text.append(Character.forDigit((b >>> 4) & 0xF, 16)).append(Character.forDigit(b & 0xF, 16));
        }
        return text.toString();
    }

    /** Parses hex (whitespace ignored) into bytes, for frames written out in a test. */
    public static byte[] unhex(final String hex) {
        final String digits = hex.replaceAll("\\s+", "");
        final byte[] bytes = new byte[digits.length() / 2];
        for (int i = 0; i < bytes.length; i++) {
            bytes[i] = (byte) Integer.parseInt(digits.substring(2 * i, 2 * i + 2), 16);
        }
        return bytes;
    }

    /**
     * The plain RFC 1071 checksum, {@code ~(one's-complement sum of 16-bit words)}, word by word: the reference
     * the tests hold the production code to.
     */
    public static int internetChecksum(final byte[] bytes, final int offset, final int length, final int initial) {
        long sum = initial;
        for (int i = 0; i < length; i += 2) {
            final int high = bytes[offset + i] & 0xFF;
            final int low = i + 1 < length ? bytes[offset + i + 1] & 0xFF : 0;
            sum += (high << 8) | low;
        }
        while ((sum >>> 16) != 0) {
            sum = (sum & 0xFFFF) + (sum >>> 16);
        }
        return (int) (~sum & 0xFFFF);
    }

    /** The folded, un-complemented pseudo-header sum, computed word by word. */
    public static int pseudoHeaderSum(final int srcIp, final int dstIp, final int proto, final int l4Length) {
        long sum = (srcIp >>> 16) + (srcIp & 0xFFFF) + (dstIp >>> 16) + (dstIp & 0xFFFF) + proto + l4Length;
        while ((sum >>> 16) != 0) {
            sum = (sum & 0xFFFF) + (sum >>> 16);
        }
        return (int) sum;
    }

    /**
     * An IPv6 frame: Ethernet (default MACs), the fixed header (version 6, hop limit 64, {@code nextHeader}) and
     * {@code payloadLength} zero bytes of payload.
     */
    public static byte[] ipv6(final int nextHeader, final String src, final String dst, final int payloadLength) {
        final ByteBuffer b = ByteBuffer.allocate(14 + 40 + payloadLength);
        putMac(b, MacAddress.parse(DEFAULT_DST_MAC));
        putMac(b, MacAddress.parse(DEFAULT_SRC_MAC));
        b.putShort((short) 0x86DD);
        b.putInt(0x6000_0000).putShort((short) payloadLength).put((byte) nextHeader).put((byte) 64);
        b.put(Ipv6Address.parse(src).toBytes()).put(Ipv6Address.parse(dst).toBytes());
        return b.array();
    }

    /** An IPv6 frame whose payload ({@code payload}: extension headers, then the upper layer) is given whole. */
    public static byte[] ipv6(final int nextHeader, final String src, final String dst, final byte[] payload) {
        final byte[] frame = ipv6(nextHeader, src, dst, payload.length);
        System.arraycopy(payload, 0, frame, 14 + 40, payload.length);
        return frame;
    }

    /** An IPv6 extension header (hop-by-hop, routing, destination options) of {@code 8 * (units + 1)} bytes. */
    public static byte[] ipv6Extension(final int nextHeader, final int units) {
        final byte[] h = new byte[8 * (units + 1)];
        h[0] = (byte) nextHeader;
        h[1] = (byte) units;
        h[2] = 1; // PadN filling the rest
        h[3] = (byte) (h.length - 4);
        return h;
    }

    /** An IPv6 fragment header: {@code offset} in bytes (a multiple of 8), M flag, identification. */
    public static byte[] ipv6Fragment(final int nextHeader, final int offset, final boolean more, final int id) {
        return ByteBuffer.allocate(8).put((byte) nextHeader).put((byte) 0).putShort((short) (offset | (more ? 1 : 0)))
            .putInt(id).array();
    }

    /** A 20-byte TCP header (no options, checksum 0). */
    public static byte[] tcpHeader(final int srcPort, final int dstPort, final int flags) {
        return ByteBuffer.allocate(20).putShort((short) srcPort).putShort((short) dstPort).putInt(1).putInt(0)
            .putShort((short) (0x5000 | flags)).putShort((short) 65535).array();
    }

    /** An ICMPv6 header: type, code, then {@code rest} (identifier and sequence, or 4 unused bytes and a quote). */
    public static byte[] icmp6(final int type, final int code, final byte[] rest) {
        return ByteBuffer.allocate(4 + rest.length).put((byte) type).put((byte) code).putShort((short) 0).put(rest)
            .array();
    }

    /** Concatenates byte arrays (headers into a payload). */
    public static byte[] concat(final byte[]... parts) {
        final ByteBuffer b = ByteBuffer.allocate(Arrays.stream(parts).mapToInt(p -> p.length).sum());
        for (final byte[] p : parts) {
            b.put(p);
        }
        return b.array();
    }

    private static void putMac(final ByteBuffer b, final long mac) {
        b.putInt((int) (mac >>> 16)).putShort((short) mac);
    }

    /** One frame under construction; every setter returns the builder. */
    public static final class Builder {
        private final Kind kind;
        private final int protocol;
        private long srcMac = MacAddress.parse(DEFAULT_SRC_MAC);
        private long dstMac = MacAddress.parse(DEFAULT_DST_MAC);
        private int vlanTci = -1;
        private int srcIp = Ipv4Address.parse(DEFAULT_SRC_IP);
        private int dstIp = Ipv4Address.parse(DEFAULT_DST_IP);
        private int srcPort = 40000;
        private int dstPort = 80;
        private int tos;
        private int ttl = 64;
        private int ipId;
        private boolean dontFragment;
        private boolean moreFragments;
        private int fragmentOffsetBytes;
        private byte[] ipOptions = new byte[0];
        private int tcpFlags = ACK;
        private int seq;
        private int ack;
        private int window = 65535;
        private int urgentPointer;
        private byte[] tcpOptions = new byte[0];
        private int icmpType;
        private int icmpCode;
        private int icmpRestOfHeader;
        private byte[] quotedDatagram;
        private int quoteBytes = -1;
        private byte[] payload = new byte[0];
        private boolean checksumPartial;
        private Integer ipChecksumValue;
        private Integer l4ChecksumValue;
        private Integer ipVersionValue;
        private Integer ihlValue;
        private Integer ipTotalLengthValue;
        private Integer tcpDataOffsetValue;
        private Integer udpLengthValue;
        private int padTo;

        private Builder(final Kind kind, final int protocol) {
            this.kind = kind;
            this.protocol = protocol;
        }

        public Builder srcMac(final String mac) {
            srcMac = MacAddress.parse(mac);
            return this;
        }

        public Builder dstMac(final String mac) {
            dstMac = MacAddress.parse(mac);
            return this;
        }

        /** Adds an 802.1Q tag with this TCI (VLAN id in the low 12 bits). */
        public Builder vlan(final int tci) {
            vlanTci = tci & 0xFFFF;
            return this;
        }

        public Builder src(final String ip) {
            return src(Ipv4Address.parse(ip));
        }

        public Builder src(final String ip, final int port) {
            return src(Ipv4Address.parse(ip), port);
        }

        public Builder src(final int ip) {
            srcIp = ip;
            return this;
        }

        public Builder src(final int ip, final int port) {
            srcIp = ip;
            srcPort = port;
            return this;
        }

        public Builder dst(final String ip) {
            return dst(Ipv4Address.parse(ip));
        }

        public Builder dst(final String ip, final int port) {
            return dst(Ipv4Address.parse(ip), port);
        }

        public Builder dst(final int ip) {
            dstIp = ip;
            return this;
        }

        public Builder dst(final int ip, final int port) {
            dstIp = ip;
            dstPort = port;
            return this;
        }

        public Builder srcPort(final int port) {
            srcPort = port;
            return this;
        }

        public Builder dstPort(final int port) {
            dstPort = port;
            return this;
        }

        public Builder tos(final int value) {
            tos = value;
            return this;
        }

        public Builder ttl(final int value) {
            ttl = value;
            return this;
        }

        public Builder ipId(final int value) {
            ipId = value;
            return this;
        }

        /** Sets DF. */
        public Builder df() {
            dontFragment = true;
            return this;
        }

        public Builder dontFragment(final boolean value) {
            dontFragment = value;
            return this;
        }

        /** Sets MF. */
        public Builder moreFragments() {
            moreFragments = true;
            return this;
        }

        /**
         * Fragment offset in bytes (a multiple of 8). A non-zero offset makes the IP payload exactly
         * {@link #payload(byte[])}: a non-first fragment has no L4 header.
         */
        public Builder fragmentOffset(final int bytes) {
            if (bytes % 8 != 0) {
                throw new IllegalArgumentException("fragment offset " + bytes + " is not a multiple of 8");
            }
            fragmentOffsetBytes = bytes;
            return this;
        }

        /** IPv4 options, zero-padded to a multiple of 4 bytes (IHL grows accordingly). */
        public Builder ipOptions(final byte[] options) {
            ipOptions = Arrays.copyOf(options, (options.length + 3) & ~3);
            return this;
        }

        /** TCP flags byte, e.g. {@code SYN | ACK}. */
        public Builder flags(final int value) {
            tcpFlags = value;
            return this;
        }

        public Builder seq(final long value) {
            seq = (int) value;
            return this;
        }

        public Builder ack(final long value) {
            ack = (int) value;
            return this;
        }

        public Builder window(final int value) {
            window = value;
            return this;
        }

        public Builder urgentPointer(final int value) {
            urgentPointer = value;
            return this;
        }

        /** TCP options, zero-padded (EOL) to a multiple of 4 bytes (data offset grows accordingly). */
        public Builder tcpOptions(final byte[] options) {
            tcpOptions = Arrays.copyOf(options, (options.length + 3) & ~3);
            return this;
        }

        public Builder icmpTypeCode(final int type, final int code) {
            icmpType = type;
            icmpCode = code;
            return this;
        }

        /** Echo identifier (bytes 4-5 of the ICMP header). */
        public Builder icmpId(final int id) {
            icmpRestOfHeader = (icmpRestOfHeader & 0xFFFF) | (id << 16);
            return this;
        }

        /** Echo sequence number (bytes 6-7 of the ICMP header). */
        public Builder icmpSeq(final int sequence) {
            icmpRestOfHeader = (icmpRestOfHeader & 0xFFFF_0000) | (sequence & 0xFFFF);
            return this;
        }

        /** Bytes 4-7 of the ICMP header whole (the next-hop MTU of 3/4 is the low 16 bits). */
        public Builder icmpRestOfHeader(final int value) {
            icmpRestOfHeader = value;
            return this;
        }

        /** How many bytes of the offending datagram an ICMP error quotes (default: up to 548). */
        public Builder quoteBytes(final int bytes) {
            quoteBytes = bytes;
            return this;
        }

        public Builder payload(final byte[] bytes) {
            payload = bytes.clone();
            return this;
        }

        /** US-ASCII payload. */
        public Builder payload(final String text) {
            payload = text.getBytes(StandardCharsets.US_ASCII);
            return this;
        }

        /** A payload of {@code length} bytes 0, 1, 2, ... (mod 256). */
        public Builder payloadLength(final int length) {
            payload = new byte[length];
            for (int i = 0; i < length; i++) {
                payload[i] = (byte) i;
            }
            return this;
        }

        /**
         * Stores in the TCP/UDP checksum field what a CHECKSUM_PARTIAL (NEEDS_CSUM) frame carries there: the
         * folded, un-complemented pseudo-header sum.
         */
        public Builder checksumPartial() {
            checksumPartial = true;
            return this;
        }

        /** Stores this IPv4 header checksum instead of the right one. */
        public Builder ipChecksum(final int value) {
            ipChecksumValue = value;
            return this;
        }

        /** Stores this TCP/UDP/ICMP checksum instead of the computed one (0 for UDP: "no checksum"). */
        public Builder l4Checksum(final int value) {
            l4ChecksumValue = value;
            return this;
        }

        /** Writes this version in the IPv4 header instead of 4 (checksum kept valid). */
        public Builder ipVersion(final int value) {
            ipVersionValue = value;
            return this;
        }

        /** Writes this IHL (words) instead of the real one (checksum over the real header, kept valid). */
        public Builder ihl(final int words) {
            ihlValue = words;
            return this;
        }

        /** Writes this total length instead of the real one (checksum kept valid). */
        public Builder ipTotalLength(final int value) {
            ipTotalLengthValue = value;
            return this;
        }

        /** Writes this TCP data offset (words) instead of the real one. */
        public Builder tcpDataOffset(final int words) {
            tcpDataOffsetValue = words;
            return this;
        }

        /** Writes this UDP length instead of the real one. */
        public Builder udpLength(final int value) {
            udpLengthValue = value;
            return this;
        }

        /** Appends zero bytes after the IP datagram until the frame is {@code frameLength} long (e.g. 60). */
        public Builder padTo(final int frameLength) {
            padTo = frameLength;
            return this;
        }

        /** The frame as a new byte array. */
        public byte[] build() {
            final byte[] l4 = l4Bytes();
            final int ipHeaderLength = 20 + ipOptions.length;
            final int totalLength = ipHeaderLength + l4.length;
            final int ethLength = vlanTci >= 0 ? 18 : 14;
            final byte[] frame = new byte[Math.max(ethLength + totalLength, padTo)];
            final ByteBuffer b = ByteBuffer.wrap(frame).order(ByteOrder.BIG_ENDIAN);
            putMac(b, dstMac);
            putMac(b, srcMac);
            if (vlanTci >= 0) {
                b.putShort((short) 0x8100).putShort((short) vlanTci);
            }
            b.putShort((short) 0x0800);
            final int l3 = b.position();
            final int version = ipVersionValue != null ? ipVersionValue : 4;
            final int ihl = ihlValue != null ? ihlValue : ipHeaderLength / 4;
            b.put((byte) ((version << 4) | (ihl & 0x0F)));
            b.put((byte) tos);
            b.putShort((short) (ipTotalLengthValue != null ? ipTotalLengthValue : totalLength));
            b.putShort((short) ipId);
            b.putShort((short) ((dontFragment ? 0x4000 : 0) | (moreFragments ? 0x2000 : 0)
                | (fragmentOffsetBytes >>> 3)));
            b.put((byte) ttl).put((byte) protocol).putShort((short) 0);
            b.putInt(srcIp).putInt(dstIp);
            b.put(ipOptions);
            final int l4Offset = b.position();
            b.put(l4);
            final int ipChecksum = ipChecksumValue != null
                ? ipChecksumValue : internetChecksum(frame, l3, ipHeaderLength, 0);
            b.putShort(l3 + 10, (short) ipChecksum);
            if (fragmentOffsetBytes == 0) {
                writeL4Checksum(b, frame, l4Offset, l4.length);
            }
            return frame;
        }

        /** Writes the frame into {@code buffer} at {@code offset}; returns its length. */
        public int buildInto(final MutableDirectBuffer buffer, final int offset) {
            final byte[] frame = build();
            buffer.putBytes(offset, frame);
            return frame.length;
        }

        /** The frame in an {@link UnsafeBuffer} of exactly its length. */
        public UnsafeBuffer buildBuffer() {
            return new UnsafeBuffer(build());
        }

        private byte[] l4Bytes() {
            if (fragmentOffsetBytes != 0 || kind == Kind.RAW) {
                return payload.clone();
            }
            final ByteBuffer b;
            switch (kind) {
                case TCP: {
                    final int headerLength = 20 + tcpOptions.length;
                    b = ByteBuffer.allocate(headerLength + payload.length);
                    b.putShort((short) srcPort).putShort((short) dstPort).putInt(seq).putInt(ack);
                    final int dataOffset = tcpDataOffsetValue != null ? tcpDataOffsetValue : headerLength / 4;
                    b.put((byte) (dataOffset << 4)).put((byte) tcpFlags).putShort((short) window);
                    b.putShort((short) 0).putShort((short) urgentPointer);
                    b.put(tcpOptions);
                    break;
                }
                case UDP:
                    b = ByteBuffer.allocate(8 + payload.length);
                    b.putShort((short) srcPort).putShort((short) dstPort);
                    b.putShort((short) (udpLengthValue != null ? udpLengthValue : 8 + payload.length));
                    b.putShort((short) 0);
                    break;
                case ICMP_ERROR: {
                    final int limit = quoteBytes >= 0 ? quoteBytes : DEFAULT_QUOTE_LIMIT;
                    final byte[] quoted = Arrays.copyOf(quotedDatagram, Math.min(limit, quotedDatagram.length));
                    b = ByteBuffer.allocate(8 + quoted.length + payload.length);
                    b.put((byte) icmpType).put((byte) icmpCode).putShort((short) 0).putInt(icmpRestOfHeader);
                    b.put(quoted);
                    break;
                }
                default: // echo request and reply
                    b = ByteBuffer.allocate(8 + payload.length);
                    b.put((byte) icmpType).put((byte) icmpCode).putShort((short) 0).putInt(icmpRestOfHeader);
                    break;
            }
            b.put(payload);
            return b.array();
        }

        private void writeL4Checksum(final ByteBuffer b, final byte[] frame, final int l4Offset, final int l4Length) {
            final int fieldOffset;
            final int checksum;
            switch (kind) {
                case TCP:
                case UDP: {
                    fieldOffset = l4Offset + (kind == Kind.TCP ? 16 : 6);
                    final int pseudo = pseudoHeaderSum(srcIp, dstIp, protocol, l4Length);
                    if (l4ChecksumValue != null) {
                        checksum = l4ChecksumValue;
                    } else if (checksumPartial) {
                        checksum = pseudo;
                    } else {
                        final int computed = internetChecksum(frame, l4Offset, l4Length, pseudo);
                        checksum = computed == 0 && kind == Kind.UDP ? 0xFFFF : computed;
                    }
                    break;
                }
                case RAW:
                    return;
                default: // ICMP
                    fieldOffset = l4Offset + 2;
                    checksum = l4ChecksumValue != null
                        ? l4ChecksumValue : internetChecksum(frame, l4Offset, l4Length, 0);
                    break;
            }
            if (fieldOffset + 2 <= frame.length) {
                b.putShort(fieldOffset, (short) checksum);
            }
        }
    }
}
