// Which socket of a fanout group gets a frame: the flow's worker, and its small ring for frames that open a flow.
package io.nsgate.dataplane.io;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;

/**
 * The classic BPF program a {@code PACKET_FANOUT_CBPF} group runs for every frame of its interface, choosing the
 * member socket: {@code 2 * worker + class}. Each worker joins the group with two sockets, in this order: its
 * <em>established</em> port (class 0: everything else) and its <em>opening</em> port (class 1: TCP segments with SYN
 * and without ACK, the frames a SYN flood is made of). The worker drains the established rings first and gives the
 * opening rings a small budget per cycle, so a flood of new connections fills only its own small ring and cannot
 * take the rings, or the worker's time, from established flows (VPP's split of fast and slow paths).
 *
 * <p>The worker is a hash of the IPv4 addresses and the ports (only the addresses for fragments, whose later pieces
 * have no ports, as the kernel's own flow hash does), so that one direction of a flow always reaches the same worker:
 * what the flow table's single-writer counters and window state rely on. Non-IPv4 frames (ARP) go to worker 0.
 * Packet bytes are read relative to the network header ({@code SKF_NET_OFF}), wherever the skb's data points when
 * the fanout runs.
 */
public final class FanoutSteering {
    private FanoutSteering() {
    }

    /** Sockets per worker in a steered group. */
    public static final int SOCKETS_PER_WORKER = 2;
    public static final int ESTABLISHED = 0;
    public static final int OPENING = 1;

    // classic BPF (linux/filter.h, linux/bpf_common.h)
    private static final int LD = 0x00, LDX = 0x01, ST = 0x02, ALU = 0x04, JMP = 0x05, RET = 0x06, MISC = 0x07;
    private static final int W = 0x00, H = 0x08, B = 0x10;
    private static final int ABS = 0x20, IND = 0x40, MEM = 0x60, MSH = 0xa0;
    private static final int ADD = 0x00, MUL = 0x20, AND = 0x50, LSH = 0x60, RSH = 0x70, MOD = 0x90, XOR = 0xa0;
    private static final int JEQ = 0x10, JSET = 0x40;
    private static final int K = 0x00, X = 0x08, A = 0x10;
    private static final int TAX = 0x00;
    private static final int SKF_AD_PROTOCOL = -0x1000;
    private static final int NET = -0x100000;
    private static final int GOLDEN = 0x9E37_79B1;

    /** One sock_filter: code, jt, jf, k. */
    private record Insn(int code, int jt, int jf, int k) {
    }

