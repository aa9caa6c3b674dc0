// The metrics endpoint keeps answering scrapes while other clients send half a request and fall silent.
package io.nsgate.control.metrics;

import static java.nio.charset.StandardCharsets.US_ASCII;
import static org.junit.jupiter.api.Assertions.*;

import java.io.IOException;
import java.net.InetAddress;
import java.net.Socket;
import java.net.SocketException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

import org.junit.jupiter.api.Test;

class MetricsServerTest {
    /** Only keeps a broken server from hanging the build; a working one answers long before. */
    private static final int HANG_GUARD_MS = 30_000;

    private static Socket connect(MetricsServer m) throws IOException {
        Socket s = new Socket(InetAddress.getLoopbackAddress(), m.port());
        s.setSoTimeout(HANG_GUARD_MS);
        return s;
    }

    private static String scrape(MetricsServer m) throws IOException {
        try (Socket s = connect(m)) {
            s.getOutputStream().write("GET /metrics HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n"
                .getBytes(US_ASCII));
            return new String(s.getInputStream().readAllBytes(), US_ASCII);
        }
    }

    /** A client that sends the start of a request line, no CRLF, and then nothing. */
    private static Socket silentAfterHalfARequest(MetricsServer m) throws IOException {
        Socket s = connect(m);
        s.getOutputStream().write("GET".getBytes(US_ASCII));
        s.getOutputStream().flush();
        return s;
    }

    private static boolean closedByTheServer(Socket s) throws IOException {
        try {
            return s.getInputStream().read() == -1;
        } catch (SocketException e) {
            // closed with our half request still unread by the server: the kernel resets instead of a FIN
            return String.valueOf(e.getMessage()).contains("Connection reset");
        }
    }

    @Test
    void aScrapeIsAnsweredWhileAnotherClientSitsOnHalfARequest() throws Exception {
        try (MetricsServer m = MetricsServer.start(0, () -> "nsgate_up 1\n");
             Socket silent = silentAfterHalfARequest(m)) {
            Thread.sleep(200); // let the server take up the silent connection first
            String reply = scrape(m);
            assertTrue(reply.startsWith("HTTP/1.1 200 "), reply);
            assertTrue(reply.endsWith("\r\n\r\nnsgate_up 1\n"), reply);
        }
    }

    @Test
    void clientsThatStaySilentMidRequestAreCutOffAfterTheDeadlineAndScrapesGoOn() throws Exception {
        try (MetricsServer m = MetricsServer.start(0, () -> "nsgate_up 1\n", Duration.ofMillis(300))) {
            List<Socket> silent = new ArrayList<>();
            try {
                for (int i = 0; i < MetricsServer.THREADS + 2; i++) {
                    silent.add(silentAfterHalfARequest(m)); // more than the server has threads
                }
                Thread.sleep(200); // let the server take them up before the scrape
                assertTrue(scrape(m).startsWith("HTTP/1.1 200 "));
                for (Socket s : silent) {
                    assertTrue(closedByTheServer(s), "the server closed the silent connection");
                }
            } finally {
                for (Socket s : silent) {
                    s.close();
                }
            }
        }
    }
}
