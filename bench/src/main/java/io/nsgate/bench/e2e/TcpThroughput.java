// TCP in and TCP out: one iperf3 stream through the gateway, the receiver's figure.
package io.nsgate.bench.e2e;

import java.io.IOException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import io.nsgate.control.testsupport.SeedLab;
import io.nsgate.testkit.CommandException;
import io.nsgate.testkit.Commands;
import io.nsgate.testkit.Processes;

/**
 * <ul>
 *   <li>TCP in (port forward): {@code iperf3 -s} in blue, {@code iperf3 -c 192.168.1.2 -p 5201} in lan: the gateway
 *       DNATs to blue;</li>
 *   <li>TCP out (masquerade): {@code iperf3 -s} in lan, {@code iperf3 -c 192.168.1.3} in blue: the gateway SNATs
 *       to its LAN address.</li>
 *   <li>The same over IPv6 ({@code tcp-in6}, {@code tcp-out6}): {@code -c fd01::2} and {@code -c fd01::3}, the
 *       server listening on both families.</li>
 * </ul>
 * One stream, {@code -t SECONDS -O 1} (the first second, slow start, is left out), JSON output; the result is
 * {@code end.sum_received.bits_per_second}, with the sender's retransmits as a remark. The server is started fresh
 * for each run and stopped by pid.
 */
final class TcpThroughput {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final int PORT = 5201;

    private TcpThroughput() {
    }

    static Measurement run(SeedLab lab, Workload w, int seconds, Meter meter) throws Exception {
        boolean in = w == Workload.TCP_IN || w == Workload.TCP_IN6;
        String serverNs = lab.ns(in ? "blue" : "lan");
        String clientNs = lab.ns(in ? "lan" : "blue");
        String target = w.ipv6() ? (in ? SeedLab.GATEWAY_LAN6 : SeedLab.LAN6) : (in ? SeedLab.GATEWAY_LAN : SeedLab.LAN);
        Measurement m = new Measurement(w);
        Processes processes = lab.processes();
        Process server = processes.start(Commands.inNetns(serverNs, "iperf3", "-s", "-p", String.valueOf(PORT)),
            processes.dir().resolve("iperf3-server-" + w.id + ".log"));
        try {
            lab.awaitListening(serverNs, PORT, server, Duration.ofSeconds(10));
            List<String> client = new ArrayList<>(Commands.inNetns(clientNs, "iperf3", "-c", target, "-p",
                String.valueOf(PORT), "-t", String.valueOf(seconds), "-O", "1", "-J", "--connect-timeout", "3000"));
            if (w.ipv6()) {
                client.add("-6");
            }
            meter.begin();
            Commands.Result r = processes.run(Duration.ofSeconds(seconds + 30L), client);
            meter.end();
            parse(r.output(), m);
        } finally {
            processes.stop(server, Duration.ofSeconds(3));
        }
        return m;
    }

    static void parse(String json, Measurement m) {
        JsonNode root;
        try {
            root = JSON.readTree(json);
        } catch (IOException e) {
            throw new IllegalStateException("iperf3 printed no JSON" + CommandException.tail(json));
        }
        if (root.hasNonNull("error")) {
            throw new IllegalStateException("iperf3: " + root.get("error").asText());
        }
        JsonNode received = root.path("end").path("sum_received").path("bits_per_second");
        if (!received.isNumber()) {
            throw new IllegalStateException("iperf3 reported no received throughput" + CommandException.tail(json));
        }
        m.put(Measurement.GBPS, received.asDouble() / 1e9);
        JsonNode retransmits = root.path("end").path("sum_sent").path("retransmits");
        if (retransmits.isNumber() && retransmits.asLong() > 0) {
            m.note(retransmits.asLong() + " retransmits");
        }
    }
}
