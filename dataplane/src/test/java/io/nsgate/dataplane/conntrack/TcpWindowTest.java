package io.nsgate.dataplane.conntrack;

import static io.nsgate.dataplane.packet.TcpHeader.ACK;
import static io.nsgate.dataplane.packet.TcpHeader.FIN;
import static io.nsgate.dataplane.packet.TcpHeader.RST;
import static io.nsgate.dataplane.packet.TcpHeader.SYN;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.agrona.concurrent.UnsafeBuffer;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import io.nsgate.dataplane.packet.TcpSegment;

/**
 * One test per rule of netfilter's tcp_in_window, each run with initial sequence numbers that put the connection
 * across the 32-bit wrap (and across the sign bit), where a magnitude comparison would be wrong.
 */
class TcpWindowTest {
    private static final int ORIG = 0;
    private static final int REPLY = 1;
    private static final int WINDOW = 64_000;

    private final UnsafeBuffer state = new UnsafeBuffer(new byte[64]);
    private final TcpSegment seg = new TcpSegment();
    /** Next sequence number of each direction's sender. */
    private final int[] next = new int[2];
    /** SYNs carry SACK-permitted. */
    private boolean offerSack;

    /** SYN, SYN/ACK, ACK with these initial sequence numbers (client, server), no options: the window is 64000. */
    private void handshake(int clientIsn, int serverIsn) {
        TcpWindow.init(state, 0, 0);
        assertEquals(TcpWindow.ACCEPT, send(ORIG, TcpState.SYN_SENT, SYN, clientIsn, 0, 0, WINDOW, -1));
        assertEquals(TcpWindow.ACCEPT,
            send(REPLY, TcpState.SYN_SENT, SYN | ACK, serverIsn, clientIsn + 1, 0, WINDOW, -1));
        assertEquals(TcpWindow.ACCEPT, send(ORIG, TcpState.SYN_RECV, ACK, clientIsn + 1, serverIsn + 1, 0, WINDOW, -1));
        next[ORIG] = clientIsn + 1;
        next[REPLY] = serverIsn + 1;
    }

    private int send(int direction, int tcpState, int flags, int seq, int ack, int payload, int window, int scale) {
        seg.seq = seq;
        seg.ack = ack;
        seg.sack = ack;
        seg.flags = flags;
        seg.window = window;
        seg.windowScale = scale;
        seg.sackPermitted = offerSack && (flags & SYN) != 0;
        seg.end = seq + payload + ((flags & SYN) != 0 ? 1 : 0) + ((flags & FIN) != 0 ? 1 : 0);
        return TcpWindow.check(state, 0, direction, tcpState, seg, false);
    }

    /** Data in the established state from {@code direction}, acknowledging everything the other side sent. */
    private int data(int direction, int bytes) {
        int verdict = send(direction, TcpState.ESTABLISHED, ACK, next[direction], next[direction ^ 1], bytes, WINDOW,
            -1);
        if (verdict == TcpWindow.ACCEPT) {
            next[direction] += bytes;
        }
        return verdict;
    }

    /** Data the check must accept (a setup step: its verdict is asserted, so the sequence numbers stay true). */
    private void accept(int direction, int bytes) {
        assertEquals(TcpWindow.ACCEPT, data(direction, bytes), "setup: " + bytes + " bytes in direction " + direction);
    }

    private byte[] snapshot() {
        byte[] copy = new byte[TcpWindow.SIZE];
        state.getBytes(0, copy);
        return copy;
    }

    @ParameterizedTest
    @ValueSource(ints = {1000, 0xFFFF_FF00, 0x7FFF_FF00})
    void aConversationInTheWindowIsAccepted(int isn) {
        handshake(isn, isn ^ 0x5A5A_0000);
        for (int i = 0; i < 10; i++) {
            assertEquals(TcpWindow.ACCEPT, data(ORIG, 1000));
            assertEquals(TcpWindow.ACCEPT, data(REPLY, 1400));
        }
        assertEquals(next[ORIG], TcpWindow.end(state, 0, ORIG), "the sender's end follows its data across the wrap");
        assertEquals(next[REPLY], TcpWindow.end(state, 0, REPLY));
        assertEquals(next[ORIG] + WINDOW, TcpWindow.maxEnd(state, 0, ORIG),
            "what the receiver allowed: its last acknowledgement plus its window");
    }

