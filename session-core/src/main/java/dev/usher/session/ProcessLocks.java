package dev.usher.session;

import java.time.Duration;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReferenceArray;
import java.util.concurrent.atomic.LongAdder;
import java.util.concurrent.locks.ReentrantLock;

/**
 * This process's locks on sessions and owners, taken around {@link SessionManager}'s writes so that the
 * store's compare-and-set and owner-limit steps settle races between instances only, instead of local
 * threads spinning against each other. Waits are bounded by {@link #WAIT} and counted in
 * {@link SessionStats#lockWaits()}. Thread-safe; the locks are reentrant {@link ReentrantLock}s (no monitor
 * is held while a holder does I/O).
 *
 * <p>Sessions are locked by stripe: one of {@value #SESSION_STRIPES} locks chosen by the id's hash, made on
 * first use, so that an uncontended update takes and releases one lock and allocates nothing. Two sessions
 * that share a stripe wait for each other for the length of one write, which is rare and harmless, because
 * a write holds one session's lock and takes no other (its change function and listeners must not write
 * other sessions). Owners, locked for owner-limited writes, are locked by key ({@link KeyedLocks}), because a
 * login holds its owner's lock while it takes the session's.
 */
final class ProcessLocks {
    /** How long a write waits for this process's lock on its session or owner before giving up. */
    static final Duration WAIT = Duration.ofSeconds(30);
    static final int SESSION_STRIPES = 1024;

    /** A session stripe; closing it unlocks. */
    private static final class Stripe extends ReentrantLock implements KeyedLocks.Held {
        private static final long serialVersionUID = 1L;

        @Override
        public void close() {
            unlock();
        }
    }

    private final AtomicReferenceArray<Stripe> sessions = new AtomicReferenceArray<>(SESSION_STRIPES);
    private final KeyedLocks owners = new KeyedLocks();
    private final LongAdder waits;

    ProcessLocks(LongAdder waits) {
        this.waits = waits;
    }

    /** @throws SessionLockTimeoutException if not obtained within {@link #WAIT} */
    KeyedLocks.Held session(String id) {
        Stripe stripe = stripe(id);
        if (stripe.tryLock()) {
            return stripe;
        }
        waits.increment();
        boolean locked;
        try {
            locked = stripe.tryLock(WAIT.toNanos(), TimeUnit.NANOSECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw interrupted("session " + SessionIds.redact(id));
        }
        if (!locked) {
            throw timedOut("session " + SessionIds.redact(id));
        }
        return stripe;
    }

    /** @throws SessionLockTimeoutException if not obtained within {@link #WAIT} */
    KeyedLocks.Held owner(String owner) {
        boolean[] contended = new boolean[1];
        KeyedLocks.Held held;
        try {
            held = owners.acquire(owner, WAIT.toNanos(), contended);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw interrupted("owner:" + owner);
        }
        if (contended[0]) {
            waits.increment();
        }
        if (held == null) {
            throw timedOut("owner:" + owner);
        }
        return held;
    }

    private Stripe stripe(String id) {
        int h = id.hashCode();
        int index = (h ^ (h >>> 16)) & (SESSION_STRIPES - 1);
        Stripe stripe = sessions.get(index);
        if (stripe == null) {
            Stripe made = new Stripe();
            stripe = sessions.compareAndExchange(index, null, made);
            if (stripe == null) {
                stripe = made;
            }
        }
        return stripe;
    }

    private static SessionLockTimeoutException interrupted(String what) {
        return new SessionLockTimeoutException("interrupted while waiting for the lock of " + what);
    }

    private static SessionLockTimeoutException timedOut(String what) {
        return new SessionLockTimeoutException("lock of " + what + " not obtained within " + Durations.format(WAIT));
    }
}
