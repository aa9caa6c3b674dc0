// Who is at the other end of a control connection, as the kernel vouches for it (SO_PEERCRED).
package io.nsgate.control.api.ops;

/** The process that connected: its pid, uid and primary gid at connect time. */
public record Peer(int pid, int uid, int gid) {
    /** In-process callers (tests, the benchmark) act as root. */
    public static final Peer IN_PROCESS = new Peer((int) ProcessHandle.current().pid(), 0, 0);

    public boolean isRoot() {
        return uid == 0;
    }

    @Override
    public String toString() {
        return "pid " + pid + " uid " + uid + " gid " + gid;
    }
}
