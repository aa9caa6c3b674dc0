// The control socket's file: a crashed daemon's socket is replaced, a live one never stolen, other files left alone.
package io.nsgate.control.api.server;

import static org.junit.jupiter.api.Assertions.*;

import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.channels.ServerSocketChannel;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import io.nsgate.control.api.client.ControlClient;
import io.nsgate.control.api.ops.InMemoryGateway;

class SocketFileTest {
    @TempDir
    Path dir;
    private InMemoryGateway gateway;
    private final List<String> log = new ArrayList<>();

    @BeforeEach
    void setUp() throws Exception {
        gateway = new InMemoryGateway(1024, null);
    }

    @AfterEach
    void tearDown() throws Exception {
        gateway.close();
    }

    /** A socket file nobody listens on any more: what a crashed daemon leaves. */
    private static void leaveStaleSocket(Path path) throws Exception {
        ServerSocketChannel s = ServerSocketChannel.open(StandardProtocolFamily.UNIX);
        s.bind(UnixDomainSocketAddress.of(path));
        s.close(); // the JDK does not unlink the file
        assertTrue(Files.exists(path));
    }

    @Test
    void aStaleSocketFromACrashedDaemonIsRemovedAndServedAgain() throws Exception {
        Path path = dir.resolve("nsgate.sock");
        leaveStaleSocket(path);
        try (ControlServer s = ControlServer.start(ControlServer.Settings.of(path), gateway, log::add);
             ControlClient c = ControlClient.connect(path, Duration.ofSeconds(5))) {
            assertTrue(c.call("status", null).ok());
            assertTrue(log.get(0).contains("removed the stale control socket " + path), log.toString());
        }
        assertFalse(Files.exists(path), "closing removes the socket file");
    }

    @Test
    void aLiveDaemonsSocketIsNotStolen() throws Exception {
        Path path = dir.resolve("nsgate.sock");
        try (ControlServer first = ControlServer.start(ControlServer.Settings.of(path), gateway, log::add)) {
            ControlServer.StartException e = assertThrows(ControlServer.StartException.class,
                () -> ControlServer.start(ControlServer.Settings.of(path), gateway, log::add));
            assertEquals("another nsgate is serving " + path + " (it accepted a connection): stop it first, or give "
                + "this one another --control-socket", e.getMessage());
            try (ControlClient c = ControlClient.connect(path, Duration.ofSeconds(5))) {
                assertTrue(c.call("status", null).ok(), "the first daemon still serves its socket");
            }
        }
    }

    @Test
    void aFileThatIsNotASocketIsNeverRemoved() throws Exception {
        Path path = dir.resolve("nsgate.sock");
        Files.writeString(path, "precious");
        ControlServer.StartException e = assertThrows(ControlServer.StartException.class,
            () -> ControlServer.start(ControlServer.Settings.of(path), gateway, log::add));
        assertTrue(e.getMessage().contains("exists and is not a socket"), e.getMessage());
        assertEquals("precious", Files.readString(path));
    }

    @Test
    void theDirectoryIsCreatedAndTheSocketGetsMode0660AndTheControlGroup() throws Exception {
        Path path = dir.resolve("run/nsgate/nsgate.sock");
        try (ControlServer s = ControlServer.start(ControlServer.Settings.of(path).withGroup("src"), gateway,
            log::add)) {
            assertEquals("rw-rw----", PosixFilePermissions.toString(Files.getPosixFilePermissions(path)));
            assertEquals(40, Files.getAttribute(path, "unix:gid", LinkOption.NOFOLLOW_LINKS), "group src is gid 40");
            assertEquals("rwxr-xr-x", PosixFilePermissions.toString(Files.getPosixFilePermissions(path.getParent())));
            assertTrue(log.get(0).contains("root and group src (gid 40)"), log.toString());
        }
    }

    @Test
    void anUnknownGroupIsBadInput() {
        ControlServer.StartException e = assertThrows(ControlServer.StartException.class,
            () -> ControlServer.start(ControlServer.Settings.of(dir.resolve("s.sock")).withGroup("no-such-group-x"),
                gateway, log::add));
        assertTrue(e.badInput());
        assertEquals("--control-group no-such-group-x: no such group (getent group no-such-group-x)", e.getMessage());
        assertFalse(Files.exists(dir.resolve("s.sock")));
    }

    @Test
    void theClientSaysWhichSocketItCannotReachAndWhy() throws Exception {
        Path missing = dir.resolve("missing.sock");
        ControlClient.Unreachable e = assertThrows(ControlClient.Unreachable.class,
            () -> ControlClient.connect(missing, Duration.ofSeconds(1)));
        assertTrue(e.getMessage().startsWith("cannot reach nsgate at " + missing + ": no such socket"), e.getMessage());
        Path stale = dir.resolve("stale.sock");
        leaveStaleSocket(stale);
        ControlClient.Unreachable refused = assertThrows(ControlClient.Unreachable.class,
            () -> ControlClient.connect(stale, Duration.ofSeconds(1)));
        assertTrue(refused.getMessage().contains("connection refused (nobody listens"), refused.getMessage());
    }
}
