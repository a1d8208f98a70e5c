package dev.usher.gate.ratelimit;

/**
 * What a cluster-wide {@link RateLimiter} decides while its shared store (Redis, PostgreSQL, ...) cannot be
 * reached. The first call that finds the store down costs the client's own failure time (a refused
 * connection is immediate, a timeout is not); from then on the policy applies at once, without a round trip,
 * while a background probe tries the store every 200 ms, and the limiter returns to cluster-wide limits on
 * the first call after the probe reached it again.
 */
public enum StoreDownPolicy {
    /** Allow every request: availability first, no limit while the store is down. */
    FAIL_OPEN,
    /** Deny every request, with {@code Retry-After} set to the limiter's store-down retry hint. */
    FAIL_CLOSED,
    /**
     * Apply the same limits with buckets local to this instance: each instance lets through up to
     * {@linkplain RateLimiter.Builder#localFallbackShare its share} of each quota (the full quota by default,
     * so the cluster as a whole allows up to instances x quota while the store is down; a share of
     * 1 / instances keeps it near the quota).
     */
    LOCAL_FALLBACK
}
