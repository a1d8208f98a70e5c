package dev.usher.session.memory;

import dev.usher.session.Session;
import java.time.Instant;

/**
 * {@link InMemorySessionStore}'s entry for one session: the map's value and, through its links, a member of
 * one {@link ExpiryWheel} bucket, so the expiry index costs no node object of its own.
 *
 * <p>{@link #session} is swapped, and the entry filed, unfiled or ended, only while holding this entry's
 * monitor (steps of the map for its id take it inside their step; a replace takes it alone), so one
 * entry's changes never interleave (the id never changes). The wheel fields ({@link #bucket},
 * {@link #previous}, {@link #next}) are also guarded by the lock of the bucket the entry is filed in;
 * {@code bucket} is volatile so that the wheel can find that lock.
 */
final class StoredSession {
    volatile Session session;
    volatile ExpiryWheel.Bucket bucket;
    StoredSession previous;
    StoredSession next;

    StoredSession(Session session) {
        this.session = session;
    }

    /** The session's real expiry in epoch milliseconds (its idle or absolute end, the earlier), saturated. */
    static long expiryMillis(Session s) {
        long idleEnd;
        try {
            idleEnd = Math.addExact(s.lastAccessedAt().toEpochMilli(), s.idleTimeout().toMillis());
        } catch (ArithmeticException e) {
            idleEnd = s.lastAccessedAt().isBefore(Instant.EPOCH) ? Long.MIN_VALUE : Long.MAX_VALUE;
        }
        return Math.min(idleEnd, millis(s.absoluteExpiry()));
    }

    static long millis(Instant instant) {
        try {
            return instant.toEpochMilli();
        } catch (ArithmeticException e) {
            return instant.isBefore(Instant.EPOCH) ? Long.MIN_VALUE : Long.MAX_VALUE;
        }
    }
}