    @ParameterizedTest
    @ValueSource(ints = {1000, 0xFFFF_FF00, 0x7FFF_FF00})
    void aBlindResetFarOutsideTheWindowIsInvalidAndChangesNothing(int isn) {
        handshake(isn, isn + 0x1234_5678);
        accept(ORIG, 500);
        byte[] before = snapshot();
        assertEquals(TcpWindow.INVALID,
            send(REPLY, TcpState.ESTABLISHED, RST, next[REPLY] + 0x4000_0000, 0, 0, 0, -1));
        assertEquals(TcpWindow.INVALID,
            send(REPLY, TcpState.ESTABLISHED, RST | ACK, next[REPLY] + 10 * WINDOW, next[ORIG], 0, 0, -1));
        assertArrayEquals(before, snapshot(), "an out-of-window segment leaves the window state alone");
    }

    @ParameterizedTest
    @ValueSource(ints = {1000, 0xFFFF_FFF0})
    void aResetInTheWindowIsAcceptedAndOnlyTheExactOneClosesEstablished(int isn) {
        handshake(isn, isn + 99);
        accept(ORIG, 100);
        accept(REPLY, 100);
        assertFalse(TcpWindow.isExactReset(state, 0, REPLY, next[REPLY] + 1000),
            "in the window but not at the expected sequence number: a challenge ACK, not a close (RFC 5961)");
        assertTrue(TcpWindow.isExactReset(state, 0, REPLY, next[REPLY]));
        assertEquals(TcpWindow.ACCEPT, send(REPLY, TcpState.ESTABLISHED, RST, next[REPLY] + 1000, 0, 0, 0, -1));
    }

    @ParameterizedTest
    @ValueSource(ints = {1000, 0xFFFF_FFF0})
    void aFinOutsideTheWindowIsInvalid(int isn) {
        handshake(isn, isn + 7);
        assertEquals(TcpWindow.INVALID,
            send(ORIG, TcpState.ESTABLISHED, FIN | ACK, next[ORIG] + 2 * WINDOW, next[REPLY], 0, WINDOW, -1));
        assertEquals(TcpWindow.ACCEPT,
            send(ORIG, TcpState.ESTABLISHED, FIN | ACK, next[ORIG], next[REPLY], 0, WINDOW, -1));
    }

    @ParameterizedTest
    @ValueSource(ints = {1000, 0xFFFF_FFF0, 0x7FFF_FFF0})
    void ruleOneASequenceAboveWhatTheReceiverAllowedIsInvalid(int isn) {
        handshake(isn, isn + 3);
        // the receiver allowed ack + window = next + 64000; a segment starting beyond that is not in the window,
        // and one that overshoots it by more than the receiver's largest window is not a sloppy sender either
        assertEquals(TcpWindow.INVALID, send(ORIG, TcpState.ESTABLISHED, ACK, next[ORIG] + 2 * WINDOW + 1,
            next[REPLY], 100, WINDOW, -1));
        assertEquals(TcpWindow.ACCEPT, send(ORIG, TcpState.ESTABLISHED, ACK, next[ORIG] + WINDOW - 100, next[REPLY],
            100, WINDOW, -1), "the last bytes of the window are in it");
    }

    @ParameterizedTest
    @ValueSource(ints = {1000, 0xFFFF_FFF0, 0x7FFF_FFF0})
    void ruleThreeAnAcknowledgementOfDataNeverSentIsInvalid(int isn) {
        handshake(isn, isn + 3);
        accept(REPLY, 100);
        assertEquals(TcpWindow.INVALID,
            send(ORIG, TcpState.ESTABLISHED, ACK, next[ORIG], next[REPLY] + 1, 0, WINDOW, -1));
        assertEquals(TcpWindow.ACCEPT, send(ORIG, TcpState.ESTABLISHED, ACK, next[ORIG], next[REPLY], 0, WINDOW, -1));
    }

