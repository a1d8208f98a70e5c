package dev.usher.session;

import java.nio.file.Path;
import java.util.Objects;
import java.util.function.Function;

/**
 * A typed key for a session attribute, encoding its value to the string the store keeps.
 *
 * <p>Instances are immutable and meant to be constants: {@code static final SessionAttribute<Integer> VISITS
 * = SessionAttribute.ofInt("visits");}. Decoding a value that was not written through the same kind of key
 * throws {@link IllegalArgumentException} naming the attribute.
 *
 * @param <T> the type of the value
 */
public final class SessionAttribute<T> {
    private final String name;
    private final Class<T> type;
    private final Function<T, String> encoder;
    private final Function<String, T> decoder;

    private SessionAttribute(String name, Class<T> type, Function<T, String> encoder, Function<String, T> decoder) {
        this.name = Objects.requireNonNull(name, "name");
        if (name.isEmpty()) {
            throw new IllegalArgumentException("attribute name must not be empty");
        }
        this.type = type;
        this.encoder = encoder;
        this.decoder = decoder;
    }

    public static SessionAttribute<String> ofString(String name) {
        return new SessionAttribute<>(name, String.class, Function.identity(), Function.identity());
    }

    public static SessionAttribute<Integer> ofInt(String name) {
        return new SessionAttribute<>(name, Integer.class, String::valueOf, Integer::valueOf);
    }

    public static SessionAttribute<Long> ofLong(String name) {
        return new SessionAttribute<>(name, Long.class, String::valueOf, Long::valueOf);
    }

    /** Encoded as {@code true} / {@code false}; anything else fails to decode. */
    public static SessionAttribute<Boolean> ofBoolean(String name) {
        return new SessionAttribute<>(name, Boolean.class, String::valueOf, raw -> {
            if (raw.equals("true")) {
                return Boolean.TRUE;
            }
            if (raw.equals("false")) {
                return Boolean.FALSE;
            }
            throw new IllegalArgumentException("not a boolean: " + raw);
        });
    }

    /** Encoded by {@link Enum#name()}, so renaming a constant is a breaking change for stored sessions. */
    public static <E extends Enum<E>> SessionAttribute<E> ofEnum(String name, Class<E> type) {
        Objects.requireNonNull(type, "type");
        return new SessionAttribute<>(name, type, Enum::name, raw -> Enum.valueOf(type, raw));
    }

    /** Encoded with {@link Path#toString()} on the default file system. */
    public static SessionAttribute<Path> ofPath(String name) {
        return new SessionAttribute<>(name, Path.class, Path::toString, Path::of);
    }

    public String name() {
        return name;
    }

    public Class<T> type() {
        return type;
    }

    public String encode(T value) {
        return encoder.apply(Objects.requireNonNull(value, () -> "value of attribute '" + name + "'"));
    }

    public T decode(String raw) {
        try {
            return decoder.apply(raw);
        } catch (RuntimeException e) {
            throw new IllegalArgumentException(
                    "attribute '" + name + "' does not hold a " + type.getSimpleName() + ": '" + raw + "'", e);
        }
    }

    @Override
    public String toString() {
        return "SessionAttribute[" + name + ": " + type.getSimpleName() + "]";
    }
}
