// Parses an Ethernet frame once, bounds-checked, into a reused ParsedFrame: the gate every frame passes first.
package io.nsgate.dataplane.packet;

import io.nsgate.dataplane.stats.DropReason;
import org.agrona.DirectBuffer;

import java.nio.ByteOrder;

/**
 * Reads an Ethernet frame (at most one 802.1Q tag) down to its L4 header and fills a {@link ParsedFrame}:
 * offsets, addresses, flow key, and for ICMP errors the quoted datagram's key. One instance per worker; it holds
 * no state between calls.
 *
 * <h2>Theory of operation</h2>
 * The parser trusts no length. Every read is preceded by a check that the bytes lie in
 * {@code [offset, offset + length)}, and each failed check returns the {@link DropReason} id naming what was cut
 * short or inconsistent; it never throws and never reads outside the frame, whatever the bytes. The checks, in
 * the order a frame meets them:
 * <ol>
 *   <li>Ethernet: 14 bytes ({@code TRUNCATED_ETHERNET}); a 0x8100 tag needs 4 more ({@code TRUNCATED_VLAN}).
 *       Ethertypes other than IPv4, IPv6 and ARP: {@code KIND_OTHER}, returns 0 (the kernel's business).</li>
 *   <li>IPv6: the 40-byte fixed header ({@code TRUNCATED_IPV6}), version 6 ({@code BAD_IP_VERSION}), the payload
 *       length within the frame ({@code IPV6_BAD_PAYLOAD_LENGTH}; a jumbogram's 0 fails on its hop-by-hop header).
 *       Then the extension headers (hop-by-hop, routing, destination options, fragment, AH), walked within the
 *       payload: at most {@value #MAX_IPV6_EXTENSIONS} ({@code IPV6_EXTENSION_CHAIN_TOO_LONG}), each whole
 *       ({@code IPV6_EXTENSION_TRUNCATED}), hop-by-hop only first ({@code IPV6_HOP_BY_HOP_NOT_FIRST}). A non-first
 *       fragment stops at its fragment header as {@code KIND_IPV6_FRAGMENT} (a reassembled size past 65535:
 *       {@code FRAGMENT_TOO_LONG}); otherwise {@code KIND_IPV6} with TCP and UDP as for IPv4, and ICMPv6 (echo
 *       identifiers; errors, types 1-4, must quote an IPv6 header whose own chain is walked the same way, and 8 bytes
 *       after it). ESP, "no next header" and other protocols end the walk with {@code l4Offset = -1}.</li>
 *   <li>ARP: 8 fixed bytes, then 28 for Ethernet/IPv4 ({@code TRUNCATED_ARP}); other hardware/protocol types
 *       are {@code KIND_OTHER}. For {@code KIND_ARP} srcIp/dstIp are the sender and target protocol addresses.</li>
 *   <li>IPv4: 20 bytes ({@code TRUNCATED_IPV4}), version 4 ({@code BAD_IP_VERSION}), 20 &lt;= IHL*4 &lt;= bytes
 *       left ({@code BAD_IHL}), IHL*4 &lt;= total length &lt;= bytes left ({@code BAD_TOTAL_LENGTH}; Ethernet
 *       padding beyond the total length is fine), header checksum ({@code BAD_IP_CHECKSUM}). A non-first
 *       fragment stops here as {@code KIND_IPV4_FRAGMENT}: it has no L4 header.</li>
 *   <li>L4, within the datagram (total length, not the frame): TCP 20 bytes ({@code TRUNCATED_TCP}),
 *       20 &lt;= data offset*4 &lt;= segment ({@code BAD_TCP_DATA_OFFSET}); UDP 8 bytes ({@code TRUNCATED_UDP}),
 *       8 &lt;= length &lt;= datagram ({@code BAD_UDP_LENGTH}; a first fragment only needs length &gt;= 8, its UDP
 *       length counts the whole reassembled datagram); ICMP 8 bytes ({@code TRUNCATED_ICMP}). Other protocols
 *       (GRE, SCTP...) are {@code KIND_IPV4} with {@code l4Offset = -1}.</li>
 *   <li>ICMP errors (types 3, 11, 12) must quote an IPv4 header and 8 bytes of its payload
 *       ({@code ICMP_ERROR_TRUNCATED}) with version 4 and IHL &gt;= 5 ({@code ICMP_ERROR_BAD_INNER}). The quoted
 *       total length and checksum are not checked: quoting stacks have mangled them, and nothing relies on them.</li>
 * </ol>
 * Not checked here, on purpose: ports, martian addresses, TCP flag combinations, L4 checksums (they may be
 * partial, see {@link Checksums}). Connection tracking and NAT decide those.
 *
 * <p>Fields are read a 32-bit word at a time where a header packs several (version/IHL/TOS/total length; ports),
 * and the IPv4 header checksum is summed from the words already read. A 64-byte TCP frame costs a few tens of ns.
 */
