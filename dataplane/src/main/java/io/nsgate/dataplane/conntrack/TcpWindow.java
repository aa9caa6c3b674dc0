// TCP window tracking after netfilter's tcp_in_window: which segments lie in the window the receiver has opened.
package io.nsgate.dataplane.conntrack;

import static io.nsgate.dataplane.packet.TcpSegment.after;
import static io.nsgate.dataplane.packet.TcpSegment.before;

import org.agrona.DirectBuffer;
import org.agrona.concurrent.UnsafeBuffer;

import io.nsgate.dataplane.packet.TcpHeader;
import io.nsgate.dataplane.packet.TcpSegment;

/**
 * Per-direction sequence bounds of a TCP flow and the check every segment passes, after netfilter's
 * {@code tcp_in_window} (nf_conntrack_proto_tcp.c, Linux 6.x) and Rooij's "Real stateful TCP packet filtering in IP
 * Filter". For each direction (the <em>sender</em> of a segment; the other direction is its <em>receiver</em>):
 * <ul>
 *   <li>{@code end}: the highest {@code seq + len} the sender has sent (netfilter's {@code td_end});</li>
 *   <li>{@code maxEnd}: the highest {@code ack + window} the receiver has allowed it ({@code td_maxend});</li>
 *   <li>{@code maxWin}: the largest window the sender has advertised, scaled ({@code td_maxwin});</li>
 *   <li>its window-scale shift and flags (scale seen, SACK permitted, liberal).</li>
 * </ul>
 * A segment is in the window when (I) its sequence is not above what the receiver allowed, (II) its end is not
 * below what the receiver may still be waiting for, (III) its acknowledgement does not acknowledge data never sent,
 * and (IV) it is not an acknowledgement older than the sender's largest window. (I) and (III) failing make it
 * {@link #INVALID}; (II) and (IV) failing make it {@link #IGNORE} (an old retransmission or a late ACK: passed,
 * but it changes nothing), as netfilter's {@code NFCT_TCP_IGNORE}. A sender that overshoots the window by less than
 * the receiver's largest window is ignored too, with its end remembered (netfilter's "bytes more than expected").
 *
 * <h2>Where the state lives, and who writes it</h2>
 * 32 bytes per flow beside its packet counters ({@link FlowRecord#WINDOW_OFFSET}): one 64-byte line that every packet
 * of the flow writes anyway. netfilter holds the connection's lock while it checks; nsgate does not lock. Each field
 * has one writer in practice: {@code end} and {@code maxWin} of a direction are written by the worker that
 * receives that direction's segments, {@code maxEnd} by the worker that receives the other direction's (the
 * acknowledgements that open the window); the fanout keeps each direction on one socket. The one exception, the
 * receiver's {@code maxWin} growing when a sender overshoots, may lose an update to a concurrent one: that can
 * only make a later check stricter by the size of one overshoot. A segment is judged against bounds its sender has
 * seen acknowledged, so the acknowledgement that opened the window crossed the gateway (and was stored) one round
 * trip before the data that uses it.
 *
 * <h2>Deviations from netfilter</h2>
 * No {@code td_maxack}: a RST's exactness ({@link #isExactReset}) is judged against the sender's {@code end}, which is
 * what the peer acknowledges once it has received everything, and a RST never moves that {@code end} (so a forged
 * in-window RST cannot make the genuine one inexact); no retransmission counting and no "unacknowledged
 * data" timeout; no sequence adjustment (nsgate never changes payload lengths).
 */
public final class TcpWindow {
    private TcpWindow() {
    }

    /** The segment is in the window: the state may change. */
    public static final int ACCEPT = 0;
    /** Passed without changing anything (an old retransmission, a late ACK, a small overshoot). */
    public static final int IGNORE = 1;
    /** Out of the window: dropped and counted (unless the flow or the gateway is liberal). */
    public static final int INVALID = 2;

    /** Bytes of window state per flow, both directions. */
    public static final int SIZE = 32;
    static final int DIRECTION_SIZE = 16;
    static final int END = 0;
    static final int MAX_END = 4;
    static final int MAX_WIN = 8;
    static final int SCALE = 12;
    static final int FLAGS = 13;

    /** The direction's SYN carried a window-scale option. */
    public static final int FLAG_WINDOW_SCALE = 1;
    /** The direction's SYN carried SACK-permitted: its peer's SACK blocks count as acknowledgements. */
    public static final int FLAG_SACK_PERMITTED = 1 << 1;
    /** Accept whatever the direction sends (a connection picked up mid-stream: its scaling is unknown). */
    public static final int FLAG_LIBERAL = 1 << 2;

    /** netfilter's MAXACKWINCONST: the smallest window an old ACK is measured against. */
    static final int MAX_ACK_WINDOW_CONST = 66_000;

