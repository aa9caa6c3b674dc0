package io.nsgate.control.metrics;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import org.junit.jupiter.api.Test;

import io.nsgate.control.api.ops.InMemoryGateway;

/** The Grafana dashboard in the repository asks only for series the gateway exports. */
class GrafanaDashboardTest {
    private static final Pattern METRIC = Pattern.compile("\\b(nsgate_[a-z0-9_]+|process_start_time_seconds)\\b");

    private static Path repository() {
        for (Path dir = Path.of("").toAbsolutePath(); dir != null; dir = dir.getParent()) {
            if (Files.isDirectory(dir.resolve("packaging/grafana"))) {
                return dir;
            }
        }
        throw new IllegalStateException("no packaging/grafana above " + Path.of("").toAbsolutePath());
    }

    @Test
    void everyPanelQueriesMetricsTheGatewayExports() throws Exception {
        Path root = repository();
        JsonNode dashboard = new ObjectMapper().readTree(root.resolve("packaging/grafana/nsgate-dashboard.json")
            .toFile());
        Set<String> asked = new TreeSet<>();
        int targets = 0;
        for (JsonNode panel : dashboard.path("panels")) {
            for (JsonNode target : panel.path("targets")) {
                targets++;
                Matcher m = METRIC.matcher(target.path("expr").asText());
                while (m.find()) {
                    asked.add(m.group(1));
                }
            }
        }
        assertTrue(targets >= 10, "panels with queries: " + targets);
        String exported;
        try (InMemoryGateway g = new InMemoryGateway(4096, null)) {
            exported = PrometheusText.render(g, null);
        }
        // the control socket's families appear only with a control socket: their names are in the source
        String source = Files.readString(root.resolve(
            "control/src/main/java/io/nsgate/control/metrics/PrometheusText.java"));
        List<String> missing = new ArrayList<>();
        for (String metric : asked) {
            boolean family = exported.contains("# TYPE " + metric + " ")
                || metric.startsWith("nsgate_control_") && source.contains("\"" + metric + "\"");
            if (!family) {
                missing.add(metric);
            }
        }
        assertEquals(List.of(), missing, "series the dashboard asks for that nsgate does not export");
    }
}