public final class FrameParser {
    private static final ByteOrder BIG = ByteOrder.BIG_ENDIAN;

    private static final int ETHERNET_LENGTH = EthernetHeader.LENGTH;
    private static final int VLAN_TAG_LENGTH = EthernetHeader.VLAN_LENGTH - EthernetHeader.LENGTH;
    private static final int ETHERTYPE_IPV4 = EthernetHeader.ETHERTYPE_IPV4;
    private static final int ETHERTYPE_ARP = EthernetHeader.ETHERTYPE_ARP;
    private static final int ETHERTYPE_IPV6 = EthernetHeader.ETHERTYPE_IPV6;
    private static final int IPV6_HEADER_LENGTH = 40;
    /** Extension headers walked before giving up: real traffic carries one or two. */
    static final int MAX_IPV6_EXTENSIONS = 8;
    private static final int NH_HOP_BY_HOP = 0;
    private static final int NH_ROUTING = 43;
    private static final int NH_FRAGMENT = 44;
    private static final int NH_AH = 51;
    private static final int NH_DESTINATION_OPTIONS = 60;
    private static final int ICMPV6_ECHO_REQUEST = 128;
    private static final int ICMPV6_ECHO_REPLY = 129;
    private static final int IPV6_MAX_PAYLOAD = 65535;
    private static final int ETHERTYPE_VLAN = EthernetHeader.ETHERTYPE_VLAN;
    /** Hardware type 1, protocol type 0x0800, lengths 6 and 4: the first 6 bytes of an Ethernet/IPv4 ARP packet. */
    private static final long ARP_ETHERNET_IPV4_PREFIX = 0x0001_0800_0604L;

    private static final int TRUNCATED_ETHERNET = DropReason.TRUNCATED_ETHERNET.id;
    private static final int TRUNCATED_VLAN = DropReason.TRUNCATED_VLAN.id;
    private static final int TRUNCATED_ARP = DropReason.TRUNCATED_ARP.id;
    private static final int TRUNCATED_IPV6 = DropReason.TRUNCATED_IPV6.id;
    private static final int FRAGMENT_TOO_LONG = DropReason.FRAGMENT_TOO_LONG.id;
    private static final int FRAGMENT_OVERLAPS_HEADER = DropReason.FRAGMENT_OVERLAPS_HEADER.id;
    private static final int TRUNCATED_IPV4 = DropReason.TRUNCATED_IPV4.id;
    private static final int BAD_IP_VERSION = DropReason.BAD_IP_VERSION.id;
    private static final int BAD_IHL = DropReason.BAD_IHL.id;
    private static final int BAD_TOTAL_LENGTH = DropReason.BAD_TOTAL_LENGTH.id;
    private static final int BAD_IP_CHECKSUM = DropReason.BAD_IP_CHECKSUM.id;
    private static final int TRUNCATED_TCP = DropReason.TRUNCATED_TCP.id;
    private static final int BAD_TCP_DATA_OFFSET = DropReason.BAD_TCP_DATA_OFFSET.id;
    private static final int TRUNCATED_UDP = DropReason.TRUNCATED_UDP.id;
    private static final int BAD_UDP_LENGTH = DropReason.BAD_UDP_LENGTH.id;
    private static final int TRUNCATED_ICMP = DropReason.TRUNCATED_ICMP.id;
    private static final int ICMP_ERROR_TRUNCATED = DropReason.ICMP_ERROR_TRUNCATED.id;
    private static final int ICMP_ERROR_BAD_INNER = DropReason.ICMP_ERROR_BAD_INNER.id;

