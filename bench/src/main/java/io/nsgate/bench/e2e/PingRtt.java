// Round-trip time through the masquerade on a quiet lab: what every request/response workload pays per exchange.
package io.nsgate.bench.e2e;

import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Locale;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import io.nsgate.control.testsupport.SeedLab;
import io.nsgate.testkit.CommandException;
import io.nsgate.testkit.Commands;

/**
 * {@code ping -c 150 -i 0.02 192.168.1.3} from blue (ICMP echo, masqueraded), before the load workloads; the median
 * and the 99th percentile of the replies' times. One echo at a time, so this is the gateway's latency alone: a
 * keep-alive HTTP client with C connections cannot do more than about C / RTT requests per second. (At -i 0.01
 * ping itself spins on a CPU once replies take a millisecond or more, so the interval is 20 ms.)
 */
final class PingRtt {
    static final int COUNT = 150;
    private static final Pattern TIME = Pattern.compile("time=([0-9.]+) ms");

    private PingRtt() {
    }

    static Measurement run(SeedLab lab, Meter meter) {
        meter.begin();
        Commands.Result r = lab.processes().run(Duration.ofSeconds(60), Commands.inNetns(lab.ns("blue"), "ping", "-c",
            String.valueOf(COUNT), "-i", "0.02", "-W", "1", SeedLab.LAN));
        meter.end();
        List<Double> times = new ArrayList<>();
        Matcher m = TIME.matcher(r.output());
        while (m.find()) {
            times.add(Double.parseDouble(m.group(1)));
        }
        if (times.isEmpty()) {
            throw new IllegalStateException("no ping reply from " + SeedLab.LAN + CommandException.tail(r.output()));
        }
        Collections.sort(times);
        Measurement result = new Measurement(Workload.PING_RTT)
            .put(Measurement.RTT_MEDIAN_MS, times.get(times.size() / 2))
            .put(Measurement.RTT_P99_MS, times.get((int) Math.ceil(times.size() * 0.99) - 1));
        if (times.size() < COUNT) {
            result.note(String.format(Locale.ROOT, "%d of %d echo replies missing", COUNT - times.size(), COUNT));
        }
        return result;
    }
}
