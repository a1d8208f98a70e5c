package dev.usher.session.spring;

import java.util.Objects;

/**
 * Encodes attribute values of some type to strings and back, for the {@link UsherSessionRepository}.
 *
 * <p>Usher stores attributes as strings (readable with each store's own tools, portable across instances and
 * languages). Strings, booleans, the boxed numbers, {@code BigInteger}, {@code BigDecimal}, {@code UUID} and
 * {@code Instant} are built in; register a codec for anything else (a JSON mapper for your own types, say).
 * A stored value carries its codec's {@link #tag()}, so a session written by one instance decodes on every
 * other instance that registers the same codecs.
 *
 * <p>Implementations must be thread-safe and side-effect free. {@link #javaSerialization(String)} is the
 * opt-in for {@link java.io.Serializable} objects (Spring Security's {@code SecurityContext}, CSRF tokens);
 * it refuses every class its allow-list does not name.
 */
public interface AttributeCodec {

    /**
     * The tag stored before each encoded value: 1 to 32 characters of {@code [a-z0-9-]}, unique among the
     * codecs of one repository and different from the built-in tags.
     */
    String tag();

    /** True if this codec encodes {@code value} (never null). Codecs are asked in registration order. */
    boolean accepts(Object value);

    /** The string form of a value this codec {@linkplain #accepts accepts}. */
    String encode(Object value);

    /**
     * The value back from {@link #encode}'s output.
     *
     * @throws RuntimeException of any kind when {@code encoded} is not a valid encoding; the repository
     *                          reports it as an {@link AttributeEncodingException} naming the attribute
     */
    Object decode(String encoded);

    /**
     * Java serialization (base64 in the stored string) for {@link java.io.Serializable} values, with every
     * deserialized class checked against {@code allowList}, an {@link java.io.ObjectInputFilter} pattern
     * that must end by rejecting everything else ({@code !*}), for example
     * {@code "org.springframework.security.**;java.util.*;java.lang.*;!*"}. Classes are loaded through the
     * thread context class loader of the thread that calls this method.
     *
     * <p>Deserializing attacker-controlled bytes with an open class list runs "gadget" chains; that is why
     * this codec is off unless registered, and why the pattern must close with {@code !*}. Stored values are
     * only as trustworthy as the store: anyone who can write to it can supply bytes.
     *
     * @throws IllegalArgumentException if the pattern is blank, malformed or does not end with {@code !*}
     */
    static AttributeCodec javaSerialization(String allowList) {
        Objects.requireNonNull(allowList, "allowList");
        ClassLoader loader = Thread.currentThread().getContextClassLoader();
        return new JavaSerializationCodec(allowList, loader != null ? loader : AttributeCodec.class.getClassLoader());
    }
}
