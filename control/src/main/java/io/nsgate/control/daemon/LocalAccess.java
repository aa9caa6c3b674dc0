// The gateway host's own processes reach the published ports: a userland proxy in the gateway's namespace.
package io.nsgate.control.daemon;

import java.net.Inet4Address;
import java.net.Inet6Address;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.UnknownHostException;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Consumer;

import io.netty.bootstrap.Bootstrap;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.epoll.EpollChannelOption;
import io.netty.channel.epoll.EpollIoHandler;
import io.netty.channel.epoll.EpollMode;
import io.netty.channel.epoll.EpollServerSocketChannel;
import io.netty.channel.epoll.EpollSocketChannel;
import io.netty.util.concurrent.DefaultThreadFactory;

import io.nsgate.dataplane.nat.ForwardRule;
import io.nsgate.dataplane.packet.IpProtocol;
import io.nsgate.linux.net.Ipv4Address;

/**
 * Clients on the gateway host (in the gateway's network namespace) reach every TCP forward through the host's own
 * addresses and through localhost, as docker-proxy and {@code pasta -T} give. Their traffic never crosses an
 * AF_PACKET-ringed interface (it goes over {@code lo}), so the data plane never sees it; a userland proxy takes it:
 * one listening socket per forwarded port, dual-stack ({@code [::]:PORT}, or {@code 0.0.0.0:PORT} where the namespace
 * has no IPv6), and each accepted connection is joined to a new connection to the forward's backend, its bytes
 * relayed through pooled direct buffers with backpressure ({@link Relay}); splice(2) is there too
 * ({@code -Dnsgate.localAccess=splice}), measured slower to answer ({@link #SPLICE}).
 *
 * <p>The listeners see only local clients: frames for a forwarded port that arrive from outside are the data plane's,
 * and the tcx guard drops them before the kernel's stack could hand them to a listener. A connection is dispatched by
 * its family (an IPv4 client, also as {@code ::ffff:a.b.c.d}, to the port's IPv4 forward; an IPv6 one to its IPv6
 * forward) and by the address it reached: a forward bound to one external address takes connections to that address
 * and to loopback. The backend is picked as the data plane picks it for that client address; it sees the gateway's
 * own address on the inside (like docker-proxy: the client is this host). A port some other local service listens
 * on already cannot be taken: logged, and the forward still serves the network.
 *
 * <p>Follows the rules live ({@link #forwards}); connections outlive the forward that made them, as the data plane's
 * do. UDP forwards are not proxied.
 */
public final class LocalAccess implements AutoCloseable {
    /** Forwards of more ports than this get local listeners on their first ports only (and a warning). */
    static final int MAX_PORTS_PER_FORWARD = 1024;
    private static final int CONNECT_TIMEOUT_MS = 5_000;
    /**
     * How the bytes cross: {@code copy} (read into a pooled direct buffer, write it out; the default) or
     * {@code splice} (socket to pipe to socket in the kernel, Netty's level-triggered spliceTo). Measured side by side
     * ({@code bench/run local}, README): the same throughput, and splice's p99 latency 16 times copy's.
     */
    static final boolean SPLICE = "splice".equals(System.getProperty("nsgate.localAccess", "copy"));

    private final HostNamespace host;
    private final Consumer<String> log;
    private final EventLoopGroup group;
    private final boolean ipv6;
    /** Listening channels by port, and the forwards each serves. */
    /** Written under this object's lock; read without it by the event loops ({@link #forwardFor}). */
    private final Map<Integer, Listener> listeners = new ConcurrentHashMap<>();
    private final Map<Channel, Connection> connections = new ConcurrentHashMap<>();
    private final AtomicLong accepted = new AtomicLong();
    private final AtomicLong failed = new AtomicLong();
    private final AtomicLong ids = new AtomicLong();
    private volatile boolean closed;

    /**
     * A proxied connection: who connected where ({@code client} to {@code reached}), and the connection made for it
     * (from {@code from}, the gateway's own address, to {@code backend}).
     */
    public record Connection(long id, ForwardRule forward, InetSocketAddress client, InetSocketAddress reached,
                             InetSocketAddress from, InetSocketAddress backend, long startedNs, Channel channel) {
        /** Closes both sides (a flush). */
        public void close() {
            channel.close();
        }
    }

    /** One port's listener and the forwards it serves (one per family at most); replaced whole. */
    private record Listener(Channel channel, ForwardRule v4, ForwardRule v6) {
    }

