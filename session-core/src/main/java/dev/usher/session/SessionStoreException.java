package dev.usher.session;

/** A backend failed to do what was asked. */
public class SessionStoreException extends SessionException {
    private static final long serialVersionUID = 1L;

    public SessionStoreException(String message) {
        super(message);
    }

    public SessionStoreException(String message, Throwable cause) {
        super(message, cause);
    }
}
