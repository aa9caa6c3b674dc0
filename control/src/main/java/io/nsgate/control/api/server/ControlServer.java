// The control socket: a Unix stream socket served by Netty's epoll transport, one ControlConnection per client.
package io.nsgate.control.api.server;

import java.io.IOException;
import java.nio.file.Path;
import java.nio.file.attribute.GroupPrincipal;
import java.time.Duration;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.SynchronousQueue;
import java.util.concurrent.ThreadFactory;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Consumer;

import io.netty.bootstrap.ServerBootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.WriteBufferWaterMark;
import io.netty.channel.epoll.Epoll;
import io.netty.channel.epoll.EpollDomainSocketChannel;
import io.netty.channel.epoll.EpollIoHandler;
import io.netty.channel.epoll.EpollServerDomainSocketChannel;
import io.netty.channel.group.ChannelGroup;
import io.netty.channel.group.DefaultChannelGroup;
import io.netty.channel.unix.DomainSocketAddress;
import io.netty.util.concurrent.DefaultThreadFactory;
import io.netty.util.concurrent.GlobalEventExecutor;
import io.nsgate.control.api.ops.Operations;
import io.nsgate.control.api.ops.ControlTarget;
import io.nsgate.control.api.LowPriority;

/**
 * Theory of operation. One epoll event loop thread accepts clients and does all their I/O; cheap reads (status,
 * stats, lists) are answered right there. Changes and table scans run on control-plane threads, one per connection
 * that has such a request running ({@value #DEFAULT_THREADS} kept, more started on demand), so a client listing a
 * million flows, or stalling its listing by not reading, never holds up another client's request. Those threads
 * run at the lowest CPU priority (nice 19, see {@link LowPriority}): when the workers need every CPU, a listing slows
 * down instead of forwarding. Each connection answers its requests in order (see {@link ControlConnection}).
 * Nothing here touches data-plane state except through the {@link ControlTarget} (rule changes via the workers'
 * command queues) and the flow table's lock-free snapshot and delete.
 */
public final class ControlServer implements AutoCloseable {
    public static final int DEFAULT_THREADS = 4;
    /** Connections only root may open, so that control-group members cannot lock root out. */
    public static final int RESERVED_FOR_ROOT = 4;

    /** How the socket is served. */
    public record Settings(Path socket, String group, Duration partialLineTimeout, int maxConnections, int threads,
                           Duration stalledReaderTimeout) {
        public static Settings of(Path socket) {
            return new Settings(socket, null, Duration.ofSeconds(10), 64, DEFAULT_THREADS, Duration.ofSeconds(30));
        }

        public Settings withGroup(String name) {
            return new Settings(socket, name, partialLineTimeout, maxConnections, threads, stalledReaderTimeout);
        }

        public Settings withPartialLineTimeout(Duration timeout) {
            return new Settings(socket, group, timeout, maxConnections, threads, stalledReaderTimeout);
        }

        public Settings withMaxConnections(int max) {
            return new Settings(socket, group, partialLineTimeout, max, threads, stalledReaderTimeout);
        }

        /** How long a stream waits for a client that reads nothing before it disconnects it. */
        public Settings withStalledReaderTimeout(Duration timeout) {
            return new Settings(socket, group, partialLineTimeout, maxConnections, threads, timeout);
        }
    }

    /** The socket could not be served (the message says why and what to do). */
    public static final class StartException extends RuntimeException {
        private static final long serialVersionUID = 1L;
        private final boolean badInput;

        StartException(String message, boolean badInput) {
            super(message);
            this.badInput = badInput;
        }

        /** True for bad configuration (an unknown group): exit code 2. */
        public boolean badInput() {
            return badInput;
        }
    }

