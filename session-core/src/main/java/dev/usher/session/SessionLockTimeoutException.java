package dev.usher.session;

/** {@link SessionManager#withLock} could not get the session's lock within the timeout. */
public class SessionLockTimeoutException extends SessionException {
    private static final long serialVersionUID = 1L;

    public SessionLockTimeoutException(String message) {
        super(message);
    }
}
