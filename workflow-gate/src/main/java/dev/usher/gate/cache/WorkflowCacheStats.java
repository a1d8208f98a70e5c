package dev.usher.gate.cache;

import java.time.Duration;

/**
 * A snapshot of a {@link WorkflowCache}'s counters since it was built.
 *
 * @param hits acquires that found a value already created (idle or leased)
 * @param misses acquires that created a value or waited for its creation
 * @param creations values created successfully by the loader
 * @param creationTime total time spent in successful and failed loader calls
 * @param creationFailures loader calls that threw or returned null
 * @param evictedBySize idle values evicted by the size or weight bound
 * @param expired values removed by expire-after-access (idle) or expire-after-write (maximum age)
 * @param invalidated values removed by {@link WorkflowCache#invalidate}
 * @param closes values closed without an exception
 * @param closeFailures values whose close threw (logged)
 * @param leased leases open right now
 * @param idle values held idle right now (what the size bound applies to)
 */
public record WorkflowCacheStats(
        long hits,
        long misses,
        long creations,
        Duration creationTime,
        long creationFailures,
        long evictedBySize,
        long expired,
        long invalidated,
        long closes,
        long closeFailures,
        long leased,
        long idle) {
}
