// One request on a kept-alive HTTP connection: what a connection that must outlive a restart is asked.
package io.nsgate.control.testsupport;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/** GET / on an open socket, HTTP/1.1 keep-alive (the restart test and {@code bench/run restart}). */
public final class KeepAliveHttp {
    private static final Pattern LENGTH = Pattern.compile("(?i)content-length: *([0-9]+)");

    private KeepAliveHttp() {
    }

    /** Sends one request for {@code host} on {@code s} and returns the body; the connection stays open. */
    public static String get(Socket s, String host) throws IOException {
        OutputStream out = s.getOutputStream();
        out.write(("GET / HTTP/1.1\r\nHost: " + host + "\r\n\r\n").getBytes(StandardCharsets.US_ASCII));
        out.flush();
        InputStream in = s.getInputStream();
        ByteArrayOutputStream head = new ByteArrayOutputStream();
        while (!head.toString(StandardCharsets.US_ASCII).endsWith("\r\n\r\n")) {
            int b = in.read();
            if (b < 0) {
                throw new IOException("connection closed after " + head.toString(StandardCharsets.US_ASCII));
            }
            head.write(b);
        }
        Matcher length = LENGTH.matcher(head.toString(StandardCharsets.US_ASCII));
        if (!length.find()) {
            throw new IOException("no Content-Length in " + head.toString(StandardCharsets.US_ASCII));
        }
        return new String(in.readNBytes(Integer.parseInt(length.group(1))), StandardCharsets.US_ASCII);
    }
}