    LocalAccess(HostNamespace host, Consumer<String> log, int threads) {
        this.host = host;
        this.log = log;
        // the event loops' threads live in the gateway's namespace: listening and backend sockets are created there
        this.group = new MultiThreadIoEventLoopGroup(threads, new DefaultThreadFactory("nsgate-local", true) {
            @Override
            protected Thread newThread(Runnable r, String name) {
                return super.newThread(() -> {
                    host.enterOnThisThread();
                    r.run();
                }, name);
            }
        }, EpollIoHandler.newFactory());
        this.ipv6 = ipv6On(host);
    }

    private static boolean ipv6On(HostNamespace host) {
        try {
            return !"1".equals(host.sysctl("net.ipv6.conf.all.disable_ipv6"));
        } catch (RuntimeException e) {
            return false; // a kernel without IPv6: no such sysctl
        }
    }

    /** Connections proxied now. */
    public List<Connection> connections() {
        return List.copyOf(connections.values());
    }

    long accepted() {
        return accepted.get();
    }

    /** Connections whose backend could not be reached (closed at once). */
    long failed() {
        return failed.get();
    }

    /** The ports with a local listener now. */
    synchronized List<Integer> ports() {
        return listeners.keySet().stream().sorted().toList();
    }

    /** Makes the listeners match {@code forwards}: TCP ones only; a port that cannot be bound is logged and skipped. */
    synchronized void forwards(List<ForwardRule> forwards) {
        if (closed) {
            return;
        }
        Map<Integer, ForwardRule[]> wanted = new HashMap<>();
        for (ForwardRule f : forwards) {
            if (f.proto() != IpProtocol.TCP) {
                continue;
            }
            int first = f.external().ports().first();
            int last = f.external().ports().last();
            if (last - first + 1 > MAX_PORTS_PER_FORWARD) {
                log.accept("warning: forward " + f + ": " + (last - first + 1) + " ports; local clients reach its first "
                    + MAX_PORTS_PER_FORWARD + " only");
                last = first + MAX_PORTS_PER_FORWARD - 1;
            }
            for (int port = first; port <= last; port++) {
                wanted.computeIfAbsent(port, p -> new ForwardRule[2])[f.ipv6() ? 1 : 0] = f;
            }
        }
        for (Map.Entry<Integer, Listener> e : new ArrayList<>(listeners.entrySet())) {
            if (!wanted.containsKey(e.getKey())) {
                e.getValue().channel().close();
                listeners.remove(e.getKey());
            }
        }
        for (Map.Entry<Integer, ForwardRule[]> e : wanted.entrySet()) {
            int port = e.getKey();
            ForwardRule[] rules = e.getValue();
            Listener now = listeners.get(port);
            if (now != null) {
                listeners.put(port, new Listener(now.channel(), rules[0], rules[1]));
                continue;
            }
            try {
                listeners.put(port, new Listener(bind(port), rules[0], rules[1]));
            } catch (RuntimeException e2) {
                log.accept("warning: local clients cannot reach port " + port + " (" + e2.getMessage()
                    + "): another service of this host listens there");
            }
        }
    }

    private Channel bind(int port) {
        ServerBootstrap b = new ServerBootstrap().group(group).channel(EpollServerSocketChannel.class)
            .option(ChannelOption.SO_BACKLOG, 1024)
            .childOption(EpollChannelOption.EPOLL_MODE, SPLICE ? EpollMode.LEVEL_TRIGGERED : EpollMode.EDGE_TRIGGERED)
            .childOption(ChannelOption.AUTO_READ, false)
            .childOption(ChannelOption.ALLOW_HALF_CLOSURE, !SPLICE)
            .childOption(ChannelOption.TCP_NODELAY, true)
            .childHandler(new Accepted(port));
        InetSocketAddress any = new InetSocketAddress(ipv6 ? "::" : "0.0.0.0", port);
        ChannelFuture bound;
        try {
            // created on an event loop thread, which lives in the gateway's namespace; waited for here (an event loop
            // may not wait for its own work)
            bound = group.next().submit(() -> b.bind(any)).get(10, TimeUnit.SECONDS);
        } catch (ExecutionException e) {
            throw new IllegalStateException(e.getCause().getMessage(), e.getCause());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted", e);
        } catch (Exception e) {
            throw new IllegalStateException(String.valueOf(e.getMessage()), e);
        }
        if (!bound.awaitUninterruptibly(10, TimeUnit.SECONDS) || !bound.isSuccess()) {
            bound.channel().close();
            bound.addListener((ChannelFutureListener) late -> late.channel().close()); // bound after all: let it go
            Throwable cause = bound.cause();
            throw new IllegalStateException(cause == null ? "bind timed out" : String.valueOf(cause.getMessage()),
                cause);
        }
        return bound.channel();
    }