    private static final int IPV4_MIN_LENGTH = Ipv4Header.MIN_LENGTH;
    private static final int TCP_MIN_LENGTH = TcpHeader.MIN_LENGTH;
    private static final int UDP_LENGTH = UdpHeader.LENGTH;
    private static final int ICMP_LENGTH = IcmpHeader.LENGTH;
    /** What an ICMP error must quote at least: the IPv4 header (20+) and 8 bytes of its payload. */
    private static final int ICMP_QUOTE_MIN_PAYLOAD = 8;

    /**
     * Parses the frame in {@code [offset, offset + length)} of {@code buf} into {@code out}.
     *
     * @return 0 for a frame to process (see {@code out.kind}), else the {@link DropReason#id} of why to drop it
     */
    public int parse(final DirectBuffer buf, final int offset, final int length, final ParsedFrame out) {
        out.clear();
        out.frameOffset = offset;
        out.frameLength = length;
        if (length < ETHERNET_LENGTH) {
            return TRUNCATED_ETHERNET;
        }
        final int end = offset + length;
        int l3 = offset + ETHERNET_LENGTH;
        int etherType = buf.getShort(offset + EthernetHeader.ETHERTYPE_OFFSET, BIG) & 0xFFFF;
        if (etherType == ETHERTYPE_VLAN) {
            if (length < ETHERNET_LENGTH + VLAN_TAG_LENGTH) {
                return TRUNCATED_VLAN;
            }
            final int tciAndType = buf.getInt(offset + EthernetHeader.VLAN_TCI_OFFSET, BIG);
            out.vlanTci = tciAndType >>> 16;
            etherType = tciAndType & 0xFFFF;
            l3 += VLAN_TAG_LENGTH;
        }
        out.etherType = etherType;
        if (etherType == ETHERTYPE_IPV4) {
            out.l3Offset = l3;
            return parseIpv4(buf, l3, end, out);
        }
        if (etherType == ETHERTYPE_ARP) {
            return parseArp(buf, l3, end, out);
        }
        if (etherType == ETHERTYPE_IPV6) {
            out.l3Offset = l3;
            return parseIpv6(buf, l3, end, out);
        }
        return 0;
    }

    private static int parseIpv6(final DirectBuffer buf, final int l3, final int end, final ParsedFrame out) {
        if (end - l3 < IPV6_HEADER_LENGTH) {
            return TRUNCATED_IPV6;
        }
        if ((buf.getByte(l3) & 0xF0) != 0x60) {
            return BAD_IP_VERSION;
        }
        final int payloadNextHop = buf.getInt(l3 + 4, BIG);
        final int payloadLength = payloadNextHop >>> 16;
        if (IPV6_HEADER_LENGTH + payloadLength > end - l3) {
            return DropReason.IPV6_BAD_PAYLOAD_LENGTH.id;
        }
        out.src6High = buf.getLong(l3 + 8, BIG);
        out.src6Low = buf.getLong(l3 + 16, BIG);
        out.dst6High = buf.getLong(l3 + 24, BIG);
        out.dst6Low = buf.getLong(l3 + 32, BIG);
        out.ttl = payloadNextHop & 0xFF;
        out.ipTotalLength = IPV6_HEADER_LENGTH + payloadLength;
        final int datagramEnd = l3 + IPV6_HEADER_LENGTH + payloadLength;
        final long walked = walkExtensions(buf, l3 + IPV6_HEADER_LENGTH, (payloadNextHop >>> 8) & 0xFF, datagramEnd,
            out);
        if (walked < 0) {
            return (int) -walked;
        }
        final int l4 = (int) (walked >>> WALK_OFFSET_SHIFT);
        final int proto = (int) walked & 0xFF;
        out.ipProto = proto;
        out.ipHeaderLength = l4 - l3;
        if (out.fragmentOffset != 0) {
            out.kind = ParsedFrame.KIND_IPV6_FRAGMENT;
            return out.fragmentOffset + datagramEnd - l4 > IPV6_MAX_PAYLOAD ? FRAGMENT_TOO_LONG : 0;
        }
        out.kind = ParsedFrame.KIND_IPV6;
        final int l4Length = datagramEnd - l4;
        switch (proto) {
            case IpProtocol.TCP:
                return parseTcp(buf, l4, l4Length, out);
            case IpProtocol.UDP:
                return parseUdp(buf, l4, l4Length, out);
            case IpProtocol.ICMPV6:
                return parseIcmp6(buf, l4, l4Length, out);
            default:
                return 0;
        }
    }

