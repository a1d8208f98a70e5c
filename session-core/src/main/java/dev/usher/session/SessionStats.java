package dev.usher.session;

/**
 * A snapshot of a {@link SessionManager}'s counters since it was built (except {@code active}, read
 * from the store).
 */
public record SessionStats(
        long active,
        long created,
        long endedDeleted,
        long endedExpired,
        long endedEvicted,
        long casConflicts,
        long lockWaits,
        long malformedIds) {
}
