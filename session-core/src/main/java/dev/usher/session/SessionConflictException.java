package dev.usher.session;

/** An atomic update kept losing the compare-and-set race and gave up after its bound of retries. */
public class SessionConflictException extends SessionException {
    private static final long serialVersionUID = 1L;

    public SessionConflictException(String message) {
        super(message);
    }
}
