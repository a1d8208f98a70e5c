package dev.usher.session;

/**
 * A limit was exceeded (attribute name, value or total size, attribute count, sessions per owner, a full
 * store). Nothing was written. {@link #limitName()} and {@link #limit()} name what was exceeded.
 */
public class SessionLimitException extends SessionException {
    private static final long serialVersionUID = 1L;

    private final String limitName;
    private final long limit;

    public SessionLimitException(String message, String limitName, long limit) {
        super(message);
        this.limitName = limitName;
        this.limit = limit;
    }

    public String limitName() {
        return limitName;
    }

    public long limit() {
        return limit;
    }
}
