// The one NAT configuration both sides get: MASQUERADE of the inside network and the same port forwards to blue.
package io.nsgate.bench.e2e;

import java.util.List;

/** What the kernel's iptables rules and nsgate's flags are both built from, so the two sides cannot drift apart. */
final class NatRules {
    private NatRules() {
    }

    /** A port forward from the gateway's LAN address to blue, on the same port. */
    record Forward(String proto, int port, String purpose) {
    }

    static final List<Forward> FORWARDS = List.of(
        new Forward("tcp", 80, "HTTP workloads (nginx in blue)"),
        new Forward("tcp", 5201, "TCP in (iperf3 server in blue)"),
        new Forward("udp", 9, "a UDP forward, as an equivalent rule set (the frame-rate test goes out, masqueraded)"));

    /** The IPv6 forwards, from the gateway's LAN IPv6 address to blue's: the TCP workloads'. */
    static final List<Forward> FORWARDS6 = FORWARDS.stream().filter(f -> f.proto().equals("tcp")).toList();

    /** The UDP destination port of the frame-rate test (lan has no listener there: frames are counted, not read). */
    static final int UDP_PORT = 9;
    /** The first UDP source port of the frame-rate test (UdpFrames.FLOWS flows from it up). */
    static final int UDP_SOURCE_PORT = 40000;
}
