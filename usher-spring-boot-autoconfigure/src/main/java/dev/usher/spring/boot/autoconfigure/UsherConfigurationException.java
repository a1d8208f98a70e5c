package dev.usher.spring.boot.autoconfigure;

/**
 * A {@code usher.*} setting (or the application bean it points to) is wrong: thrown while the context
 * starts, so the application fails fast. The message names the property, the value and the rule.
 */
public class UsherConfigurationException extends IllegalStateException {
    private static final long serialVersionUID = 1L;

    private final String property;

    /** {@code message} follows the property's name: "usher.queue.max-queued" + " must be at least 0 but was -1". */
    public UsherConfigurationException(String property, String message, Throwable cause) {
        super(property + " " + message, cause);
        this.property = property;
    }

    public UsherConfigurationException(String property, String message) {
        this(property, message, null);
    }

    /** The property at fault, e.g. {@code usher.queue.max-queued}. */
    public String property() {
        return property;
    }
}