    @ParameterizedTest
    @ValueSource(ints = {1000, 0xFFFF_FFF0})
    void ruleTwoARetransmissionOfLongAcknowledgedDataIsIgnored(int isn) {
        handshake(isn, isn + 3);
        for (int i = 0; i < 70; i++) {
            accept(ORIG, 1000); // 70 KB, each acknowledged: further back than the receiver's largest window
            accept(REPLY, 0);
        }
        byte[] before = snapshot();
        assertEquals(TcpWindow.IGNORE,
            send(ORIG, TcpState.ESTABLISHED, ACK, next[ORIG] - 70_000, next[REPLY], 1000, WINDOW, -1));
        assertArrayEquals(before, snapshot());
    }

    @ParameterizedTest
    @ValueSource(ints = {1000, 0xFFFF_FFF0})
    void ruleFourAnOverlyDelayedAcknowledgementIsIgnored(int isn) {
        handshake(isn, isn + 3);
        for (int i = 0; i < 70; i++) {
            accept(REPLY, 1000); // 70 KB, each acknowledged
            accept(ORIG, 0);
        }
        assertEquals(TcpWindow.IGNORE,
            send(ORIG, TcpState.ESTABLISHED, ACK, next[ORIG], next[REPLY] - 67_000, 0, WINDOW, -1));
    }

    @ParameterizedTest
    @ValueSource(ints = {1000, 0xFFFF_FFF0})
    void aSmallOvershootIsIgnoredAndItsEndRemembered(int isn) {
        handshake(isn, isn + 3);
        int beyond = next[ORIG] + WINDOW - 10; // starts in the window, ends 90 bytes past it
        assertEquals(TcpWindow.ACCEPT, send(ORIG, TcpState.ESTABLISHED, ACK, beyond, next[REPLY], 100, WINDOW, -1));
        // an overshoot starting past the edge, by less than the receiver's largest window
        assertEquals(TcpWindow.IGNORE, send(ORIG, TcpState.ESTABLISHED, ACK, beyond + 200, next[REPLY], 100, WINDOW,
            -1));
        assertEquals(beyond + 300, TcpWindow.end(state, 0, ORIG));
        assertEquals(TcpWindow.ACCEPT, send(REPLY, TcpState.ESTABLISHED, ACK, next[REPLY], beyond + 300, 0, WINDOW,
            -1), "the receiver's acknowledgement of the overshoot is valid");
    }

    @ParameterizedTest
    @ValueSource(ints = {1000, 0xFFFF_FFF0})
    void windowScalingAppliesOnlyWhenBothSidesOfferedIt(int isn) {
        TcpWindow.init(state, 0, 0);
        send(ORIG, TcpState.SYN_SENT, SYN, isn, 0, 0, WINDOW, 7);
        send(REPLY, TcpState.SYN_SENT, SYN | ACK, isn + 50, isn + 1, 0, WINDOW, 7);
        send(ORIG, TcpState.SYN_RECV, ACK, isn + 1, isn + 51, 0, 1000, -1);
        assertEquals(7, TcpWindow.scale(state, 0, ORIG));
        // the server advertises 1000 << 7 = 128000: data 100 KB ahead is in the window
        send(REPLY, TcpState.ESTABLISHED, ACK, isn + 51, isn + 1, 0, 1000, -1);
        assertEquals(TcpWindow.ACCEPT,
            send(ORIG, TcpState.ESTABLISHED, ACK, isn + 1 + 100_000, isn + 51, 1000, 1000, -1));

        TcpWindow.init(state, 0, 0);
        send(ORIG, TcpState.SYN_SENT, SYN, isn, 0, 0, WINDOW, 7);
        send(REPLY, TcpState.SYN_SENT, SYN | ACK, isn + 50, isn + 1, 0, WINDOW, -1);
        assertEquals(0, TcpWindow.scale(state, 0, ORIG), "the server did not offer scaling: none either way");
        assertEquals(0, TcpWindow.scale(state, 0, REPLY));
        send(ORIG, TcpState.SYN_RECV, ACK, isn + 1, isn + 51, 0, 1000, -1);
        send(REPLY, TcpState.ESTABLISHED, ACK, isn + 51, isn + 1, 0, 1000, -1);
        assertEquals(TcpWindow.IGNORE,
            send(ORIG, TcpState.ESTABLISHED, ACK, isn + 1 + 100_000, isn + 51, 1000, 1000, -1),
            "unscaled, the window ends at 64000 (the SYN/ACK's): 100 KB ahead is an overshoot");
        assertEquals(TcpWindow.INVALID,
            send(ORIG, TcpState.ESTABLISHED, ACK, isn + 1 + 150_000, isn + 51, 1000, 1000, -1));
    }

