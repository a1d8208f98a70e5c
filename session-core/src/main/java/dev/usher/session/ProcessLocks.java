package dev.usher.session;

import java.time.Duration;
import java.util.concurrent.atomic.LongAdder;

/**
 * This process's locks on sessions and owners, taken around {@link SessionManager}'s writes so that the
 * store's compare-and-set and owner-limit steps settle races between instances only, instead of local
 * threads spinning against each other. Waits are bounded by {@link #WAIT} and counted in
 * {@link SessionStats#lockWaits()}. Thread-safe; the locks are reentrant {@link java.util.concurrent.locks.ReentrantLock}s
 * (no monitor is held while a holder does I/O).
 */
final class ProcessLocks {
    /** How long a write waits for this process's lock on its session or owner before giving up. */
    static final Duration WAIT = Duration.ofSeconds(30);

    private final KeyedLocks sessions = new KeyedLocks();
    private final KeyedLocks owners = new KeyedLocks();
    private final LongAdder waits;

    ProcessLocks(LongAdder waits) {
        this.waits = waits;
    }

    /** @throws SessionLockTimeoutException if not obtained within {@link #WAIT} */
    KeyedLocks.Held session(String id) {
        return lock(sessions, id, "session " + SessionIds.redact(id));
    }

    /** @throws SessionLockTimeoutException if not obtained within {@link #WAIT} */
    KeyedLocks.Held owner(String owner) {
        return lock(owners, owner, "owner:" + owner);
    }

    private KeyedLocks.Held lock(KeyedLocks locks, String key, String what) {
        boolean[] contended = new boolean[1];
        KeyedLocks.Held held;
        try {
            held = locks.acquire(key, WAIT.toNanos(), contended);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new SessionLockTimeoutException("interrupted while waiting for the lock of " + what);
        }
        if (contended[0]) {
            waits.increment();
        }
        if (held == null) {
            throw new SessionLockTimeoutException("lock of " + what + " not obtained within " + Durations.format(WAIT));
        }
        return held;
    }
}