    /** Clears both directions' state and gives both {@code flags} (a new flow). */
    public static void init(UnsafeBuffer state, int base, int flags) {
        for (int d = 0; d < 2; d++) {
            final int s = base + d * DIRECTION_SIZE;
            state.putLong(s, 0);
            state.putInt(s + MAX_WIN, 0);
            state.putByte(s + SCALE, (byte) 0);
            state.putByte(s + FLAGS, (byte) flags);
            state.putShort(s + FLAGS + 1, (short) 0);
        }
    }

    /**
     * Checks segment {@code seg}, sent in {@code direction} (0 original, 1 reply) of a flow in TCP {@code state},
     * against the window state at {@code base} and updates it: netfilter's {@code tcp_in_window}.
     *
     * @param liberal accept whatever the window says (nf_conntrack_tcp_be_liberal); the state is still tracked
     * @return {@link #ACCEPT}, {@link #IGNORE} or {@link #INVALID}
     */
    public static int check(UnsafeBuffer state, int base, int direction, int tcpState, TcpSegment seg,
                            boolean liberal) {
        final int s = base + direction * DIRECTION_SIZE;
        final int r = base + (direction ^ 1) * DIRECTION_SIZE;
        final boolean syn = (seg.flags & TcpHeader.SYN) != 0;
        final boolean hasAck = (seg.flags & TcpHeader.ACK) != 0;
        final boolean reset = (seg.flags & TcpHeader.RST) != 0;
        int seq = seg.seq;
        int end = seg.end;
        int win = seg.window;
        int ack = seg.ack;
        int sack = (state.getByte(r + FLAGS) & FLAG_SACK_PERMITTED) != 0 ? seg.sack : seg.ack;
        final boolean permissive = liberal
            || ((state.getByte(s + FLAGS) | state.getByte(r + FLAGS)) & FLAG_LIBERAL) != 0;

        int senderMaxWin = state.getInt(s + MAX_WIN);
        if (senderMaxWin == 0) {
            if (syn) {
                // SYN-ACK answering a SYN, or a SYN from the reply direction (simultaneous open)
                initSender(state, s, r, seg, end, win);
                if (!hasAck) {
                    return ACCEPT;
                }
            } else {
                // picked up mid-stream: its history is lost; take what the segment says
                final int scale = state.getByte(s + SCALE);
                final int swin = win << scale;
                state.putInt(s + END, end);
                state.putInt(s + MAX_WIN, swin == 0 ? 1 : swin);
                state.putInt(s + MAX_END, end + (swin == 0 ? 1 : swin));
                if (state.getInt(r + MAX_WIN) == 0) {
                    // nothing seen the other way yet: let its acknowledgements pass (III) and (IV)
                    state.putInt(r + END, sack);
                    state.putInt(r + MAX_END, sack);
                } else if (sack == state.getInt(r + END) + 1) {
                    state.putInt(r + END, state.getInt(r + END) + 1); // likely a reply to a keepalive
                }
            }
        } else if (syn && after(end, state.getInt(s + END))
            && (tcpState == TcpState.SYN_SENT || tcpState == TcpState.SYN_RECV)) {
            // RFC 793: a reinitialised TCP uses larger sequence numbers; start this direction again
            initSender(state, s, r, seg, end, win);
            if (direction == 1 && !hasAck) {
                return ACCEPT;
            }
        }

        if (!hasAck) {
            ack = state.getInt(r + END); // no ACK: as if it acknowledged what the receiver sent
            sack = ack;
        } else if (reset && ack == 0) {
            ack = state.getInt(r + END); // stacks that send RST+ACK with a zero acknowledgement
            sack = ack;
        }
        if (reset && seq == 0 && tcpState == TcpState.SYN_SENT) {
            seq = state.getInt(s + END); // a RST answering a SYN
            end = seq;
        }

        final int senderEnd = state.getInt(s + END);
        final int senderMaxEnd = state.getInt(s + MAX_END);
        senderMaxWin = state.getInt(s + MAX_WIN);
        final int receiverEnd = state.getInt(r + END);
        final int receiverMaxWin = state.getInt(r + MAX_WIN);
        final int maxAckWindow = Math.max(senderMaxWin, MAX_ACK_WINDOW_CONST);

        if (!before(seq, senderMaxEnd + 1)) { // (I) fails
            final int overshot = end - senderMaxEnd + 1;
            final boolean ackOk = after(sack, receiverEnd - maxAckWindow - 1);
            final boolean inReceiveWindow = receiverMaxWin != 0 && after(end, senderEnd - receiverMaxWin - 1);
            if (inReceiveWindow && ackOk && Integer.compareUnsigned(overshot, receiverMaxWin) <= 0
                && before(sack, receiverEnd + 1)) {
                // a TCP that sends more than the window allows: remember the end, so that the ACK of it is valid
                if (!reset) {
                    state.putInt(s + END, end);
                }
                return permissive ? ACCEPT : IGNORE;
            }
            return permissive ? ACCEPT : INVALID;
        }
        if (!before(sack, receiverEnd + 1)) { // (III): acknowledges data never sent
            return permissive ? ACCEPT : INVALID;
        }
        if (receiverMaxWin != 0 && !after(end, senderEnd - receiverMaxWin - 1)) { // (II): already acknowledged
            return permissive ? ACCEPT : IGNORE;
        }
        if (!after(sack, receiverEnd - maxAckWindow - 1)) { // (IV): an overly delayed ACK
            return permissive ? ACCEPT : IGNORE;
        }

        // in the window: update the sender...
        if (!syn) {
            win <<= state.getByte(s + SCALE);
        }
        final int swin = win + (sack - ack);
        if (Integer.compareUnsigned(senderMaxWin, swin) < 0) {
            state.putInt(s + MAX_WIN, swin);
        }
        if (after(end, senderEnd) && !reset) {
            state.putInt(s + END, end); // a RST occupies no sequence space: it must not move what is exact
        }
        // ... and the receiver
        if (receiverMaxWin != 0 && after(end, senderMaxEnd)) {
            state.putInt(r + MAX_WIN, receiverMaxWin + (end - senderMaxEnd));
        }
        if (after(sack + win, state.getInt(r + MAX_END) - 1)) {
            state.putInt(r + MAX_END, win == 0 ? sack + 1 : sack + win);
        }
        return ACCEPT;
    }

