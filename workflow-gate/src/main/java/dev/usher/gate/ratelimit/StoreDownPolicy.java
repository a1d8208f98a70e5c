package dev.usher.gate.ratelimit;

/**
 * What a cluster-wide {@link RateLimiter} decides while its shared store (Redis, PostgreSQL, ...) cannot be
 * reached. The store is tried again on every call, so the limiter returns to cluster-wide limits as soon
 * as it is back; a call that finds it down costs the client's own failure time (a refused connection is
 * immediate, a connection-pool timeout is not: keep those short).
 */
public enum StoreDownPolicy {
    /** Allow every request: availability first, no limit while the store is down. */
    FAIL_OPEN,
    /** Deny every request, with {@code Retry-After} set to the limiter's store-down retry hint. */
    FAIL_CLOSED,
    /**
     * Apply the same limits with buckets local to this instance: each instance lets through up to the
     * full quota, so the cluster as a whole allows up to (instances x quota) while the store is down.
     */
    LOCAL_FALLBACK
}
