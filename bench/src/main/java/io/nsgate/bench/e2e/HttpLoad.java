// HTTP keep-alive and HTTP new connections: wrk in lan against nginx in blue, through the port forward.
package io.nsgate.bench.e2e;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import io.nsgate.control.testsupport.SeedLab;
import io.nsgate.testkit.CommandException;
import io.nsgate.testkit.Commands;

/**
 * {@code wrk -t2 -cCONNECTIONS -dSECONDSs --latency http://192.168.1.2/} from lan; with {@code -H "Connection:
 * close"} nginx closes every connection after its answer, so each request is a new TCP connection through the
 * gateway (SYN, DNAT, handshake, request, FIN both ways). Results: {@code Requests/sec} and the 99th percentile of
 * wrk's latency distribution (wrk times a request from its write, so a slow connect shows in req/s, not in p99);
 * socket errors, timeouts and non-2xx answers are remarks.
 */
final class HttpLoad {
    private static final Pattern RPS = Pattern.compile("Requests/sec:\\s+([0-9.]+)");
    private static final Pattern P99 = Pattern.compile("(?m)^\\s*99%\\s+([0-9.]+)(us|ms|s|m)\\s*$");
    private static final Pattern ERRORS = Pattern.compile(
        "Socket errors: connect (\\d+), read (\\d+), write (\\d+), timeout (\\d+)");
    private static final Pattern NON_2XX = Pattern.compile("Non-2xx or 3xx responses: (\\d+)");
    private static final Pattern TOTAL = Pattern.compile("(\\d+) requests in");

    private HttpLoad() {
    }

    static Measurement run(SeedLab lab, Workload w, int seconds, int connections, Meter meter) {
        List<String> cmd = new ArrayList<>(List.of("wrk", "-t2", "-c" + connections, "-d" + seconds + "s",
            "--latency"));
        if (w == Workload.HTTP_CLOSE) {
            cmd.addAll(List.of("-H", "Connection: close"));
        }
        cmd.add(w == Workload.HTTP_KEEPALIVE6 ? "http://[" + SeedLab.GATEWAY_LAN6 + "]/"
            : "http://" + SeedLab.GATEWAY_LAN + "/");
        meter.begin();
        String out = lab.processes().check(Duration.ofSeconds(seconds + 30L), Commands.inNetns(lab.ns("lan"), cmd));
        meter.end();
        return parse(out, new Measurement(w));
    }

    static Measurement parse(String out, Measurement m) {
        Matcher rps = RPS.matcher(out);
        if (!rps.find()) {
            throw new IllegalStateException("wrk printed no Requests/sec" + CommandException.tail(out));
        }
        m.put(Measurement.RPS, Double.parseDouble(rps.group(1)));
        Matcher p99 = P99.matcher(out);
        if (p99.find()) {
            double v = Double.parseDouble(p99.group(1));
            double ms = switch (p99.group(2)) {
                case "us" -> v / 1000;
                case "ms" -> v;
                case "s" -> v * 1000;
                default -> v * 60_000;
            };
            m.put(Measurement.P99_MS, ms);
        }
        Matcher total = TOTAL.matcher(out);
        Matcher errors = ERRORS.matcher(out);
        if (errors.find()) {
            m.note("wrk socket errors: connect " + errors.group(1) + ", read " + errors.group(2) + ", write "
                + errors.group(3) + ", timeout " + errors.group(4)
                + (total.find() ? " (of " + total.group(1) + " requests)" : ""));
        }
        Matcher non2xx = NON_2XX.matcher(out);
        if (non2xx.find()) {
            m.note(non2xx.group(1) + " non-2xx answers");
        }
        return m;
    }
}
