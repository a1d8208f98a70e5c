package dev.usher.session.spring;

import java.math.BigDecimal;
import java.math.BigInteger;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.UUID;
import java.util.function.Function;
import java.util.regex.Pattern;

/**
 * The string form of a Spring Session attribute value. A {@code String} is stored as it is, so that it reads
 * the same through Usher's own {@code Session.attribute(name)} and in redis-cli, psql or sqlite3; only a string
 * that itself starts with {@code ~} is escaped ({@code ~str:…}). Every other value is {@code ~tag:payload}:
 * a built-in tag for the scalar types, or the tag of the registered {@link AttributeCodec} that accepted it.
 *
 * <p>Immutable and thread-safe.
 */
final class AttributeEncoding {
    static final char MARK = '~';
    private static final Pattern TAG = Pattern.compile("[a-z0-9-]{1,32}");

    private record Scalar(String tag, Class<?> type, Function<String, Object> parse) {
    }

    private static final List<Scalar> SCALARS = List.of(
            new Scalar("str", String.class, s -> s),
            new Scalar("bool", Boolean.class, AttributeEncoding::parseBoolean),
            new Scalar("int", Integer.class, Integer::valueOf),
            new Scalar("long", Long.class, Long::valueOf),
            new Scalar("double", Double.class, Double::valueOf),
            new Scalar("float", Float.class, Float::valueOf),
            new Scalar("short", Short.class, Short::valueOf),
            new Scalar("byte", Byte.class, Byte::valueOf),
            new Scalar("char", Character.class, AttributeEncoding::parseChar),
            new Scalar("bigint", BigInteger.class, BigInteger::new),
            new Scalar("decimal", BigDecimal.class, BigDecimal::new),
            new Scalar("uuid", UUID.class, UUID::fromString),
            new Scalar("instant", Instant.class, Instant::parse));

    private static final Map<Class<?>, String> TAG_BY_TYPE;
    private static final Map<String, Scalar> SCALAR_BY_TAG;

    static {
        Map<Class<?>, String> byType = new java.util.HashMap<>();
        Map<String, Scalar> byTag = new java.util.HashMap<>();
        for (Scalar s : SCALARS) {
            byType.put(s.type(), s.tag());
            byTag.put(s.tag(), s);
        }
        TAG_BY_TYPE = Map.copyOf(byType);
        SCALAR_BY_TAG = Map.copyOf(byTag);
    }

    private final List<AttributeCodec> codecs;

    AttributeEncoding(List<AttributeCodec> codecs) {
        Set<String> tags = new HashSet<>(SCALAR_BY_TAG.keySet());
        for (AttributeCodec c : codecs) {
            String tag = Objects.requireNonNull(c.tag(), () -> "tag() of codec " + c);
            if (!TAG.matcher(tag).matches()) {
                throw new IllegalArgumentException("codec tag must be 1 to 32 characters of [a-z0-9-] but was \""
                        + tag + "\" (" + c + ")");
            }
            if (!tags.add(tag)) {
                throw new IllegalArgumentException("codec tag must be unique and not a built-in tag but \"" + tag
                        + "\" was already taken (" + c + ")");
            }
        }
        this.codecs = List.copyOf(codecs);
    }

    String encode(String name, Object value) {
        if (value instanceof String s) {
            return s.isEmpty() || s.charAt(0) != MARK ? s : MARK + "str:" + s;
        }
        String scalarTag = TAG_BY_TYPE.get(value.getClass());
        if (scalarTag != null) {
            return MARK + scalarTag + ":" + value;
        }
        for (AttributeCodec c : codecs) {
            if (c.accepts(value)) {
                String encoded;
                try {
                    encoded = c.encode(value);
                } catch (RuntimeException e) {
                    throw new AttributeEncodingException(name, "codec \"" + c.tag() + "\" failed to encode attribute '"
                            + name + "' (a " + value.getClass().getName() + "): " + e.getMessage(), e);
                }
                return MARK + c.tag() + ":" + Objects.requireNonNull(encoded, "codec returned null");
            }
        }
        throw new AttributeEncodingException(name, "attribute '" + name + "' holds a " + value.getClass().getName()
                + ", which no codec encodes: built in are String, Boolean, Integer, Long, Double, Float, Short, "
                + "Byte, Character, BigInteger, BigDecimal, UUID and Instant" + registered()
                + "; register an AttributeCodec for it (or opt in to AttributeCodec.javaSerialization)");
    }

    private String registered() {
        if (codecs.isEmpty()) {
            return "";
        }
        List<String> tags = new ArrayList<>();
        codecs.forEach(c -> tags.add(c.tag()));
        return ", registered are codecs " + tags;
    }

    Object decode(String name, String raw) {
        if (raw.isEmpty() || raw.charAt(0) != MARK) {
            return raw;
        }
        int colon = raw.indexOf(':');
        if (colon < 0) {
            throw new AttributeEncodingException(name, "attribute '" + name + "' starts with '~' but has no "
                    + "\"~tag:\" prefix; it was not written by UsherSessionRepository");
        }
        String tag = raw.substring(1, colon);
        String payload = raw.substring(colon + 1);
        Scalar scalar = SCALAR_BY_TAG.get(tag);
        try {
            if (scalar != null) {
                return scalar.parse().apply(payload);
            }
            for (AttributeCodec c : codecs) {
                if (c.tag().equals(tag)) {
                    return c.decode(payload);
                }
            }
        } catch (RuntimeException e) {
            throw new AttributeEncodingException(name, "attribute '" + name + "' could not be decoded by codec \""
                    + tag + "\": " + e.getMessage(), e);
        }
        throw new AttributeEncodingException(name, "attribute '" + name + "' was written by codec \"" + tag
                + "\", which this repository does not register" + registered());
    }

    private static Object parseBoolean(String s) {
        return switch (s) {
            case "true" -> Boolean.TRUE;
            case "false" -> Boolean.FALSE;
            default -> throw new IllegalArgumentException("not a boolean: " + s);
        };
    }

    private static Object parseChar(String s) {
        if (s.length() != 1) {
            throw new IllegalArgumentException("not one character: " + s.length() + " characters");
        }
        return s.charAt(0);
    }
}