    /** The forward a connection to {@code reached} from {@code client} belongs to, or null. */
    private ForwardRule forwardFor(int port, InetAddress client, InetAddress reached) {
        Listener l = listeners.get(port);
        if (l == null) {
            return null;
        }
        ForwardRule f = client instanceof Inet4Address ? l.v4() : l.v6();
        if (f == null) {
            return null;
        }
        if (reached.isLoopbackAddress()) {
            return f;
        }
        if (f.ipv6()) {
            return f.external().address6() == null || f.external().address6().equals(
                io.nsgate.linux.net.Ipv6Address.of(reached)) ? f : null;
        }
        return f.external().address() == 0 || f.external().address() == Ipv4Address.of(reached) ? f : null;
    }

    /**
     * Whether {@code client} is this host: loopback, or an address of one of the namespace's interfaces (asked on the
     * event loop's thread, which lives in the gateway's namespace; once per accepted connection).
     */
    private static boolean isLocal(InetAddress client) {
        if (client.isLoopbackAddress()) {
            return true;
        }
        if (client instanceof Inet6Address) {
            // the JDK lists IPv6 addresses from /proc/net/if_inet6, which is the process's namespace, not this
            // thread's: read the thread's own
            String hex = java.util.HexFormat.of().formatHex(client.getAddress());
            try (java.util.stream.Stream<String> lines = java.nio.file.Files.lines(
                java.nio.file.Path.of("/proc/thread-self/net/if_inet6"))) {
                return lines.anyMatch(l -> l.startsWith(hex));
            } catch (java.io.IOException | java.io.UncheckedIOException e) {
                return false;
            }
        }
        try {
            return java.net.NetworkInterface.getByInetAddress(client) != null; // SIOCGIFCONF: this thread's namespace
        } catch (java.net.SocketException e) {
            return false;
        }
    }

    /** IPv4 clients of a dual-stack socket arrive as ::ffff:a.b.c.d: as IPv4 they are. */
    public static InetAddress unmapped(InetAddress a) {
        if (a instanceof Inet6Address six) {
            byte[] b = six.getAddress();
            boolean mapped = true;
            for (int i = 0; i < 10; i++) {
                mapped &= b[i] == 0;
            }
            if (mapped && b[10] == (byte) 0xFF && b[11] == (byte) 0xFF) {
                try {
                    return InetAddress.getByAddress(new byte[] {b[12], b[13], b[14], b[15]});
                } catch (UnknownHostException e) {
                    throw new IllegalStateException(e);
                }
            }
        }
        return a;
    }

    /** An accepted local connection: find its forward and backend, connect, and join the two. */
    private final class Accepted extends ChannelInboundHandlerAdapter {
        private final int port;

        Accepted(int port) {
            this.port = port;
        }

        @Override
        public boolean isSharable() {
            return true;
        }

        @Override
        public void channelActive(ChannelHandlerContext ctx) {
            EpollSocketChannel in = (EpollSocketChannel) ctx.channel();
            InetSocketAddress client = in.remoteAddress();
            InetSocketAddress reached = in.localAddress();
            InetAddress clientIp = unmapped(client.getAddress());
            ForwardRule f = forwardFor(port, clientIp, unmapped(reached.getAddress()));
            if (f == null || !isLocal(clientIp)) {
                // a family or an address this port does not forward; or a client on another host, come through an
                // interface the data plane does not serve: not the host's own, so not the proxy's to take
                in.close();
                return;
            }
            accepted.incrementAndGet();
            InetSocketAddress backend = backendOf(f, clientIp, port);
            Relay toClient = new Relay(in);
            new Bootstrap().group(in.eventLoop()).channel(EpollSocketChannel.class)
                .option(EpollChannelOption.EPOLL_MODE, SPLICE ? EpollMode.LEVEL_TRIGGERED : EpollMode.EDGE_TRIGGERED)
                .option(ChannelOption.AUTO_READ, false)
                .option(ChannelOption.ALLOW_HALF_CLOSURE, !SPLICE)
                .option(ChannelOption.TCP_NODELAY, true)
                .option(ChannelOption.CONNECT_TIMEOUT_MILLIS, CONNECT_TIMEOUT_MS)
                .handler(SPLICE ? new ChannelInboundHandlerAdapter() : toClient)
                .connect(backend).addListener((ChannelFutureListener) connected -> {
                    if (!connected.isSuccess() || !in.isActive()) {
                        failed.incrementAndGet();
                        in.close();
                        connected.channel().close();
                        return;
                    }
                    EpollSocketChannel out = (EpollSocketChannel) connected.channel();
                    Connection c = new Connection(ids.incrementAndGet(), f, new InetSocketAddress(clientIp,
                        client.getPort()), new InetSocketAddress(unmapped(reached.getAddress()), reached.getPort()),
                        out.localAddress(), backend, System.nanoTime(), in);
                    connections.put(in, c);
                    in.closeFuture().addListener(done -> connections.remove(in));
                    if (SPLICE) {
                        ChannelFutureListener closeBoth = done -> {
                            in.close();
                            out.close();
                        };
                        in.closeFuture().addListener(closeBoth);
                        out.closeFuture().addListener(closeBoth);
                        in.spliceTo(out, Integer.MAX_VALUE).addListener(closeBoth);
                        out.spliceTo(in, Integer.MAX_VALUE).addListener(closeBoth);
                    } else {
                        // each side's Relay passes its end on: what it read is flushed to the other side before that
                        // one is shut or closed, so a reply is never cut short
                        in.pipeline().addLast(new Relay(out));
                    }
                    in.config().setAutoRead(true);
                    out.config().setAutoRead(true);
                });
        }

