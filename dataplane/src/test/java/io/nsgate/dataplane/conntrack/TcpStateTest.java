// Tests of the TCP state machine against netfilter's transitions and flag rules.
package io.nsgate.dataplane.conntrack;

import static io.nsgate.dataplane.conntrack.TcpState.*;
import static io.nsgate.dataplane.packet.TcpHeader.ACK;
import static io.nsgate.dataplane.packet.TcpHeader.FIN;
import static io.nsgate.dataplane.packet.TcpHeader.PSH;
import static io.nsgate.dataplane.packet.TcpHeader.RST;
import static io.nsgate.dataplane.packet.TcpHeader.SYN;
import static org.junit.jupiter.api.Assertions.*;

import org.junit.jupiter.api.Test;

class TcpStateTest {
    private static final int ORIG = 0;
    private static final int REPLY = 1;

    @Test
    void threeWayHandshakeReachesEstablished() {
        int s = next(NONE, ORIG, SYN);
        assertEquals(SYN_SENT, s);
        s = next(s, REPLY, SYN | ACK);
        assertEquals(SYN_RECV, s);
        s = next(s, ORIG, ACK);
        assertEquals(ESTABLISHED, s);
        assertEquals(ESTABLISHED, next(s, ORIG, ACK | PSH));
        assertEquals(ESTABLISHED, next(s, REPLY, ACK));
    }

    @Test
    void orderlyCloseWalksFinWaitCloseWaitLastAckTimeWait() {
        int s = ESTABLISHED;
        s = next(s, ORIG, FIN | ACK);
        assertEquals(FIN_WAIT, s);
        s = next(s, REPLY, ACK);
        assertEquals(CLOSE_WAIT, s);
        s = next(s, REPLY, FIN | ACK);
        assertEquals(LAST_ACK, s);
        s = next(s, ORIG, ACK);
        assertEquals(TIME_WAIT, s);
    }

    @Test
    void rstClosesFromEveryTrackedState() {
        for (int s = SYN_SENT; s < COUNT; s++) {
            assertEquals(CLOSE, next(s, ORIG, RST), name(s));
            assertEquals(CLOSE, next(s, REPLY, RST | ACK), name(s));
        }
    }

    @Test
    void synInTimeWaitReopensTheConnection() {
        assertEquals(SYN_SENT, next(TIME_WAIT, ORIG, SYN));
        assertEquals(SYN_SENT, next(CLOSE, ORIG, SYN));
    }

    @Test
    void simultaneousOpenGoesThroughSynSent2() {
        int s = next(NONE, ORIG, SYN);
        s = next(s, REPLY, SYN);
        assertEquals(SYN_SENT2, s);
        assertEquals(SYN_RECV, next(s, ORIG, SYN | ACK));
    }

    @Test
    void contradictingSegmentsAreInvalidAndRetransmissionsIgnored() {
        assertEquals(INVALID, next(SYN_SENT, ORIG, ACK), "ACK before any SYN/ACK");
        assertEquals(INVALID, next(ESTABLISHED, REPLY, SYN), "server SYN on an established flow");
        assertEquals(IGNORE, next(SYN_RECV, REPLY, SYN | ACK), "retransmitted SYN/ACK");
        assertEquals(IGNORE, next(ESTABLISHED, ORIG, SYN), "SYN in window on an established flow");
    }

    @Test
    void invalidFlagCombinationsAreRefused() {
        assertFalse(validFlags(SYN | FIN));
        assertFalse(validFlags(SYN | RST));
        assertFalse(validFlags(SYN | FIN | RST | ACK));
        assertFalse(validFlags(0), "no flags");
        assertFalse(validFlags(FIN), "FIN without ACK");
        assertFalse(validFlags(PSH), "PSH alone");
        assertTrue(validFlags(SYN));
        assertTrue(validFlags(SYN | ACK | 0x40 | 0x80), "ECE/CWR accompany SYN when negotiating ECN");
        assertTrue(validFlags(ACK | PSH));
        assertTrue(validFlags(FIN | ACK | PSH));
        assertTrue(validFlags(RST));
        assertTrue(validFlags(RST | ACK));
    }

    @Test
    void onlyABareSynOpensAConnection() {
        assertTrue(opensConnection(SYN));
        assertTrue(opensConnection(SYN | 0x40 | 0x80));
        assertFalse(opensConnection(SYN | ACK));
        assertFalse(opensConnection(ACK));
        assertFalse(opensConnection(RST));
    }

    @Test
    void namesRoundTrip() {
        for (int s = 0; s < COUNT; s++) {
            assertEquals(s, byName(name(s)));
        }
        assertEquals(-1, byName("LISTEN"));
    }
}