    /** The program's instructions for {@code workers} workers. */
    static int[][] instructions(int workers) {
        if (workers < 1 || workers > 128) {
            throw new IllegalArgumentException("workers " + workers + ": 1..128 (a fanout group has 256 members)");
        }
        Insn[] p = {
            /* 0 */ new Insn(LD | W | ABS, 0, 0, SKF_AD_PROTOCOL), // skb->protocol, host order
            /* 1 */ new Insn(JMP | JEQ | K, 1, 0, 0x0800),
            /* 2 */ new Insn(RET | K, 0, 0, 0), // not IPv4: worker 0's established socket
            /* 3 */ new Insn(LD | H | ABS, 0, 0, NET + 6), // flags and fragment offset
            /* 4 */ new Insn(JMP | JSET | K, 24, 0, 0x3FFF), // a fragment: to 29
            /* 5 */ new Insn(LDX | B | MSH, 0, 0, NET), // X = IHL * 4
            /* 6 */ new Insn(LD | W | IND, 0, 0, NET), // both ports
            /* 7 */ new Insn(MISC | TAX, 0, 0, 0),
            /* 8 */ new Insn(LD | W | ABS, 0, 0, NET + 12), // source address
            /* 9 */ new Insn(ALU | XOR | X, 0, 0, 0),
            /* 10 */ new Insn(MISC | TAX, 0, 0, 0),
            /* 11 */ new Insn(LD | W | ABS, 0, 0, NET + 16), // destination address
            /* 12 */ new Insn(ALU | XOR | X, 0, 0, 0),
            /* 13 */ new Insn(ALU | MUL | K, 0, 0, GOLDEN),
            /* 14 */ new Insn(ALU | RSH | K, 0, 0, 16),
            /* 15 */ new Insn(ALU | MOD | K, 0, 0, workers),
            /* 16 */ new Insn(ALU | LSH | K, 0, 0, 1), // 2 * worker
            /* 17 */ new Insn(ST, 0, 0, 0),
            /* 18 */ new Insn(LD | B | ABS, 0, 0, NET + 9), // protocol
            /* 19 */ new Insn(JMP | JEQ | K, 0, 7, 6), // not TCP: to 27
            /* 20 */ new Insn(LDX | B | MSH, 0, 0, NET),
            /* 21 */ new Insn(LD | B | IND, 0, 0, NET + 13), // TCP flags
            /* 22 */ new Insn(ALU | AND | K, 0, 0, 0x12), // SYN | ACK
            /* 23 */ new Insn(JMP | JEQ | K, 0, 3, 0x02), // not a bare SYN: to 27
            /* 24 */ new Insn(LD | MEM, 0, 0, 0),
            /* 25 */ new Insn(ALU | ADD | K, 0, 0, OPENING),
            /* 26 */ new Insn(RET | A, 0, 0, 0),
            /* 27 */ new Insn(LD | MEM, 0, 0, 0),
            /* 28 */ new Insn(RET | A, 0, 0, 0),
            /* 29 */ new Insn(LD | W | ABS, 0, 0, NET + 12), // a fragment: the addresses only
            /* 30 */ new Insn(MISC | TAX, 0, 0, 0),
            /* 31 */ new Insn(LD | W | ABS, 0, 0, NET + 16),
            /* 32 */ new Insn(ALU | XOR | X, 0, 0, 0),
            /* 33 */ new Insn(ALU | MUL | K, 0, 0, GOLDEN),
            /* 34 */ new Insn(ALU | RSH | K, 0, 0, 16),
            /* 35 */ new Insn(ALU | MOD | K, 0, 0, workers),
            /* 36 */ new Insn(ALU | LSH | K, 0, 0, 1),
            /* 37 */ new Insn(RET | A, 0, 0, 0),
        };
        int[][] out = new int[p.length][];
        for (int i = 0; i < p.length; i++) {
            out[i] = new int[] {p[i].code(), p[i].jt(), p[i].jf(), p[i].k()};
        }
        return out;
    }

    /** The program as an array of struct sock_filter (8 bytes each), in a direct buffer the kernel copies. */
    static ByteBuffer program(int workers) {
        int[][] insns = instructions(workers);
        ByteBuffer b = ByteBuffer.allocateDirect(insns.length * 8).order(ByteOrder.nativeOrder());
        for (int i = 0; i < insns.length; i++) {
            b.putShort(i * 8, (short) insns[i][0]);
            b.put(i * 8 + 2, (byte) insns[i][1]);
            b.put(i * 8 + 3, (byte) insns[i][2]);
            b.putInt(i * 8 + 4, insns[i][3]);
        }
        return b;
    }

    /** The member a frame goes to, computed as the program does (for tests and documentation). */
    public static int member(int workers, int proto, int srcIp, int dstIp, int srcPort, int dstPort, int tcpFlags,
                             boolean fragment) {
        int h = fragment ? srcIp ^ dstIp : ((srcPort << 16) | dstPort) ^ srcIp ^ dstIp;
        int worker = Integer.remainderUnsigned((h * GOLDEN) >>> 16, workers);
        boolean opening = !fragment && proto == 6 && (tcpFlags & 0x12) == 0x02;
        return 2 * worker + (opening ? OPENING : ESTABLISHED);
    }
}
