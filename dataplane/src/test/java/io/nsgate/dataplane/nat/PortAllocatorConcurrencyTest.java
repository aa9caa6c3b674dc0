// Several workers creating NAT flows at once over a small port range: no mapping is ever handed out twice.
package io.nsgate.dataplane.nat;

import static io.nsgate.dataplane.nat.SeedLabRules.*;
import static org.junit.jupiter.api.Assertions.*;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.SplittableRandom;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.CyclicBarrier;

import org.agrona.concurrent.UnsafeBuffer;
import org.junit.jupiter.api.Test;

import io.nsgate.dataplane.conntrack.FlowCursor;
import io.nsgate.dataplane.conntrack.FlowSnapshot;
import io.nsgate.dataplane.conntrack.FlowTable;
import io.nsgate.dataplane.conntrack.FlowTimeouts;
import io.nsgate.dataplane.stats.WorkerCounters;
import io.nsgate.dataplane.testsupport.Frames;
import io.nsgate.linux.net.Ipv4Address;

class PortAllocatorConcurrencyTest {
    @Test
    void workersNeverHandOutTheSameMappingTwice() throws Exception {
        RuleSet rules = builder().natPorts(new PortRange(61000, 61499)).build();
        int workers = 3;
        try (FlowTable table = new FlowTable(1 << 14, FlowTimeouts.DEFAULTS, 0, 1);
             FragmentTable fragments = new FragmentTable(64)) {
            ConcurrentLinkedQueue<String> failures = new ConcurrentLinkedQueue<>();
            CyclicBarrier start = new CyclicBarrier(workers);
            List<Thread> threads = new ArrayList<>();
            for (int w = 0; w < workers; w++) {
                int worker = w;
                threads.add(new Thread(() -> {
                    try {
                        Translator t = new Translator(table, fragments, new WorkerCounters(), rules, worker);
                        Verdict v = new Verdict();
                        SplittableRandom rnd = new SplittableRandom(worker);
                        start.await();
                        for (int i = 0; i < 4000; i++) {
                            // inside endpoints overlap between workers: the same ip:port must share one mapping
                            int host = 10 + rnd.nextInt(40);
                            int port = 20000 + rnd.nextInt(10);
                            int remote = Ipv4Address.parse("192.168.1.100") + rnd.nextInt(50);
                            byte[] frame = rnd.nextBoolean()
                                ? Frames.udp().src("192.168.15." + host, port).dst(remote, 53).build()
                                : Frames.tcp().src("192.168.15." + host, port).dst(remote, 80)
                                    .flags(Frames.SYN).build();
                            int action = t.process(new UnsafeBuffer(frame), 0, frame.length, INSIDE_IF, 0, 0, 0,
                                1_000_000_000L, v);
                            if (action != Verdict.FORWARD && action != Verdict.DROP) {
                                failures.add("unexpected " + v);
                            }
                        }
                    } catch (Exception e) {
                        failures.add(e.toString());
                    }
                }));
            }
            threads.forEach(Thread::start);
            for (Thread t : threads) {
                t.join();
            }
            assertTrue(failures.isEmpty(), () -> failures.peek());

            Map<Long, Integer> mappingPortOwner = new HashMap<>(); // (proto, port) -> inside endpoint
            Map<Long, Integer> mappingOfEndpoint = new HashMap<>(); // (proto, inside endpoint) -> port
            Set<String> replyTuples = new HashSet<>();
            List<FlowSnapshot> udpFlows = new ArrayList<>();
            int mappings = 0;
            for (FlowCursor flows = table.cursor(); flows.next(); ) {
                FlowSnapshot s = flows.flow();
                if (s.mapping) {
                    mappings++;
                    long portKey = ((long) s.proto << 32) | s.replyDstPort;
                    int endpoint = s.origSrcIp * 31 + s.origSrcPort;
                    assertNull(mappingPortOwner.put(portKey, endpoint), "port " + s.replyDstPort + " mapped twice");
                    assertNull(mappingOfEndpoint.put(((long) s.proto << 32) | (endpoint & 0xFFFF_FFFFL), s.replyDstPort),
                        "an inside endpoint holds two mappings");
                    assertTrue(s.flagsOrRefCount > 0);
                } else {
                    assertTrue(replyTuples.add(s.proto + " " + s.replySrcIp + ":" + s.replySrcPort + " "
                        + s.replyDstIp + ":" + s.replyDstPort), "reply tuple handed out twice: " + s);
                    assertTrue(rules.natPorts().contains(s.replyDstPort));
                    if (s.proto == 17) {
                        FlowSnapshot copy = new FlowSnapshot();
                        table.snapshot(s.flowId, copy);
                        udpFlows.add(copy);
                    }
                }
            }
            assertTrue(mappings > 100, "enough mappings to collide: " + mappings);
            for (FlowSnapshot f : udpFlows) {
                int endpoint = f.origSrcIp * 31 + f.origSrcPort;
                assertEquals(mappingOfEndpoint.get((17L << 32) | (endpoint & 0xFFFF_FFFFL)), f.replyDstPort,
                    "a UDP flow uses its endpoint's mapping port: " + f);
            }
        }
    }
}
