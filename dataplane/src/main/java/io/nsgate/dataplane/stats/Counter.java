// What the data plane counts besides drops: verdicts, flow events and frame kinds.
package io.nsgate.dataplane.stats;

/** Every non-drop event the data plane counts, with a stable name for the control socket and metrics. */
public enum Counter {
    FRAMES_RECEIVED("frames seen on the data plane's sockets"),
    FORWARDED("frames forwarded"),
    FORWARDED_BYTES("IPv4 bytes forwarded"),
    PASSED_TO_KERNEL("frames left to the kernel (the host's own traffic, ARP, IPv6...)"),
    ARP_FRAMES("ARP frames seen"),
    ARP_REFUSED("ARP frames not learnt from: a sender outside the interface's subnet, one of the gateway's own "
        + "addresses, or a group MAC"),
    DROPPED("frames dropped (any reason)"),
    FLOWS_CREATED("flows created"),
    FLOWS_EXPIRED("flows expired by the sweeper"),
    MAPPINGS_CREATED("endpoint-independent UDP/ICMP mappings created"),
    SNAT_FLOWS("flows created by MASQUERADE/SNAT"),
    DNAT_FLOWS("flows created by a port forward"),
    HAIRPIN_FLOWS("port-forward flows from inside hairpinned back inside"),
    TRANSLATED_FLOWS("port-forward flows of IPv6 clients to IPv4 backends, translated between the families"),
    TCP_OUT_OF_STATE("TCP segments contradicting the flow state, forwarded anyway (liberal)"),
    TCP_IGNORED("TCP segments that change nothing, forwarded for the endpoint to judge: old retransmissions, late "
        + "ACKs, a SYN on an established connection (netfilter's ignored segments)"),
    TCP_PICKUPS("TCP connections picked up mid-stream (loose tracking)"),
    GSO_FRAMES("GSO super-frames forwarded whole"),
    PARTIAL_CHECKSUM_FRAMES("frames forwarded with a partial (NEEDS_CSUM) L4 checksum"),
    FRAGMENTS_FORWARDED("non-first IPv4 fragments forwarded"),
    ICMP_ERRORS_TRANSLATED("ICMP errors about a tracked flow translated (RFC 5508)"),
    ICMP_ERRORS_SENT("ICMP errors generated (time exceeded, fragmentation needed)"),
    ICMP_RATE_LIMITED("ICMP errors not sent because of the rate limit"),
    TX_FRAMES("frames transmitted"),
    TX_BATCHES("transmit kicks (sendto) issued"),
    RX_BATCHES("receive blocks processed"),
    DUTY_CYCLES("worker duty cycles run (a watchdog sees the worker alive while this grows)");

    /** What a person reads in {@code nsgate ctl stats}. */
    public final String label;

    Counter(String label) {
        this.label = label;
    }
}
