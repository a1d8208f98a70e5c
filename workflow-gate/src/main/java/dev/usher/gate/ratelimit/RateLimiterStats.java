package dev.usher.gate.ratelimit;

/**
 * A snapshot of a {@link RateLimiter}'s counters since it was built.
 *
 * @param allowed decisions that allowed
 * @param denied decisions that denied
 * @param storeFailures decisions the shared store did not make: its call failed, or was skipped at once
 *     while the store was known to be down (each is followed by a degraded decision)
 * @param degraded decisions made by the {@link StoreDownPolicy}
 * @param localKeys keys with a bucket held in this process right now (local mode, or the local fallback)
 */
public record RateLimiterStats(long allowed, long denied, long storeFailures, long degraded, long localKeys) {
}
