// Who may use the control socket: root, the group's members by primary or supplementary group, nobody else.
package io.nsgate.control.api.server;

import static org.junit.jupiter.api.Assertions.*;

import java.nio.file.Files;
import java.nio.file.Path;

import org.junit.jupiter.api.Test;
import io.nsgate.control.api.ops.Peer;

class PeerAuthorizerTest {
    private static final int SELF = (int) ProcessHandle.current().pid();

    @Test
    void rootIsAlwaysAdmitted() {
        assertNull(PeerAuthorizer.rootOnly().refusal(new Peer(1, 0, 0)));
    }

    @Test
    void othersAreRefusedWithAMessageSayingWhoMay() {
        String refusal = PeerAuthorizer.rootOnly().refusal(new Peer(4242, 65534, 65534));
        assertEquals("uid 65534 (pid 4242) may not use the nsgate control socket: only root (the daemon can admit "
            + "a group with --control-group NAME)", refusal);
        String withGroup = new PeerAuthorizer(40, "src").refusal(new Peer(4242, 65534, 65534));
        assertTrue(withGroup.endsWith("only root and members of group src (gid 40)"), withGroup);
    }

    @Test
    void theGroupIsAdmittedByPrimaryGid() {
        assertNull(new PeerAuthorizer(40, "src").refusal(new Peer(4242, 1000, 40)));
    }

    @Test
    void theGroupIsAdmittedBySupplementaryGroupsFromProc() throws Exception {
        // a process of ours whose supplementary groups are exactly {40}
        Process member = new ProcessBuilder("setpriv", "--groups=40", "sleep", "30").start();
        try {
            int pid = (int) member.pid();
            long deadline = System.nanoTime() + 5_000_000_000L;
            while (!Files.readString(Path.of("/proc", Integer.toString(pid), "status")).contains("Groups:\t40")
                && System.nanoTime() < deadline) {
                Thread.sleep(10); // until setpriv has exec'ed sleep with its new groups
            }
            assertNull(new PeerAuthorizer(40, "src").refusal(new Peer(pid, 1000, 123456)));
            assertNotNull(new PeerAuthorizer(41, "g").refusal(new Peer(pid, 1000, 123456)));
        } finally {
            member.destroy();
            member.waitFor();
        }
        assertNotNull(new PeerAuthorizer(40, "src").refusal(new Peer(0x7fff_fff0, 1000, 1)),
            "a process that is gone proves nothing");
        assertNotNull(new PeerAuthorizer(40, "src").refusal(new Peer(SELF, 1000, 1)), "this JVM is in no group");
    }
}
