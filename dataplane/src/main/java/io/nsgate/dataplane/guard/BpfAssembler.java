// A small eBPF assembler: one method per instruction, named jump labels, and a listing in the verifier's syntax.
package io.nsgate.dataplane.guard;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * Builds eBPF programs instruction by instruction so that the Java reads like the program:
 *
 * <pre>
 *   BpfAssembler a = new BpfAssembler();
 *   a.loadW(R2, R1, SKB_DATA);              // r2 = *(u32 *)(r1 +76)
 *   a.jeq(R2, 0, "pass");                   // if r2 == 0x0 goto pass
 *   a.mov(R0, Bpf.TCX_DROP).exit();
 *   a.label("pass").mov(R0, Bpf.TCX_NEXT).exit();
 *   byte[] code = a.build();
 * </pre>
 *
 * <h2>Encoding</h2>
 * Each instruction is a {@code struct bpf_insn} of 8 bytes in the host's byte order:
 * <pre>
 *   byte 0     opcode: class (3 low bits) | size+mode (loads, stores) or operation+source (ALU, jumps)
 *   byte 1     dst_reg:4, src_reg:4 (bit-field order: dst in the low nibble on little-endian hosts)
 *   bytes 2-3  off (s16): memory offset, or jump distance in instructions counted from the next one
 *   bytes 4-7  imm (s32)
 * </pre>
 * {@code ld_imm64} takes two slots, the second carrying the upper 32 bits of the constant; with
 * {@code src_reg = BPF_PSEUDO_MAP_FD} its imm is a map descriptor the kernel swaps for the map's address.
 * Jumps name a label; {@link #build()} resolves each to its distance and fails on an unknown label or a jump
 * out of s16 range. 64-bit (ALU64, JMP) forms are the default; {@code *32} methods use the 32-bit classes,
 * which compare the registers' low halves (e.g. a u32 address against the immediate -1).
 *
 * <p>Every instruction also records a line of text in the syntax of the kernel's verifier log
 * ({@code r2 = *(u32 *)(r6 +76)}), and {@link #listing()} prints them with their slot numbers, labels and the
 * comments given to {@link #comment}: the same numbers the verifier uses when it refuses an instruction.
 */
public final class BpfAssembler {
    /** The eleven registers: R0 return value, R1-R5 arguments (clobbered by calls), R6-R9 kept, R10 frame. */
    public enum Reg {
        R0, R1, R2, R3, R4, R5, R6, R7, R8, R9, R10;

        @Override
        public String toString() {
            return "r" + ordinal();
        }
    }

    /** Size of one {@code struct bpf_insn}. */
    public static final int INSN_SIZE = 8;

    // instruction classes
    static final int BPF_LD = 0x00;
    static final int BPF_LDX = 0x01;
    static final int BPF_ST = 0x02;
    static final int BPF_STX = 0x03;
    static final int BPF_ALU = 0x04;
    static final int BPF_JMP = 0x05;
    static final int BPF_JMP32 = 0x06;
    static final int BPF_ALU64 = 0x07;
    // sizes and modes
    static final int BPF_W = 0x00;
    static final int BPF_H = 0x08;
    static final int BPF_B = 0x10;
    static final int BPF_DW = 0x18;
    static final int BPF_IMM = 0x00;
    static final int BPF_MEM = 0x60;
    // ALU operations
    static final int BPF_ADD = 0x00;
    static final int BPF_SUB = 0x10;
    static final int BPF_OR = 0x40;
    static final int BPF_AND = 0x50;
    static final int BPF_LSH = 0x60;
    static final int BPF_RSH = 0x70;
    static final int BPF_MOV = 0xb0;
    static final int BPF_END = 0xd0;
    // operand source: immediate (K) or register (X); for BPF_END: to little (LE) or big (BE) endian
    static final int BPF_K = 0x00;
    static final int BPF_X = 0x08;
    static final int BPF_TO_BE = 0x08;
    // jump operations
    static final int BPF_JA = 0x00;
    static final int BPF_JEQ = 0x10;
    static final int BPF_JGT = 0x20;
    static final int BPF_JGE = 0x30;
    static final int BPF_JSET = 0x40;
    static final int BPF_JNE = 0x50;
    static final int BPF_CALL = 0x80;
    static final int BPF_EXIT = 0x90;
    static final int BPF_JLT = 0xa0;
    static final int BPF_JLE = 0xb0;

    /** ld_imm64 src_reg: the immediate is a map file descriptor. */
    public static final int BPF_PSEUDO_MAP_FD = 1;

    /** Helper function ids (enum bpf_func_id). */
    public static final int BPF_FUNC_MAP_LOOKUP_ELEM = 1;
    public static final int BPF_FUNC_SKB_PULL_DATA = 39;

    private static final boolean LITTLE_ENDIAN = ByteOrder.nativeOrder() == ByteOrder.LITTLE_ENDIAN;

    private final List<Insn> insns = new ArrayList<>();
    private final Map<String, Integer> labels = new HashMap<>();
    /** Listing lines (labels, comments) to print before the instruction at a slot. */
    private final Map<Integer, List<String>> notes = new HashMap<>();

    private static final class Insn {
        final int code;
        final int dst;
        final int src;
        final int off;
        final int imm;
        final String target;
        final String text;

        Insn(int code, int dst, int src, int off, int imm, String target, String text) {
            this.code = code;
            this.dst = dst;
            this.src = src;
            this.off = off;
            this.imm = imm;
            this.target = target;
            this.text = text;
        }
    }

    // ---------------------------------------------------------------- labels and comments

    /** Defines {@code name} at the next instruction. */
    public BpfAssembler label(String name) {
        if (labels.putIfAbsent(name, insns.size()) != null) {
            throw new IllegalStateException("label \"" + name + "\" defined twice");
        }
        note(name + ":");
        return this;
    }

    /** A line for the listing only, printed before the next instruction. */
    public BpfAssembler comment(String text) {
        return note("; " + text);
    }

    private BpfAssembler note(String line) {
        notes.computeIfAbsent(insns.size(), k -> new ArrayList<>()).add(line);
        return this;
    }

    // ---------------------------------------------------------------- moves and arithmetic (64-bit unless *32)

    /** {@code dst = imm} (sign-extended to 64 bits). */
    public BpfAssembler mov(Reg dst, int imm) {
        return emit(BPF_ALU64 | BPF_MOV | BPF_K, dst, 0, 0, imm, dst + " = " + imm);
    }

    /** {@code dst = src}. */
    public BpfAssembler mov(Reg dst, Reg src) {
        return emit(BPF_ALU64 | BPF_MOV | BPF_X, dst, src.ordinal(), 0, 0, dst + " = " + src);
    }

    /** {@code w(dst) = imm}: 32-bit move, upper half zeroed. */
    public BpfAssembler mov32(Reg dst, int imm) {
        return emit(BPF_ALU | BPF_MOV | BPF_K, dst, 0, 0, imm, "w" + dst.ordinal() + " = " + imm);
    }

    public BpfAssembler add(Reg dst, int imm) {
        return alu(BPF_ADD, "+=", dst, imm);
    }

    public BpfAssembler add(Reg dst, Reg src) {
        return alu(BPF_ADD, "+=", dst, src);
    }

    public BpfAssembler and(Reg dst, int imm) {
        return alu(BPF_AND, "&=", dst, imm);
    }

    public BpfAssembler or(Reg dst, int imm) {
        return alu(BPF_OR, "|=", dst, imm);
    }

    public BpfAssembler or(Reg dst, Reg src) {
        return alu(BPF_OR, "|=", dst, src);
    }

    public BpfAssembler lsh(Reg dst, int imm) {
        return alu(BPF_LSH, "<<=", dst, imm);
    }

    public BpfAssembler rsh(Reg dst, int imm) {
        return alu(BPF_RSH, ">>=", dst, imm);
    }

    private BpfAssembler alu(int op, String symbol, Reg dst, int imm) {
        return emit(BPF_ALU64 | op | BPF_K, dst, 0, 0, imm, dst + " " + symbol + " " + hex(imm));
    }

    private BpfAssembler alu(int op, String symbol, Reg dst, Reg src) {
        return emit(BPF_ALU64 | op | BPF_X, dst, src.ordinal(), 0, 0, dst + " " + symbol + " " + src);
    }

    /** {@code dst = be16(dst)}: network to host order of the low 16 bits (a swap on little-endian hosts). */
    public BpfAssembler be16(Reg dst) {
        return emit(BPF_ALU | BPF_END | BPF_TO_BE, dst, 0, 0, 16, dst + " = be16 " + dst);
    }

    /** {@code dst = be32(dst)}. */
    public BpfAssembler be32(Reg dst) {
        return emit(BPF_ALU | BPF_END | BPF_TO_BE, dst, 0, 0, 32, dst + " = be32 " + dst);
    }

    // ---------------------------------------------------------------- memory

    /** {@code dst = *(u8 *)(base + off)}. */
    public BpfAssembler loadB(Reg dst, Reg base, int off) {
        return load(BPF_B, "u8", dst, base, off);
    }

    /** {@code dst = *(u16 *)(base + off)}, host byte order. */
    public BpfAssembler loadH(Reg dst, Reg base, int off) {
        return load(BPF_H, "u16", dst, base, off);
    }

    /** {@code dst = *(u32 *)(base + off)}, host byte order. */
    public BpfAssembler loadW(Reg dst, Reg base, int off) {
        return load(BPF_W, "u32", dst, base, off);
    }

    /** {@code dst = *(u64 *)(base + off)}. */
    public BpfAssembler loadDW(Reg dst, Reg base, int off) {
        return load(BPF_DW, "u64", dst, base, off);
    }

    private BpfAssembler load(int size, String type, Reg dst, Reg base, int off) {
        return emit(BPF_LDX | size | BPF_MEM, dst, base.ordinal(), off(off), 0,
            dst + " = *(" + type + " *)(" + base + signed(off) + ")");
    }

    /** {@code *(u32 *)(base + off) = imm}. */
    public BpfAssembler storeW(Reg base, int off, int imm) {
        return emit(BPF_ST | BPF_W | BPF_MEM, base, 0, off(off), imm,
            "*(u32 *)(" + base + signed(off) + ") = " + imm);
    }

    /** {@code *(u32 *)(base + off) = src}. */
    public BpfAssembler storeW(Reg base, int off, Reg src) {
        return emit(BPF_STX | BPF_W | BPF_MEM, base, src.ordinal(), off(off), 0,
            "*(u32 *)(" + base + signed(off) + ") = " + src);
    }

    /** {@code dst = imm64}: a 64-bit constant (two slots). */
    public BpfAssembler ldImm64(Reg dst, long imm) {
        emit(BPF_LD | BPF_DW | BPF_IMM, dst, 0, 0, (int) imm, dst + " = " + hex(imm) + " ll");
        return emit(0, Reg.R0, 0, 0, (int) (imm >>> 32), null);
    }

    /** {@code dst = map[fd]}: the address of the map behind descriptor {@code mapFd} (ld_imm64, two slots). */
    public BpfAssembler ldMapFd(Reg dst, int mapFd) {
        emit(BPF_LD | BPF_DW | BPF_IMM, dst, BPF_PSEUDO_MAP_FD, 0, mapFd, dst + " = map[id:fd " + mapFd + "]");
        return emit(0, Reg.R0, 0, 0, 0, null);
    }

    // ---------------------------------------------------------------- jumps, calls, exit

    /** {@code goto target}. */
    public BpfAssembler ja(String target) {
        return jump(BPF_JMP | BPF_JA, Reg.R0, 0, 0, target, "goto " + target);
    }

    public BpfAssembler jeq(Reg dst, int imm, String target) {
        return jumpImm(BPF_JMP, BPF_JEQ, "==", dst, imm, target);
    }

    public BpfAssembler jeq(Reg dst, Reg src, String target) {
        return jumpReg(BPF_JMP, BPF_JEQ, "==", dst, src, target);
    }

    public BpfAssembler jne(Reg dst, int imm, String target) {
        return jumpImm(BPF_JMP, BPF_JNE, "!=", dst, imm, target);
    }

    public BpfAssembler jne(Reg dst, Reg src, String target) {
        return jumpReg(BPF_JMP, BPF_JNE, "!=", dst, src, target);
    }

    /** Unsigned {@code if dst > imm goto target}. */
    public BpfAssembler jgt(Reg dst, int imm, String target) {
        return jumpImm(BPF_JMP, BPF_JGT, ">", dst, imm, target);
    }

    public BpfAssembler jgt(Reg dst, Reg src, String target) {
        return jumpReg(BPF_JMP, BPF_JGT, ">", dst, src, target);
    }

    public BpfAssembler jge(Reg dst, int imm, String target) {
        return jumpImm(BPF_JMP, BPF_JGE, ">=", dst, imm, target);
    }

    public BpfAssembler jge(Reg dst, Reg src, String target) {
        return jumpReg(BPF_JMP, BPF_JGE, ">=", dst, src, target);
    }

    public BpfAssembler jlt(Reg dst, int imm, String target) {
        return jumpImm(BPF_JMP, BPF_JLT, "<", dst, imm, target);
    }

    public BpfAssembler jlt(Reg dst, Reg src, String target) {
        return jumpReg(BPF_JMP, BPF_JLT, "<", dst, src, target);
    }

    public BpfAssembler jle(Reg dst, int imm, String target) {
        return jumpImm(BPF_JMP, BPF_JLE, "<=", dst, imm, target);
    }

    public BpfAssembler jle(Reg dst, Reg src, String target) {
        return jumpReg(BPF_JMP, BPF_JLE, "<=", dst, src, target);
    }

    /** {@code if dst & imm goto target}. */
    public BpfAssembler jset(Reg dst, int imm, String target) {
        return jumpImm(BPF_JMP, BPF_JSET, "&", dst, imm, target);
    }

    /** 32-bit {@code if w(dst) == imm goto target}: compares the low halves only. */
    public BpfAssembler jeq32(Reg dst, int imm, String target) {
        return jumpImm(BPF_JMP32, BPF_JEQ, "==", dst, imm, target);
    }

    public BpfAssembler jeq32(Reg dst, Reg src, String target) {
        return jumpReg(BPF_JMP32, BPF_JEQ, "==", dst, src, target);
    }

    private BpfAssembler jumpImm(int cls, int op, String symbol, Reg dst, int imm, String target) {
        String w = cls == BPF_JMP32 ? "w" + dst.ordinal() : dst.toString();
        return jump(cls | op | BPF_K, dst, 0, imm, target, "if " + w + " " + symbol + " " + hex(imm) + " goto " + target);
    }

    private BpfAssembler jumpReg(int cls, int op, String symbol, Reg dst, Reg src, String target) {
        String d = cls == BPF_JMP32 ? "w" + dst.ordinal() : dst.toString();
        String s = cls == BPF_JMP32 ? "w" + src.ordinal() : src.toString();
        return jump(cls | op | BPF_X, dst, src.ordinal(), 0, target, "if " + d + " " + symbol + " " + s + " goto " + target);
    }

    private BpfAssembler jump(int code, Reg dst, int src, int imm, String target, String text) {
        insns.add(new Insn(code, dst.ordinal(), src, 0, imm, target, text));
        return this;
    }

    /** {@code call helper}: arguments in R1-R5, result in R0; R1-R5 are clobbered. */
    public BpfAssembler call(int helper) {
        return emit(BPF_JMP | BPF_CALL, Reg.R0, 0, 0, helper, "call " + helperName(helper));
    }

    /** {@code exit}: returns R0. */
    public BpfAssembler exit() {
        return emit(BPF_JMP | BPF_EXIT, Reg.R0, 0, 0, 0, "exit");
    }

    private BpfAssembler emit(int code, Reg dst, int src, int off, int imm, String text) {
        insns.add(new Insn(code, dst.ordinal(), src, off, imm, null, text));
        return this;
    }

    // ---------------------------------------------------------------- output

    /** Slots used so far (ld_imm64 counts two): the program's instruction count as the kernel sees it. */
    public int instructionCount() {
        return insns.size();
    }

    /** The encoded program. */
    public byte[] build() {
        ByteBuffer out = ByteBuffer.allocate(insns.size() * INSN_SIZE).order(ByteOrder.nativeOrder());
        for (int i = 0; i < insns.size(); i++) {
            Insn insn = insns.get(i);
            int off = insn.off;
            if (insn.target != null) {
                Integer to = labels.get(insn.target);
                if (to == null) {
                    throw new IllegalStateException("instruction " + i + " (" + insn.text + "): no label \""
                        + insn.target + "\"");
                }
                off = to - (i + 1);
                if (off < Short.MIN_VALUE || off > Short.MAX_VALUE) {
                    throw new IllegalStateException("instruction " + i + " (" + insn.text + "): jump of " + off
                        + " instructions is out of s16 range");
                }
            }
            out.put((byte) insn.code);
            out.put((byte) (LITTLE_ENDIAN ? (insn.src << 4) | insn.dst : (insn.dst << 4) | insn.src));
            out.putShort((short) off);
            out.putInt(insn.imm);
        }
        return out.array();
    }

    /** The program as text: slot numbers, labels, comments, instructions in the verifier's syntax. */
    public String listing() {
        StringBuilder sb = new StringBuilder();
        for (int i = 0; i <= insns.size(); i++) {
            for (String note : notes.getOrDefault(i, List.of())) {
                sb.append(note.startsWith(";") ? "      " : "").append(note).append('\n');
            }
            if (i < insns.size() && insns.get(i).text != null) {
                sb.append(String.format("%4d: %s%n", i, insns.get(i).text));
            }
        }
        return sb.toString();
    }

    @Override
    public String toString() {
        return listing();
    }

    private static int off(int off) {
        if (off < Short.MIN_VALUE || off > Short.MAX_VALUE) {
            throw new IllegalArgumentException("offset " + off + " does not fit the instruction's s16");
        }
        return off;
    }

    private static String signed(int off) {
        return off < 0 ? " " + off : " +" + off;
    }

    private static String hex(long value) {
        return value < 0 ? Long.toString(value) : "0x" + Long.toHexString(value);
    }

    private static String helperName(int helper) {
        switch (helper) {
            case BPF_FUNC_MAP_LOOKUP_ELEM:
                return "bpf_map_lookup_elem#" + helper;
            case BPF_FUNC_SKB_PULL_DATA:
                return "bpf_skb_pull_data#" + helper;
            default:
                return "#" + helper;
        }
    }
}
