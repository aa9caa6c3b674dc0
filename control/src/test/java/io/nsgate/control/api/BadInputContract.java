// Bad input on the control socket, as one behaviour suite run against two daemons (in-memory and the real lab).
package io.nsgate.control.api;

import static java.nio.charset.StandardCharsets.UTF_8;
import static org.junit.jupiter.api.Assertions.*;

import java.nio.file.Path;
import java.time.Duration;
import java.util.Arrays;

import com.fasterxml.jackson.databind.JsonNode;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.io.TempDir;

import io.nsgate.control.api.client.ControlClient;
import io.nsgate.control.api.ops.ControlTarget;
import io.nsgate.control.api.server.ControlServer;

/**
 * Every case ends with the daemon still answering on a fresh connection and the rules exactly as before: an error
 * reply names the problem; nothing is half-applied. The suite serves a control socket (with a short partial-line
 * timeout) for the class; implementations give the gateway it serves and a way to fill its flow table.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
abstract class BadInputContract {
    /** The partial-line timeout the server uses. */
    static final Duration PARTIAL_LINE_TIMEOUT = Duration.ofMillis(800);

    @TempDir
    static Path dir; // static: JUnit fills instance @TempDir fields only before each test, after @BeforeAll
    private ControlServer server;
    private String rulesBefore;

    /** Starts the gateway the control socket serves (once for the class). */
    abstract ControlTarget startGateway() throws Exception;

    /** Stops what {@link #startGateway} started (also after it failed halfway). */
    abstract void stopGateway() throws Exception;

    /** Puts {@code n} synthetic flows in the table (removed again by flushing). */
    abstract void insertFlows(int n);

    @BeforeAll
    void serve() throws Exception {
        server = ControlServer.start(ControlServer.Settings.of(socket()).withPartialLineTimeout(PARTIAL_LINE_TIMEOUT),
            startGateway(), line -> { });
    }

    @AfterAll
    void stop() throws Exception {
        try {
            if (server != null) {
                server.close();
            }
        } finally {
            stopGateway();
        }
    }

    Path socket() {
        return dir.resolve("control.sock");
    }

    private ControlClient client() throws ControlClient.Unreachable {
        return ControlClient.connect(socket(), Duration.ofSeconds(20));
    }

    private String rules() throws Exception {
        try (ControlClient c = client()) {
            return c.call("forward.list", null).result().toString() + c.call("masquerade.list", null).result();
        }
    }

    @BeforeEach
    void rememberRules() throws Exception {
        rulesBefore = rules();
    }

    @AfterEach
    void daemonStillAnswersAndNothingWasHalfApplied() throws Exception {
        try (ControlClient c = client()) {
            ControlClient.Reply r = c.call("status", null);
            assertTrue(r.ok(), r.line().toString());
            assertEquals(0, r.result().path("worker_errors").asLong());
            c.call("flows.flush", Protocol.JSON.createObjectNode());
        }
        assertEquals(rulesBefore, rules(), "rules unchanged");
    }

    private static JsonNode send(ControlClient c, String raw) throws Exception {
        c.send(raw.getBytes(UTF_8));
        JsonNode reply = c.readReply();
        assertNotNull(reply, () -> "an answer to " + (raw.length() > 120 ? raw.substring(0, 120) + "..." : raw));
        return reply;
    }

    private static void assertError(JsonNode reply, String code, String messagePart) {
        assertFalse(reply.path("ok").asBoolean(), reply.toString());
        assertEquals(1, reply.path("v").asInt(), reply.toString());
        assertEquals(code, reply.path("error").path("code").asText(), reply.toString());
        assertTrue(reply.path("error").path("message").asText().contains(messagePart),
            "message names the problem (" + messagePart + "): " + reply);
    }

    private static void stillWorks(ControlClient c) throws Exception {
        ControlClient.Reply r = c.call("status", null);
        assertTrue(r.ok(), "the same connection keeps working: " + r.line());
    }

    @Test
    void malformedJsonIsBadJsonAndTheConnectionKeepsWorking() throws Exception {
        try (ControlClient c = client()) {
            assertError(send(c, "{\"v\":1,\"op\":\"status\"\n"), "bad_json", "not JSON");
            assertError(send(c, "hello\n"), "bad_json", "not JSON");
            assertError(send(c, "{\"v\":1,\"v\":1,\"op\":\"status\"}\n"), "bad_json", "Duplicate field 'v'");
            assertError(send(c, "{\"v\":1,\"op\":\"status\"} trailing\n"), "bad_json", "not JSON");
            stillWorks(c);
        }
    }

    @Test
    void aRequestThatIsNotAnObjectOrMissesFieldsIsNamed() throws Exception {
        try (ControlClient c = client()) {
            assertError(send(c, "[1,2]\n"), "bad_request", "a request is a JSON object");
            assertError(send(c, "{\"id\":\"a\",\"op\":\"status\"}\n"), "bad_request", "v: missing");
            assertError(send(c, "{\"v\":\"1\",\"op\":\"status\"}\n"), "bad_request", "v: expected an integer");
            assertError(send(c, "{\"v\":1,\"id\":\"b\"}\n"), "bad_request", "op: missing");
            assertError(send(c, "{\"v\":1,\"op\":7}\n"), "bad_request", "op: expected a string");
            assertError(send(c, "{\"v\":1,\"op\":\"status\",\"arg\":{}}\n"), "bad_request",
                "unknown field \"arg\" (valid: v, id, op, args)");
            assertError(send(c, "{\"v\":1,\"op\":\"status\",\"args\":[]}\n"), "bad_request",
                "args: expected an object");
            assertError(send(c, "{\"v\":1,\"id\":{\"x\":1},\"op\":\"status\"}\n"), "bad_request",
                "id: expected a string or an integer");
            stillWorks(c);
        }
    }

    @Test
    void errorsEchoTheRequestIdWhenItCouldBeRead() throws Exception {
        try (ControlClient c = client()) {
            JsonNode r = send(c, "{\"v\":1,\"id\":\"abc\",\"op\":\"no.such.op\"}\n");
            assertError(r, "unknown_op", "unknown op \"no.such.op\" (valid: status, stats,");
            assertEquals("abc", r.path("id").asText());
            JsonNode n = send(c, "{\"v\":1,\"id\":42,\"op\":\"status\",\"args\":{\"verbose\":true}}\n");
            assertEquals(42, n.path("id").asInt());
            assertError(n, "bad_request", "args: unknown field \"verbose\" (valid: none");
            assertTrue(send(c, "not json\n").path("id").isNull());
        }
    }

    @Test
    void anUnsupportedVersionIsRefusedNamingTheOneSpoken() throws Exception {
        try (ControlClient c = client()) {
            assertError(send(c, "{\"v\":2,\"id\":\"1\",\"op\":\"status\"}\n"), "unsupported_version",
                "v 2: this daemon speaks version 1");
            // 2^64 + 1: read as a long it would be 1, the version spoken
            assertError(send(c, "{\"v\":18446744073709551617,\"id\":\"1\",\"op\":\"status\"}\n"),
                "unsupported_version", "v 18446744073709551617: this daemon speaks version 1");
            stillWorks(c);
        }
    }

    @Test
    void jsonBeyondTheParsersLimitsIsRefusedAndTheConnectionKeepsWorking() throws Exception {
        try (ControlClient c = client()) {
            String deep = "{\"a\":".repeat(1000) + "{}" + "}".repeat(1000); // args nested 1001 deep
            JsonNode nested = send(c, "{\"v\":1,\"id\":\"n\",\"op\":\"status\",\"args\":" + deep + "}\n");
            assertError(nested, "bad_json", "JSON beyond the limits this daemon reads: Document nesting depth (1001)");
            JsonNode longId = send(c, "{\"v\":1,\"id\":" + "7".repeat(1500) + ",\"op\":\"status\"}\n");
            assertError(longId, "bad_json", "JSON beyond the limits this daemon reads: Number value length (1500)");
            stillWorks(c);
        }
    }

    @Test
    void anIdThatIsAFractionIsRefused() throws Exception {
        try (ControlClient c = client()) {
            assertError(send(c, "{\"v\":1,\"id\":1.5,\"op\":\"status\"}\n"), "bad_request",
                "id: expected a string or an integer, got 1.5");
            assertError(send(c, "{\"v\":1,\"id\":2.0,\"op\":\"status\"}\n"), "bad_request",
                "id: expected a string or an integer, got 2.0");
            stillWorks(c);
        }
    }

    @Test
    void invalidArgumentsAreRefusedWithTheirPathAndNothingIsApplied() throws Exception {
        try (ControlClient c = client()) {
            assertError(send(c, "{\"v\":1,\"op\":\"flows.list\",\"args\":{\"filtr\":{}}}\n"), "bad_request",
                "args: unknown field \"filtr\" (valid: filter, limit, mappings)");
            assertError(send(c, "{\"v\":1,\"op\":\"flows.list\",\"args\":{\"filter\":{\"dport\":\"80\"}}}\n"),
                "bad_request", "args.filter.dport: expected an integer");
            assertError(send(c, "{\"v\":1,\"op\":\"flows.count\",\"args\":{\"filter\":{\"dport\":70000}}}\n"),
                "bad_request", "args.filter.dport 70000: not a port 0..65535");
            assertError(send(c, "{\"v\":1,\"op\":\"flows.flush\",\"args\":{\"filter\":{\"proto\":\"sctp\","
                + "\"src\":\"10.0.0.300\"}}}\n"), "bad_request", "args.filter.proto \"sctp\": not tcp, udp, icmp or icmpv6");
            assertError(send(c, "{\"v\":1,\"op\":\"forward.add\",\"args\":{\"spec\":\"tcp:80=1.2.3.300:80\"}}\n"),
                "bad_request", "1.2.3.300 is not an IPv4 address");
            assertError(send(c, "{\"v\":1,\"op\":\"forward.add\",\"args\":{\"spec\":80}}\n"), "bad_request",
                "args.spec: expected a string");
            assertError(send(c, "{\"v\":1,\"op\":\"masquerade.add\",\"args\":{\"source\":\"10.0.0.0/40\"}}\n"),
                "bad_request", "prefix length 40 is not in 0..32");
            assertError(send(c, "{\"v\":1,\"op\":\"flows.list\",\"args\":{\"limit\":-1}}\n"), "bad_request",
                "args.limit -1");
            stillWorks(c);
        }
    }

    @Test
    void anOversizeRequestIsRefusedAtOnceAndTheConnectionIsUsableAfterItsNewline() throws Exception {
        try (ControlClient c = client()) {
            byte[] big = new byte[Protocol.MAX_REQUEST_BYTES + 4096];
            Arrays.fill(big, (byte) 'x');
            c.send(big); // no newline yet: the refusal must not wait for one
            assertError(c.readReply(), "too_large", "longer than 65536 bytes");
            c.send("xxxx\n".getBytes(UTF_8)); // the rest of the oversized line, discarded
            stillWorks(c);
            byte[] withNewline = Arrays.copyOf(big, big.length + 1);
            withNewline[big.length] = '\n';
            c.send(withNewline);
            assertError(c.readReply(), "too_large", "the rest of the line discarded");
            stillWorks(c);
        }
    }

    @Test
    void aRequestOfExactlyTheLimitIsStillRead() throws Exception {
        try (ControlClient c = client()) {
            String head = "{\"v\":1,\"id\":\"edge\",\"op\":\"status\"}";
            byte[] line = new byte[Protocol.MAX_REQUEST_BYTES + 1];
            Arrays.fill(line, (byte) ' ');
            System.arraycopy(head.getBytes(UTF_8), 0, line, 0, head.length());
            line[line.length - 1] = '\n';
            c.send(line);
            JsonNode r = c.readReply();
            assertTrue(r.path("ok").asBoolean(), r.toString());
            assertEquals("edge", r.path("id").asText());
        }
    }

    @Test
    void anOversizeLineThatNeverEndsIsClosedAfterThePartialLineTimeout() throws Exception {
        try (ControlClient c = client()) {
            byte[] big = new byte[Protocol.MAX_REQUEST_BYTES + 10];
            Arrays.fill(big, (byte) '{');
            c.send(big);
            assertError(c.readReply(), "too_large", "longer than");
            assertError(c.readReply(), "timeout", "an oversized request line without a newline");
            assertNull(c.readReply(), "then the daemon closes the connection");
        }
    }

    @Test
    void aPartialLineFollowedBySilenceIsClosedWithATimeoutError() throws Exception {
        try (ControlClient c = client()) {
            c.send("{\"v\":1,\"op\":\"sta".getBytes(UTF_8));
            long start = System.nanoTime();
            assertError(c.readReply(), "timeout", "incomplete request: 16 bytes of a request without a newline");
            assertTrue(System.nanoTime() - start >= PARTIAL_LINE_TIMEOUT.toNanos() / 2, "not before the timeout");
            assertNull(c.readReply(), "then the daemon closes the connection");
        }
    }

    @Test
    void anIdleConnectionWithoutAPartialLineStaysOpen() throws Exception {
        try (ControlClient c = client()) {
            Thread.sleep(PARTIAL_LINE_TIMEOUT.toMillis() * 2);
            stillWorks(c);
        }
    }

    @Test
    void aHalfClosedClientGetsItsAnswersThenTheConnectionCloses() throws Exception {
        try (ControlClient c = client()) {
            c.send("{\"v\":1,\"id\":1,\"op\":\"status\"}\n{\"v\":1,\"id\":2,\"op\":\"flows.count\"}".getBytes(UTF_8));
            c.shutdownOutput(); // the last request ends with end-of-input instead of a newline
            JsonNode first = c.readReply();
            JsonNode second = c.readReply();
            assertTrue(first.path("ok").asBoolean() && first.path("id").asInt() == 1, first.toString());
            assertTrue(second.path("ok").asBoolean() && second.path("id").asInt() == 2, second.toString());
            assertNull(c.readReply());
        }
        try (ControlClient c = client()) {
            c.send("{\"v\":1,\"id\":3,\"op\":\"sta".getBytes(UTF_8));
            c.shutdownOutput();
            assertError(c.readReply(), "bad_json", "not JSON");
            assertNull(c.readReply());
        }
    }

    @Test
    void manyBadLinesAtOnceGetOneErrorEachInOrder() throws Exception {
        try (ControlClient c = client()) {
            c.send(("{\"v\":1,\"id\":1,\"op\":\"x\"}\n\n   \r\n{oops}\r\n{\"v\":1,\"id\":3,\"op\":\"status\"}\r\n"
                + "{\"v\":9,\"id\":4,\"op\":\"status\"}\n").getBytes(UTF_8));
            assertError(c.readReply(), "unknown_op", "unknown op \"x\"");
            assertError(c.readReply(), "bad_json", "not JSON");
            JsonNode ok = c.readReply();
            assertTrue(ok.path("ok").asBoolean() && ok.path("id").asInt() == 3, "CRLF accepted: " + ok);
            assertError(c.readReply(), "unsupported_version", "v 9");
        }
    }

    @Test
    void aClientDisconnectingMidStreamLeavesTheDaemonServing() throws Exception {
        insertFlows(30_000);
        try (ControlClient c = client()) {
            c.send("{\"v\":1,\"id\":\"s\",\"op\":\"flows.list\"}\n".getBytes(UTF_8));
            for (int i = 0; i < 5; i++) {
                assertTrue(c.readReply().has("item"));
            }
        }
        try (ControlClient c = client()) {
            long[] items = {0};
            ControlClient.Reply done = c.stream("flows.list", null, item -> items[0]++);
            assertTrue(done.ok(), done.line().toString());
            assertTrue(items[0] >= 30_000, "a later listing is complete: " + items[0]);
        }
    }
}
