// TCP connection states as netfilter tracks them, with the state machine that moves between them.
package io.nsgate.dataplane.conntrack;

import static io.nsgate.dataplane.packet.TcpHeader.ACK;
import static io.nsgate.dataplane.packet.TcpHeader.FIN;
import static io.nsgate.dataplane.packet.TcpHeader.RST;
import static io.nsgate.dataplane.packet.TcpHeader.SYN;
import static io.nsgate.dataplane.packet.TcpHeader.URG;

/**
 * TCP tracking after netfilter's {@code nf_conntrack_proto_tcp.c}: the same states and the same transition
 * table (the gateway is the man in the middle and guesses the state of the current sender); sequence numbers are
 * judged by {@link TcpWindow}. Invalid flag combinations ({@link #validFlags}) are refused outright.
 *
 * <p>States are small ints (they live in the flow's state word). {@link #next} returns {@link #IGNORE} for a
 * segment that changes nothing (a retransmitted SYN/ACK...) and {@link #INVALID} for one that contradicts the
 * state (an ACK before any SYN/ACK): both are forwarded unchanged on a live flow, and counted.
 */
public final class TcpState {
    private TcpState() {
    }

    public static final int NONE = 0;
    public static final int SYN_SENT = 1;
    public static final int SYN_RECV = 2;
    public static final int ESTABLISHED = 3;
    public static final int FIN_WAIT = 4;
    public static final int CLOSE_WAIT = 5;
    public static final int LAST_ACK = 6;
    public static final int TIME_WAIT = 7;
    public static final int CLOSE = 8;
    /** SYN seen from the reply direction: simultaneous open. */
    public static final int SYN_SENT2 = 9;
    public static final int COUNT = 10;
    /** Pseudo-state: the segment changes nothing. */
    public static final int IGNORE = 254;
    /** Pseudo-state: the segment contradicts the state. */
    public static final int INVALID = 255;

    private static final String[] NAMES = {
        "NONE", "SYN_SENT", "SYN_RECV", "ESTABLISHED", "FIN_WAIT", "CLOSE_WAIT", "LAST_ACK", "TIME_WAIT",
        "CLOSE", "SYN_SENT2",
    };

    public static String name(int state) {
        return state >= 0 && state < COUNT ? NAMES[state] : "?" + state;
    }

    /** The state with this name (as printed by {@link #name}), or -1. */
    public static int byName(String name) {
        for (int i = 0; i < COUNT; i++) {
            if (NAMES[i].equalsIgnoreCase(name)) {
                return i;
            }
        }
        return -1;
    }


    // segment classes, netfilter's get_conntrack_index()
    private static final int SEG_SYN = 0;
    private static final int SEG_SYNACK = 1;
    private static final int SEG_FIN = 2;
    private static final int SEG_ACK = 3;
    private static final int SEG_RST = 4;
    private static final int SEG_NONE = 5;

    private static final int NO = NONE;
    private static final int SS = SYN_SENT;
    private static final int SR = SYN_RECV;
    private static final int ES = ESTABLISHED;
    private static final int FW = FIN_WAIT;
    private static final int CW = CLOSE_WAIT;
    private static final int LA = LAST_ACK;
    private static final int TW = TIME_WAIT;
    private static final int CL = CLOSE;
    private static final int S2 = SYN_SENT2;
    private static final int IV = INVALID;
    private static final int IG = IGNORE;

    /** [direction][segment class][current state] -> next state; netfilter's tcp_conntracks table (Linux 6.x). */
    private static final byte[][][] TRANSITIONS = {
        { // ORIGINAL direction
            //      NO  SS  SR  ES  FW  CW  LA  TW  CL  S2
            bytes(SS, SS, IG, IG, IG, IG, IG, SS, SS, S2), // syn
            bytes(IV, IV, SR, IV, IV, IV, IV, IV, IV, SR), // synack
            bytes(IV, IV, FW, FW, LA, LA, LA, TW, CL, IV), // fin
            bytes(ES, IV, ES, ES, CW, CW, TW, TW, CL, IV), // ack
            bytes(IV, CL, CL, CL, CL, CL, CL, CL, CL, CL), // rst
            bytes(IV, IV, IV, IV, IV, IV, IV, IV, IV, IV), // none
        },
        { // REPLY direction
            //      NO  SS  SR  ES  FW  CW  LA  TW  CL  S2
            bytes(IV, S2, IV, IV, IV, IV, IV, SS, IV, S2), // syn
            bytes(IV, SR, IG, IG, IG, IG, IG, IG, IG, SR), // synack
            bytes(IV, IV, FW, FW, LA, LA, LA, TW, CL, IV), // fin
            bytes(IV, IG, SR, ES, CW, CW, TW, TW, CL, IG), // ack
            bytes(IV, CL, CL, CL, CL, CL, CL, CL, CL, CL), // rst
            bytes(IV, IV, IV, IV, IV, IV, IV, IV, IV, IV), // none
        },
    };

    private static byte[] bytes(int... values) {
        byte[] b = new byte[values.length];
        for (int i = 0; i < values.length; i++) {
            b[i] = (byte) values[i];
        }
        return b;
    }

    /**
     * Valid combinations of FIN, SYN, RST, ACK and URG (PSH, ECE and CWR may accompany any of them):
     * netfilter's tcp_valid_flags. SYN+FIN, SYN+RST, FIN without ACK and "no flags" are invalid.
     */
    private static final boolean[] VALID_FLAGS = new boolean[64];

    static {
        int[] valid = {SYN, SYN | URG, SYN | ACK, RST, RST | ACK, FIN | ACK, FIN | ACK | URG, ACK, ACK | URG};
        for (int v : valid) {
            VALID_FLAGS[v] = true;
        }
    }

    /** True when the segment's flags form a combination a TCP stack sends. */
    public static boolean validFlags(int tcpFlags) {
        return VALID_FLAGS[tcpFlags & (FIN | SYN | RST | ACK | URG)];
    }

    /** True for a segment that may open a connection: SYN without ACK (validFlags already checked). */
    public static boolean opensConnection(int tcpFlags) {
        return (tcpFlags & (SYN | ACK | RST | FIN)) == SYN;
    }

    /**
     * True for a segment that picks a connection up mid-stream when tracking is loose: a bare ACK (netfilter's
     * tcp_conntracks[ORIGINAL][ACK][NONE] is ESTABLISHED; FIN and RST open nothing).
     */
    public static boolean picksUpConnection(int tcpFlags) {
        return (tcpFlags & (SYN | ACK | RST | FIN)) == ACK;
    }

    /**
     * The state after a segment with {@code tcpFlags} in {@code direction} (0 original, 1 reply) hits a flow in
     * {@code state}: a state, {@link #IGNORE} or {@link #INVALID}.
     */
    public static int next(int state, int direction, int tcpFlags) {
        return TRANSITIONS[direction][segmentClass(tcpFlags)][state] & 0xFF;
    }

    private static int segmentClass(int flags) {
        if ((flags & RST) != 0) {
            return SEG_RST;
        }
        if ((flags & SYN) != 0) {
            return (flags & ACK) != 0 ? SEG_SYNACK : SEG_SYN;
        }
        if ((flags & FIN) != 0) {
            return SEG_FIN;
        }
        return (flags & ACK) != 0 ? SEG_ACK : SEG_NONE;
    }
}
