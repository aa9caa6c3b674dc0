// The metrics exposition is valid Prometheus text: HELP and TYPE per family, legal names, counters summing up.
package io.nsgate.control.metrics;

import static org.junit.jupiter.api.Assertions.*;

import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import org.junit.jupiter.api.Test;

import io.nsgate.control.api.ops.InMemoryGateway;
import io.nsgate.dataplane.stats.Counter;
import io.nsgate.dataplane.stats.DropReason;
import io.nsgate.dataplane.stats.PortCounter;

class PrometheusTextTest {
    private static final Pattern SAMPLE = Pattern.compile(
        "([a-zA-Z_:][a-zA-Z0-9_:]*)(\\{[a-z_]+=\"[^\"\\\\]*\"(,[a-z_]+=\"[^\"\\\\]*\")*})? (-?[0-9.]+(e[0-9+-]+)?)");

    @Test
    void everyFamilyHasHelpAndTypeBeforeItsSamplesAndEverySampleParses() {
        try (InMemoryGateway g = new InMemoryGateway(4096, null)) {
            g.insertDnatFlows(7, 0x0A010000);
            String text = PrometheusText.render(g, null);
            Set<String> helped = new HashSet<>();
            Map<String, String> types = new HashMap<>();
            Map<String, Integer> samples = new HashMap<>();
            for (String line : text.lines().toList()) {
                if (line.startsWith("# HELP ")) {
                    String name = line.split(" ")[2];
                    assertTrue(helped.add(name), "one HELP per family: " + name);
                } else if (line.startsWith("# TYPE ")) {
                    String[] parts = line.split(" ");
                    assertTrue(helped.contains(parts[2]), "HELP before TYPE: " + line);
                    assertTrue(List.of("counter", "gauge").contains(parts[3]), line);
                    types.put(parts[2], parts[3]);
                } else {
                    Matcher m = SAMPLE.matcher(line);
                    assertTrue(m.matches(), "a sample line: " + line);
                    String name = m.group(1);
                    assertTrue(types.containsKey(name), "TYPE before samples: " + line);
                    samples.merge(name, 1, Integer::sum);
                }
            }
            types.forEach((name, type) -> assertEquals(type.equals("counter"), name.endsWith("_total"), name));
            assertEquals(2, samples.get("nsgate_forwarded_total"), "one series per worker");
            assertEquals(2 * DropReason.values().length, samples.get("nsgate_drops_total"));
            for (Counter c : Counter.values()) {
                assertTrue(types.containsKey("nsgate_" + c.name().toLowerCase() + "_total"), c.name());
            }
            assertTrue(text.contains("\nnsgate_flows{family=\"ipv4\"} 7\n"), text);
            assertTrue(text.contains("\nnsgate_flow_table_capacity{family=\"ipv4\"} 4096\n"));
            assertTrue(text.contains("\nnsgate_flow_table_capacity{family=\"ipv6\"} "), "the IPv6 table too");
            assertTrue(text.contains("nsgate_drops_total{reason=\"table_full\",worker=\"1\"} 0\n"));
            for (PortCounter p : PortCounter.values()) {
                assertEquals(2 * 2, samples.get("nsgate_port_" + p.name().toLowerCase() + "_total"),
                    "one series per worker and interface: " + p);
            }
            assertTrue(text.contains("nsgate_port_rx_ring_drops_total{interface=\"lan0\",worker=\"0\"} 0\n"), text);
            assertTrue(text.contains("nsgate_port_rx_ring_drops_total{interface=\"lan0\",worker=\"1\"} "
                + InMemoryGateway.RING_DROPS_LAN + "\n"), text);
            assertTrue(text.contains("nsgate_port_rx_ring_drops_total{interface=\"v-net-0\",worker=\"1\"} "
                + InMemoryGateway.RING_DROPS_INSIDE + "\n"), text);
            assertTrue(text.contains("\nnsgate_build_info{version=\"" + io.nsgate.control.BuildInfo.version()
                + "\",java=\"" + System.getProperty("java.version") + "\"} 1\n"), text);
            Matcher start = Pattern.compile("\nprocess_start_time_seconds ([0-9.]+)\n").matcher(text);
            assertTrue(start.find(), text);
            double started = Double.parseDouble(start.group(1));
            double now = System.currentTimeMillis() / 1000.0;
            assertTrue(started <= now && started > now - 24 * 3600, "this JVM's start: " + started);
            assertTrue(text.contains("\nnsgate_local_connections 0\n"), text);
        }
    }
}
