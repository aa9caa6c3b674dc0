// The stalls of an iperf3 stream: runs of intervals in which nothing arrived, from its JSON report.
package io.nsgate.control.testsupport;

import java.io.IOException;
import java.util.ArrayList;
import java.util.List;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

/** Reads an {@code iperf3 -J -i 0.1} report (the restart test and {@code bench/run restart}). */
public final class IperfStalls {
    private static final ObjectMapper JSON = new ObjectMapper();

    /** One stall: when it began (seconds into the stream) and how long it lasted (whole intervals). */
    public record Stall(double startS, long ms) {
        @Override
        public String toString() {
            return String.format("%d ms at %.1f s", ms, startS);
        }
    }

    /** The report's stalls, the error it ended with (null if none), and its mean rate as received. */
    public record Report(List<Stall> stalls, String error, long bytesReceived, double mbps) {
    }

    private IperfStalls() {
    }

    public static Report read(String iperfJson) throws IOException {
        JsonNode root = JSON.readTree(iperfJson);
        List<Stall> stalls = new ArrayList<>();
        int run = 0;
        double start = 0;
        double width = 0;
        for (JsonNode interval : root.path("intervals")) {
            JsonNode sum = interval.path("sum");
            width = sum.path("end").asDouble() - sum.path("start").asDouble();
            if (sum.path("bytes").asLong() == 0) {
                if (run++ == 0) {
                    start = sum.path("start").asDouble();
                }
            } else if (run > 0) {
                stalls.add(new Stall(start, Math.round(run * width * 1000)));
                run = 0;
            }
        }
        if (run > 0) {
            stalls.add(new Stall(start, Math.round(run * width * 1000)));
        }
        JsonNode received = root.path("end").path("sum_received");
        return new Report(stalls, root.has("error") ? root.path("error").asText() : null,
            received.path("bytes").asLong(), received.path("bits_per_second").asDouble() / 1e6);
    }
}
