// Checks the assembler's encodings against struct bpf_insn bytes produced by C, and its label resolution.
package io.nsgate.dataplane.guard;

import static io.nsgate.dataplane.guard.BpfAssembler.Reg.R0;
import static io.nsgate.dataplane.guard.BpfAssembler.Reg.R1;
import static io.nsgate.dataplane.guard.BpfAssembler.Reg.R10;
import static io.nsgate.dataplane.guard.BpfAssembler.Reg.R2;
import static io.nsgate.dataplane.guard.BpfAssembler.Reg.R3;
import static io.nsgate.dataplane.guard.BpfAssembler.Reg.R4;
import static io.nsgate.dataplane.guard.BpfAssembler.Reg.R5;
import static io.nsgate.dataplane.guard.BpfAssembler.Reg.R6;
import static io.nsgate.dataplane.guard.BpfAssembler.Reg.R7;
import static io.nsgate.dataplane.guard.BpfAssembler.Reg.R8;
import static io.nsgate.dataplane.guard.BpfAssembler.Reg.R9;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.ByteOrder;
import java.util.function.Consumer;

import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import io.nsgate.dataplane.testsupport.Frames;

/**
 * The expected bytes were printed by a C program filling {@code struct bpf_insn} from {@code <linux/bpf.h>}'s
 * opcode macros (gcc, x86_64), an encoder independent of this one; the test runs on little-endian hosts, which
 * those bytes are for.
 */
class BpfAssemblerTest {

    @BeforeAll
    static void littleEndianHost() {
        assertEquals(ByteOrder.LITTLE_ENDIAN, ByteOrder.nativeOrder(), "golden encodings are little-endian");
    }

    private static void assertEncodes(String hex, Consumer<BpfAssembler> instruction) {
        BpfAssembler a = new BpfAssembler();
        instruction.accept(a);
        assertEquals(hex, Frames.hex(a.build()), a.listing());
    }

    @Test
    void encodesMovesLoadsAndStores() {
        assertEncodes("bf16000000000000", a -> a.mov(R6, R1));
        assertEncodes("b7000000ffffffff", a -> a.mov(R0, -1));
        assertEncodes("b400000002000000", a -> a.mov32(R0, 2));
        assertEncodes("61624c0000000000", a -> a.loadW(R2, R6, 76));
        assertEncodes("71710e0000000000", a -> a.loadB(R1, R7, 14));
        assertEncodes("69710c0000000000", a -> a.loadH(R1, R7, 12));
        assertEncodes("7991080000000000", a -> a.loadDW(R1, R9, 8));
        assertEncodes("620afcff00000000", a -> a.storeW(R10, -4, 0));
        assertEncodes("631afcff00000000", a -> a.storeW(R10, -4, R1));
    }

    @Test
    void encodesArithmeticAndByteSwaps() {
        assertEncodes("570100000f000000", a -> a.and(R1, 15));
        assertEncodes("6701000002000000", a -> a.lsh(R1, 2));
        assertEncodes("7702000004000000", a -> a.rsh(R2, 4));
        assertEncodes("0f12000000000000", a -> a.add(R2, R1));
        assertEncodes("07020000fcffffff", a -> a.add(R2, -4));
        assertEncodes("dc01000010000000", a -> a.be16(R1));
    }

    @Test
    void encodesCallsExitAndWideImmediates() {
        assertEncodes("8500000001000000", a -> a.call(BpfAssembler.BPF_FUNC_MAP_LOOKUP_ELEM));
        assertEncodes("9500000000000000", BpfAssembler::exit);
        assertEncodes("18110000050000000000000000000000", a -> a.ldMapFd(R1, 5));
        assertEncodes("18030000887766550000000044332211", a -> a.ldImm64(R3, 0x1122334455667788L));
    }

    @Test
    void encodesJumpsWithDistancesCountedFromTheNextInstruction() {
        assertEncodes("1500020000000000" + "9500000000000000".repeat(3),
            a -> a.jeq(R0, 0, "t").exit().exit().label("t").exit());
        assertEncodes("16060300ffffffff" + "9500000000000000".repeat(4),
            a -> a.jeq32(R6, -1, "t").exit().exit().exit().label("t").exit());
        assertEncodes("9500000000000000" + "2d83feff00000000",
            a -> a.label("t").exit().jgt(R3, R8, "t"));
        assertEncodes("0500050000000000" + "9500000000000000".repeat(6),
            a -> a.ja("t").exit().exit().exit().exit().exit().label("t").exit());
        assertEncodes("b500010003000000" + "9500000000000000".repeat(2),
            a -> a.jle(R0, 3, "t").exit().label("t").exit());
        assertEncodes("ad34010000000000" + "9500000000000000".repeat(2),
            a -> a.jlt(R4, R3, "t").exit().label("t").exit());
        assertEncodes("4501010010000000" + "9500000000000000".repeat(2),
            a -> a.jset(R1, 0x10, "t").exit().label("t").exit());
        assertEncodes("5d54070000000000" + "9500000000000000".repeat(8),
            a -> {
                a.jne(R4, R5, "t");
                for (int i = 0; i < 7; i++) {
                    a.exit();
                }
                a.label("t").exit();
            });
        assertEncodes("3d31090000000000" + "9500000000000000".repeat(10),
            a -> {
                a.jge(R1, R3, "t");
                for (int i = 0; i < 9; i++) {
                    a.exit();
                }
                a.label("t").exit();
            });
    }

    @Test
    void countsWideInstructionsAsTwoSlotsInJumpDistances() {
        BpfAssembler a = new BpfAssembler();
        a.jeq(R1, 0, "after").ldMapFd(R1, 7).label("after").exit();
        assertEquals(4, a.instructionCount());
        assertEquals("1501020000000000" + "18110000070000000000000000000000" + "9500000000000000",
            Frames.hex(a.build()));
    }

    @Test
    void refusesUnknownAndDuplicateLabelsAndFarJumps() {
        BpfAssembler unknown = new BpfAssembler().ja("nowhere");
        IllegalStateException e = assertThrows(IllegalStateException.class, unknown::build);
        assertTrue(e.getMessage().contains("no label \"nowhere\""), e.getMessage());

        BpfAssembler twice = new BpfAssembler().label("x");
        assertThrows(IllegalStateException.class, () -> twice.label("x"));

        BpfAssembler far = new BpfAssembler().ja("end");
        for (int i = 0; i < 40_000; i++) {
            far.exit();
        }
        far.label("end").exit();
        e = assertThrows(IllegalStateException.class, far::build);
        assertTrue(e.getMessage().contains("out of s16 range"), e.getMessage());
    }

    @Test
    void listsInstructionsInTheVerifierSyntaxWithLabelsAndComments() {
        BpfAssembler a = new BpfAssembler();
        a.comment("read the packet start");
        a.loadW(R2, R1, 76);
        a.jeq(R2, 0, "pass");
        a.ldMapFd(R1, 5);
        a.label("pass").mov(R0, -1).exit();
        assertEquals(String.join("\n",
            "      ; read the packet start",
            "   0: r2 = *(u32 *)(r1 +76)",
            "   1: if r2 == 0x0 goto pass",
            "   2: r1 = map[id:fd 5]",
            "pass:",
            "   4: r0 = -1",
            "   5: exit",
            ""), a.listing());
    }
}
