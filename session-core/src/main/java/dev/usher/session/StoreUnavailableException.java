package dev.usher.session;

import java.time.Duration;
import java.util.Optional;

/**
 * The backing engine could not be reached, or did not answer within the store's timeout. Nothing was
 * written, or the write is unknown; retrying later is safe because every write is a compare-and-set.
 *
 * <p>Once a store has seen its engine unreachable it fails every call at once with this exception (its
 * {@linkplain StoreCircuit circuit} is open) until a background probe reaches the engine again;
 * {@link #retryAfter()} then suggests when to try again (an HTTP host sends it as {@code Retry-After}
 * with a 503).
 */
public class StoreUnavailableException extends SessionStoreException {
    private static final long serialVersionUID = 1L;
    private final Duration retryAfter;

    public StoreUnavailableException(String message, Throwable cause) {
        this(message, cause, null);
    }

    /** With a hint for when to try again ({@code null} when none is known). */
    public StoreUnavailableException(String message, Throwable cause, Duration retryAfter) {
        super(message, cause);
        this.retryAfter = retryAfter;
    }

    /** When trying again may succeed, if the store knows: the interval of its probe while its circuit is open. */
    public Optional<Duration> retryAfter() {
        return Optional.ofNullable(retryAfter);
    }
}
