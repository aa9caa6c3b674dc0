// Brackets the measured part of a workload: a Usage snapshot right before and right after.
package io.nsgate.bench.e2e;

final class Meter {
    private final long pid;
    private Usage.Snapshot start;
    private Usage.Window window;

    /** @param pid the gateway process, or -1 (the kernel) */
    Meter(long pid) {
        this.pid = pid;
    }

    void begin() {
        start = Usage.take(pid);
    }

    void end() {
        window = Usage.between(start, Usage.take(pid));
    }

    Usage.Window window() {
        return window;
    }
}
