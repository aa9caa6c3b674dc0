// `--metrics-port N`: the Prometheus exposition over HTTP on 127.0.0.1, served by the JDK's built-in HTTP server.
package io.nsgate.control.metrics;

import java.io.IOException;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ThreadFactory;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;

/**
 * GET /metrics (and /) answers {@link PrometheusText}; anything else 404, other methods 405. Loopback only: the
 * counters are for a local scraper or an SSH tunnel, never the LAN. The socket is bound on the calling thread, so
 * it lives in that thread's network namespace (for `nsgate run`: the one nsgate was started in, even with
 * --netns). Rendering reads counters with plain volatile loads and never touches the workers.
 * <p>
 * The JDK server reads a request (and writes its answer) on an executor thread, with no time limit of its own: a
 * client that sends half a request line and falls silent would hold that thread for good. So {@link #THREADS}
 * daemon threads serve exchanges, and each exchange gets a deadline ({@link #EXCHANGE_DEADLINE}, counted from when
 * the server hands it over): past it, the thread serving it is interrupted, which closes the connection's blocking
 * channel, and the JDK server drops that connection. A silent client thus costs one thread for at most the
 * deadline, and never delays a scrape by more than that. (The JDK's own sun.net.httpserver.maxReqTime would do
 * similar, but it is read once per JVM, by whichever HttpServer comes first: the lab's echo services start before
 * this one.)
 */
public final class MetricsServer implements AutoCloseable {
    /** Threads serving exchanges: one silent client leaves the other to scrapes. */
    static final int THREADS = 2;
    /** How long one exchange (reading the request, answering it) may take: Prometheus's default scrape timeout. */
    static final Duration EXCHANGE_DEADLINE = Duration.ofSeconds(10);

    private final HttpServer http;
    private final ExecutorService executor;
    private final ScheduledExecutorService deadlines;

    private MetricsServer(HttpServer http, ExecutorService executor, ScheduledExecutorService deadlines) {
        this.http = http;
        this.executor = executor;
        this.deadlines = deadlines;
    }

    /**
     * Binds 127.0.0.1:{@code port} (0: any free port) and serves {@code exposition}.
     *
     * @throws IOException when the port cannot be bound (in use, say)
     */
    public static MetricsServer start(int port, Supplier<String> exposition) throws IOException {
        return start(port, exposition, EXCHANGE_DEADLINE);
    }

    /** As above, with another deadline per exchange (tests). */
    static MetricsServer start(int port, Supplier<String> exposition, Duration deadline) throws IOException {
        HttpServer http = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), port), 16);
        ExecutorService executor = Executors.newFixedThreadPool(THREADS, daemon("nsgate-metrics"));
        ScheduledExecutorService deadlines = Executors.newSingleThreadScheduledExecutor(
            daemon("nsgate-metrics-deadline"));
        long deadlineNs = deadline.toNanos();
        http.setExecutor(task -> {
            Exchange e = new Exchange(task);
            deadlines.schedule(e::expire, deadlineNs, TimeUnit.NANOSECONDS);
            executor.execute(e);
        });
        http.createContext("/", exchange -> handle(exchange, exposition));
        http.start();
        return new MetricsServer(http, executor, deadlines);
    }

    private static ThreadFactory daemon(String name) {
        return r -> {
            Thread t = new Thread(r, name);
            t.setDaemon(true);
            return t;
        };
    }

    /** One exchange of the JDK server, interrupted when its deadline passes. */
    private static final class Exchange implements Runnable {
        private final Runnable task;
        // guarded by this: an interrupt must never reach the thread once it serves another exchange
        private Thread runner;
        private boolean expired;
        private boolean done;

        Exchange(Runnable task) {
            this.task = task;
        }

        @Override
        public void run() {
            synchronized (this) {
                runner = Thread.currentThread();
                if (expired) {
                    // it waited behind silent clients past its deadline: its first read fails and drops it
                    runner.interrupt();
                }
            }
            try {
                task.run();
            } finally {
                synchronized (this) {
                    done = true;
                }
                Thread.interrupted(); // one that came as the exchange ended: the next exchange is not late
            }
        }

        synchronized void expire() {
            expired = true;
            if (runner != null && !done) {
                runner.interrupt();
            }
        }
    }

    private static void handle(HttpExchange exchange, Supplier<String> exposition) throws IOException {
        try (exchange) {
            String path = exchange.getRequestURI().getPath();
            String method = exchange.getRequestMethod();
            if (!path.equals("/metrics") && !path.equals("/")) {
                reply(exchange, 404, "text/plain; charset=utf-8", "not found: try /metrics\n");
                return;
            }
            if (!method.equals("GET") && !method.equals("HEAD")) {
                exchange.getResponseHeaders().add("Allow", "GET, HEAD");
                reply(exchange, 405, "text/plain; charset=utf-8", "method not allowed\n");
                return;
            }
            String body;
            try {
                body = exposition.get();
            } catch (RuntimeException e) {
                reply(exchange, 500, "text/plain; charset=utf-8", "cannot render the metrics: " + e + "\n");
                return;
            }
            reply(exchange, 200, PrometheusText.CONTENT_TYPE, body);
        }
    }

    private static void reply(HttpExchange exchange, int status, String type, String body) throws IOException {
        byte[] bytes = body.getBytes(StandardCharsets.UTF_8);
        exchange.getResponseHeaders().set("Content-Type", type);
        boolean head = exchange.getRequestMethod().equals("HEAD");
        exchange.sendResponseHeaders(status, head ? -1 : bytes.length);
        if (!head) {
            try (OutputStream out = exchange.getResponseBody()) {
                out.write(bytes);
            }
        }
    }

    /** The bound port (useful with port 0). */
    public int port() {
        return http.getAddress().getPort();
    }

    @Override
    public void close() {
        http.stop(0);
        executor.shutdownNow();
        deadlines.shutdownNow();
    }
}
