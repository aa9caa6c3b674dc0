// A blocking client of the control socket (the CLI, tests, the benchmark): one request at a time, streams included.
package io.nsgate.control.api.client;

import java.io.IOException;
import java.net.ConnectException;
import java.net.SocketException;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.AsynchronousCloseException;
import java.nio.channels.SocketChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Timer;
import java.util.TimerTask;
import java.util.function.Consumer;
import java.util.function.Predicate;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.fasterxml.jackson.databind.node.TextNode;
import io.nsgate.control.api.ErrorCode;
import io.nsgate.control.api.Protocol;

/**
 * Uses the JDK's own Unix-domain SocketChannel (no event loop in a short-lived CLI). Replies are matched to the
 * request by id. A call fails with {@link Unreachable} when no line of its answer arrives for the timeout (a long
 * stream is fine as long as it keeps coming). Only time spent waiting for the daemon counts: while the caller's
 * item handler runs (printing to a pager nobody scrolls, say) the clock is stopped.
 */
public final class ControlClient implements AutoCloseable {
    /** The daemon cannot be reached: no socket, nobody listening, no answer in time. */
    public static class Unreachable extends IOException {
        private static final long serialVersionUID = 1L;

        public Unreachable(String message) {
            super(message);
        }
    }

    /** The socket file's permissions keep this user out. */
    public static final class Forbidden extends Unreachable {
        private static final long serialVersionUID = 1L;

        public Forbidden(String message) {
            super(message);
        }
    }

    /** A final reply: {@code ok} with a result (or, for streams, the count), or an error. */
    public record Reply(JsonNode line) {
        public boolean ok() {
            return line.path("ok").asBoolean(false);
        }

        public JsonNode result() {
            return line.path("result");
        }

        public long count() {
            return line.path("count").asLong();
        }

        /** The error code, or null when ok. */
        public ErrorCode error() {
            return ok() ? null : ErrorCode.ofWire(line.path("error").path("code").asText());
        }

        public String message() {
            return line.path("error").path("message").asText("");
        }

        public List<String> details() {
            List<String> l = new ArrayList<>();
            line.path("error").path("details").forEach(n -> l.add(n.asText()));
            return l;
        }
    }

    private static final Timer WATCHDOG = new Timer("nsgate-ctl-timeout", true);

    private final Path socket;
    private final SocketChannel channel;
    private final Duration timeout;
    private final ByteBuffer in = ByteBuffer.allocate(64 * 1024);
    private byte[] line = new byte[4096];
    private long nextId = 1;
    private volatile boolean timedOut;
    private volatile long lastProgressNs;
    /** An item handler is running: the wait is the caller's, not the daemon's. */
    private volatile boolean inHandler;

    private ControlClient(Path socket, SocketChannel channel, Duration timeout) {
        this.socket = socket;
        this.channel = channel;
        this.timeout = timeout;
        in.flip();
    }

    /**
     * Connects.
     *
     * @param timeout how long a call may wait for the next line of its answer
     * @throws Forbidden   the socket's permissions refuse this user
     * @throws Unreachable no socket at the path, nobody listening, or another connect error (the message says which)
     */
    public static ControlClient connect(Path socket, Duration timeout) throws Unreachable {
        SocketChannel ch = null;
        try {
            ch = SocketChannel.open(StandardProtocolFamily.UNIX);
            ch.connect(UnixDomainSocketAddress.of(socket));
            return new ControlClient(socket, ch, timeout);
        } catch (IOException e) {
            closeQuietly(ch);
            throw why(socket, e);
        }
    }

    private static Unreachable why(Path socket, IOException e) {
        String m = String.valueOf(e.getMessage());
        if (m.contains("Permission denied")) {
            return new Forbidden("permission denied on " + socket + ": the control socket is for root and the "
                + "daemon's --control-group");
        }
        if (m.contains("No such file") || (!Files.exists(socket) && !(e instanceof ConnectException))) {
            return new Unreachable("cannot reach nsgate at " + socket + ": no such socket (is `nsgate run` "
                + "running? --socket PATH or NSGATE_SOCKET names another)");
        }
        if (e instanceof ConnectException || m.contains("Connection refused")) {
            return new Unreachable("cannot reach nsgate at " + socket + ": connection refused (nobody listens: "
                + "the daemon is not running)");
        }
        return new Unreachable("cannot reach nsgate at " + socket + ": " + m);
    }

    public Path socket() {
        return socket;
    }

    /** Sends a request and returns its reply (for a stream: the final line; items are dropped). */
    public Reply call(String op, ObjectNode args) throws Unreachable {
        return stream(op, args, item -> { });
    }

    /** Sends a request and hands each streamed item to {@code onItem}; returns the final reply. */
    public Reply stream(String op, ObjectNode args, Consumer<JsonNode> onItem) throws Unreachable {
        return streamWhile(op, args, item -> {
            onItem.accept(item);
            return true;
        });
    }

