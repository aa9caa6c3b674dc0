// A flow as the JSON object of a flows.list item, written straight into a Netty buffer without allocating.
package io.nsgate.control.api.ops;

import static java.nio.charset.StandardCharsets.US_ASCII;

import io.netty.buffer.ByteBuf;
import io.nsgate.dataplane.conntrack.FlowRecord;
import io.nsgate.dataplane.conntrack.FlowSnapshot;
import io.nsgate.dataplane.conntrack.FlowTimeouts;
import io.nsgate.dataplane.conntrack.TcpState;
import io.nsgate.dataplane.packet.IpProtocol;

/**
 * One item, on one line (the keys are documented in the README, "The protocol"):
 * <pre>
 * {"id":17,"proto":"tcp","state":"ESTABLISHED","nat":"dnat","assured":true,
 *  "orig":{"src":"192.168.1.3","sport":40312,"dst":"192.168.1.2","dport":80,"packets":12,"bytes":1534},
 *  "reply":{"src":"192.168.15.2","sport":80,"dst":"192.168.1.3","dport":40312,"packets":10,"bytes":8911},
 *  "age_s":3,"idle_ms":12,"expires_s":431999}
 * </pre>
 * A million of these are written per listing, so every key and name is a pre-encoded constant and numbers are
 * written digit by digit: no String, no allocation per flow.
 */
public final class FlowJson {
    private static final byte[] ID = ascii("{\"id\":");
    private static final byte[] PROTO = ascii(",\"proto\":\"");
    private static final byte[] STATE = ascii("\",\"state\":\"");
    private static final byte[] NAT = ascii("\",\"nat\":\"");
    private static final byte[] ASSURED = ascii("\",\"assured\":");
    private static final byte[] ORIG_SRC = ascii(",\"orig\":{\"src\":\"");
    private static final byte[] REPLY_SRC = ascii("},\"reply\":{\"src\":\"");
    private static final byte[] SPORT = ascii("\",\"sport\":");
    private static final byte[] DST = ascii(",\"dst\":\"");
    private static final byte[] DPORT = ascii("\",\"dport\":");
    private static final byte[] PACKETS = ascii(",\"packets\":");
    private static final byte[] BYTES = ascii(",\"bytes\":");
    private static final byte[] AGE = ascii("},\"age_s\":");
    private static final byte[] IDLE = ascii(",\"idle_ms\":");
    private static final byte[] EXPIRES = ascii(",\"expires_s\":");
    private static final byte[] TRUE = ascii("true");
    private static final byte[] FALSE = ascii("false");
    private static final byte[] TCP = ascii("tcp");
    private static final byte[] UDP = ascii("udp");
    private static final byte[] ICMP = ascii("icmp");
    private static final byte[] ICMPV6 = ascii("icmpv6");
    private static final byte[] UNREPLIED = ascii("UNREPLIED");
    private static final byte[] REPLIED = ascii("REPLIED");
    private static final byte[] MAPPING = ascii("MAPPING");
    private static final byte[][] TCP_STATES = new byte[TcpState.COUNT][];
    private static final byte[][] NAT_KINDS = {
        ascii("none"), ascii("snat"), ascii("dnat"), ascii("snat+dnat"),
        ascii("none"), ascii("snat"), ascii("dnat+hairpin"), ascii("dnat+hairpin"),
    };
    private static final byte[] MAPPING_NAT = ascii("mapping");
    private static final byte[] NAT64 = ascii("dnat64");

    static {
        for (int s = 0; s < TcpState.COUNT; s++) {
            TCP_STATES[s] = ascii(TcpState.name(s));
        }
    }

    private FlowJson() {
    }

    /**
     * Writes one flow as a JSON object.
     *
     * @param nowNs    the table's clock now (System.nanoTime for a running gateway)
     * @param timeouts the table's timeouts, for {@code expires_s}
     */
    public static void write(ByteBuf out, FlowSnapshot f, long nowNs, FlowTimeouts timeouts) {
        write(out, f, null, nowNs, timeouts);
    }

    /**
     * Writes one flow as a JSON object; an IPv6 flow's addresses are {@code v6} (original source, original
     * destination, reply source, reply destination: high and low each, {@code FlowTable6.addresses}).
     */
    public static void write(ByteBuf out, FlowSnapshot f, long[] v6, long nowNs, FlowTimeouts timeouts) {
        out.writeBytes(ID);
        writeLong(out, f.flowId);
        out.writeBytes(PROTO);
        out.writeBytes(f.proto == IpProtocol.TCP ? TCP : f.proto == IpProtocol.UDP ? UDP : f.proto == IpProtocol.ICMP ? ICMP
            : f.proto == IpProtocol.ICMPV6 ? ICMPV6 : ascii(IpProtocol.name(f.proto)));
        out.writeBytes(STATE);
        out.writeBytes(state(f));
        out.writeBytes(NAT);
        out.writeBytes(f.mapping ? MAPPING_NAT : (f.natFlags & FlowRecord.NAT_64) != 0 ? NAT64 : NAT_KINDS[f.natFlags & 7]);
        out.writeBytes(ASSURED);
        out.writeBytes(f.assured() ? TRUE : FALSE);
        out.writeBytes(ORIG_SRC);
        tuple(out, f.origSrcIp, f.origSrcPort, f.origDstIp, f.origDstPort, f.origPackets, f.origBytes, v6, 0);
        out.writeBytes(REPLY_SRC);
        tuple(out, f.replySrcIp, f.replySrcPort, f.replyDstIp, f.replyDstPort, f.replyPackets, f.replyBytes, v6, 4);
        out.writeBytes(AGE);
        writeLong(out, Math.max(0, (nowNs - f.createdNs) / 1_000_000_000L));
        long idle = Math.max(0, nowNs - f.lastSeenNs);
        out.writeBytes(IDLE);
        writeLong(out, idle / 1_000_000L);
        if (!f.mapping) {
            long timeout = timeouts.timeoutNs(f.proto, f.protoState, f.flagsOrRefCount);
            out.writeBytes(EXPIRES);
            writeLong(out, Math.max(0, timeout - idle) / 1_000_000_000L);
        }
        out.writeByte('}');
    }

