// A kernel feature or privilege checked once, when first asked about: why it is missing, or null.
package io.nsgate.linux.sys;

import java.util.function.Supplier;

/**
 * Behind every {@code isAvailable()} / {@code unavailabilityCause()} pair (namespaces, AF_PACKET, bpf): the check runs
 * on the first question, once, after libc's own (without libc nothing can be probed), and its answer is kept; tests
 * that need the feature fail (or, asked to, skip) with the cause. Thread-safe.
 */
public final class Probe {
    private final Supplier<String> check;
    private volatile boolean done;
    private String cause;

    /** @param check returns null when the feature is there, else why not (what to check) */
    public Probe(Supplier<String> check) {
        this.check = check;
    }

    /** Why the feature is missing, or null when it is there. */
    public String unavailabilityCause() {
        if (!done) {
            synchronized (this) {
                if (!done) {
                    cause = Syscalls.isAvailable() ? check.get() : Syscalls.unavailabilityCause();
                    done = true; // volatile write: publishes cause
                }
            }
        }
        return cause;
    }

    public boolean isAvailable() {
        return unavailabilityCause() == null;
    }
}
