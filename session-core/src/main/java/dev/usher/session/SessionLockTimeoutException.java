package dev.usher.session;

/** {@link SessionManager#withLock} could not get the session's lock within the timeout. */
public class SessionLockTimeoutException extends SessionException {
    public SessionLockTimeoutException(String message) {
        super(message);
    }
}
