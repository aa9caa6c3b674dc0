// One client of the control socket: authorization, line framing with limits, in-order answers, paced streams.
package io.nsgate.control.api.server;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayDeque;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.epoll.EpollDomainSocketChannel;
import io.netty.channel.socket.ChannelInputShutdownEvent;
import io.netty.channel.unix.PeerCredentials;
import io.nsgate.control.api.ops.Operations;
import io.nsgate.control.api.ops.Peer;
import io.nsgate.control.api.ControlException;
import io.nsgate.control.api.ErrorCode;
import io.nsgate.control.api.Protocol;
import io.nsgate.control.api.Request;

/**
 * Theory of operation, per connection (everything but streaming runs on the connection's event loop thread):
 * <ol>
 *   <li><b>Authorization</b> at connect: SO_PEERCRED gives the peer's uid/gid/pid; a peer that is neither root nor
 *       in the control group gets one {@code forbidden} line and the connection is closed.</li>
 *   <li><b>Framing</b>: bytes are cut at '\n' (a trailing '\r' is dropped, blank lines ignored). A line longer than
 *       {@link Protocol#MAX_REQUEST_BYTES} is answered with {@code too_large} as soon as the limit is passed, the
 *       rest of it is discarded, and the connection is usable again after its newline; if that newline never comes
 *       the partial-line timeout closes the connection. At most 64 KiB + a read buffer is ever held per client.</li>
 *   <li><b>Slow or stuck clients</b>: a partial line followed by silence for the partial-line timeout (10 s by
 *       default) gets a {@code timeout} line and the connection is closed; an idle connection with no partial line
 *       may stay open. A client that sends requests but does not read the answers stops being read once its
 *       answers fill the high water mark (256 KiB), so nothing is buffered without bound.</li>
 *   <li><b>Half-close</b>: after the client shuts down its sending side, the requests already received are still
 *       answered (a last line without a newline counts as a request), then the connection is closed.</li>
 *   <li><b>Order</b>: requests are answered one at a time, in order; INLINE operations at once on this thread,
 *       BLOCKING and STREAM ones on a control-plane thread while later requests wait (at most 16 queued before
 *       reading pauses).</li>
 *   <li><b>Streams</b> (flows.list) are written in 16 KiB chunks from the control-plane thread; when the client
 *       reads slowly the channel becomes unwritable and the producer waits, so a listing holds at most the high
 *       water mark plus a chunk in memory. A client that disconnects mid-stream ends the listing at its next
 *       chunk.</li>
 * </ol>
 */