    private static final int WALK_OFFSET_SHIFT = 9;
    private static final long WALK_NON_FIRST_FRAGMENT = 1L << 8;

    /**
     * Walks an IPv6 extension header chain from {@code offset} (whose type is {@code nextHeader}) within {@code limit}.
     * It stops after a non-first fragment's header (nothing after it is a header). For the frame's own chain
     * ({@code out} not null) it records a fragment header's offset, M flag and id in {@code out}. Allocation-free.
     *
     * @return {@code (offset of the upper-layer header << 9) | (non-first fragment << 8) | its protocol}, or minus a
     *     {@link DropReason} id
     */
    private static long walkExtensions(final DirectBuffer buf, int offset, int nextHeader, final int limit,
                                       final ParsedFrame out) {
        for (int count = 0; ; count++) {
            final int length;
            switch (nextHeader) {
                case NH_HOP_BY_HOP:
                    if (count != 0) {
                        return -DropReason.IPV6_HOP_BY_HOP_NOT_FIRST.id;
                    }
                    // fall through: same layout as routing and destination options
                case NH_ROUTING:
                case NH_DESTINATION_OPTIONS:
                    if (offset + 8 > limit) {
                        return -DropReason.IPV6_EXTENSION_TRUNCATED.id;
                    }
                    length = ((buf.getByte(offset + 1) & 0xFF) + 1) << 3;
                    break;
                case NH_AH:
                    if (offset + 8 > limit) {
                        return -DropReason.IPV6_EXTENSION_TRUNCATED.id;
                    }
                    length = ((buf.getByte(offset + 1) & 0xFF) + 2) << 2;
                    break;
                case NH_FRAGMENT:
                    if (offset + 8 > limit) {
                        return -DropReason.IPV6_EXTENSION_TRUNCATED.id;
                    }
                    length = 8;
                    final int offsetFlags = buf.getShort(offset + 2, BIG) & 0xFFFF;
                    if (out != null) {
                        out.fragmentOffset = offsetFlags & 0xFFF8;
                        out.moreFragments = (offsetFlags & 1) != 0;
                        out.ipId = buf.getInt(offset + 4, BIG);
                    }
                    if ((offsetFlags & 0xFFF8) != 0) {
                        return ((long) (offset + length) << WALK_OFFSET_SHIFT) | WALK_NON_FIRST_FRAGMENT
                            | (buf.getByte(offset) & 0xFF);
                    }
                    break;
                default:
                    return ((long) offset << WALK_OFFSET_SHIFT) | nextHeader; // upper layer, ESP or no next header
            }
            if (count + 1 > MAX_IPV6_EXTENSIONS) {
                return -DropReason.IPV6_EXTENSION_CHAIN_TOO_LONG.id;
            }
            if (offset + length > limit) {
                return -DropReason.IPV6_EXTENSION_TRUNCATED.id;
            }
            nextHeader = buf.getByte(offset) & 0xFF;
            offset += length;
        }
    }

    private static int parseIcmp6(final DirectBuffer buf, final int l4, final int l4Length, final ParsedFrame out) {
        if (l4Length < ICMP_LENGTH) {
            return TRUNCATED_ICMP;
        }
        final int type = buf.getByte(l4) & 0xFF;
        out.l4Offset = l4;
        out.l4Length = l4Length;
        out.icmpType = type;
        out.icmpCode = buf.getByte(l4 + 1) & 0xFF;
        if (type == ICMPV6_ECHO_REQUEST) {
            out.srcPort = buf.getShort(l4 + IcmpHeader.IDENTIFIER_OFFSET, BIG) & 0xFFFF;
        } else if (type == ICMPV6_ECHO_REPLY) {
            out.dstPort = buf.getShort(l4 + IcmpHeader.IDENTIFIER_OFFSET, BIG) & 0xFFFF;
        } else if (type >= 1 && type <= 4) {
            out.icmpError = true;
            return parseQuotedIpv6(buf, l4 + ICMP_LENGTH, l4Length - ICMP_LENGTH, out);
        }
        return 0;
    }