    @ParameterizedTest
    @ValueSource(ints = {1000, 0xFFFF_FFF0})
    void sackBlocksCountAsAcknowledgementsOnlyWhenSackWasPermitted(int isn) {
        for (boolean permitted : new boolean[] {true, false}) {
            offerSack = permitted;
            handshake(isn, isn + 50);
            assertEquals(permitted, (TcpWindow.flags(state, 0, ORIG) & TcpWindow.FLAG_SACK_PERMITTED) != 0);
            accept(REPLY, 3000);
            // the client SACKs bytes the server never sent: invalid only when the SACK blocks count
            seg.seq = next[ORIG];
            seg.ack = next[REPLY] - 3000;
            seg.sack = next[REPLY] + 2000;
            seg.flags = ACK;
            seg.window = WINDOW;
            seg.end = next[ORIG];
            assertEquals(permitted ? TcpWindow.INVALID : TcpWindow.ACCEPT,
                TcpWindow.check(state, 0, ORIG, TcpState.ESTABLISHED, seg, false));
            seg.sack = next[REPLY];
            assertEquals(TcpWindow.ACCEPT, TcpWindow.check(state, 0, ORIG, TcpState.ESTABLISHED, seg, false));
        }
    }

    @ParameterizedTest
    @ValueSource(booleans = {true, false})
    void liberalTrackingAcceptsWhatTheWindowRefuses(boolean perFlow) {
        TcpWindow.init(state, 0, perFlow ? TcpWindow.FLAG_LIBERAL : 0);
        send(ORIG, TcpState.SYN_SENT, SYN, 1000, 0, 0, WINDOW, -1);
        send(REPLY, TcpState.SYN_SENT, SYN | ACK, 5000, 1001, 0, WINDOW, -1);
        seg.seq = 1001 + 10 * WINDOW;
        seg.ack = 5001;
        seg.sack = 5001;
        seg.flags = ACK;
        seg.end = seg.seq + 10;
        assertEquals(TcpWindow.ACCEPT, TcpWindow.check(state, 0, ORIG, TcpState.ESTABLISHED, seg, !perFlow));
        assertEquals(perFlow ? TcpWindow.ACCEPT : TcpWindow.INVALID,
            TcpWindow.check(state, 0, ORIG, TcpState.ESTABLISHED, seg, false));
    }

    @ParameterizedTest
    @ValueSource(ints = {1000, 0xFFFF_FFF0})
    void aConnectionPickedUpMidStreamLearnsItsBoundsFromTheFirstSegments(int isn) {
        TcpWindow.init(state, 0, 0);
        assertEquals(TcpWindow.ACCEPT, send(ORIG, TcpState.ESTABLISHED, ACK, isn, isn + 777, 100, WINDOW, -1));
        assertEquals(isn + 100, TcpWindow.end(state, 0, ORIG));
        assertEquals(isn + 777, TcpWindow.end(state, 0, REPLY), "the receiver's end taken from the acknowledgement");
        assertEquals(TcpWindow.ACCEPT, send(REPLY, TcpState.ESTABLISHED, ACK, isn + 777, isn + 100, 50, WINDOW, -1));
        assertEquals(TcpWindow.INVALID,
            send(REPLY, TcpState.ESTABLISHED, RST, isn + 777 + 0x2000_0000, 0, 0, 0, -1));
    }
}
