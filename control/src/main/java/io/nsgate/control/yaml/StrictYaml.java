// Strict YAML (and JSON) reading with Jackson: unknown fields, duplicates and type errors refused, naming the path.
package io.nsgate.control.yaml;

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
import java.util.Locale;

/**
 * The one place configuration files are read: topology files, the gateway's configuration, and (later) the
 * control socket's JSON. Anything unexpected is refused with the path of the offending field
 * ({@code veths[1].b.name}) and what would have been valid, so a file is accepted whole or not at all.
 */
public final class StrictYaml {
    /** A file refused, with a message that names the source, the field path and the problem. */
    public static final class Rejected extends RuntimeException {
        private static final long serialVersionUID = 1L;

        public Rejected(String message) {
            super(message);
        }
    }

    public static final ObjectMapper MAPPER = new ObjectMapper(YAMLFactory.builder()
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

    private StrictYaml() {
    }

    /**
     * Reads {@code text} (YAML, of which JSON is a subset) as a {@code type}.
     *
     * @param source       names the file in messages
     * @param hiddenFields properties not to list among the valid ones in an unknown-field message
     * @throws Rejected naming the source, the field path and the problem
     */
    public static <T> T read(String text, Class<T> type, String source, String... hiddenFields) {
        try {
            T value = MAPPER.readValue(text, type);
            if (value == null) {
                throw new Rejected(source + ": empty file");
            }
            return value;
        } catch (UnrecognizedPropertyException e) {
            String path = path(e, 1);
            throw new Rejected(source + ": " + path + ": unknown field \"" + e.getPropertyName()
                + "\" (valid: " + known(e, List.of(hiddenFields)) + ")");
        } catch (InvalidFormatException e) {
            throw new Rejected(source + ": " + path(e) + " \"" + e.getValue() + "\": expected "
                + typeName(e.getTargetType()));
        } catch (MismatchedInputException e) {
            if (e.getOriginalMessage() != null && e.getOriginalMessage().startsWith("No content to map")) {
                throw new Rejected(source + ": empty file");
            }
            throw new Rejected(source + ": " + path(e) + ": expected " + typeName(e.getTargetType()) + location(e));
        } catch (JsonMappingException e) {
            throw new Rejected(source + ": " + path(e) + ": " + e.getOriginalMessage() + location(e));
        } catch (JsonProcessingException e) {
            throw new Rejected(source + ": not valid YAML: " + e.getOriginalMessage() + location(e));
        }
    }

    /** Writes {@code value} as YAML. */
    public static String write(Object value) {
        try {
            return MAPPER.writeValueAsString(value);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException(e);
        }
    }

    /** "veths[1].b.name" from Jackson's reference chain. */
    public static String path(JsonMappingException e) {
        return path(e, 0);
    }

    /** The path without its last {@code dropLast} elements (an unknown field's own name is reported apart). */
    public static String path(JsonMappingException e, int dropLast) {
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

    private static String known(UnrecognizedPropertyException e, List<String> hidden) {
        if (e.getKnownPropertyIds() == null) {
            return "?";
        }
        return String.join(", ", e.getKnownPropertyIds().stream().map(Object::toString)
            .filter(s -> !hidden.contains(s)).sorted().toList());
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
        return "a mapping with fields (" + type.getSimpleName().toLowerCase(Locale.ROOT) + ")";
    }
}