    private static int parseQuotedIpv6(final DirectBuffer buf, final int inner, final int available,
                                       final ParsedFrame out) {
        if (available < IPV6_HEADER_LENGTH + ICMP_QUOTE_MIN_PAYLOAD) {
            return ICMP_ERROR_TRUNCATED;
        }
        if ((buf.getByte(inner) & 0xF0) != 0x60) {
            return ICMP_ERROR_BAD_INNER;
        }
        final long walked = walkExtensions(buf, inner + IPV6_HEADER_LENGTH, buf.getByte(inner + 6) & 0xFF,
            inner + available, null);
        if (walked < 0) {
            return ICMP_ERROR_BAD_INNER;
        }
        final int innerL4 = (int) (walked >>> WALK_OFFSET_SHIFT);
        if (innerL4 + ICMP_QUOTE_MIN_PAYLOAD > inner + available) {
            return ICMP_ERROR_TRUNCATED;
        }
        final int proto = (int) walked & 0xFF;
        out.innerL3Offset = inner;
        out.innerIpHeaderLength = innerL4 - inner;
        out.innerProto = proto;
        out.innerSrc6High = buf.getLong(inner + 8, BIG);
        out.innerSrc6Low = buf.getLong(inner + 16, BIG);
        out.innerDst6High = buf.getLong(inner + 24, BIG);
        out.innerDst6Low = buf.getLong(inner + 32, BIG);
        out.innerL4Offset = innerL4;
        out.innerL4Available = inner + available - innerL4;
        if ((walked & WALK_NON_FIRST_FRAGMENT) != 0) {
            return 0; // a quoted non-first fragment has no L4 header: ports stay 0
        }
        if (proto == IpProtocol.TCP || proto == IpProtocol.UDP) {
            final int ports = buf.getInt(innerL4, BIG);
            out.innerSrcPort = ports >>> 16;
            out.innerDstPort = ports & 0xFFFF;
        } else if (proto == IpProtocol.ICMPV6) {
            final int type = buf.getByte(innerL4) & 0xFF;
            final int identifier = buf.getShort(innerL4 + IcmpHeader.IDENTIFIER_OFFSET, BIG) & 0xFFFF;
            if (type == ICMPV6_ECHO_REQUEST) {
                out.innerSrcPort = identifier;
            } else if (type == ICMPV6_ECHO_REPLY) {
                out.innerDstPort = identifier;
            }
        }
        return 0;
    }

    private static int parseArp(final DirectBuffer buf, final int l3, final int end, final ParsedFrame out) {
        final int available = end - l3;
        if (available < ArpPacket.FIXED_LENGTH) {
            return TRUNCATED_ARP;
        }
        if ((buf.getLong(l3, BIG) >>> 16) != ARP_ETHERNET_IPV4_PREFIX) {
            return 0; // ARP for other hardware or protocols: KIND_OTHER, the kernel's business.
        }
        if (available < ArpPacket.LENGTH) {
            return TRUNCATED_ARP;
        }
        out.kind = ParsedFrame.KIND_ARP;
        out.l3Offset = l3;
        out.srcIp = buf.getInt(l3 + ArpPacket.SENDER_IP_OFFSET, BIG);
        out.dstIp = buf.getInt(l3 + ArpPacket.TARGET_IP_OFFSET, BIG);
        return 0;
    }