final class ControlConnection extends ChannelInboundHandlerAdapter implements Operations.ItemSink,
    ControlServer.Evictable {
    static final int LOW_WATER_MARK = 64 * 1024;
    static final int HIGH_WATER_MARK = 256 * 1024;
    private static final int MAX_PENDING = 16;
    private static final int CHUNK_BYTES = 16 * 1024;
    private static final Object TOO_LARGE = new Object();

    private final ControlServer server;
    private final EpollDomainSocketChannel channel;
    private final long partialTimeoutNs;

    // event loop thread only
    private ChannelHandlerContext ctx;
    private Peer peer;
    private boolean admitted;
    private boolean refused;
    private ByteBuf partial;
    private boolean discarding;
    private long lastByteNs;
    private final ArrayDeque<Object> pending = new ArrayDeque<>();
    private boolean busy;
    private boolean inputClosed;
    private boolean closing;
    private ScheduledFuture<?> partialCheck;

    // the streaming control-plane thread only
    private ByteBuf chunk;
    private byte[] itemPrefix;
    private final Object writability = new Object();

    ControlConnection(ControlServer server, EpollDomainSocketChannel channel) {
        this.server = server;
        this.channel = channel;
        this.partialTimeoutNs = server.settings().partialLineTimeout().toNanos();
    }

    // ------------------------------------------------------------------ lifecycle

    @Override
    public void channelActive(ChannelHandlerContext ctx) {
        this.ctx = ctx;
        try {
            PeerCredentials c = channel.peerCredentials();
            peer = new Peer(c.pid(), c.uid(), c.gids().length > 0 ? c.gids()[0] : -1);
        } catch (IOException e) {
            refused = true;
            closeWith(Protocol.error(null, ErrorCode.FORBIDDEN, "cannot read the peer's credentials (SO_PEERCRED): "
                + e.getMessage(), java.util.List.of()));
            return;
        }
        String refusal = server.authorizer().refusal(peer);
        if (refusal != null) {
            refused = true;
            server.countRefused();
            server.log().accept("control socket: refused " + peer + ": not root and not in the control group");
            closeWith(Protocol.error(null, ErrorCode.FORBIDDEN, refusal, java.util.List.of()));
            return;
        }
        // counted only once authorized, and the last slots are root's: group members cannot lock root out
        if (!server.admit(this, channel, peer.uid() == 0)) {
            refused = true;
            closeWith(Protocol.error(null, ErrorCode.BUSY, "too many control connections (at most "
                + server.settings().maxConnections() + ", the last " + ControlServer.RESERVED_FOR_ROOT
                + " for root): try again later", java.util.List.of()));
            return;
        }
        admitted = true;
        lastByteNs = System.nanoTime();
        partial = ctx.alloc().buffer(1024, Protocol.MAX_REQUEST_BYTES + 1);
        long period = Math.max(TimeUnit.MILLISECONDS.toNanos(20), partialTimeoutNs / 4);
        partialCheck = ctx.executor().scheduleWithFixedDelay(this::checkPartialLine, period, period,
            TimeUnit.NANOSECONDS);
    }

    @Override
    public void channelInactive(ChannelHandlerContext ctx) {
        if (partialCheck != null) {
            partialCheck.cancel(false);
        }
        if (partial != null) {
            partial.release();
            partial = null;
        }
        pending.clear();
        if (admitted) {
            admitted = false;
            server.left(this);
        }
        synchronized (writability) {
            writability.notifyAll();
        }
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
        if (!(cause instanceof IOException)) {
            server.log().accept("control socket: closing a connection after an unexpected error: " + cause);
        }
        ctx.close();
    }

    @Override
    public void channelWritabilityChanged(ChannelHandlerContext ctx) {
        synchronized (writability) {
            writability.notifyAll();
        }
        if (channel.isWritable() && !busy) {
            drain();
        } else {
            updateAutoRead();
        }
    }

    // ------------------------------------------------------------------ framing

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
        ByteBuf in = (ByteBuf) msg;
        try {
            if (refused || closing || inputClosed) {
                return;
            }
            lastByteNs = System.nanoTime();
            frame(in);
        } finally {
            in.release();
        }
        drain();
    }

    private void frame(ByteBuf in) {
        while (in.isReadable()) {
            int lf = in.indexOf(in.readerIndex(), in.writerIndex(), (byte) '\n');
            if (lf < 0) {
                if (discarding) {
                    in.skipBytes(in.readableBytes());
                } else if (partial.readableBytes() + in.readableBytes() > Protocol.MAX_REQUEST_BYTES) {
                    tooLarge();
                    in.skipBytes(in.readableBytes());
                } else {
                    partial.writeBytes(in);
                }
                return;
            }
            int length = lf - in.readerIndex();
            if (discarding) {
                discarding = false; // the oversized line ends here; the next one is a fresh request
                in.skipBytes(length + 1);
                continue;
            }
            if (partial.readableBytes() + length > Protocol.MAX_REQUEST_BYTES) {
                pending.add(TOO_LARGE);
                partial.clear();
                in.skipBytes(length + 1);
                continue;
            }
            byte[] line = new byte[partial.readableBytes() + length];
            int head = partial.readableBytes();
            partial.readBytes(line, 0, head);
            in.readBytes(line, head, length);
            in.skipBytes(1);
            partial.clear();
            addLine(line);
        }
    }

    private void tooLarge() {
        // answered at once, not when (if ever) the newline arrives
        pending.add(TOO_LARGE);
        partial.clear();
        discarding = true;
    }

    private void addLine(byte[] line) {
        int end = line.length;
        if (end > 0 && line[end - 1] == '\r') {
            end--;
        }
        boolean blank = true;
        for (int i = 0; i < end && blank; i++) {
            blank = line[i] == ' ' || line[i] == '\t';
        }
        if (blank) {
            return;
        }
        pending.add(end == line.length ? line : java.util.Arrays.copyOf(line, end));
    }

    @Override
    public void userEventTriggered(ChannelHandlerContext ctx, Object evt) {
        if (evt == ChannelInputShutdownEvent.INSTANCE && !refused) {
            inputClosed = true;
            if (partial != null && partial.isReadable() && !discarding) {
                byte[] line = new byte[partial.readableBytes()];
                partial.readBytes(line);
                partial.clear();
                addLine(line); // the client ended its last request with end-of-input instead of a newline
            }
            drain();
        } else if (evt == ChannelInputShutdownEvent.INSTANCE) {
            ctx.close();
        }
    }

    private void checkPartialLine() {
        if (!channel.isActive() || closing || partial == null) {
            return;
        }
        if (!channel.config().isAutoRead()) {
            lastByteNs = System.nanoTime(); // we are not reading: the silence is ours, not the client's
            return;
        }
        boolean waiting = partial.isReadable() || discarding;
        if (waiting && System.nanoTime() - lastByteNs > partialTimeoutNs) {
            long ms = TimeUnit.NANOSECONDS.toMillis(partialTimeoutNs);
            String what = discarding ? "an oversized request line" : partial.readableBytes() + " bytes of a request";
            pending.clear();
            closeWith(Protocol.error(null, ErrorCode.TIMEOUT, "incomplete request: " + what + " without a newline, "
                + "then nothing for " + ms + " ms; closing the connection", java.util.List.of()));
        }
    }

    // ------------------------------------------------------------------ requests, in order

    private void drain() {
        // a client that does not read its answers gets no more until it does (they would pile up in memory)
        while (!busy && !closing && !pending.isEmpty() && channel.isActive() && channel.isWritable()) {
            Object next = pending.poll();
            if (next == TOO_LARGE) {
                server.countRequest();
                write(Protocol.error(null, ErrorCode.TOO_LARGE, "request line longer than "
                    + Protocol.MAX_REQUEST_BYTES + " bytes: refused, and the rest of the line discarded",
                    java.util.List.of()));
                continue;
            }
            dispatch(Request.parse((byte[]) next));
        }
        if (inputClosed && !busy && pending.isEmpty() && !closing && channel.isActive()) {
            closing = true;
            ctx.writeAndFlush(Unpooled.EMPTY_BUFFER).addListener(ChannelFutureListener.CLOSE);
            return;
        }
        updateAutoRead();
    }

    private void dispatch(Request r) {
        server.countRequest();
        if (r.problem() != null) {
            write(Protocol.error(r.id(), r.problem()));
            return;
        }
        Operations.Op op;
        try {
            op = server.operations().op(r.op());
        } catch (ControlException e) {
            write(Protocol.error(r.id(), e));
            return;
        }
        if (op.kind() == Operations.Kind.INLINE) {
            write(run(op, r));
            return;
        }
        busy = true;
        try {
            server.pool().execute(() -> {
                try {
                    if (!channel.isActive()) {
                        return; // the client left before its request ran: nothing is applied on its behalf
                    }
                    if (op.kind() == Operations.Kind.STREAM) {
                        stream(op, r);
                    } else {
                        ObjectNode reply = run(op, r);
                        channel.writeAndFlush(Unpooled.wrappedBuffer(Protocol.line(reply)));
                    }
                } finally {
                    // queued after the reply's write: the next request's answer cannot overtake it
                    try {
                        channel.eventLoop().execute(this::finished);
                    } catch (RejectedExecutionException e) {
                        // the server is closing: the event loop is gone, and with it this connection
                    }
                }
            });
        } catch (RejectedExecutionException e) {
            busy = false;
            write(server.pool().isShutdown()
                ? Protocol.error(r.id(), ErrorCode.FAILED, "the daemon is shutting down", java.util.List.of())
                : Protocol.error(r.id(), ErrorCode.BUSY, "too many requests running: try again later",
                    java.util.List.of()));
        }
    }

    private void finished() {
        busy = false;
        drain();
    }

    private ObjectNode run(Operations.Op op, Request r) {
        try {
            return Protocol.ok(r.id(), op.handler().handle(r, peer));
        } catch (ControlException e) {
            return Protocol.error(r.id(), e);
        } catch (RuntimeException e) {
            server.log().accept("control socket: " + r.op() + " failed unexpectedly: " + e);
            return Protocol.error(r.id(), ErrorCode.INTERNAL, r.op() + ": internal error: " + e,
                java.util.List.of());
        }
    }

    private void stream(Operations.Op op, Request r) {
        JsonNode id = r.id();
        itemPrefix = ("{\"v\":" + Protocol.VERSION + ",\"id\":" + id.toString() + ",\"item\":")
            .getBytes(StandardCharsets.UTF_8);
        ObjectNode last;
        try {
            long count = op.streamHandler().stream(r, peer, this);
            flushChunk();
            last = Protocol.done(id, count);
        } catch (ControlException e) {
            flushChunk();
            last = Protocol.error(id, e);
        } catch (RuntimeException e) {
            flushChunk();
            server.log().accept("control socket: " + r.op() + " failed unexpectedly: " + e);
            last = Protocol.error(id, ErrorCode.INTERNAL, r.op() + ": internal error: " + e, java.util.List.of());
        } finally {
            if (chunk != null) {
                chunk.release();
                chunk = null;
            }
        }
        if (channel.isActive()) {
            channel.writeAndFlush(Unpooled.wrappedBuffer(Protocol.line(last)));
        }
    }

    // ------------------------------------------------------------------ ItemSink (the streaming thread)

    @Override
    public ByteBuf begin() {
        if (chunk == null) {
            chunk = channel.alloc().buffer(CHUNK_BYTES + 1024);
        }
        chunk.writeBytes(itemPrefix);
        return chunk;
    }

    @Override
    public boolean end() {
        chunk.writeByte('}');
        chunk.writeByte('\n');
        if (chunk.readableBytes() >= CHUNK_BYTES) {
            return flushChunk();
        }
        return true;
    }

    /**
     * Hands the chunk to the event loop, then waits while the client is behind; false once it is gone. A client that
     * reads nothing for the stalled-reader timeout (30 s) while its stream waits is disconnected (its socket is full, so an
     * error line could not reach it): a forgotten `nsgate ctl flows | less` does not hold a thread forever.
     */
    private boolean flushChunk() {
        if (chunk != null) {
            ByteBuf c = chunk;
            chunk = null;
            if (!channel.isActive()) {
                c.release();
                return false;
            }
            channel.writeAndFlush(c);
        }
        if (channel.isActive() && !channel.isWritable()) {
            server.countStreamPause();
        }
        final long stallLimitNs = server.settings().stalledReaderTimeout().toNanos();
        long pending = channel.bytesBeforeWritable();
        long stalledSince = System.nanoTime();
        synchronized (writability) {
            while (channel.isActive() && !channel.isWritable()) {
                long now = System.nanoTime();
                long left = channel.bytesBeforeWritable();
                if (left < pending) { // the client read something: it is slow, not gone
                    pending = left;
                    stalledSince = now;
                } else if (now - stalledSince >= stallLimitNs) {
                    server.log().accept("control socket: closing a connection whose client read nothing for "
                        + server.settings().stalledReaderTimeout().toSeconds() + " s during a listing");
                    channel.close();
                    return false;
                }
                try {
                    writability.wait(100);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    return false;
                }
            }
        }
        return channel.isActive();
    }

    // ------------------------------------------------------------------ eviction (event loop thread)

    @Override
    public boolean idle() {
        return admitted && !closing && !busy && pending.isEmpty() && (partial == null || partial.readableBytes() == 0);
    }

    @Override
    public long lastActivityNs() {
        return lastByteNs;
    }

    @Override
    public void evict() {
        admitted = false;
        server.left(this);
        closeWith(Protocol.error(null, ErrorCode.BUSY, "closed: the connection limit ("
            + server.settings().maxConnections() + ") was reached and this connection was idle the longest; root "
            + "needed a way in", java.util.List.of()));
    }

    // ------------------------------------------------------------------ output

    private void write(ObjectNode reply) {
        ctx.writeAndFlush(Unpooled.wrappedBuffer(Protocol.line(reply)));
    }

    private void closeWith(ObjectNode reply) {
        closing = true;
        ctx.writeAndFlush(Unpooled.wrappedBuffer(Protocol.line(reply))).addListener(ChannelFutureListener.CLOSE);
    }

    private void updateAutoRead() {
        if (!channel.isActive()) {
            return;
        }
        boolean read = !closing && !inputClosed && channel.isWritable() && pending.size() < MAX_PENDING;
        if (channel.config().isAutoRead() != read) {
            channel.config().setAutoRead(read);
        }
    }
}
