// 64-byte UDP frames: trafgen in blue as fast as it can, through the masquerade, counted where they arrive in lan.
package io.nsgate.bench.e2e;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Locale;

import io.nsgate.control.testsupport.SeedLab;
import io.nsgate.testkit.CommandException;
import io.nsgate.testkit.Commands;
import io.nsgate.testkit.Processes;

/**
 * trafgen writes whole Ethernet frames, so the gateway's MAC is resolved on blue's side first (blue's neighbour
 * entry for 192.168.15.5, after a ping). The frame: 64 bytes as handed to blue's eth0 (14 Ethernet + 20 IPv4 with DF
 * + 8 UDP + 22 zero bytes; checksums computed by trafgen), 192.168.15.2:40000-40015 → 192.168.1.3:9: {@value #FLOWS}
 * flows, the source port counting up frame by frame (trafgen's dinc), so that a multi-queue path (nsgate's workers,
 * the kernel's softirqs on several CPUs) can spread them, as real traffic would be. trafgen runs one sender
 * ({@code -P 1}, so a CPU is left for the gateway), without touching the machine's socket-memory sysctls or IRQ
 * affinity ({@code --no-sock-mem -Q}).
 *
 * <p>After one second of warm-up, the received figure is the rx_packets counter of lan's lan0 (what the gateway
 * delivered to lan; lan itself then drops them, having no listener on port 9) over SECONDS, divided by the time
 * between the two readings; sent is blue eth0's tx_packets over the same window (frames the veth accepted).
 */
final class UdpFrames {
    static final int FRAME_BYTES = 64;
    /** Flows of the frame-rate test: source ports UDP_SOURCE_PORT .. UDP_SOURCE_PORT + FLOWS - 1. */
    static final int FLOWS = 16;

    private UdpFrames() {
    }

    static Measurement run(SeedLab lab, int seconds, Meter meter) throws Exception {
        String blue = lab.ns("blue");
        String lan = lab.ns("lan");
        String gatewayMac = gatewayMac(lab);
        Processes processes = lab.processes();
        Path config = processes.dir().resolve("udp64.trafgen");
        Files.writeString(config, config(lab.mac(blue, "eth0"), gatewayMac));
        Process trafgen = processes.start(Commands.inNetns(blue, "trafgen", "-o", "eth0", "-i", config.toString(),
            "-P", "1", "--no-sock-mem", "-Q"), processes.dir().resolve("trafgen.log"));
        Measurement m = new Measurement(Workload.UDP);
        try {
            Thread.sleep(1000);
            if (!trafgen.isAlive()) {
                throw new IllegalStateException("trafgen exited with code " + trafgen.exitValue()
                    + CommandException.tail(processes.output(trafgen)));
            }
            long rx0 = lab.packets(lan, "lan0", "rx");
            long tx0 = lab.packets(blue, "eth0", "tx");
            meter.begin();
            Thread.sleep(seconds * 1000L);
            meter.end();
            long rx1 = lab.packets(lan, "lan0", "rx");
            long tx1 = lab.packets(blue, "eth0", "tx");
            double s = meter.window().seconds();
            m.put(Measurement.RX_PPS, (rx1 - rx0) / s).put(Measurement.TX_PPS, (tx1 - tx0) / s);
            long sent = tx1 - tx0;
            long received = rx1 - rx0;
            if (sent > 0) {
                m.note(String.format(Locale.ROOT, "%d frames sent, %d received in lan (%.1f%% lost on the way)", sent,
                    received, Math.max(0, 100.0 * (sent - received) / sent)));
            }
        } finally {
            processes.stop(trafgen, Duration.ofSeconds(3));
        }
        return m;
    }

    /** The MAC blue uses for its default gateway 192.168.15.5 (pinged first so that blue has resolved it). */
    static String gatewayMac(SeedLab lab) {
        String blue = lab.ns("blue");
        String mac = lab.neighbourMac(blue, SeedLab.GATEWAY_INSIDE);
        if (mac == null) {
            lab.exec(blue, "ping", "-c", "1", "-W", "2", SeedLab.GATEWAY_INSIDE);
            mac = lab.neighbourMac(blue, SeedLab.GATEWAY_INSIDE);
        }
        if (mac == null) {
            throw new IllegalStateException("blue did not resolve the gateway " + SeedLab.GATEWAY_INSIDE
                + " (ip -n " + blue + " neigh)");
        }
        return mac;
    }

    static String config(String sourceMac, String gatewayMac) {
        int payload = FRAME_BYTES - 14 - 20 - 8;
        return "/* 64-byte UDP frames, " + FLOWS + " flows: blue -> lan through the gateway (masqueraded) */\n"
            + "{\n"
            + "  eth(da=" + gatewayMac + ", sa=" + sourceMac + ", type=0x0800),\n"
            + "  ipv4(saddr=" + SeedLab.BLUE + ", daddr=" + SeedLab.LAN + ", ttl=64, df),\n"
            + "  udp(sport=dinc(" + NatRules.UDP_SOURCE_PORT + ", " + (NatRules.UDP_SOURCE_PORT + FLOWS - 1)
            + "), dport=" + NatRules.UDP_PORT + "),\n"
            + "  fill(0x00, " + payload + ")\n"
            + "}\n";
    }
}
