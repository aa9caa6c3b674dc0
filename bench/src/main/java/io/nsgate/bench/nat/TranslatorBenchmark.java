// JMH: translating a 64-byte TCP frame of an established masqueraded connection, the data plane's hot path.
package io.nsgate.bench.nat;

import java.util.concurrent.TimeUnit;

import org.agrona.concurrent.UnsafeBuffer;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

import io.nsgate.bench.JvmFlags;
import io.nsgate.dataplane.conntrack.FlowDraft;
import io.nsgate.dataplane.conntrack.FlowTable;
import io.nsgate.dataplane.conntrack.FlowTimeouts;
import io.nsgate.dataplane.conntrack.FlowView;
import io.nsgate.dataplane.nat.SeedLabRules;
import io.nsgate.dataplane.nat.Translator;
import io.nsgate.dataplane.nat.Verdict;
import io.nsgate.dataplane.packet.FrameParser;
import io.nsgate.dataplane.packet.ParsedFrame;
import io.nsgate.dataplane.testsupport.Frames;

/**
 * Parse, flow lookup, state and counter update, in-place rewrite with incremental checksums, verdict: the work
 * per forwarded frame, for an established connection among {@code flows} others. Each operation first copies the
 * pristine 60-byte frame back into the buffer (a 64-byte frame on the wire with its FCS); {@link #copyOnly}
 * measures that copy alone, {@link #parseOnly} and {@link #lookupOnly} the first two steps, for a breakdown.
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Warmup(iterations = 3, time = 2)
@Measurement(iterations = 5, time = 2)
@Fork(value = 1, jvmArgsAppend = {JvmFlags.AGRONA_EXPORTS, JvmFlags.NO_BOUNDS_CHECKS, "-Xmx4g"})
public class TranslatorBenchmark {
    @Param({"1000", "1000000"})
    int flows;

    private SeedLabRules.Harness harness;
    private FlowTable table;
    private Translator translator;
    private Verdict verdict;
    private byte[] pristine;
    private UnsafeBuffer frame;
    private final FrameParser parser = new FrameParser();
    private final ParsedFrame parsed = new ParsedFrame();
    private final FlowView view = new FlowView();

    @Setup(Level.Trial)
    public void setUp() {
        harness = new SeedLabRules.Harness(SeedLabRules.rules(), new FlowTable(flows + 1024, FlowTimeouts.DEFAULTS, 0));
        table = harness.table;
        translator = harness.translator;
        verdict = harness.verdict;
        FlowDraft d = new FlowDraft();
        for (int i = 0; i < flows; i++) { // the crowd the benchmark's connection lives among
            d.original(6, 0x0A000000 + i, 0x08080808, 40000, 443).reply(0x08080808, 0x0B000000 + i, 443, 40000);
            table.insert(d, 0, null);
        }
        long now = 1;
        UnsafeBuffer b = new UnsafeBuffer(new byte[2048]);
        byte[] syn = Frames.tcp().src("192.168.15.2", 40000).dst("192.168.1.3", 80).flags(Frames.SYN).build();
        b.putBytes(0, syn);
        translator.process(b, 0, syn.length, 1, 0, 0, 0, now, verdict);
        int natPort = b.getShort(34, java.nio.ByteOrder.BIG_ENDIAN) & 0xFFFF;
        byte[] synAck = Frames.tcp().src("192.168.1.3", 80).dst("192.168.1.2", natPort).flags(Frames.SYN | Frames.ACK)
            .build();
        b.putBytes(0, synAck);
        translator.process(b, 0, synAck.length, 0, 0, 0, 0, now, verdict);
        pristine = Frames.tcp().src("192.168.15.2", 40000).dst("192.168.1.3", 80).flags(Frames.ACK).padTo(60).build();
        frame = new UnsafeBuffer(new byte[2048]);
        frame.putBytes(0, pristine);
        if (translator.process(frame, 0, pristine.length, 1, 0, 0, 0, now, verdict) != Verdict.FORWARD) {
            throw new IllegalStateException("benchmark frame not forwarded: " + verdict);
        }
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        harness.close();
    }

    @Benchmark
    public int translateTcp64() {
        frame.putBytes(0, pristine);
        return translator.process(frame, 0, pristine.length, 1, 0, 0, 0, 1_000_000L, verdict);
    }

    @Benchmark
    public int parseOnly() {
        frame.putBytes(0, pristine);
        return parser.parse(frame, 0, pristine.length, parsed);
    }

    @Benchmark
    public long lookupOnly() {
        return table.lookup(6, 0xC0A80F02, 0xC0A80103, 40000, 80, view);
    }

    @Benchmark
    public UnsafeBuffer copyOnly() {
        frame.putBytes(0, pristine);
        return frame;
    }
}
