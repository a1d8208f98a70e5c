package dev.usher.gate.ratelimit;

import dev.usher.gate.GateException;

/**
 * Preparing a shared rate-limit store failed (today: {@link PostgresBuckets#createTable}); the cause is the
 * driver's exception. Decisions never throw it: while the store is down they follow the
 * {@link StoreDownPolicy}.
 */
public final class RateLimitStoreException extends GateException {
    private static final long serialVersionUID = 1L;

    private final boolean unavailable;

    RateLimitStoreException(String message, Throwable cause, boolean unavailable) {
        super(message, cause);
        this.unavailable = unavailable;
    }

    /** True if the store could not be reached (refused, reset, timed out): trying again later may succeed. */
    public boolean unavailable() {
        return unavailable;
    }
}
