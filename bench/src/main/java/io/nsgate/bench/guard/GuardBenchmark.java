// The tcx guard's cost per frame as the kernel measures it (BPF_PROG_TEST_RUN), and the cost of a rule change.
package io.nsgate.bench.guard;

import static io.nsgate.dataplane.nat.SeedLabRules.GW_LAN;
import static io.nsgate.dataplane.nat.SeedLabRules.LAN;

import java.nio.ByteBuffer;
import java.util.Arrays;
import java.util.Locale;

import io.nsgate.dataplane.guard.KernelGuard;
import io.nsgate.dataplane.nat.Ownership;
import io.nsgate.dataplane.nat.PortRange;
import io.nsgate.dataplane.nat.SeedLabRules;
import io.nsgate.dataplane.testsupport.Frames;
import io.nsgate.linux.net.Ipv4Address;
import io.nsgate.linux.sys.Bpf;

/**
 * Loads the guard without attaching it anywhere (BPF_PROG_TEST_RUN runs a program on a frame handed over from user
 * space; no interface, namespace or traffic is involved), once with the seed lab's rules and once with full tables
 * ({@link Ownership#MAX_ADDRESSES} addresses with their broadcasts, {@link Ownership#MAX_FORWARDS} forwards), and
 * prints the kernel's own average per run (200,000 runs, best of 3) for a SYN to the seed lab's port forward, an ARP
 * request for the gateway, and the full tables' worst case (a SYN that scans every broadcast, address and forward
 * entry before it is passed). Then what a rule change costs: {@link KernelGuard#update} writes the spare slot,
 * flips the index and waits for an RCU grace period; median and worst of 21.
 *
 * <pre>
 *   bench/run guard
 * </pre>
 */
public final class GuardBenchmark {
    private static final int RUNS = 200_000;
    private static final int UPDATES = 21;

    private GuardBenchmark() {
    }

    public static void main(String[] args) {
        String cause = Bpf.unavailabilityCause();
        if (cause != null) {
            System.err.println("guard benchmark needs bpf(2): " + cause);
            System.exit(1);
        }
        Ownership seedLab = SeedLabRules.rules().ownership();
        try (KernelGuard guard = KernelGuard.load(seedLab); KernelGuard full = KernelGuard.load(SeedLabRules.fullTables(6))) {
            System.out.printf(Locale.ROOT, "guard program, %d instructions; ns per frame (kernel's average over %d"
                + " runs, best of 3):%n", guard.instructionCount(), RUNS);
            row("seed lab, SYN to the port forward", nsPerRun(guard, syn(GW_LAN, 80)));
            row("seed lab, ARP request for the gateway", nsPerRun(guard,
                Frames.arpRequest("02:00:00:00:00:03", Ipv4Address.format(LAN), Ipv4Address.format(GW_LAN))));
            int last = Ipv4Address.parse("10.0." + (Ownership.MAX_ADDRESSES - 1) + ".1");
            row("full tables, worst case", nsPerRun(full, syn(last, 22)));

            Ownership withSsh = SeedLabRules.builder().forward(SeedLabRules.forward(6, 0, PortRange.single(22),
                SeedLabRules.BLUE, PortRange.single(22))).build().ownership();
            double[] ms = new double[UPDATES];
            for (int i = 0; i < UPDATES; i++) {
                long start = System.nanoTime();
                guard.update(i % 2 == 0 ? withSsh : seedLab);
                ms[i] = (System.nanoTime() - start) / 1e6;
            }
            Arrays.sort(ms);
            System.out.printf(Locale.ROOT, "update() (slot write, index flip, RCU grace period): median %.2f ms,"
                + " worst %.2f ms of %d%n", ms[UPDATES / 2], ms[UPDATES - 1], UPDATES);
        }
    }

    private static void row(String what, long ns) {
        System.out.printf(Locale.ROOT, "  %-40s %6d%n", what, ns);
    }

    private static byte[] syn(int dst, int port) {
        return Frames.tcp().src(LAN, 50000).dst(dst, port).flags(Frames.SYN).build();
    }

    private static long nsPerRun(KernelGuard g, byte[] frame) {
        ByteBuffer data = ByteBuffer.allocateDirect(frame.length).put(frame).flip();
        Bpf.TestRun run = new Bpf.TestRun();
        long best = Long.MAX_VALUE;
        for (int i = 0; i < 3; i++) {
            best = Math.min(best, Bpf.progTestRun(g.programFd(), data, null, RUNS, run).durationNs);
        }
        return best;
    }
}