    private final Settings settings;
    private final Operations operations;
    private volatile PeerAuthorizer authorizer = PeerAuthorizer.rootOnly();
    private final Consumer<String> log;
    private final EventLoopGroup loop;
    private final ExecutorService pool;
    private final ChannelGroup clients = new DefaultChannelGroup("nsgate-control", GlobalEventExecutor.INSTANCE);
    /** Admitted connections (event loop thread only): whom to evict when root needs a way in. */
    private final java.util.Set<Evictable> admitted = new java.util.LinkedHashSet<>();
    private final AtomicLong evicted = new AtomicLong();
    private final AtomicInteger connections = new AtomicInteger();
    private final AtomicLong requests = new AtomicLong();
    private final AtomicLong refused = new AtomicLong();
    private final AtomicLong streamPauses = new AtomicLong();
    private Channel server;
    private SocketFile.Lock lock;
    private long inode = -1;
    private boolean closed;

    private ControlServer(Settings settings, ControlTarget target, Consumer<String> log) {
        this.settings = settings;
        this.operations = new Operations(target, connections::get);
        this.log = log;
        DefaultThreadFactory io = new DefaultThreadFactory("nsgate-control-io", true);
        ThreadFactory lowIo = body -> io.newThread(() -> {
            LowPriority.thisThread();
            body.run();
        });
        this.loop = new MultiThreadIoEventLoopGroup(1, lowIo, EpollIoHandler.newFactory());
        DefaultThreadFactory named = new DefaultThreadFactory("nsgate-control", true);
        // A connection runs one request at a time, so a thread per busy connection is enough and none ever waits
        // for another client's job: four clients stalling their listings cannot hold up a fifth one's forward.add.
        // (Twice the connection limit: a closed connection's job may still be finishing while a new one starts.)
        int max = Math.max(settings.threads(), 2 * settings.maxConnections());
        ThreadPoolExecutor p = new ThreadPoolExecutor(settings.threads(), max, 30, TimeUnit.SECONDS,
            new SynchronousQueue<>(), body -> named.newThread(() -> {
                LowPriority.thisThread();
                body.run();
            }));
        p.allowCoreThreadTimeOut(true);
        this.pool = p;
    }

    /**
     * Checks the socket path (a stale socket is removed, a live one refused), binds, restricts the file to mode
     * 0660 and the control group, and starts serving.
     *
     * @throws StartException when it cannot (another daemon serves the path, an unknown group, a bind error)
     */
    public static ControlServer start(Settings settings, ControlTarget target, Consumer<String> log) {
        if (!Epoll.isAvailable()) {
            throw new StartException("the control socket needs Netty's epoll transport: "
                + Epoll.unavailabilityCause(), false);
        }
        GroupPrincipal group = null;
        if (settings.group() != null) {
            group = SocketFile.group(settings.group());
            if (group == null) {
                throw new StartException("--control-group " + settings.group() + ": no such group (getent group "
                    + settings.group() + ")", true);
            }
        }
        String removed;
        try {
            removed = SocketFile.claim(settings.socket());
        } catch (SocketFile.Unusable e) {
            throw new StartException(e.getMessage(), false);
        }
        if (removed != null) {
            log.accept(removed);
        }
        SocketFile.Lock lock;
        try {
            lock = SocketFile.lock(settings.socket());
        } catch (SocketFile.Unusable e) {
            throw new StartException(e.getMessage(), false);
        }
        ControlServer s = new ControlServer(settings, target, log);
        s.lock = lock;
        try {
            s.bind(group);
            return s;
        } catch (RuntimeException e) {
            s.close();
            throw e;
        }
    }

    private void bind(GroupPrincipal group) {
        ServerBootstrap b = new ServerBootstrap()
            .group(loop)
            .channel(EpollServerDomainSocketChannel.class)
            .childOption(ChannelOption.ALLOW_HALF_CLOSURE, true)
            .childOption(ChannelOption.WRITE_BUFFER_WATER_MARK,
                new WriteBufferWaterMark(ControlConnection.LOW_WATER_MARK, ControlConnection.HIGH_WATER_MARK))
            .childHandler(new ChannelInitializer<EpollDomainSocketChannel>() {
                @Override
                protected void initChannel(EpollDomainSocketChannel ch) {
                    ch.pipeline().addLast(new ControlConnection(ControlServer.this, ch));
                }
            });
        Path path = settings.socket().toAbsolutePath();
        try {
            server = b.bind(new DomainSocketAddress(path.toString())).sync().channel();
        } catch (Exception e) {
            throw new StartException("cannot bind the control socket " + path + ": " + e.getMessage(), false);
        }
        inode = SocketFile.inode(path);
        int gid;
        try {
            gid = SocketFile.restrict(path, group);
        } catch (IOException e) {
            throw new StartException("cannot set the mode or group of " + path + ": " + e.getMessage(), false);
        }
        if (gid >= 0) {
            authorizer = new PeerAuthorizer(gid, settings.group());
        }
        log.accept("control socket " + path + " (mode 0660, root" + (group != null ? " and group "
            + settings.group() + " (gid " + gid + ")" : " only") + ")");
    }

