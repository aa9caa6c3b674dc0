// Strict YAML reading of topology files (Jackson), turning parse errors into messages that name the field path.
package io.nsgate.control.topology;

import java.util.List;

import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonMappingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.exc.InvalidFormatException;
import com.fasterxml.jackson.databind.exc.MismatchedInputException;
import com.fasterxml.jackson.databind.exc.UnrecognizedPropertyException;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import com.fasterxml.jackson.dataformat.yaml.YAMLGenerator;

/** Package-private: {@link Topology#parse} is the entry point. */
final class TopologyParser {
    private static final ObjectMapper YAML = new ObjectMapper(YAMLFactory.builder()
        .disable(YAMLGenerator.Feature.WRITE_DOC_START_MARKER)
        .enable(YAMLGenerator.Feature.MINIMIZE_QUOTES)
        .build())
        .enable(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES)
        .enable(DeserializationFeature.FAIL_ON_NULL_FOR_PRIMITIVES)
        .enable(DeserializationFeature.FAIL_ON_READING_DUP_TREE_KEY)
        .enable(DeserializationFeature.FAIL_ON_TRAILING_TOKENS)
        .enable(JsonParser.Feature.STRICT_DUPLICATE_DETECTION)
        .setDefaultPropertyInclusion(com.fasterxml.jackson.annotation.JsonInclude.Value.construct(
            com.fasterxml.jackson.annotation.JsonInclude.Include.NON_EMPTY,
            com.fasterxml.jackson.annotation.JsonInclude.Include.NON_EMPTY));

    private TopologyParser() {
    }

    static Topology parse(String yaml, String source) {
        try {
            Topology t = YAML.readValue(yaml, Topology.class);
            if (t == null) {
                throw new TopologyException(List.of(source + ": empty topology file"));
            }
            return t;
        } catch (UnrecognizedPropertyException e) {
            String path = path(e, 1);
            throw new TopologyException(List.of(source + ": " + path + ": unknown field \"" + e.getPropertyName()
                + "\" (valid: " + known(e) + ")"));
        } catch (InvalidFormatException e) {
            throw new TopologyException(List.of(source + ": " + path(e) + " \"" + e.getValue() + "\": expected "
                + typeName(e.getTargetType())));
        } catch (MismatchedInputException e) {
            if (e.getOriginalMessage() != null && e.getOriginalMessage().startsWith("No content to map")) {
                throw new TopologyException(List.of(source + ": empty topology file"));
            }
            throw new TopologyException(List.of(source + ": " + path(e) + ": expected "
                + typeName(e.getTargetType()) + location(e)));
        } catch (JsonMappingException e) {
            throw new TopologyException(List.of(source + ": " + path(e) + ": " + e.getOriginalMessage() + location(e)));
        } catch (JsonProcessingException e) {
            throw new TopologyException(List.of(source + ": not valid YAML: " + e.getOriginalMessage() + location(e)));
        }
    }

    static String toYaml(Topology t) {
        try {
            return YAML.writeValueAsString(t);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException(e);
        }
    }

    /** "veths[1].b.name" from Jackson's reference chain. */
    static String path(JsonMappingException e) {
        return path(e, 0);
    }

    /** The path without its last {@code dropLast} elements (an unknown field's own name is reported apart). */
    static String path(JsonMappingException e, int dropLast) {
        StringBuilder b = new StringBuilder();
        List<JsonMappingException.Reference> refs = e.getPath();
        for (JsonMappingException.Reference r : refs.subList(0, Math.max(0, refs.size() - dropLast))) {
            if (r.getIndex() >= 0) {
                b.append('[').append(r.getIndex()).append(']');
            } else if (r.getFieldName() != null) {
                if (b.length() > 0) {
                    b.append('.');
                }
                b.append(r.getFieldName());
            }
        }
        return b.length() == 0 ? "(top level)" : b.toString();
    }

    private static String known(UnrecognizedPropertyException e) {
        if (e.getKnownPropertyIds() == null) {
            return "?";
        }
        return String.join(", ", e.getKnownPropertyIds().stream().map(Object::toString)
            .filter(s -> !s.equals("ownerMark")).sorted().toList());
    }

    private static String location(JsonProcessingException e) {
        return e.getLocation() == null ? "" : " (line " + e.getLocation().getLineNr() + ")";
    }

    private static String typeName(Class<?> type) {
        if (type == null) {
            return "another value";
        }
        if (type == Integer.class || type == int.class) {
            return "a whole number";
        }
        if (type == String.class) {
            return "a text value";
        }
        if (List.class.isAssignableFrom(type)) {
            return "a list";
        }
        if (java.util.Map.class.isAssignableFrom(type)) {
            return "a mapping (key: value)";
        }
        return "a mapping with fields (" + type.getSimpleName().toLowerCase(java.util.Locale.ROOT) + ")";
    }
}