    private static int parseIpv4(final DirectBuffer buf, final int l3, final int end, final ParsedFrame out) {
        final int available = end - l3;
        if (available < IPV4_MIN_LENGTH) {
            return TRUNCATED_IPV4;
        }
        final int versionIhlTosLength = buf.getInt(l3, BIG);
        if ((versionIhlTosLength >>> 28) != 4) {
            return BAD_IP_VERSION;
        }
        final int headerLength = (versionIhlTosLength >>> 22) & 0x3C; // IHL (bits 24-27) * 4
        if (headerLength < IPV4_MIN_LENGTH || headerLength > available) {
            return BAD_IHL;
        }
        final int totalLength = versionIhlTosLength & 0xFFFF;
        if (totalLength < headerLength || totalLength > available) {
            return BAD_TOTAL_LENGTH;
        }
        final int idFlagsFragment = buf.getInt(l3 + Ipv4Header.IDENTIFICATION_OFFSET, BIG);
        final int ttlProtoChecksum = buf.getInt(l3 + Ipv4Header.TTL_OFFSET, BIG);
        final int srcIp = buf.getInt(l3 + Ipv4Header.SOURCE_OFFSET, BIG);
        final int dstIp = buf.getInt(l3 + Ipv4Header.DESTINATION_OFFSET, BIG);
        // Header checksum from the five words in hand (each adds <= 0x1FFFE: no overflow), options summed after.
        int sum = halves(versionIhlTosLength) + halves(idFlagsFragment) + halves(ttlProtoChecksum)
            + halves(srcIp) + halves(dstIp);
        if (headerLength > IPV4_MIN_LENGTH) {
            sum = Checksums.sum(buf, l3 + IPV4_MIN_LENGTH, headerLength - IPV4_MIN_LENGTH, sum);
        }
        if (Checksums.fold(sum) != 0xFFFF) {
            return BAD_IP_CHECKSUM;
        }
        final int proto = (ttlProtoChecksum >>> 16) & 0xFF;
        out.ipHeaderLength = headerLength;
        out.ipTotalLength = totalLength;
        out.ipProto = proto;
        out.srcIp = srcIp;
        out.dstIp = dstIp;
        out.ttl = ttlProtoChecksum >>> 24;
        out.ipId = idFlagsFragment >>> 16;
        out.dontFragment = (idFlagsFragment & Ipv4Header.FLAG_DONT_FRAGMENT) != 0;
        out.moreFragments = (idFlagsFragment & Ipv4Header.FLAG_MORE_FRAGMENTS) != 0;
        final int fragmentOffset = (idFlagsFragment & Ipv4Header.FRAGMENT_OFFSET_MASK) << 3;
        out.fragmentOffset = fragmentOffset;
        if (fragmentOffset != 0) {
            out.kind = ParsedFrame.KIND_IPV4_FRAGMENT;
            if (fragmentOffset + totalLength - headerLength > Ipv4Header.MAX_TOTAL_LENGTH) {
                return FRAGMENT_TOO_LONG; // the reassembled datagram would pass 65535 bytes ("ping of death")
            }
            if (proto == IpProtocol.TCP && fragmentOffset < TCP_MIN_LENGTH + 4) {
                // RFC 1858 3.2: a TCP fragment at offset 8 or 16 would overwrite the TCP header (ports, flags) the
                // first fragment was judged by, at the receiver's reassembly
                return FRAGMENT_OVERLAPS_HEADER;
            }
            return 0;
        }
        out.kind = ParsedFrame.KIND_IPV4;
        final int l4 = l3 + headerLength;
        final int l4Length = totalLength - headerLength;
        switch (proto) {
            case IpProtocol.TCP:
                return parseTcp(buf, l4, l4Length, out);
            case IpProtocol.UDP:
                return parseUdp(buf, l4, l4Length, out);
            case IpProtocol.ICMP:
                return parseIcmp(buf, l4, l4Length, out);
            default:
                return 0;
        }
    }

    private static int halves(final int word) {
        return (word >>> 16) + (word & 0xFFFF);
    }

    private static int parseTcp(final DirectBuffer buf, final int l4, final int l4Length, final ParsedFrame out) {
        if (l4Length < TCP_MIN_LENGTH) {
            return TRUNCATED_TCP;
        }
        final int dataOffsetAndFlags = buf.getShort(l4 + TcpHeader.DATA_OFFSET_OFFSET, BIG) & 0xFFFF;
        final int headerLength = (dataOffsetAndFlags >>> 10) & 0x3C; // data offset (top 4 bits) * 4
        if (headerLength < TCP_MIN_LENGTH || headerLength > l4Length) {
            return BAD_TCP_DATA_OFFSET;
        }
        final int ports = buf.getInt(l4, BIG);
        out.l4Offset = l4;
        out.l4Length = l4Length;
        out.srcPort = ports >>> 16;
        out.dstPort = ports & 0xFFFF;
        out.tcpFlags = dataOffsetAndFlags & 0xFF;
        out.tcpHeaderLength = headerLength;
        return 0;
    }

