// What one workload measured on one side: named values, remarks, and the CPU/memory window around it.
package io.nsgate.bench.e2e;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

final class Measurement {
    /** Keys of {@link #values}. */
    static final String GBPS = "gbps";
    static final String RPS = "rps";
    static final String P99_MS = "p99ms";
    static final String RX_PPS = "rxpps";
    static final String TX_PPS = "txpps";
    static final String RTT_MEDIAN_MS = "rtt50ms";
    static final String RTT_P99_MS = "rtt99ms";

    final Workload workload;
    final Map<String, Double> values = new LinkedHashMap<>();
    final List<String> notes = new ArrayList<>();
    Usage.Window window;

    Measurement(Workload workload) {
        this.workload = workload;
    }

    Double value(String key) {
        return values.get(key);
    }

    Measurement put(String key, double v) {
        values.put(key, v);
        return this;
    }

    Measurement note(String n) {
        notes.add(n);
        return this;
    }
}
