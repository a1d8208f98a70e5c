package dev.usher.session;

import java.time.Duration;
import java.util.concurrent.atomic.LongAdder;
import java.util.function.Supplier;

/**
 * {@link SessionManager#withLock}: a host's action run under the session's {@link SessionLocks} lock, with
 * waits counted in {@link SessionStats#lockWaits()}. Thread-safe; the lock is released however the action
 * ends.
 */
final class LockedActions {
    private final SessionLocks locks;
    private final LongAdder waits;

    LockedActions(SessionLocks locks, LongAdder waits) {
        this.locks = locks;
        this.waits = waits;
    }

    /** Runs {@code action} holding the lock of the (well-formed) id, waiting at most {@code timeout}. */
    <T> T run(String id, Duration timeout, Supplier<T> action) {
        SessionLocks.Held held;
        try {
            held = locks.acquire(id, timeout);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new SessionLockTimeoutException("interrupted while waiting for the lock of session "
                    + SessionIds.redact(id));
        }
        if (held == null) {
            waits.increment();
            throw new SessionLockTimeoutException("lock of session " + SessionIds.redact(id)
                    + " not obtained within " + Durations.format(timeout));
        }
        try (held) {
            if (held.waited()) {
                waits.increment();
            }
            return action.get();
        }
    }
}