    /**
     * Sends a request and hands each streamed item to {@code onItem} as long as it returns true; returns the final
     * reply. When {@code onItem} returns false the connection is closed (the daemon ends the listing at its next
     * chunk: the rest is never sent) and the result is null; this client cannot be used again.
     */
    public Reply streamWhile(String op, ObjectNode args, Predicate<JsonNode> onItem) throws Unreachable {
        JsonNode id = TextNode.valueOf(Long.toString(nextId++));
        ObjectNode req = Protocol.envelope(id);
        req.put("op", op);
        if (args != null && !args.isEmpty()) {
            req.set("args", args);
        }
        TimerTask alarm = arm();
        try {
            try {
                send(Protocol.line(req));
            } catch (Unreachable e) {
                // the daemon may have refused us (forbidden, busy) and closed before reading the request: its
                // one error line is still there to read
                JsonNode early = earlyRefusal();
                if (early != null) {
                    return new Reply(early);
                }
                throw e;
            }
            while (true) {
                JsonNode reply = parseLine(readLine());
                if (reply == null) {
                    throw new Unreachable("nsgate at " + socket + " closed the connection without answering " + op);
                }
                if (!reply.path("id").equals(id) && !reply.path("id").isNull()) {
                    continue; // not ours (cannot happen with one request at a time)
                }
                if (reply.has("item")) {
                    if (!handle(onItem, reply.get("item"))) {
                        close();
                        return null;
                    }
                    continue;
                }
                return new Reply(reply);
            }
        } finally {
            alarm.cancel();
        }
    }

    private boolean handle(Predicate<JsonNode> onItem, JsonNode item) {
        inHandler = true;
        try {
            return onItem.test(item);
        } finally {
            lastProgressNs = System.nanoTime(); // written before inHandler: the watchdog never sees the old time
            inHandler = false;
        }
    }

    /**
     * A watchdog that closes the channel once we have waited for the timeout without a line arriving (a stream may
     * take longer). Time inside the item handler is not waiting for the daemon: `nsgate ctl flows | less` stays
     * connected while less is paused and stdout blocks.
     */
    private TimerTask arm() {
        lastProgressNs = System.nanoTime();
        long timeoutNs = timeout.toNanos();
        TimerTask t = new TimerTask() {
            @Override
            public void run() {
                if (!inHandler && System.nanoTime() - lastProgressNs > timeoutNs) {
                    timedOut = true;
                    cancel();
                    closeQuietly(channel);
                }
            }
        };
        long period = Math.max(10, Math.min(1000, timeout.toMillis() / 4));
        WATCHDOG.schedule(t, period, period);
        return t;
    }

    private JsonNode earlyRefusal() {
        try {
            JsonNode line = parseLine(readLine());
            return line != null && line.path("id").isNull() && line.has("error") ? line : null;
        } catch (Unreachable e) {
            return null;
        }
    }

    /** Writes raw bytes (tests: malformed and partial requests). */
    public void send(byte[] bytes) throws Unreachable {
        try {
            ByteBuffer b = ByteBuffer.wrap(bytes);
            while (b.hasRemaining()) {
                channel.write(b);
            }
        } catch (IOException e) {
            throw lost(e);
        }
    }

    /** Shuts down the sending side (the daemon answers what it got, then closes). */
    public void shutdownOutput() throws IOException {
        channel.shutdownOutput();
    }

    /** Reads one reply line as JSON (tests: after {@link #send}); null at end of input. */
    public JsonNode readReply() throws Unreachable {
        TimerTask alarm = arm();
        try {
            return parseLine(readLine());
        } finally {
            alarm.cancel();
        }
    }

    private JsonNode parseLine(int n) throws Unreachable {
        if (n < 0) {
            return null;
        }
        try {
            return Protocol.JSON.readTree(line, 0, n);
        } catch (IOException e) {
            throw new Unreachable("nsgate at " + socket + " sent a line that is not JSON: " + e.getMessage());
        }
    }

    /** Reads one raw line (without the newline) into an internal buffer; returns its length, -1 at end of input. */
    private int readLine() throws Unreachable {
        int length = 0;
        try {
            while (true) {
                while (in.hasRemaining()) {
                    byte b = in.get();
                    if (b == '\n') {
                        lastProgressNs = System.nanoTime();
                        return length;
                    }
                    if (length == line.length) {
                        line = java.util.Arrays.copyOf(line, line.length * 2);
                    }
                    line[length++] = b;
                }
                in.clear();
                int r = channel.read(in);
                in.flip();
                if (r < 0) {
                    return -1;
                }
            }
        } catch (IOException e) {
            throw lost(e);
        }
    }

    private Unreachable lost(IOException e) {
        if (timedOut || e instanceof AsynchronousCloseException) {
            return new Unreachable("no answer from nsgate at " + socket + " for " + timeout.toMillis() / 1000.0
                + " s (--timeout)");
        }
        if (e instanceof SocketException) {
            return new Unreachable("connection to nsgate at " + socket + " lost: " + e.getMessage());
        }
        return new Unreachable("connection to nsgate at " + socket + ": " + e.getMessage());
    }

    @Override
    public void close() {
        closeQuietly(channel);
    }

    private static void closeQuietly(SocketChannel ch) {
        if (ch != null) {
            try {
                ch.close();
            } catch (IOException e) {
                // nothing to do
            }
        }
    }
}
