package dev.usher.session.spring;

import java.time.Duration;

/**
 * {@link UsherSpringSession#setMaxInactiveInterval} (or {@code HttpSession.setMaxInactiveInterval}) asked for an
 * idle timeout other than the {@code SessionManager}'s. Usher gives every session of a manager the manager's
 * idle timeout ({@code SessionManager.Builder.idleTimeout}), and honours it exactly on every store, expiry
 * events included; a per-session value is refused rather than kept in this process only, where it would
 * neither expire the session in the store nor be seen by other instances. Nothing was changed.
 *
 * <p>An {@link UnsupportedOperationException}, as Spring Session's own read-only sessions throw for
 * operations they do not support.
 */
public class MaxInactiveIntervalException extends UnsupportedOperationException {
    private static final long serialVersionUID = 1L;

    private final Duration requested;
    private final Duration idleTimeout;

    public MaxInactiveIntervalException(Duration requested, Duration idleTimeout) {
        super("maxInactiveInterval must equal the SessionManager's idleTimeout " + idleTimeout + " but was " + requested
                + ": Usher sets the idle timeout for all sessions of a manager (SessionManager.Builder.idleTimeout)");
        this.requested = requested;
        this.idleTimeout = idleTimeout;
    }

    /** The interval that was asked for. */
    public Duration requested() {
        return requested;
    }

    /** The only interval accepted: the manager's idle timeout, which every session of it has. */
    public Duration idleTimeout() {
        return idleTimeout;
    }
}
