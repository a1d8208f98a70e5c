package dev.usher.gate.redis;

import dev.usher.gate.GateException;
import java.time.Duration;

/**
 * A {@link RedisAdmissionQueue} could not reach Redis within its command timeout, or Redis was seen down a
 * moment ago and the call failed fast. Nothing was queued. A host typically answers HTTP 503 with a
 * {@code Retry-After} header from {@link #retryAfter()}; the same queue recovers by itself when Redis is back.
 * Like every error of the gate it is a {@link GateException}; only Usher creates it.
 */
public final class AdmissionUnavailableException extends GateException {
    private static final long serialVersionUID = 1L;

    private final transient Duration retryAfter;

    AdmissionUnavailableException(String message, Duration retryAfter, Throwable cause) {
        super(message, cause);
        this.retryAfter = retryAfter;
    }

    /** When to try again: the queue's probe interval. */
    public Duration retryAfter() {
        return retryAfter;
    }
}
