// The control socket's operations by name, each declaring where it runs; the operation groups register them.
package io.nsgate.control.api.ops;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.IntSupplier;

import io.netty.buffer.ByteBuf;
import io.nsgate.control.api.ControlException;
import io.nsgate.control.api.ErrorCode;
import io.nsgate.control.api.Request;

/**
 * The operations, by name. Each declares how it runs:
 * <ul>
 *   <li>{@link Kind#INLINE}: cheap reads (status, stats, lists, config.show) answered on the connection's event loop
 *       thread at once, so they stay fast even while other clients list a million flows;</li>
 *   <li>{@link Kind#BLOCKING}: changes and scans (rules wait for every worker to take the new rule set through its
 *       command queue; topology talks to the kernel; flows.count/flush scan the table) on a control-plane thread;</li>
 *   <li>{@link Kind#STREAM}: flows.list, on a control-plane thread, one item line per flow, paced by the client.</li>
 * </ul>
 * Validation comes first and is complete: a request is refused whole (nothing applied) or carried out.
 */
public final class Operations {
    /** Where an operation runs. */
    public enum Kind { INLINE, BLOCKING, STREAM }

    /** An operation answering with one result object. */
    @FunctionalInterface
    public interface Handler {
        Object handle(Request request, Peer peer);
    }

    /** An operation answering with a stream of items; returns the number of items sent. */
    @FunctionalInterface
    public interface StreamHandler {
        long stream(Request request, Peer peer, ItemSink sink);
    }

    /**
     * Where a streaming operation writes its items: {@link #begin()} gives the buffer to write one item's JSON
     * object into, {@link #end()} finishes the line and paces the producer (it blocks while the client reads
     * slowly) and answers false once the client is gone: stop then.
     */
    public interface ItemSink {
        ByteBuf begin();

        boolean end();
    }

    /** An operation's name, kind, one-line summary and handler. */
    public record Op(String name, Kind kind, String summary, Handler handler, StreamHandler streamHandler) {
    }

    /** Operations without arguments (unknown fields are refused, as for every argument form). */
    public static final class NoArgs {
    }

    private final Map<String, Op> ops = new LinkedHashMap<>();
    private final Object changes = new Object();

    /**
     * @param connections how many control connections are open (for status)
     */
    public Operations(ControlTarget target, IntSupplier connections) {
        new StatusOps(target, connections).register(this);
        new FlowOps(target).register(this);
        new RuleOps(target).register(this);
        new ConfigOps(target).register(this);
        new TopologyOps().register(this);
    }

    void inline(String name, String summary, Handler h) {
        ops.put(name, new Op(name, Kind.INLINE, summary, h, null));
    }

    void blocking(String name, String summary, Handler h) {
        ops.put(name, new Op(name, Kind.BLOCKING, summary, h, null));
    }

    /**
     * A change of the rules or the configuration file: changes run one at a time, so that a check and the change it
     * guards (a masquerade that must not exist yet) cannot interleave with another client's.
     */
    void change(String name, String summary, Handler h) {
        blocking(name, summary, (r, p) -> {
            synchronized (changes) {
                return h.handle(r, p);
            }
        });
    }

    void stream(String name, String summary, StreamHandler h) {
        ops.put(name, new Op(name, Kind.STREAM, summary, null, h));
    }

    /**
     * The operation a request names.
     *
     * @throws ControlException unknown_op, listing the operations there are
     */
    public Op op(String name) {
        Op op = ops.get(name);
        if (op == null) {
            throw new ControlException(ErrorCode.UNKNOWN_OP, "unknown op \"" + name + "\" (valid: "
                + String.join(", ", ops.keySet()) + ")");
        }
        return op;
    }

    public List<Op> all() {
        return List.copyOf(ops.values());
    }

    /** An argument that must be there: {@code args.FIELD: missing (e.g. "EXAMPLE")} otherwise. */
    static String required(String value, String field, String example) {
        if (value == null || value.isBlank()) {
            throw ControlException.badRequest("args." + field + ": missing (e.g. \"" + example + "\")");
        }
        return value;
    }
}
