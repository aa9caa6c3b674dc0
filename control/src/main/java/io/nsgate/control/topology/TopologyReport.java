// What an apply, show or destroy did (or, for show, would do): change lines and notes about things left alone.
package io.nsgate.control.topology;

import java.util.List;
import java.util.stream.Collectors;

/**
 * {@link #changes()} are the + ~ - lines, in the order they were (or would be) carried out; {@link #notes()} the
 * ! lines (things that exist but are not nsgate's and were left alone). {@link #render()} prints them one per
 * line, or {@code no changes} when there is nothing to do.
 */
public record TopologyReport(String topology, String prefix, List<Change> changes, List<Change> notes) {

    public TopologyReport {
        changes = List.copyOf(changes);
        notes = List.copyOf(notes);
    }

    /** Whether anything was (or would be) changed. */
    public boolean changed() {
        return !changes.isEmpty();
    }

    /** The lines, notes last; "no changes" when there are no changes. */
    public String render() {
        String body = changes.isEmpty() ? "no changes"
            : changes.stream().map(Change::toString).collect(Collectors.joining("\n"));
        if (!notes.isEmpty()) {
            body += "\n" + notes.stream().map(Change::toString).collect(Collectors.joining("\n"));
        }
        return body;
    }

    /**
     * As JSON (what {@code nsgate topology --json} prints and the control socket's topology operations answer):
     * {@code {"topology":..., "prefix":..., "changed":true, "changes":["+ netns ..."], "notes":[...]}}.
     */
    public com.fasterxml.jackson.databind.node.ObjectNode toJson() {
        com.fasterxml.jackson.databind.node.ObjectNode n =
            com.fasterxml.jackson.databind.node.JsonNodeFactory.instance.objectNode();
        n.put("topology", topology);
        n.put("prefix", prefix);
        n.put("changed", changed());
        com.fasterxml.jackson.databind.node.ArrayNode changeLines = n.putArray("changes");
        changes.forEach(c -> changeLines.add(c.toString()));
        com.fasterxml.jackson.databind.node.ArrayNode noteLines = n.putArray("notes");
        notes.forEach(c -> noteLines.add(c.toString()));
        return n;
    }

    /** The change lines as strings (handy in tests). */
    public List<String> lines() {
        return changes.stream().map(Change::toString).toList();
    }

    @Override
    public String toString() {
        return render();
    }
}
