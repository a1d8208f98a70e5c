package dev.usher.session.spring;

import java.time.Duration;

/**
 * {@link UsherSpringSession#setMaxInactiveInterval} (or {@code HttpSession.setMaxInactiveInterval}) asked for a
 * zero or negative interval, which the Servlet API reads as "never expires". Every Usher session expires (its
 * idle timeout and the manager's absolute timeout bound it on every store, expiry events included), so such
 * a value is refused and nothing is changed. A positive interval is kept as the session's own idle timeout.
 *
 * <p>An {@link UnsupportedOperationException}, as Spring Session's own read-only sessions throw for
 * operations they do not support. Only Usher creates it.
 */
public final class MaxInactiveIntervalException extends UnsupportedOperationException {
    private static final long serialVersionUID = 1L;

    private final Duration requested;

    MaxInactiveIntervalException(Duration requested) {
        super("maxInactiveInterval must be positive but was " + requested
                + ": an Usher session always expires (idle timeout and SessionManager.Builder.absoluteTimeout)");
        this.requested = requested;
    }

    /** The interval that was asked for. */
    public Duration requested() {
        return requested;
    }
}
