// A tiny HTTP service bound inside a namespace: it says who it is and which address called it.
package io.nsgate.control.lab;

import java.io.IOException;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;

import com.sun.net.httpserver.HttpServer;

import io.nsgate.control.netns.NetNs;

/**
 * The lab's web services, so that no external web server is needed: {@code GET /} answers
 * {@code "hello from NAME\nyou are IP:PORT\n"}, where IP:PORT is the peer the server saw, which is how the lab
 * proves both directions of the NAT (a forwarded client keeps its address; a masqueraded one arrives as the
 * gateway). The listening socket is created inside the namespace, and keeps it; its threads run anywhere.
 */
public final class EchoHttpService implements AutoCloseable {
    private final HttpServer server;
    private final ExecutorService threads;

    private EchoHttpService(HttpServer server, ExecutorService threads) {
        this.server = server;
        this.threads = threads;
    }

    /** Starts the service on {@code ip:port} inside {@code ns}. */
    public static EchoHttpService start(NetNs ns, String name, String ip, int port) throws Exception {
        HttpServer server = ns.call(() -> HttpServer.create(new InetSocketAddress(ip, port), 128));
        server.createContext("/", exchange -> {
            InetSocketAddress peer = exchange.getRemoteAddress();
            byte[] body = ("hello from " + name + "\nyou are " + peer.getAddress().getHostAddress() + ":"
                + peer.getPort() + "\n").getBytes(StandardCharsets.US_ASCII);
            exchange.getResponseHeaders().set("Content-Type", "text/plain");
            exchange.sendResponseHeaders(200, body.length);
            try (OutputStream out = exchange.getResponseBody()) {
                out.write(body);
            } catch (IOException ignored) {
                // the client went away: nothing to do
            }
        });
        ExecutorService threads = Executors.newFixedThreadPool(4, r -> {
            Thread t = new Thread(r, "nsgate-lab-http-" + name);
            t.setDaemon(true);
            return t;
        });
        server.setExecutor(threads);
        server.start();
        return new EchoHttpService(server, threads);
    }

    @Override
    public void close() {
        server.stop(0);
        threads.shutdownNow();
    }
}
