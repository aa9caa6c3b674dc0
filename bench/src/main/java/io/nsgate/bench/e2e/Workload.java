// The workloads, in the order each side runs them.
package io.nsgate.bench.e2e;

import java.util.Arrays;
import java.util.Locale;
import java.util.stream.Collectors;

import io.nsgate.control.testsupport.SeedLab;

enum Workload {
    PING_RTT("rtt", "ping RTT (masquerade)"),
    TCP_IN("tcp-in", "TCP in (port forward)"),
    TCP_OUT("tcp-out", "TCP out (masquerade)"),
    HTTP_KEEPALIVE("http-keepalive", "HTTP keep-alive"),
    HTTP_CLOSE("http-close", "HTTP new connections"),
    UDP("udp", "64B UDP frames"),
    TCP_IN6("tcp-in6", "TCP in over IPv6 (port forward)"),
    TCP_OUT6("tcp-out6", "TCP out over IPv6 (NAT66)"),
    HTTP_KEEPALIVE6("http-keepalive6", "HTTP keep-alive over IPv6");

    final String id;
    final String label;

    /** Runs it once in {@code lab} for {@code seconds} ({@code connections}: wrk's), bracketed by {@code meter}. */
    Measurement run(SeedLab lab, int seconds, int connections, Meter meter) throws Exception {
        return switch (this) {
            case PING_RTT -> PingRtt.run(lab, meter);
            case TCP_IN, TCP_OUT, TCP_IN6, TCP_OUT6 -> TcpThroughput.run(lab, this, seconds, meter);
            case HTTP_KEEPALIVE, HTTP_CLOSE, HTTP_KEEPALIVE6 -> HttpLoad.run(lab, this, seconds, connections, meter);
            case UDP -> UdpFrames.run(lab, seconds, meter);
        };
    }

    /** Whether it runs over IPv6 (the IPv6 twins of the lab's addresses, forwards and masquerade). */
    boolean ipv6() {
        return this == TCP_IN6 || this == TCP_OUT6 || this == HTTP_KEEPALIVE6;
    }

    Workload(String id, String label) {
        this.id = id;
        this.label = label;
    }

    /** By id, or a short alias: in, out, http/keepalive, conn/close, frames/pps. */
    static Workload parse(String s) {
        String k = s.trim().toLowerCase(Locale.ROOT);
        for (Workload w : values()) {
            if (w.id.equals(k)) {
                return w;
            }
        }
        return switch (k) {
            case "ping", "latency" -> PING_RTT;
            case "in" -> TCP_IN;
            case "out" -> TCP_OUT;
            case "http", "keepalive", "keep-alive" -> HTTP_KEEPALIVE;
            case "conn", "close", "new-conn", "connections" -> HTTP_CLOSE;
            case "frames", "pps" -> UDP;
            case "in6" -> TCP_IN6;
            case "out6" -> TCP_OUT6;
            case "http6", "keepalive6" -> HTTP_KEEPALIVE6;
            default -> throw new IllegalArgumentException("unknown workload \"" + s + "\" (one of "
                + Arrays.stream(values()).map(w -> w.id).collect(Collectors.joining(", ")) + ")");
        };
    }
}