        @Override
        public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
            ctx.close();
        }
    }

    /**
     * The copy mode's half of a connection: what one side reads is written to the other, and reading stops while the
     * other side cannot take more (its write buffer above the high-water mark), so memory stays bounded.
     */
    private static final class Relay extends ChannelInboundHandlerAdapter {
        private final Channel partner;

        Relay(Channel partner) {
            this.partner = partner;
        }

        @Override
        public void channelRead(ChannelHandlerContext ctx, Object msg) {
            partner.write(msg, partner.voidPromise());
        }

        @Override
        public void channelReadComplete(ChannelHandlerContext ctx) {
            partner.flush();
            if (!partner.isWritable()) {
                ctx.channel().config().setAutoRead(false);
                // resumed by the partner's own Relay when it drains (channelWritabilityChanged)
            }
        }

        @Override
        public void channelWritabilityChanged(ChannelHandlerContext ctx) {
            if (ctx.channel().isWritable()) {
                partner.config().setAutoRead(true);
            }
        }

        /**
         * This side sent FIN and everything before it was read: it is flushed to the partner, then the partner's output
         * is shut (FIN). (Not on ChannelInputShutdownEvent: epoll can report the peer's FIN while reading is paused
         * for backpressure, with data still unread.)
         */
        @Override
        public void userEventTriggered(ChannelHandlerContext ctx, Object evt) {
            if (evt instanceof io.netty.channel.socket.ChannelInputShutdownReadComplete) {
                Channel self = ctx.channel();
                partner.writeAndFlush(io.netty.buffer.Unpooled.EMPTY_BUFFER).addListener(flushed ->
                    ((io.netty.channel.socket.DuplexChannel) partner).shutdownOutput().addListener(shut -> {
                        // both directions ended: nothing more can cross
                        if (((io.netty.channel.socket.DuplexChannel) self).isOutputShutdown() || !flushed.isSuccess()) {
                            self.close();
                            partner.close();
                        }
                    }));
            }
            ctx.fireUserEventTriggered(evt);
        }

        /** This side is gone (closed or reset): the partner gets what is pending, then is closed. */
        @Override
        public void channelInactive(ChannelHandlerContext ctx) {
            partner.writeAndFlush(io.netty.buffer.Unpooled.EMPTY_BUFFER)
                .addListener(ChannelFutureListener.CLOSE);
        }

        @Override
        public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
            ctx.close();
        }
    }

    private static InetSocketAddress backendOf(ForwardRule f, InetAddress client, int reachedPort) {
        ForwardRule.Backend b;
        if (client instanceof Inet4Address) {
            b = f.backendFor(Ipv4Address.of(client));
        } else {
            io.nsgate.linux.net.Ipv6Address six = io.nsgate.linux.net.Ipv6Address.of(client);
            b = f.backendFor6(six.high(), six.low());
        }
        int port = f.backendPort(b, reachedPort);
        InetAddress address;
        try {
            address = b.address6() != null ? InetAddress.getByName(b.address6().toString())
                : InetAddress.getByAddress(Ipv4Address.toBytes(b.address()));
        } catch (UnknownHostException e) {
            throw new IllegalStateException(e);
        }
        return new InetSocketAddress(address, port);
    }

    @Override
    public void close() {
        synchronized (this) {
            closed = true;
            for (Listener l : listeners.values()) {
                l.channel().close();
            }
            listeners.clear();
        }
        // outside the lock: an event loop finishing an accept never waits for it anyway, but nothing here waits on them
        // while holding it
        group.shutdownGracefully(0, 2, TimeUnit.SECONDS).awaitUninterruptibly(10, TimeUnit.SECONDS);
    }
}
