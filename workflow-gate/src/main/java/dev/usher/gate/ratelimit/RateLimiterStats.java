package dev.usher.gate.ratelimit;

/**
 * A snapshot of a {@link RateLimiter}'s counters since it was built.
 *
 * @param allowed decisions that allowed
 * @param denied decisions that denied
 * @param storeFailures calls to the shared store that failed (each is followed by a degraded decision)
 * @param degraded decisions made by the {@link StoreDownPolicy}
 * @param localKeys keys with a bucket held in this process right now (local mode, or the local fallback)
 */
public record RateLimiterStats(long allowed, long denied, long storeFailures, long degraded, long localKeys) {
}
