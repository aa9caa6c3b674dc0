// How long a flow may stay idle in each state before expiry reclaims it.
package io.nsgate.dataplane.conntrack;

import java.util.concurrent.TimeUnit;

/**
 * Idle timeouts per protocol state, in nanoseconds. The defaults are netfilter's (nf_conntrack_tcp_timeout_*,
 * nf_conntrack_udp_timeout{,_stream}, nf_conntrack_icmp_timeout) so a flow lives exactly as long as it would
 * behind iptables. Immutable; {@link #toBuilder()} derives a changed copy.
 */
public final class FlowTimeouts {
    private static final long S = TimeUnit.SECONDS.toNanos(1);
    private static final long MIN = 60 * S;
    private static final long DAY = 24 * 60 * MIN;

    /**
     * A connection picked up mid-stream that has not been answered (netfilter's timeout for unacknowledged data,
     * nf_conntrack_tcp_timeout_unacknowledged): an ACK flood cannot hold records for the 5 days of ESTABLISHED.
     */
    public static final long UNREPLIED_ESTABLISHED_NS = 5 * MIN;

    /** netfilter's defaults. */
    public static final FlowTimeouts DEFAULTS = builder().build();

    private final long[] tcpNs;
    private final long udpUnrepliedNs;
    private final long udpRepliedNs;
    private final long icmpNs;

    private FlowTimeouts(Builder b) {
        this.tcpNs = b.tcpNs.clone();
        this.udpUnrepliedNs = b.udpUnrepliedNs;
        this.udpRepliedNs = b.udpRepliedNs;
        this.icmpNs = b.icmpNs;
    }

    /** Timeout of a TCP flow in {@code state} (a {@link TcpState}). */
    public long tcpNs(int state) {
        return tcpNs[state];
    }

    public long udpUnrepliedNs() {
        return udpUnrepliedNs;
    }

    public long udpRepliedNs() {
        return udpRepliedNs;
    }

    public long icmpNs() {
        return icmpNs;
    }

    /** The timeout that applies to a flow of {@code proto} whose state word says {@code protoState}/{@code flags}. */
    public long timeoutNs(int proto, int protoState, int flags) {
        switch (proto) {
            case 6:
                final long t = tcpNs[protoState < TcpState.COUNT ? protoState : TcpState.CLOSE];
                if ((flags & FlowRecord.FLAG_RST_SEEN) != 0) {
                    return Math.min(t, tcpNs[TcpState.CLOSE]);
                }
                if (protoState == TcpState.ESTABLISHED && (flags & FlowRecord.FLAG_REPLIED) == 0) {
                    return Math.min(t, UNREPLIED_ESTABLISHED_NS); // picked up mid-stream, never answered
                }
                return t;
            case 17:
                return (flags & FlowRecord.FLAG_REPLIED) != 0 ? udpRepliedNs : udpUnrepliedNs;
            default:
                return icmpNs;
        }
    }

    public static Builder builder() {
        return new Builder();
    }

    public Builder toBuilder() {
        Builder b = new Builder();
        System.arraycopy(tcpNs, 0, b.tcpNs, 0, tcpNs.length);
        b.udpUnrepliedNs = udpUnrepliedNs;
        b.udpRepliedNs = udpRepliedNs;
        b.icmpNs = icmpNs;
        return b;
    }

    /** Builder with netfilter's defaults preset. */
    public static final class Builder {
        private final long[] tcpNs = new long[TcpState.COUNT];
        private long udpUnrepliedNs = 30 * S;
        private long udpRepliedNs = 120 * S;
        private long icmpNs = 30 * S;

        private Builder() {
            tcpNs[TcpState.NONE] = 10 * S;
            tcpNs[TcpState.SYN_SENT] = 2 * MIN;
            tcpNs[TcpState.SYN_RECV] = 60 * S;
            tcpNs[TcpState.ESTABLISHED] = 5 * DAY;
            tcpNs[TcpState.FIN_WAIT] = 2 * MIN;
            tcpNs[TcpState.CLOSE_WAIT] = 60 * S;
            tcpNs[TcpState.LAST_ACK] = 30 * S;
            tcpNs[TcpState.TIME_WAIT] = 2 * MIN;
            tcpNs[TcpState.CLOSE] = 10 * S;
            tcpNs[TcpState.SYN_SENT2] = 2 * MIN;
        }

        public Builder tcp(int state, long duration, TimeUnit unit) {
            tcpNs[state] = positive(unit.toNanos(duration), "tcp " + TcpState.name(state));
            return this;
        }

        public Builder udpUnreplied(long duration, TimeUnit unit) {
            udpUnrepliedNs = positive(unit.toNanos(duration), "udp unreplied");
            return this;
        }

        public Builder udpReplied(long duration, TimeUnit unit) {
            udpRepliedNs = positive(unit.toNanos(duration), "udp replied");
            return this;
        }

        public Builder icmp(long duration, TimeUnit unit) {
            icmpNs = positive(unit.toNanos(duration), "icmp");
            return this;
        }

        private static long positive(long ns, String what) {
            if (ns <= 0) {
                throw new IllegalArgumentException("timeout " + what + " must be positive, got " + ns + " ns");
            }
            return ns;
        }

        public FlowTimeouts build() {
            return new FlowTimeouts(this);
        }
    }
}
