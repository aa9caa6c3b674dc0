// One parsed request line: its id, operation and arguments, or the reason it is not a valid request.
package io.nsgate.control.api;

import java.io.IOException;
import java.util.Collection;
import java.util.Iterator;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;

import com.fasterxml.jackson.core.JsonLocation;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.exc.StreamConstraintsException;
import com.fasterxml.jackson.databind.JsonMappingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.exc.InvalidFormatException;
import com.fasterxml.jackson.databind.exc.MismatchedInputException;
import com.fasterxml.jackson.databind.exc.UnrecognizedPropertyException;
import com.fasterxml.jackson.databind.node.NullNode;
import com.fasterxml.jackson.databind.node.ObjectNode;

/**
 * {@link #parse} never throws: a line that is not a valid request gives a Request whose {@link #problem()} says why,
 * with the id when it could be read, so the error reply still names the request.
 */
public final class Request {
    private static final Set<String> FIELDS = Set.of("v", "id", "op", "args");

    private final JsonNode id;
    private final String op;
    private final ObjectNode args;
    private final ControlException problem;

    private Request(JsonNode id, String op, ObjectNode args, ControlException problem) {
        this.id = id;
        this.op = op;
        this.args = args;
        this.problem = problem;
    }

    /** A request built in process (the client, tests). */
    public static Request of(JsonNode id, String op, ObjectNode args) {
        return new Request(id, op, args == null ? Protocol.JSON.createObjectNode() : args, null);
    }

    /** Parses one line (without its newline). */
    public static Request parse(byte[] line) {
        JsonNode node;
        try {
            node = Protocol.JSON.readTree(line);
        } catch (StreamConstraintsException e) {
            // valid JSON perhaps, but deeper or longer than the parser's limits (nesting 1000, numbers 1000 digits)
            return invalid(NullNode.instance, ErrorCode.BAD_JSON, "JSON beyond the limits this daemon reads: "
                + e.getOriginalMessage());
        } catch (JsonProcessingException e) {
            // some of Jackson's exceptions carry no location: the reply must not depend on one
            JsonLocation at = e.getLocation();
            return invalid(NullNode.instance, ErrorCode.BAD_JSON, "not JSON: " + e.getOriginalMessage()
                + (at == null ? "" : " (line 1, column " + at.getColumnNr() + ")"));
        } catch (IOException | RuntimeException e) {
            // parse runs on the connection's event loop: anything escaping would reset the connection unanswered
            return invalid(NullNode.instance, ErrorCode.BAD_JSON, "not JSON: " + e.getMessage());
        }
        try {
            return validate(node);
        } catch (RuntimeException e) {
            return invalid(NullNode.instance, ErrorCode.BAD_REQUEST, "unreadable request: " + e);
        }
    }

    private static Request validate(JsonNode node) {
        if (node == null || node.isMissingNode()) {
            return invalid(NullNode.instance, ErrorCode.BAD_JSON, "not JSON: empty line");
        }
        if (!node.isObject()) {
            return invalid(NullNode.instance, ErrorCode.BAD_REQUEST, "a request is a JSON object like "
                + "{\"v\":1,\"id\":\"1\",\"op\":\"status\"}, not " + kind(node));
        }
        JsonNode id = node.get("id");
        if (id == null || id.isNull()) {
            id = NullNode.instance;
        } else if (!id.isTextual() && !(id.isIntegralNumber() && id.canConvertToLong())) {
            // a number with a fraction converts to a long too (1.5 -> 1): only integers are ids
            return invalid(NullNode.instance, ErrorCode.BAD_REQUEST, "id: expected a string or an integer, got "
                + (id.isNumber() ? id.asText() : kind(id)));
        }
        for (Iterator<String> names = node.fieldNames(); names.hasNext(); ) {
            String name = names.next();
            if (!FIELDS.contains(name)) {
                return invalid(id, ErrorCode.BAD_REQUEST, "unknown field \"" + name + "\" (valid: v, id, op, args)");
            }
        }
        JsonNode v = node.get("v");
        if (v == null) {
            return invalid(id, ErrorCode.BAD_REQUEST, "v: missing (the protocol version, " + Protocol.VERSION + ")");
        }
        if (!v.isIntegralNumber()) {
            return invalid(id, ErrorCode.BAD_REQUEST, "v: expected an integer, got " + kind(v));
        }
        if (!v.canConvertToLong() || v.asLong() != Protocol.VERSION) { // asLong() wraps a bigger number
            return invalid(id, ErrorCode.UNSUPPORTED_VERSION, "v " + v.asText() + ": this daemon speaks version "
                + Protocol.VERSION);
        }
        JsonNode op = node.get("op");
        if (op == null || op.isNull()) {
            return invalid(id, ErrorCode.BAD_REQUEST, "op: missing (e.g. \"status\")");
        }
        if (!op.isTextual()) {
            return invalid(id, ErrorCode.BAD_REQUEST, "op: expected a string, got " + kind(op));
        }
        JsonNode args = node.get("args");
        if (args == null || args.isNull()) {
            args = Protocol.JSON.createObjectNode();
        } else if (!args.isObject()) {
            return invalid(id, ErrorCode.BAD_REQUEST, "args: expected an object, got " + kind(args));
        }
        return new Request(id, op.asText(), (ObjectNode) args, null);
    }