    /**
     * True when a RST sent in {@code direction} carries exactly the sequence number its receiver expects next (RFC
     * 5961 3.2): only such a RST closes an established connection; one merely in the window is passed, so that the
     * receiver answers it with a challenge ACK, but changes no state.
     */
    public static boolean isExactReset(UnsafeBuffer state, int base, int direction, int seq) {
        return seq == state.getInt(base + direction * DIRECTION_SIZE + END);
    }

    /**
     * True when {@code seq}, the sequence number of a segment quoted by an ICMP error, is one {@code direction} sent
     * lately: not past its end, and within the receiver's largest window (or 66000 bytes) before it, as Linux's
     * tcp_v4_err asks of the segments an error may be about (RFC 5927). Unknown bounds and liberal flows accept all.
     */
    public static boolean isQuotedInWindow(UnsafeBuffer state, int base, int direction, int seq) {
        final int s = base + direction * DIRECTION_SIZE;
        final int r = base + (direction ^ 1) * DIRECTION_SIZE;
        final boolean liberal = ((state.getByte(s + FLAGS) | state.getByte(r + FLAGS)) & FLAG_LIBERAL) != 0;
        if (state.getInt(s + MAX_WIN) == 0 || liberal) {
            return true;
        }
        final int end = state.getInt(s + END);
        final int window = Math.max(state.getInt(r + MAX_WIN), MAX_ACK_WINDOW_CONST);
        return !after(seq, end) && after(seq, end - window - 1);
    }

    private static void initSender(UnsafeBuffer state, int s, int r, TcpSegment seg, int end, int win) {
        state.putInt(s + END, end);
        state.putInt(s + MAX_END, end);
        state.putInt(s + MAX_WIN, win == 0 ? 1 : win);
        int flags = state.getByte(s + FLAGS) & FLAG_LIBERAL;
        if (seg.windowScale >= 0) {
            flags |= FLAG_WINDOW_SCALE;
            state.putByte(s + SCALE, (byte) seg.windowScale);
        } else {
            state.putByte(s + SCALE, (byte) 0);
        }
        if (seg.sackPermitted) {
            flags |= FLAG_SACK_PERMITTED;
        }
        state.putByte(s + FLAGS, (byte) flags);
        // RFC 7323: scaling is on only when both directions offered it (known once both SYNs are seen)
        if (state.getInt(r + MAX_WIN) != 0
            && ((flags & FLAG_WINDOW_SCALE) == 0 || (state.getByte(r + FLAGS) & FLAG_WINDOW_SCALE) == 0)) {
            state.putByte(s + SCALE, (byte) 0);
            state.putByte(r + SCALE, (byte) 0);
        }
    }

    // ---------------------------------------------------------------- reading (snapshots, tests)

    public static int end(DirectBuffer state, int base, int direction) {
        return state.getInt(base + direction * DIRECTION_SIZE + END);
    }

    public static int maxEnd(DirectBuffer state, int base, int direction) {
        return state.getInt(base + direction * DIRECTION_SIZE + MAX_END);
    }

    public static int maxWin(DirectBuffer state, int base, int direction) {
        return state.getInt(base + direction * DIRECTION_SIZE + MAX_WIN);
    }

    public static int scale(DirectBuffer state, int base, int direction) {
        return state.getByte(base + direction * DIRECTION_SIZE + SCALE);
    }

    public static int flags(DirectBuffer state, int base, int direction) {
        return state.getByte(base + direction * DIRECTION_SIZE + FLAGS) & 0xFF;
    }
}
