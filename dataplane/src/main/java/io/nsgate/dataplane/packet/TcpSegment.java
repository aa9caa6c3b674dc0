// What TCP window tracking reads from one segment: sequence space, window and the options that scale it.
package io.nsgate.dataplane.packet;

import java.nio.ByteOrder;

import org.agrona.DirectBuffer;

/**
 * The fields of a TCP segment that connection tracking judges it by, read once per segment by {@link #read} into
 * plain ints (one instance per worker, reused; nothing allocated). Sequence numbers are raw 32-bit values: compare
 * them with wrap-around arithmetic, as {@link #after} does.
 *
 * <p>Options are read as netfilter's {@code tcp_options} and {@code tcp_sack} read them: window scale (kind 3, capped
 * at 14 as RFC 7323 says) and SACK-permitted (kind 4) on SYN segments, and on every segment the highest right edge of
 * its SACK blocks (kind 5) that lies after the acknowledgement. A malformed option list ends the scan; it never
 * makes the segment invalid (the parser already checked the header length).
 */
public final class TcpSegment {
    private static final ByteOrder BIG = ByteOrder.BIG_ENDIAN;
    private static final int OPT_END = 0;
    private static final int OPT_NOP = 1;
    private static final int OPT_WINDOW_SCALE = 3;
    private static final int OPT_SACK_PERMITTED = 4;
    private static final int OPT_SACK = 5;
    /** RFC 7323 2.3: a shift above 14 is used as 14. */
    public static final int MAX_WINDOW_SCALE = 14;

    /** Sequence number. */
    public int seq;
    /** Acknowledgement number (meaningful with ACK set). */
    public int ack;
    /** The highest SACK right edge after {@link #ack}, or {@link #ack} when the segment has no such block. */
    public int sack;
    /** seq + payload length + 1 for SYN + 1 for FIN: the sequence space the segment occupies ends here. */
    public int end;
    /** The window field, unscaled. */
    public int window;
    /** TCP flags (TcpHeader.SYN, ACK, ...). */
    public int flags;
    /** The window scale option's shift (0..14), or -1 when the segment carries none. */
    public int windowScale;
    /** True when the segment carries SACK-permitted. */
    public boolean sackPermitted;

    /**
     * Reads the segment whose TCP header is at {@code l4} in {@code buf}, {@code headerLength} bytes long (options
     * included), followed by {@code payloadLength} bytes of payload.
     */
    public TcpSegment read(DirectBuffer buf, int l4, int headerLength, int payloadLength) {
        seq = buf.getInt(l4 + TcpHeader.SEQUENCE_OFFSET, BIG);
        ack = buf.getInt(l4 + TcpHeader.ACKNOWLEDGMENT_OFFSET, BIG);
        sack = ack;
        window = buf.getShort(l4 + TcpHeader.WINDOW_OFFSET, BIG) & 0xFFFF;
        flags = buf.getByte(l4 + TcpHeader.FLAGS_OFFSET) & 0xFF;
        end = seq + payloadLength + ((flags & TcpHeader.SYN) != 0 ? 1 : 0) + ((flags & TcpHeader.FIN) != 0 ? 1 : 0);
        windowScale = -1;
        sackPermitted = false;
        if (headerLength > TcpHeader.MIN_LENGTH) {
            readOptions(buf, l4 + TcpHeader.MIN_LENGTH, l4 + headerLength);
        }
        return this;
    }

    private void readOptions(DirectBuffer buf, int from, int to) {
        final boolean syn = (flags & TcpHeader.SYN) != 0;
        int p = from;
        while (p < to) {
            final int kind = buf.getByte(p) & 0xFF;
            if (kind == OPT_END) {
                return;
            }
            if (kind == OPT_NOP) {
                p++;
                continue;
            }
            if (p + 1 >= to) {
                return;
            }
            final int length = buf.getByte(p + 1) & 0xFF;
            if (length < 2 || p + length > to) {
                return; // a broken option list: stop reading, as the kernel does
            }
            if (syn && kind == OPT_WINDOW_SCALE && length == 3) {
                windowScale = Math.min(buf.getByte(p + 2) & 0xFF, MAX_WINDOW_SCALE);
            } else if (syn && kind == OPT_SACK_PERMITTED && length == 2) {
                sackPermitted = true;
            } else if (kind == OPT_SACK && length >= 10 && (length - 2) % 8 == 0) {
                for (int b = p + 2; b < p + length; b += 8) {
                    final int right = buf.getInt(b + 4, BIG);
                    if (after(right, sack)) {
                        sack = right;
                    }
                }
            }
            p += length;
        }
    }

    /** True when sequence number {@code a} comes after {@code b} in 32-bit wrap-around order. */
    public static boolean after(int a, int b) {
        return a - b > 0;
    }

    /** True when sequence number {@code a} comes before {@code b} in 32-bit wrap-around order. */
    public static boolean before(int a, int b) {
        return a - b < 0;
    }
}