    private static Request invalid(JsonNode id, ErrorCode code, String message) {
        return new Request(id, null, null, new ControlException(code, message));
    }

    public JsonNode id() {
        return id;
    }

    public String op() {
        return op;
    }

    public ObjectNode args() {
        return args;
    }

    /** Why this line is not a valid request, or null. */
    public ControlException problem() {
        return problem;
    }

    /**
     * The arguments as a {@code type}, strictly: unknown fields and wrongly typed values are refused with the path
     * of the field ({@code args.filter.dport: expected an integer, got "http"}).
     */
    public <T> T args(Class<T> type) {
        try {
            return Protocol.JSON.treeToValue(args, type);
        } catch (UnrecognizedPropertyException e) {
            throw ControlException.badRequest(path(e, 1) + ": unknown field \"" + e.getPropertyName() + "\" (valid: "
                + known(e.getKnownPropertyIds()) + ")");
        } catch (InvalidFormatException e) {
            throw ControlException.badRequest(path(e, 0) + ": expected " + typeName(e.getTargetType()) + ", got "
                + describe(e.getValue()));
        } catch (MismatchedInputException e) {
            throw ControlException.badRequest(path(e, 0) + ": expected " + typeName(e.getTargetType())
                + gotFrom(e));
        } catch (JsonMappingException e) {
            throw ControlException.badRequest(path(e, 0) + ": " + e.getOriginalMessage());
        } catch (JsonProcessingException e) {
            throw ControlException.badRequest("args: " + e.getOriginalMessage());
        }
    }

    private String gotFrom(MismatchedInputException e) {
        JsonNode at = args;
        for (JsonMappingException.Reference r : e.getPath()) {
            if (at == null) {
                break;
            }
            at = r.getFieldName() != null ? at.get(r.getFieldName()) : at.get(r.getIndex());
        }
        return at == null ? "" : ", got " + kind(at) + (at.isValueNode() ? " " + at : "");
    }

    private static String path(JsonMappingException e, int dropLast) {
        StringBuilder b = new StringBuilder("args");
        List<JsonMappingException.Reference> refs = e.getPath();
        for (int i = 0; i < refs.size() - dropLast; i++) {
            JsonMappingException.Reference r = refs.get(i);
            if (r.getFieldName() != null) {
                b.append('.').append(r.getFieldName());
            } else {
                b.append('[').append(r.getIndex()).append(']');
            }
        }
        return b.toString();
    }

    private static String known(Collection<Object> ids) {
        Set<String> names = new TreeSet<>();
        ids.forEach(o -> names.add(String.valueOf(o)));
        return names.isEmpty() ? "none: this operation takes no arguments" : String.join(", ", names);
    }

    private static String typeName(Class<?> type) {
        if (type == null) {
            return "a value";
        }
        if (type == Integer.class || type == int.class || type == Long.class || type == long.class) {
            return "an integer";
        }
        if (type == Boolean.class || type == boolean.class) {
            return "true or false";
        }
        if (type == String.class) {
            return "a string";
        }
        if (List.class.isAssignableFrom(type)) {
            return "a list";
        }
        return "an object";
    }

    private static String describe(Object value) {
        return value instanceof String ? "\"" + value + "\"" : String.valueOf(value);
    }

    static String kind(JsonNode n) {
        if (n.isTextual()) {
            return "a string";
        }
        if (n.isNumber()) {
            return "a number";
        }
        if (n.isBoolean()) {
            return "a boolean";
        }
        if (n.isArray()) {
            return "an array";
        }
        if (n.isObject()) {
            return "an object";
        }
        return "null";
    }
}
