// The one-line JSON error object the command line's --json modes print on standard error.
package io.nsgate.control.cli;

import java.io.PrintWriter;
import java.util.List;

import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;

/** {@code {"error":{"code":...,"message":...,"details":[...]}}}: the control socket's error object, without its envelope. */
final class JsonLines {
    private JsonLines() {
    }

    static ObjectNode object() {
        return JsonNodeFactory.instance.objectNode();
    }

    /** Prints the error on one line of {@code err}; returns {@code exit}. */
    static int error(PrintWriter err, String code, String message, List<String> details, int exit) {
        ObjectNode n = object();
        ObjectNode e = n.putObject("error");
        e.put("code", code);
        e.put("message", message);
        details.forEach(d -> e.withArray("details").add(d));
        err.println(n);
        err.flush();
        return exit;
    }
}
