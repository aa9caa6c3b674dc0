// One HTTP GET made from inside a namespace, over a plain socket created there.
package io.nsgate.control.lab;

import java.io.ByteArrayOutputStream;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;

import io.nsgate.control.netns.NetNs;

/** The lab's client side: sockets keep the namespace they are created in, so the whole exchange runs in it. */
public final class HttpProbe {
    private HttpProbe() {
    }

    /** A response: status code and body. */
    public record Response(int status, String body) {
    }

    /**
     * GET http://ip:port/ from inside {@code ns}.
     *
     * @throws Exception when the connection fails or times out (the message says which)
     */
    public static Response get(NetNs ns, String ip, int port, int timeoutMs) throws Exception {
        return ns.call(() -> {
            try (Socket s = new Socket()) {
                s.connect(new InetSocketAddress(ip, port), timeoutMs);
                s.setSoTimeout(timeoutMs);
                OutputStream out = s.getOutputStream();
                out.write(("GET / HTTP/1.1\r\nHost: " + ip + "\r\nConnection: close\r\n\r\n")
                    .getBytes(StandardCharsets.US_ASCII));
                out.flush();
                InputStream in = s.getInputStream();
                ByteArrayOutputStream all = new ByteArrayOutputStream();
                in.transferTo(all);
                String text = all.toString(StandardCharsets.US_ASCII);
                int headerEnd = text.indexOf("\r\n\r\n");
                if (!text.startsWith("HTTP/1.") || headerEnd < 0) {
                    throw new IllegalStateException("not an HTTP response from " + ip + ":" + port + ": " + text);
                }
                int status = Integer.parseInt(text.substring(9, 12));
                return new Response(status, text.substring(headerEnd + 4));
            }
        });
    }
}
