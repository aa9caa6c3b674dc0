// `--metrics-port N`: the Prometheus exposition over HTTP on 127.0.0.1, served by the JDK's built-in HTTP server.
package io.nsgate.control.metrics;

import java.io.IOException;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.function.Supplier;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;

/**
 * GET /metrics (and /) answers {@link PrometheusText}; anything else 404, other methods 405. Loopback only: the
 * counters are for a local scraper or an SSH tunnel, never the LAN. The socket is bound on the calling thread, so
 * it lives in that thread's network namespace (for `nsgate run`: the one nsgate was started in, even with
 * --netns). One daemon thread serves it; rendering reads counters with plain volatile loads and never touches the
 * workers.
 */
public final class MetricsServer implements AutoCloseable {
    private final HttpServer http;
    private final ExecutorService executor;

    private MetricsServer(HttpServer http, ExecutorService executor) {
        this.http = http;
        this.executor = executor;
    }

    /**
     * Binds 127.0.0.1:{@code port} (0: any free port) and serves {@code exposition}.
     *
     * @throws IOException when the port cannot be bound (in use, say)
     */
    public static MetricsServer start(int port, Supplier<String> exposition) throws IOException {
        HttpServer http = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), port), 16);
        ExecutorService executor = Executors.newSingleThreadExecutor(r -> {
            Thread t = new Thread(r, "nsgate-metrics");
            t.setDaemon(true);
            return t;
        });
        http.setExecutor(executor);
        http.createContext("/", exchange -> handle(exchange, exposition));
        http.start();
        return new MetricsServer(http, executor);
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
    }
}
