// The control socket's wire format: newline-delimited JSON requests and replies, version 1 (see the README, "The protocol").
package io.nsgate.control.api;

import java.util.List;

import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.MapperFeature;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.cfg.CoercionAction;
import com.fasterxml.jackson.databind.cfg.CoercionInputShape;
import com.fasterxml.jackson.databind.json.JsonMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.fasterxml.jackson.databind.type.LogicalType;

/**
 * One JSON object per line, both ways.
 * <pre>
 * request   {"v":1,"id":"7","op":"forward.add","args":{"spec":"tcp:8080=192.168.15.2:80"}}
 * reply     {"v":1,"id":"7","ok":true,"result":{...}}
 * error     {"v":1,"id":"7","ok":false,"error":{"code":"bad_request","message":"...","details":[...]}}
 * stream    {"v":1,"id":"7","item":{...}}   (any number)   then   {"v":1,"id":"7","ok":true,"done":true,"count":N}
 * </pre>
 * {@code id} is the client's (a string or an integer), echoed in every line about that request ({@code null} when
 * the request had none or was unreadable). Requests on one connection are answered in order.
 */
public final class Protocol {
    /** The protocol version this daemon speaks. */
    public static final int VERSION = 1;
    /** Where {@code nsgate run} listens and {@code nsgate ctl} connects unless told otherwise. */
    public static final String DEFAULT_SOCKET = "/run/nsgate/nsgate.sock";
    /** Longest request line accepted, newline excluded: 64 KiB (an inline topology file fits easily). */
    public static final int MAX_REQUEST_BYTES = 64 * 1024;

    /**
     * Strict JSON: duplicate keys, trailing tokens and unknown fields refused; no silent coercion ("80" is not a
     * port number, 80 is not a name).
     */
    public static final ObjectMapper JSON = strictMapper();

    private Protocol() {
    }

    @SuppressWarnings("deprecation")
    private static ObjectMapper strictMapper() {
        JsonMapper m = JsonMapper.builder()
            .enable(JsonParser.Feature.STRICT_DUPLICATE_DETECTION)
            .enable(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES)
            .enable(DeserializationFeature.FAIL_ON_TRAILING_TOKENS)
            .enable(DeserializationFeature.FAIL_ON_NULL_FOR_PRIMITIVES)
            .disable(MapperFeature.ALLOW_COERCION_OF_SCALARS)
            .disable(SerializationFeature.FAIL_ON_EMPTY_BEANS)
            .build();
        for (LogicalType t : new LogicalType[] {LogicalType.Integer, LogicalType.Float, LogicalType.Boolean,
            LogicalType.Textual}) {
            m.coercionConfigFor(t)
                .setCoercion(CoercionInputShape.String, t == LogicalType.Textual ? CoercionAction.TryConvert
                    : CoercionAction.Fail)
                .setCoercion(CoercionInputShape.Integer, t == LogicalType.Integer ? CoercionAction.TryConvert
                    : CoercionAction.Fail)
                .setCoercion(CoercionInputShape.Float, t == LogicalType.Float ? CoercionAction.TryConvert
                    : CoercionAction.Fail)
                .setCoercion(CoercionInputShape.Boolean, t == LogicalType.Boolean ? CoercionAction.TryConvert
                    : CoercionAction.Fail)
                .setCoercion(CoercionInputShape.EmptyString, CoercionAction.Fail);
        }
        return m;
    }

    /** {@code {"v":1,"id":ID}}: the start of every line about a request. */
    public static ObjectNode envelope(JsonNode id) {
        ObjectNode n = JSON.createObjectNode();
        n.put("v", VERSION);
        n.set("id", id);
        return n;
    }

    /** A success reply. */
    public static ObjectNode ok(JsonNode id, Object result) {
        ObjectNode n = envelope(id);
        n.put("ok", true);
        n.set("result", JSON.valueToTree(result));
        return n;
    }

    /** An error reply. */
    public static ObjectNode error(JsonNode id, ErrorCode code, String message, List<String> details) {
        ObjectNode n = envelope(id);
        n.put("ok", false);
        ObjectNode e = n.putObject("error");
        e.put("code", code.wire());
        e.put("message", message);
        if (!details.isEmpty()) {
            details.forEach(e.putArray("details")::add);
        }
        return n;
    }

    public static ObjectNode error(JsonNode id, ControlException e) {
        return error(id, e.code(), e.getMessage(), e.details());
    }

    /** The last line of a stream. */
    public static ObjectNode done(JsonNode id, long count) {
        ObjectNode n = envelope(id);
        n.put("ok", true);
        n.put("done", true);
        n.put("count", count);
        return n;
    }

    /** A line: compact JSON and a newline. */
    public static byte[] line(JsonNode node) {
        try {
            byte[] json = JSON.writeValueAsBytes(node);
            byte[] line = new byte[json.length + 1];
            System.arraycopy(json, 0, line, 0, json.length);
            line[json.length] = '\n';
            return line;
        } catch (JsonProcessingException e) {
            throw new IllegalStateException("cannot write a reply: " + e, e);
        }
    }
}