    private static int parseUdp(final DirectBuffer buf, final int l4, final int l4Length, final ParsedFrame out) {
        if (l4Length < UDP_LENGTH) {
            return TRUNCATED_UDP;
        }
        final int udpLength = buf.getShort(l4 + UdpHeader.LENGTH_OFFSET, BIG) & 0xFFFF;
        // A first fragment carries only part of the datagram its UDP length counts.
        if (udpLength < UDP_LENGTH || (udpLength > l4Length && !out.moreFragments)) {
            return BAD_UDP_LENGTH;
        }
        final int ports = buf.getInt(l4, BIG);
        out.l4Offset = l4;
        out.l4Length = l4Length;
        out.srcPort = ports >>> 16;
        out.dstPort = ports & 0xFFFF;
        return 0;
    }

    private static int parseIcmp(final DirectBuffer buf, final int l4, final int l4Length, final ParsedFrame out) {
        if (l4Length < ICMP_LENGTH) {
            return TRUNCATED_ICMP;
        }
        final int typeCode = buf.getShort(l4, BIG) & 0xFFFF;
        final int type = typeCode >>> 8;
        out.l4Offset = l4;
        out.l4Length = l4Length;
        out.icmpType = type;
        out.icmpCode = typeCode & 0xFF;
        if (type == IcmpHeader.TYPE_ECHO_REQUEST) {
            out.srcPort = buf.getShort(l4 + IcmpHeader.IDENTIFIER_OFFSET, BIG) & 0xFFFF;
        } else if (type == IcmpHeader.TYPE_ECHO_REPLY) {
            out.dstPort = buf.getShort(l4 + IcmpHeader.IDENTIFIER_OFFSET, BIG) & 0xFFFF;
        } else if (IcmpHeader.isErrorType(type)) {
            out.icmpError = true;
            return parseQuotedDatagram(buf, l4 + ICMP_LENGTH, l4Length - ICMP_LENGTH, out);
        }
        return 0;
    }

    private static int parseQuotedDatagram(
        final DirectBuffer buf, final int inner, final int available, final ParsedFrame out) {
        if (available < IPV4_MIN_LENGTH + ICMP_QUOTE_MIN_PAYLOAD) {
            return ICMP_ERROR_TRUNCATED;
        }
        final int versionIhl = buf.getByte(inner) & 0xFF;
        final int headerLength = (versionIhl & 0x0F) << 2;
        if ((versionIhl >>> 4) != 4 || headerLength < IPV4_MIN_LENGTH) {
            return ICMP_ERROR_BAD_INNER;
        }
        if (headerLength + ICMP_QUOTE_MIN_PAYLOAD > available) {
            return ICMP_ERROR_TRUNCATED;
        }
        final int proto = buf.getByte(inner + Ipv4Header.PROTOCOL_OFFSET) & 0xFF;
        final int innerL4 = inner + headerLength;
        out.innerL3Offset = inner;
        out.innerIpHeaderLength = headerLength;
        out.innerProto = proto;
        out.innerSrcIp = buf.getInt(inner + Ipv4Header.SOURCE_OFFSET, BIG);
        out.innerDstIp = buf.getInt(inner + Ipv4Header.DESTINATION_OFFSET, BIG);
        out.innerL4Offset = innerL4;
        out.innerL4Available = available - headerLength;
        final int fragmentOffset = buf.getShort(inner + Ipv4Header.FLAGS_FRAGMENT_OFFSET, BIG)
            & Ipv4Header.FRAGMENT_OFFSET_MASK;
        if (fragmentOffset != 0) {
            return 0; // A quoted non-first fragment has no L4 header: ports stay 0.
        }
        if (proto == IpProtocol.TCP || proto == IpProtocol.UDP) {
            final int ports = buf.getInt(innerL4, BIG);
            out.innerSrcPort = ports >>> 16;
            out.innerDstPort = ports & 0xFFFF;
        } else if (proto == IpProtocol.ICMP) {
            final int type = buf.getByte(innerL4) & 0xFF;
            final int identifier = buf.getShort(innerL4 + IcmpHeader.IDENTIFIER_OFFSET, BIG) & 0xFFFF;
            if (type == IcmpHeader.TYPE_ECHO_REQUEST) {
                out.innerSrcPort = identifier;
            } else if (type == IcmpHeader.TYPE_ECHO_REPLY) {
                out.innerDstPort = identifier;
            }
        }
        return 0;
    }
}
