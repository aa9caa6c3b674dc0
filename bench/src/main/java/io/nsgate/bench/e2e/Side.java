// One of the two things measured: the kernel's NAT or nsgate, set up in the lab's edge and removed again.
package io.nsgate.bench.e2e;

interface Side extends AutoCloseable {
    /** "kernel" or "nsgate": the column of the table. */
    String name();

    /** Sets the NAT up in edge; returns when it forwards. */
    void start() throws Exception;

    /** Throws with the reason when the side stopped working (e.g. the gateway process died). */
    void checkAlive();

    /** The pid of the process that forwards, or -1 when the kernel does it. */
    long pid();

    /** Removes what {@link #start} set up; safe to call twice and after a failed start. */
    @Override
    void close();
}
