// The five workloads, in the order each side runs them.
package io.nsgate.bench.e2e;

import java.util.Arrays;
import java.util.Locale;
import java.util.stream.Collectors;

enum Workload {
    PING_RTT("rtt", "ping RTT (masquerade)"),
    TCP_IN("tcp-in", "TCP in (port forward)"),
    TCP_OUT("tcp-out", "TCP out (masquerade)"),
    HTTP_KEEPALIVE("http-keepalive", "HTTP keep-alive"),
    HTTP_CLOSE("http-close", "HTTP new connections"),
    UDP("udp", "64B UDP frames");

    final String id;
    final String label;

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
            default -> throw new IllegalArgumentException("unknown workload \"" + s + "\" (one of "
                + Arrays.stream(values()).map(w -> w.id).collect(Collectors.joining(", ")) + ")");
        };
    }
}
