package dev.usher.gate.admission;

import java.time.Duration;
import java.util.Optional;

/**
 * {@link AdmissionQueue#enter} found {@code maxQueued} tickets already waiting; nothing was queued. A host
 * typically answers HTTP 503 with a {@code Retry-After} header from {@link #retryAfter()}.
 */
public class QueueFullException extends dev.usher.gate.GateException {
    private static final long serialVersionUID = 1L;

    private final int maxQueued;
    private final transient Optional<Duration> retryAfter;

    public QueueFullException(String message, int maxQueued, Optional<Duration> retryAfter) {
        super(message);
        this.maxQueued = maxQueued;
        this.retryAfter = retryAfter;
    }

    /** The limit that was reached. */
    public int maxQueued() {
        return maxQueued;
    }

    /**
     * When a place is likely to be free: the average run duration divided by {@code maxRunning}; empty
     * while the queue has no estimate (no run finished and no initial run duration configured).
     */
    public Optional<Duration> retryAfter() {
        return retryAfter;
    }
}
