// JMH: a block of 16 frames of 16 different connections among many, translated with and without the prefetch pass.
package io.nsgate.bench.nat;

import java.nio.ByteOrder;
import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;

import org.agrona.concurrent.UnsafeBuffer;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OperationsPerInvocation;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

import io.nsgate.bench.JvmFlags;
import io.nsgate.dataplane.conntrack.FlowDraft;
import io.nsgate.dataplane.conntrack.FlowRecord;
import io.nsgate.dataplane.conntrack.FlowTable;
import io.nsgate.dataplane.conntrack.FlowTimeouts;
import io.nsgate.dataplane.conntrack.TcpState;
import io.nsgate.dataplane.nat.GatewayInterface;
import io.nsgate.dataplane.nat.MasqueradeRule;
import io.nsgate.dataplane.nat.RuleSet;
import io.nsgate.dataplane.nat.SeedLabRules;
import io.nsgate.dataplane.nat.Translator;
import io.nsgate.dataplane.nat.Verdict;
import io.nsgate.dataplane.packet.Checksums;
import io.nsgate.dataplane.testsupport.Frames;
import io.nsgate.linux.net.Ipv4Prefix;

/**
 * What a worker does with a received block: 16 64-byte TCP frames (ACKs of established masqueraded connections),
 * each of a different connection picked at random among {@code flows}, processed one after the other
 * ({@link #translate16}) or after {@link Translator#prefetch} ({@link #prefetchAndTranslate16}, what the worker does
 * for blocks of 4 frames or more; below 16,384 live flows it returns at once). Each operation first writes the 16 frames (a pristine frame with the connection's
 * addresses and IPv4 checksum, from arrays read in order); the score is per frame.
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Warmup(iterations = 3, time = 2)
@Measurement(iterations = 5, time = 2)
@Fork(value = 1, jvmArgsAppend = {JvmFlags.AGRONA_EXPORTS, JvmFlags.NO_BOUNDS_CHECKS, "-Xmx4g"})
public class TranslatorBatchBenchmark {
    static final int BLOCK = 16;
    static final int FRAME = 60;
    static final int SLOT = 128;
    private static final int GATEWAY = 0xC0A80102;

    @Param({"1000", "1000000"})
    int flows;

    private SeedLabRules.Harness harness;
    private Translator translator;
    private Verdict verdict;
    private byte[] pristine;
    private final UnsafeBuffer block = new UnsafeBuffer(new byte[BLOCK * SLOT]);
    private final int[] offsets = new int[BLOCK];
    private final int[] lengths = new int[BLOCK];
    /** The frames' connections in a random order: source, destination, IPv4 header checksum. */
    private int[] src;
    private int[] dst;
    private short[] ipChecksum;
    private int next;

    @Setup(Level.Trial)
    public void setUp() {
        RuleSet rules = RuleSet.builder()
            .iface("lan0", GatewayInterface.Role.LAN, Ipv4Prefix.parse("192.168.1.2/24"), 1500)
            .iface("v-net-0", GatewayInterface.Role.INSIDE, Ipv4Prefix.parse("10.0.0.1/8"), 1500)
            .masquerade(MasqueradeRule.masquerade(Ipv4Prefix.parse("10.0.0.0/8"), "lan0"))
            .build();
        harness = new SeedLabRules.Harness(rules, new FlowTable(flows + 1024, FlowTimeouts.DEFAULTS, 0));
        FlowTable table = harness.table;
        translator = harness.translator;
        verdict = harness.verdict;
        pristine = Frames.tcp().src("10.0.0.2", 40000).dst("8.0.0.1", 80).flags(Frames.ACK).padTo(FRAME).build();
        UnsafeBuffer scratch = new UnsafeBuffer(pristine.clone());
        FlowDraft d = new FlowDraft();
        int[] order = new int[flows];
        for (int i = 0; i < flows; i++) {
            int inside = 0x0A100000 + i;  // 10.16.0.0 + i: client
            int outside = 0x08000000 + i; // 8.0.0.0 + i: server
            d.original(6, inside, outside, 40000, 80).reply(outside, GATEWAY, 80, 40000)
                .route(0, 0xC0A801FE, 1, inside);
            d.natFlags = FlowRecord.NAT_SNAT;
            d.protoState = TcpState.ESTABLISHED;
            if (table.insert(d, 0, null) < 0) {
                throw new IllegalStateException("insert " + i);
            }
            order[i] = i;
        }
        SplittableRandom rnd = new SplittableRandom(7);
        for (int i = flows - 1; i > 0; i--) {
            int j = rnd.nextInt(i + 1);
            int t = order[i];
            order[i] = order[j];
            order[j] = t;
        }
        src = new int[flows];
        dst = new int[flows];
        ipChecksum = new short[flows];
        for (int k = 0; k < flows; k++) {
            src[k] = 0x0A100000 + order[k];
            dst[k] = 0x08000000 + order[k];
            scratch.putInt(14 + 12, src[k], ByteOrder.BIG_ENDIAN);
            scratch.putInt(14 + 16, dst[k], ByteOrder.BIG_ENDIAN);
            scratch.putShort(14 + Checksums.IPV4_CHECKSUM_OFFSET, (short) 0);
            ipChecksum[k] = (short) Checksums.ipv4HeaderChecksum(scratch, 14, 20);
        }
        for (int i = 0; i < BLOCK; i++) {
            offsets[i] = i * SLOT;
            lengths[i] = FRAME;
        }
        fill();
        for (int i = 0; i < BLOCK; i++) {
            if (translator.process(block, offsets[i], FRAME, 1, 0, 0, 0, 1, verdict) != Verdict.FORWARD) {
                throw new IllegalStateException("benchmark frame not forwarded: " + verdict);
            }
        }
    }

    private void fill() {
        int k = next;
        for (int i = 0; i < BLOCK; i++) {
            int o = offsets[i];
            block.putBytes(o, pristine);
            block.putInt(o + 14 + 12, src[k], ByteOrder.BIG_ENDIAN);
            block.putInt(o + 14 + 16, dst[k], ByteOrder.BIG_ENDIAN);
            block.putShort(o + 14 + Checksums.IPV4_CHECKSUM_OFFSET, ipChecksum[k], ByteOrder.BIG_ENDIAN);
            k = k + 1 == flows ? 0 : k + 1;
        }
        next = k;
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        harness.close();
    }

    @Benchmark
    @OperationsPerInvocation(BLOCK)
    public int translate16() {
        fill();
        return translateBlock();
    }

    @Benchmark
    @OperationsPerInvocation(BLOCK)
    public int prefetchAndTranslate16() {
        fill();
        translator.prefetch(block, offsets, lengths, BLOCK, 1_000_000L);
        return translateBlock();
    }

    private int translateBlock() {
        int forwarded = 0;
        for (int i = 0; i < BLOCK; i++) {
            forwarded += translator.process(block, offsets[i], FRAME, 1, 0, 0, 0, 1_000_000L, verdict);
        }
        return forwarded;
    }

    /** The frames' writing alone, for subtraction. */
    @Benchmark
    @OperationsPerInvocation(BLOCK)
    public UnsafeBuffer fill16() {
        fill();
        return block;
    }
}