    private static byte[] state(FlowSnapshot f) {
        if (f.mapping) {
            return MAPPING;
        }
        if (f.proto == IpProtocol.TCP) {
            return f.protoState >= 0 && f.protoState < TcpState.COUNT ? TCP_STATES[f.protoState]
                : ascii(TcpState.name(f.protoState));
        }
        return f.replied() ? REPLIED : UNREPLIED;
    }

    private static void tuple(ByteBuf out, int src, int sport, int dst, int dport, long packets, long bytes, long[] v6,
                              int at) {
        if (v6 == null) {
            writeIp(out, src);
        } else {
            writeIp6(out, v6[at], v6[at + 1]);
        }
        out.writeBytes(SPORT);
        writeLong(out, sport);
        out.writeBytes(DST);
        if (v6 == null) {
            writeIp(out, dst);
        } else {
            writeIp6(out, v6[at + 2], v6[at + 3]);
        }
        out.writeBytes(DPORT);
        writeLong(out, dport);
        out.writeBytes(PACKETS);
        writeLong(out, packets);
        out.writeBytes(BYTES);
        writeLong(out, bytes);
    }

    /** A dotted quad. */
    static void writeIp(ByteBuf out, int ip) {
        writeLong(out, ip >>> 24);
        out.writeByte('.');
        writeLong(out, (ip >>> 16) & 0xFF);
        out.writeByte('.');
        writeLong(out, (ip >>> 8) & 0xFF);
        out.writeByte('.');
        writeLong(out, ip & 0xFF);
    }

    /**
     * An IPv6 address in its short form (RFC 5952: lower case, the longest run of two or more zero groups as ::); an
     * IPv4-mapped one (the IPv4 side of a translated flow) as the IPv4 address it stands for.
     */
    static void writeIp6(ByteBuf out, long high, long low) {
        if (high == 0 && (low >>> 32) == 0xFFFFL) {
            writeIp(out, (int) low);
            return;
        }
        int bestStart = -1;
        int bestLength = 1;
        for (int i = 0; i < 8; ) {
            if (group(high, low, i) != 0) {
                i++;
                continue;
            }
            int j = i;
            while (j < 8 && group(high, low, j) == 0) {
                j++;
            }
            if (j - i > bestLength) {
                bestStart = i;
                bestLength = j - i;
            }
            i = j;
        }
        for (int i = 0; i < 8; i++) {
            if (i == bestStart) {
                out.writeByte(':');
                if (i == 0) {
                    out.writeByte(':');
                }
                i += bestLength - 1;
                continue;
            }
            int g = group(high, low, i);
            boolean started = false;
            for (int shift = 12; shift >= 0; shift -= 4) {
                int digit = (g >>> shift) & 0xF;
                if (digit != 0 || started || shift == 0) {
                    out.writeByte(digit < 10 ? '0' + digit : 'a' + digit - 10);
                    started = true;
                }
            }
            if (i < 7) {
                out.writeByte(':');
            }
        }
    }

    private static int group(long high, long low, int i) {
        long half = i < 4 ? high : low;
        return (int) (half >>> (48 - 16 * (i & 3))) & 0xFFFF;
    }

    /** A non-negative decimal number. */
    static void writeLong(ByteBuf out, long value) {
        if (value < 0) {
            out.writeByte('-');
            value = -value;
        }
        if (value < 10) {
            out.writeByte('0' + (int) value);
            return;
        }
        long divisor = 1;
        while (value / divisor >= 10) {
            divisor *= 10;
        }
        while (divisor > 0) {
            out.writeByte('0' + (int) (value / divisor % 10));
            divisor /= 10;
        }
    }

    private static byte[] ascii(String s) {
        return s.getBytes(US_ASCII);
    }

    static {
        // NAT_KINDS is indexed by the low three NAT flag bits
        if (FlowRecord.NAT_SNAT != 1 || FlowRecord.NAT_DNAT != 2 || FlowRecord.NAT_HAIRPIN != 4) {
            throw new ExceptionInInitializerError("FlowRecord NAT flag bits changed: update FlowJson.NAT_KINDS");
        }
    }
}
