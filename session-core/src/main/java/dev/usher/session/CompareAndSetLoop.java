package dev.usher.session;

import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.atomic.LongAdder;
import java.util.concurrent.locks.LockSupport;
import java.util.function.Supplier;

/**
 * The one compare-and-set retry loop of {@link SessionManager}: read, change, compare-and-set, and after a
 * lost compare-and-set a randomised pause before the next attempt, at most {@code maxUpdateAttempts} times.
 *
 * <p>Why the pause: writers of one process are already serialised on the session by
 * {@link ProcessLocks}, so a lost attempt means another instance wrote. Retrying at once makes two instances
 * collide in lockstep; a pause drawn uniformly from a window that starts at the length of the lost attempt
 * (about one store round trip, so it suits an in-memory map and a remote database alike) and doubles per
 * loss lets the other instance finish its write, and both make progress. Thread-safe, stateless apart from
 * the conflict counter.
 */
final class CompareAndSetLoop {
    /** The window never starts below this, so that an in-memory store's sub-microsecond attempts still spread. */
    private static final long MIN_WINDOW_NANOS = 1_000;
    /** The window stops doubling here: a pause longer than a few round trips only adds latency. */
    private static final long MAX_WINDOW_NANOS = 10_000_000;
    private static final int MAX_DOUBLINGS = 6;

    /** One read-change-write attempt. */
    @FunctionalInterface
    interface Attempt<T> {
        /** The outcome, or null when the compare-and-set lost to another writer. */
        T tryOnce();
    }

    private final int maxAttempts;
    private final LongAdder conflicts;

    CompareAndSetLoop(int maxAttempts, LongAdder conflicts) {
        this.maxAttempts = maxAttempts;
        this.conflicts = conflicts;
    }

    /**
     * Runs {@code attempt} until it returns an outcome, pausing after each loss; after {@code maxAttempts}
     * losses returns (or throws) what {@code exhausted} gives.
     */
    <T> T run(Attempt<T> attempt, Supplier<T> exhausted) {
        return runFrom(0, attempt, exhausted);
    }

    /**
     * As {@link #run}, after a first attempt that the caller made itself (without the loop's allocations, on
     * the hot path) and lost in {@code firstAttemptNanos}; the first attempt counts towards the limit.
     */
    <T> T retry(long firstAttemptNanos, Attempt<T> attempt, Supplier<T> exhausted) {
        lost(0, firstAttemptNanos);
        return runFrom(1, attempt, exhausted);
    }

    /**
     * As {@link #retry}, after a first attempt on a snapshot the caller held that turned out stale: counted as
     * a conflict, but the re-read follows at once, because the snapshot lost to a write that ended before the
     * attempt (nothing to wait out); later losses pause as usual.
     */
    <T> T retryStale(Attempt<T> attempt, Supplier<T> exhausted) {
        conflicts.increment();
        return runFrom(1, attempt, exhausted);
    }

    private <T> T runFrom(int first, Attempt<T> attempt, Supplier<T> exhausted) {
        for (int i = first; i < maxAttempts; i++) {
            long start = System.nanoTime();
            T outcome = attempt.tryOnce();
            if (outcome != null) {
                return outcome;
            }
            lost(i, System.nanoTime() - start);
        }
        return exhausted.get();
    }

    /** Counts a lost compare-and-set and pauses before attempt {@code attempt + 1}. */
    private void lost(int attempt, long attemptNanos) {
        conflicts.increment();
        if (attempt + 1 >= maxAttempts) {
            return;
        }
        long window = Math.max(attemptNanos, MIN_WINDOW_NANOS) << Math.min(attempt, MAX_DOUBLINGS);
        LockSupport.parkNanos(ThreadLocalRandom.current().nextLong(Math.min(window, MAX_WINDOW_NANOS)));
    }
}
