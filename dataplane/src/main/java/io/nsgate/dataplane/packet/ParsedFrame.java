// What the frame parser learned about one frame: offsets, protocol and flow key, reused for every frame.
package io.nsgate.dataplane.packet;

/**
 * The parser's output, one mutable instance per worker, overwritten by every {@code FrameParser.parse} call
 * (no allocation per frame). Fields are public ints for the fast path; they are only meaningful after a parse
 * that returned 0 (no drop reason), and only those of the frame's {@link #kind}.
 *
 * <p>Offsets are absolute offsets into the buffer the frame was parsed from. Addresses are IPv4 addresses as
 * big-endian ints (192.168.1.2 is {@code 0xC0A80102}); ports and ICMP identifiers are unsigned 16-bit values
 * in an int.
 *
 * <p><b>Flow key convention.</b> Every trackable frame yields a 5-tuple (proto, srcIp, dstIp, srcPort, dstPort)
 * such that the key of a reply is the key of the request with source and destination swapped:
 * <ul>
 *   <li>TCP, UDP: the ports.</li>
 *   <li>ICMP echo request: srcPort = identifier, dstPort = 0; echo reply: srcPort = 0, dstPort = identifier.</li>
 *   <li>ICMP error (destination unreachable, time exceeded, parameter problem): the outer key is not a flow;
 *       the {@code inner*} fields describe the quoted datagram with the same convention (the quoted packet
 *       travelled from innerSrc to innerDst).</li>
 * </ul>
 */
public final class ParsedFrame {
    /** Not IPv4, IPv6 or ARP (LLDP...): left to the kernel. */
    public static final int KIND_OTHER = 0;
    /** ARP over Ethernet for IPv4. */
    public static final int KIND_ARP = 1;
    /** IPv4 that is a first fragment or not fragmented, with a parsed L4 header when it is TCP, UDP or ICMP. */
    public static final int KIND_IPV4 = 2;
    /** IPv4 non-first fragment: no L4 header, only addresses, protocol and IP id are meaningful. */
    public static final int KIND_IPV4_FRAGMENT = 3;
    /**
     * IPv6 that is a first fragment or not fragmented: addresses in {@link #src6High}..., the header chain walked
     * ({@link #ipHeaderLength} covers it, {@link #ipProto} is the upper-layer protocol), and TCP, UDP or ICMPv6 parsed
     * as for IPv4.
     */
    public static final int KIND_IPV6 = 4;
    /** IPv6 non-first fragment: addresses, the fragment header's next header ({@link #ipProto}), id and offset. */
    public static final int KIND_IPV6_FRAGMENT = 5;

    // --- frame ---
    public int frameOffset;
    public int frameLength;
    /** One of the KIND_ constants. */
    public int kind;
    /** Ethertype after at most one 802.1Q tag. */
    public int etherType;
    /** 802.1Q TCI when the frame carried a tag, else -1. */
    public int vlanTci;
    /** Offset of the ARP or IPv4 header. */
    public int l3Offset;

    // --- IPv6 (KIND_IPV6): the addresses as two big-endian longs each ---
    public long src6High;
    public long src6Low;
    public long dst6High;
    public long dst6Low;

    // --- IPv4 ---
    /** Header length in bytes (IHL * 4). */
    public int ipHeaderLength;
    /** The IPv4 total length field; the frame may carry padding beyond it. */
    public int ipTotalLength;
    public int ipProto;
    /** IPv4 source address; for {@link #KIND_ARP} the ARP sender protocol address. */
    public int srcIp;
    /** IPv4 destination address; for {@link #KIND_ARP} the ARP target protocol address. */
    public int dstIp;
    public int ttl;
    public int ipId;
    /** DF flag. */
    public boolean dontFragment;
    /** MF flag. */
    public boolean moreFragments;
    /** Fragment offset in bytes (field * 8). */
    public int fragmentOffset;

    // --- L4 (KIND_IPV4 with TCP, UDP or ICMP) ---
    /** Offset of the TCP/UDP/ICMP header, or -1. */
    public int l4Offset;
    /** Bytes from l4Offset to the end of the IP datagram (ipTotalLength - ipHeaderLength). */
    public int l4Length;
    /** Flow key ports (see class comment). */
    public int srcPort;
    public int dstPort;
    /** TCP flags byte (FIN=0x01 SYN=0x02 RST=0x04 PSH=0x08 ACK=0x10 URG=0x20 ECE=0x40 CWR=0x80). */
    public int tcpFlags;
    /** TCP header length in bytes (data offset * 4). */
    public int tcpHeaderLength;
    public int icmpType;
    public int icmpCode;
    /** True for ICMP destination unreachable, time exceeded and parameter problem. */
    public boolean icmpError;

    // --- the datagram an ICMP error quotes (icmpError only) ---
    /** Offset of the quoted IPv4 header. */
    public int innerL3Offset;
    public int innerIpHeaderLength;
    public int innerProto;
    public int innerSrcIp;
    public int innerDstIp;
    /** Offset of the quoted L4 header (at least 8 bytes of it are present). */
    public int innerL4Offset;
    /** Quoted bytes available from innerL4Offset to the end of the ICMP payload (>= 8). */
    public int innerL4Available;
    public int innerSrcPort;
    public int innerDstPort;
    /** The quoted IPv6 datagram's addresses (an ICMPv6 error). */
    public long innerSrc6High;
    public long innerSrc6Low;
    public long innerDst6High;
    public long innerDst6Low;

    /** Resets every field to its "absent" value; the parser calls this first. */
    public void clear() {
        frameOffset = 0;
        frameLength = 0;
        kind = KIND_OTHER;
        etherType = 0;
        vlanTci = -1;
        l3Offset = -1;
        ipHeaderLength = 0;
        ipTotalLength = 0;
        ipProto = 0;
        srcIp = 0;
        dstIp = 0;
        ttl = 0;
        ipId = 0;
        dontFragment = false;
        moreFragments = false;
        fragmentOffset = 0;
        l4Offset = -1;
        l4Length = 0;
        srcPort = 0;
        dstPort = 0;
        tcpFlags = 0;
        tcpHeaderLength = 0;
        icmpType = -1;
        icmpCode = -1;
        icmpError = false;
        innerL3Offset = -1;
        innerIpHeaderLength = 0;
        innerProto = 0;
        innerSrcIp = 0;
        innerDstIp = 0;
        innerL4Offset = -1;
        innerL4Available = 0;
        innerSrcPort = 0;
        innerDstPort = 0;
        // the IPv6 addresses are not cleared: the parser writes them for every IPv6 frame (the quoted ones with
        // icmpError), and nothing reads them otherwise
    }

    /** True when this is the first (or only) fragment of a fragmented datagram. */
    public boolean isFirstFragment() {
        return (kind == KIND_IPV4 || kind == KIND_IPV6) && moreFragments && fragmentOffset == 0;
    }
}
