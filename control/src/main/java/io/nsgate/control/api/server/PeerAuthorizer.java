// Who may use the control socket: root, the daemon's own user, or a member of the configured group.
package io.nsgate.control.api.server;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import io.nsgate.control.api.ops.Peer;

/**
 * The kernel's SO_PEERCRED gives the peer's uid and primary gid at connect time; supplementary groups come from
 * {@code /proc/PID/status} ({@code Groups:}). The socket file's mode (0660, the control group) already keeps others
 * out; this check also holds when the file's permissions were loosened or the peer has CAP_DAC_OVERRIDE.
 */
public final class PeerAuthorizer {
    private final int groupId;
    private final String groupName;
    /** The daemon's own user (a service user such as nsgate): its own commands, e.g. a unit's ExecReload. */
    private final int ownUid = io.nsgate.linux.sys.Syscalls.isAvailable() ? io.nsgate.linux.sys.Syscalls.geteuid() : 0;

    /**
     * @param groupId   members of this group may connect; -1: root only
     * @param groupName for messages
     */
    public PeerAuthorizer(int groupId, String groupName) {
        this.groupId = groupId;
        this.groupName = groupName;
    }

    public static PeerAuthorizer rootOnly() {
        return new PeerAuthorizer(-1, null);
    }

    /** Null when the peer may use the socket; otherwise the refusal's message. */
    public String refusal(Peer peer) {
        if (peer.uid() == 0 || peer.uid() == ownUid) {
            return null;
        }
        if (groupId >= 0 && (peer.gid() == groupId || supplementaryGroupsContain(peer.pid(), groupId))) {
            return null;
        }
        String who = ownUid != 0 ? "root, the daemon's own user (uid " + ownUid + ")" : "root";
        return "uid " + peer.uid() + " (pid " + peer.pid() + ") may not use the nsgate control socket: only " + who
            + (groupId >= 0 ? " and members of group " + groupName + " (gid " + groupId + ")"
            : " (the daemon can admit a group with --control-group NAME)");
    }

    static boolean supplementaryGroupsContain(int pid, int gid) {
        if (pid <= 0) {
            return false;
        }
        try {
            for (String line : Files.readAllLines(Path.of("/proc", Integer.toString(pid), "status"))) {
                if (line.startsWith("Groups:")) {
                    for (String g : line.substring(7).trim().split("\\s+")) {
                        if (!g.isEmpty() && Integer.parseInt(g) == gid) {
                            return true;
                        }
                    }
                    return false;
                }
            }
        } catch (IOException | NumberFormatException e) {
            return false; // the process is gone (or not visible from here): no evidence of membership
        }
        return false;
    }
}
