// How strictly TCP connections are tracked: netfilter's nf_conntrack_tcp_be_liberal and nf_conntrack_tcp_loose.
package io.nsgate.dataplane.conntrack;

/**
 * The TCP tracking policy, netfilter's two switches with netfilter's defaults.
 *
 * @param liberal accept segments outside the window (only their state effects are withheld): netfilter's
 *                {@code nf_conntrack_tcp_be_liberal}, default off. On, a blind RST still cannot close an established
 *                connection unless its sequence number is exact, but out-of-window data passes.
 * @param loose   pick up connections mid-stream: a bare ACK with no flow opens one in ESTABLISHED, with liberal
 *                windows (its window scaling is unknown): netfilter's {@code nf_conntrack_tcp_loose}, default on, so
 *                that connections survive a restart of the gateway. Off, only a SYN opens a connection.
 */
public record TcpTracking(boolean liberal, boolean loose) {
    public static final TcpTracking DEFAULTS = new TcpTracking(false, true);
}
