package dev.usher.session.spring;

import dev.usher.session.SessionException;

/**
 * An attribute value could not be encoded to the string Usher stores (a type no registered
 * {@link AttributeCodec} accepts), or a stored string could not be decoded (an unknown codec tag, a class
 * the Java serialization allow-list refuses, a corrupt payload).
 */
public class AttributeEncodingException extends SessionException {
    private static final long serialVersionUID = 1L;

    private final String attributeName;

    public AttributeEncodingException(String attributeName, String message) {
        super(message);
        this.attributeName = attributeName;
    }

    public AttributeEncodingException(String attributeName, String message, Throwable cause) {
        super(message, cause);
        this.attributeName = attributeName;
    }

    /** The attribute whose value failed. */
    public String attributeName() {
        return attributeName;
    }
}
