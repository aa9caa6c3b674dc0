// Checks the bpf(2) wrappers against the kernel: maps, loads (and the verifier's words on refusal), test runs, links.
package io.nsgate.dataplane.guard;

import static io.nsgate.dataplane.guard.BpfAssembler.Reg.R0;
import static io.nsgate.dataplane.guard.BpfAssembler.Reg.R1;
import static io.nsgate.dataplane.guard.BpfAssembler.Reg.R2;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;

import org.junit.jupiter.api.Test;

import io.nsgate.dataplane.testsupport.Frames;
import io.nsgate.linux.sys.Bpf;
import io.nsgate.linux.sys.Errno;
import io.nsgate.linux.sys.SyscallException;
import io.nsgate.linux.sys.Syscalls;
import io.nsgate.testkit.RequiresBpf;

@RequiresBpf
class BpfSyscallTest {

    private static ByteBuffer direct(int size) {
        return ByteBuffer.allocateDirect(size).order(ByteOrder.nativeOrder());
    }

    @Test
    void probeFindsBpfUsable() {
        assertNull(Bpf.unavailabilityCause());
    }

    @Test
    void arrayMapValuesRoundTrip() {
        int fd = Bpf.mapCreate(Bpf.BPF_MAP_TYPE_ARRAY, 4, 16, 2, 0, -1, "nsgate_test");
        try {
            ByteBuffer key = direct(4).putInt(0, 1);
            ByteBuffer value = direct(16);
            value.putLong(0, 0x0102030405060708L).putLong(8, -1L);
            Bpf.mapUpdateElem(fd, key, value, Bpf.BPF_ANY, "nsgate_test[1]");
            ByteBuffer read = direct(16);
            assertTrue(Bpf.mapLookupElem(fd, key, read, "nsgate_test[1]"));
            assertEquals(0x0102030405060708L, read.getLong(0));
            assertEquals(-1L, read.getLong(8));
            key.putInt(0, 0);
            assertTrue(Bpf.mapLookupElem(fd, key, read, "nsgate_test[0]"));
            assertEquals(0L, read.getLong(0), "array entries start zeroed");
            key.putInt(0, 2);
            assertFalse(Bpf.mapLookupElem(fd, key, read, "nsgate_test[2]"), "past max_entries: ENOENT");
        } finally {
            Bpf.close(fd, "nsgate_test");
        }
    }

    @Test
    void failedMapCallsNameCommandSubjectAndErrno() {
        SyscallException e = assertThrows(SyscallException.class,
            () -> Bpf.mapUpdateElem(1_000_000, 0, 0, Bpf.BPF_ANY, "nsgate_missing[0]"));
        assertEquals(Errno.EBADF, e.errno());
        assertTrue(e.getMessage().startsWith("bpf(nsgate_missing[0]): EBADF"), e.getMessage());

        e = assertThrows(SyscallException.class,
            () -> Bpf.mapCreate(Bpf.BPF_MAP_TYPE_ARRAY, 4, 0, 1, 0, -1, "nsgate_bad"));
        assertEquals("bpf(BPF_MAP_CREATE nsgate_bad): EINVAL (Invalid argument)", e.getMessage());

        assertThrows(IllegalArgumentException.class,
            () -> Bpf.mapCreate(Bpf.BPF_MAP_TYPE_ARRAY, 4, 4, 1, 0, -1, "a_name_far_too_long"));
    }

    @Test
    void refusedProgramReportsTheVerifiersLastWords() {
        // reads r2, which nobody wrote: "R2 !read_ok"
        byte[] code = new BpfAssembler().mov(R0, R2).exit().build();
        SyscallException e = assertThrows(SyscallException.class,
            () -> Bpf.progLoad(Bpf.BPF_PROG_TYPE_SCHED_CLS, code, "GPL", "nsgate_bad", 0));
        assertEquals(Errno.EACCES, e.errno());
        assertTrue(e.getMessage().startsWith("bpf(BPF_PROG_LOAD nsgate_bad): EACCES (Permission denied); verifier: "),
            e.getMessage());
        assertTrue(e.getMessage().contains("R2 !read_ok"), e.getMessage());
    }

    @Test
    void testRunReturnsTheVerdictAndThePacket() {
        byte[] code = new BpfAssembler().loadW(R1, R1, 0).mov(R0, Bpf.TCX_DROP).exit().build();
        int fd = Bpf.progLoad(Bpf.BPF_PROG_TYPE_SCHED_CLS, code, "GPL", "nsgate_test", 0);
        try {
            byte[] frame = Frames.udp().payload("hello").build();
            ByteBuffer in = direct(frame.length).put(frame).flip();
            ByteBuffer out = direct(256);
            Bpf.TestRun run = Bpf.progTestRun(fd, in, out, 100, new Bpf.TestRun());
            assertEquals(Bpf.TCX_DROP, run.retval);
            assertEquals(frame.length, run.dataSizeOut);
            byte[] copied = new byte[frame.length];
            out.get(0, copied);
            assertArrayEquals(frame, copied);
            assertTrue(run.durationNs >= 0);

            ByteBuffer tooShort = direct(13).put(new byte[13]).flip();
            SyscallException e = assertThrows(SyscallException.class,
                () -> Bpf.progTestRun(fd, tooShort, null, 1, new Bpf.TestRun()));
            assertEquals(Errno.EINVAL, e.errno(), "an skb needs at least an Ethernet header");
        } finally {
            Bpf.close(fd, "nsgate_test");
        }
    }

    @Test
    void verifierStatisticsAreAvailable() {
        byte[] code = new BpfAssembler().mov(R0, 0).exit().build();
        String log = Bpf.progVerifierLog(Bpf.BPF_PROG_TYPE_SCHED_CLS, code, "GPL", "nsgate_test", Bpf.BPF_LOG_STATS);
        assertTrue(log.contains("processed 2 insns"), log);
    }

    @Test
    void linkToAMissingInterfaceIsRefused() {
        int fd = Bpf.progLoad(Bpf.BPF_PROG_TYPE_SCHED_CLS, new BpfAssembler().mov(R0, Bpf.TCX_NEXT).exit().build(),
            "GPL", "nsgate_test", 0);
        try {
            SyscallException e = assertThrows(SyscallException.class,
                () -> Bpf.linkCreate(fd, 999_999, Bpf.BPF_TCX_INGRESS, 0, "ifindex 999999"));
            assertEquals(Errno.ENODEV, e.errno(), e.getMessage());
            assertTrue(e.getMessage().startsWith("bpf(BPF_LINK_CREATE ifindex 999999): ENODEV"), e.getMessage());
        } finally {
            Syscalls.closeQuietly(fd);
        }
    }
}