    PeerAuthorizer authorizer() {
        return authorizer;
    }

    Settings settings() {
        return settings;
    }

    Operations operations() {
        return operations;
    }

    ExecutorService pool() {
        return pool;
    }

    Consumer<String> log() {
        return log;
    }

    /**
     * Counts a new (authorized) connection; false when over the limit, which is lower for peers other than root. Root
     * always gets in: when every connection is taken, the one idle the longest (no request running, no partial line)
     * is closed to make room, as sshd's MaxStartups keeps a way in; only when all are busy is root refused too. Event
     * loop thread only (it reads other connections' state).
     */
    boolean admit(Evictable connection, Channel ch, boolean root) {
        int limit = root ? settings.maxConnections()
            : Math.max(1, settings.maxConnections() - RESERVED_FOR_ROOT);
        if (connections.incrementAndGet() > limit) {
            if (!root || !evictIdlest()) {
                connections.decrementAndGet();
                return false;
            }
        }
        admitted.add(connection);
        clients.add(ch);
        return true;
    }

    private boolean evictIdlest() {
        Evictable idlest = null;
        for (Evictable c : admitted) {
            if (c.idle() && (idlest == null || c.lastActivityNs() < idlest.lastActivityNs())) {
                idlest = c;
            }
        }
        if (idlest == null) {
            return false;
        }
        evicted.incrementAndGet();
        log.accept("control socket: closed an idle connection to let root in (" + settings.maxConnections()
            + " connections)");
        idlest.evict();
        return true;
    }

    /** A connection that was admitted closed (or was evicted). Event loop thread only. */
    void left(Evictable connection) {
        if (admitted.remove(connection)) {
            connections.decrementAndGet();
        }
    }

    /** An admitted connection as the admission sees it. */
    interface Evictable {
        /** Nothing running or half-read: closing it loses nothing. */
        boolean idle();

        /** When the client last sent a byte (or connected). */
        long lastActivityNs();

        /** Closes the connection, telling the client why, and calls {@link #left}. */
        void evict();
    }

    /** Idle connections closed to let root in. */
    public long evictedConnections() {
        return evicted.get();
    }

    void countRequest() {
        requests.incrementAndGet();
    }

    void countRefused() {
        refused.incrementAndGet();
    }

    void countStreamPause() {
        streamPauses.incrementAndGet();
    }

    /** Times a stream waited for a client that read slowly (its answer had reached the high water mark). */
    public long streamPauses() {
        return streamPauses.get();
    }

    /** Open client connections. */
    public int connections() {
        return connections.get();
    }

    /** Requests answered since start. */
    public long requests() {
        return requests.get();
    }

    /** Peers refused (not root, not in the group) since start. */
    public long refusedPeers() {
        return refused.get();
    }

    public Path socket() {
        return settings.socket();
    }

    /** Stops accepting, closes every client, stops the threads and removes the socket file (if still ours). */
    @Override
    public synchronized void close() {
        if (closed) {
            return;
        }
        closed = true;
        if (server != null) {
            server.close().syncUninterruptibly();
        }
        clients.close().awaitUninterruptibly(2, TimeUnit.SECONDS);
        pool.shutdownNow();
        loop.shutdownGracefully(0, 1, TimeUnit.SECONDS).awaitUninterruptibly(5, TimeUnit.SECONDS);
        SocketFile.remove(settings.socket().toAbsolutePath(), inode);
        if (lock != null) {
            lock.close();
        }
    }
}
