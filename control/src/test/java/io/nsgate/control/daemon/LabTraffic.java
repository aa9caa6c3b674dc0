// Traffic the gateway's end-to-end tests send over either family: the same checks, IPv4 or IPv6 addresses.
package io.nsgate.control.daemon;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.net.DatagramPacket;
import java.net.DatagramSocket;
import java.net.InetSocketAddress;
import java.net.PortUnreachableException;
import java.net.SocketTimeoutException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

import io.nsgate.control.testsupport.SeedLab;
import io.nsgate.dataplane.nat.ForwardRule;
import io.nsgate.testkit.Commands;

/** Shared by {@link GatewayEndToEndTest} (IPv4) and {@link GatewayIpv6EndToEndTest}. */
final class LabTraffic {
    private LabTraffic() {
    }

    /**
     * A connected UDP socket in red on {@code from} sends to lan's port 9 ({@code to}), where nothing listens, three
     * times; returns what ended the wait: {@link PortUnreachableException} when lan's ICMP error came back
     * translated, {@link SocketTimeoutException} when nothing came, or null when something answered.
     */
    static Exception udpToAClosedPort(SeedLab lab, String from, String to) throws Exception {
        return lab.netns("red").call(() -> {
            try (DatagramSocket s = new DatagramSocket(new InetSocketAddress(from, 0))) {
                s.connect(new InetSocketAddress(to, 9));
                s.setSoTimeout(1500);
                byte[] probe = "probe".getBytes();
                // up to three probes: the far kernel rate-limits its ICMP errors per destination, and an earlier
                // test may have spent the bucket; one error back is the proof
                Exception last = null;
                for (int i = 0; i < 3; i++) {
                    try {
                        s.send(new DatagramPacket(probe, probe.length));
                        s.receive(new DatagramPacket(new byte[64], 64));
                        return null;
                    } catch (PortUnreachableException e) {
                        return e;
                    } catch (SocketTimeoutException e) {
                        last = e;
                    }
                }
                return last;
            }
        });
    }

    /**
     * Lowers edge's lan0 MTU to 1400, waits for the gateway to follow, pings lan's {@code target} from red with
     * 1450-byte payloads that may not be fragmented (over IPv6 when {@code ipv6}), and puts the MTU back. Returns
     * ping's output, which names the MTU red learnt.
     */
    static String pingPastALoweredMtu(SeedLab lab, boolean ipv6, String target) throws Exception {
        String edge = lab.ns("edge");
        Commands.ip("-n", edge, "link", "set", "lan0", "mtu", "1400");
        try {
            Thread.sleep(2500); // the gateway follows MTU changes every 2 s
            List<String> ping = new ArrayList<>(List.of("ping", "-M", "do", "-s", "1450", "-c", "2", "-i", "0.5",
                "-W", "2", target));
            if (ipv6) {
                ping.add(1, "-6");
            }
            return lab.tryExec(lab.ns("red"), ping.toArray(new String[0])).output();
        } finally {
            Commands.ip("-n", edge, "link", "set", "lan0", "mtu", "1500");
        }
    }

    /**
     * An iperf3 run from blue to lan's {@code lanAddress} (masqueraded) while {@code unrelated} is added and removed
     * ten times: the running connection must finish without an error.
     */
    static void churnAnUnrelatedForwardUnderALiveFlow(SeedLab lab, Gateway gateway, String lanAddress,
                                                      ForwardRule unrelated, String... clientFlags) throws Exception {
        lab.awaitListening(lab.ns("lan"), 5201,
            lab.start(lab.ns("lan"), "iperf3", "-s", "-1", "-B", lanAddress), Duration.ofSeconds(10));
        List<String> client = new ArrayList<>(List.of("iperf3", "-c", lanAddress, "-t", "4", "-J"));
        client.addAll(List.of(clientFlags));
        Process running = lab.start(lab.ns("blue"), client.toArray(new String[0]));
        for (int i = 0; i < 10; i++) {
            Thread.sleep(250);
            gateway.addForward(unrelated);
            Thread.sleep(100);
            assertTrue(gateway.removeForward(unrelated));
        }
        String out = lab.await(running, Duration.ofSeconds(30));
        assertTrue(out.contains("\"bits_per_second\""), out);
        assertFalse(out.contains("\"error\""), out);
    }
}
