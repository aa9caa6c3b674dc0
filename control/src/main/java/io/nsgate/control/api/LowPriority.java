// Bulk control-plane work (listing a million flows) runs at nice 19, so it never takes CPU the workers need.
package io.nsgate.control.api;

import java.io.IOException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;

import io.nsgate.linux.sys.SyscallException;
import io.nsgate.linux.sys.Syscalls;

/**
 * Measured on two vCPUs with the workers saturated by 64-byte frames (bench/run control): a listing of a million flows
 * at normal priority cost about a fifth of the forwarded frames while it ran. The scheduler gives a nice-19 thread
 * about 1.5 % of a CPU that a nice-0 thread also wants, and all of an idle one: the listing takes what forwarding
 * leaves. Linux applies setpriority(PRIO_PROCESS, tid) to one thread; threads created later inherit it.
 */
public final class LowPriority {
    /** The nice value of bulk control-plane work. */
    public static final int NICE = 19;

    private LowPriority() {
    }

    /** Lowers the calling thread's priority (best effort: without libc the work just runs at normal priority). */
    public static void thisThread() {
        if (Syscalls.isAvailable()) {
            try {
                Syscalls.setThreadNice(0, NICE);
            } catch (SyscallException e) {
                // stays at its priority
            }
        }
    }

    /** Lowers every thread of this process (the CLI before a big listing: its parser and GC threads too). */
    public static void wholeProcess() {
        if (!Syscalls.isAvailable()) {
            return;
        }
        try (DirectoryStream<Path> tasks = Files.newDirectoryStream(Path.of("/proc/self/task"))) {
            for (Path task : tasks) {
                try {
                    Syscalls.setThreadNice(Integer.parseInt(task.getFileName().toString()), NICE);
                } catch (SyscallException | NumberFormatException e) {
                    // a thread that ended meanwhile
                }
            }
        } catch (IOException e) {
            thisThread();
        }
    }
}
