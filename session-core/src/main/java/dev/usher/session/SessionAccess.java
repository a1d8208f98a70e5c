package dev.usher.session;

import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.function.UnaryOperator;

/**
 * {@link SessionManager}'s reads and writes of the store, after the manager has checked its input: lookups
 * that hide expired sessions, new sessions under fresh ids, and touches, updates and id changes, each a read,
 * a change and a compare-and-set on the version, retried by the {@link CompareAndSetLoop} under this
 * process's lock on the session ({@link ProcessLocks}).
 *
 * <p>The common case of each runs outside the loop and allocates only the sessions it returns: a touch is
 * one clock read (in milliseconds, the precision every backend keeps, so no Instant is made) and one store
 * read; a write is one read and one compare-and-set, or the compare-and-set alone for a caller that holds the
 * current session. Thread-safe; immutable apart from the counters it is given.
 */
final class SessionAccess {
    private static final int MAX_ID_ATTEMPTS = 3;

    private final SessionStore store;
    private final Clock clock;
    private final Duration idleTimeout;
    private final Duration absoluteTimeout;
    private final long touchThresholdMillis;
    /** The touch threshold as a fraction of the idle timeout, for a session with an idle timeout of its own. */
    private final double touchFraction;
    private final int maxUpdateAttempts;
    private final AttributeLimits attributeLimits;
    private final SessionEvents events;
    private final OwnerLimits ownerLimits;
    private final ProcessLocks locks;
    private final CompareAndSetLoop casLoop;

    SessionAccess(SessionStore store, Clock clock, Duration idleTimeout, Duration absoluteTimeout,
                  long touchThresholdMillis, int maxUpdateAttempts, AttributeLimits attributeLimits,
                  SessionEvents events, OwnerLimits ownerLimits, ProcessLocks locks, CompareAndSetLoop casLoop) {
        this.store = store;
        this.clock = clock;
        this.idleTimeout = idleTimeout;
        this.absoluteTimeout = absoluteTimeout;
        this.touchThresholdMillis = touchThresholdMillis;
        this.touchFraction = (double) touchThresholdMillis / idleTimeout.toMillis();
        this.maxUpdateAttempts = maxUpdateAttempts;
        this.attributeLimits = attributeLimits;
        this.events = events;
        this.ownerLimits = ownerLimits;
        this.locks = locks;
        this.casLoop = casLoop;
    }

    /** Inserts a new session (owner and attributes already checked), within the owner limit if one applies. */
    Session create(String owner, Map<String, String> attributes) {
        // One Instant for createdAt and lastAccessedAt, so that they share it in the heap.
        Instant now = Instant.ofEpochMilli(clock.millis());
        Session session = new Session(newId(owner), owner, now, now, idleTimeout,
                now.plus(absoluteTimeout), 1, attributes);
        if (ownerLimits.applies(owner)) {
            // The store decides the limit in one atomic step, across instances; the local owner lock only
            // keeps this process's callers from racing each other into the store.
            try (KeyedLocks.Held ignored = locks.owner(owner)) {
                return insert(session, now);
            }
        }
        return insert(session, now);
    }

    private Session insert(Session session, Instant now) {
        // 256 random bits do not collide in practice; the loop only guards against a broken RNG.
        for (int attempt = 0; attempt < MAX_ID_ATTEMPTS; attempt++) {
            boolean written = ownerLimits.applies(session.owner())
                    ? ownerLimits.insert(session, now)
                    : store.insert(session);
            if (written) {
                return session;
            }
            session = session.withId(newId(session.owner()));
        }
        throw new SessionStoreException("could not insert a session with a fresh id after " + MAX_ID_ATTEMPTS
                + " attempts");
    }

    /** An id from the store (which may place an owner's sessions together), checked before it is used. */
    private String newId(String owner) {
        String id = store.newSessionId(owner);
        if (!SessionIds.isWellFormed(id)) {
            throw new SessionStoreException("store " + store.getClass().getName()
                    + " returned a malformed session id from newSessionId (" + SessionIds.redact(id) + ")");
        }
        return id;
    }

    /** The live session, without recording an access. */
    Optional<Session> find(String id) {
        long now = clock.millis();
        return store.load(id).filter(s -> !s.isExpiredAt(now));
    }

    /** The owner's live sessions. */
    List<Session> findByOwner(String owner) {
        long now = clock.millis();
        List<Session> live = new ArrayList<>();
        for (Session s : store.findByOwner(owner)) {
            if (!s.isExpiredAt(now)) {
                live.add(s);
            }
        }
        return live;
    }

    /** One page of the store's listing, without the expired sessions. */
    SessionPage list(String cursor, int limit) {
        SessionPage page = store.list(cursor, limit);
        long now = clock.millis();
        return new SessionPage(page.sessions().stream().filter(s -> !s.isExpiredAt(now)).toList(), page.nextCursor());
    }

    /** Records an access past the threshold and returns the live session (see {@link SessionManager#touch}). */
    Optional<Session> touch(String id) {
        long now = clock.millis();
        Optional<Session> loaded = store.load(id);
        if (loaded.isEmpty() || loaded.get().isExpiredAt(now)) {
            return Optional.empty();
        }
        Session current = loaded.get();
        if (now - current.lastAccessedAt().toEpochMilli() <= touchThreshold(current)) {
            return loaded; // the common case: a read, nothing written, nothing made
        }
        Session touched = accessed(current, current.attributes(), now);
        if (store.replace(touched, current.version())) {
            return Optional.of(touched);
        }
        // Every later attempt may lose to a writer, each of which recorded an access: the last session
        // seen will do then.
        Session[] seen = {current};
        return casLoop.retry(0, () -> touchOnce(id, seen), () -> Optional.of(seen[0]));
    }

    /** One touch attempt of the retry loop; null when its write lost the compare-and-set. */
    private Optional<Session> touchOnce(String id, Session[] seen) {
        long now = clock.millis();
        Optional<Session> loaded = store.load(id);
        if (loaded.isEmpty() || loaded.get().isExpiredAt(now)) {
            return Optional.empty();
        }
        Session current = loaded.get();
        seen[0] = current;
        if (now - current.lastAccessedAt().toEpochMilli() <= touchThreshold(current)) {
            return loaded;
        }
        Session touched = accessed(current, current.attributes(), now);
        return store.replace(touched, current.version()) ? Optional.of(touched) : null;
    }

    /** Reads, changes and compare-and-sets the session (see {@link SessionManager#update(String, UnaryOperator)}). */
    Optional<Session> update(String id, UnaryOperator<Session> change) {
        // Serialising this process's writers on the id leaves the compare-and-set to settle races between
        // instances only, instead of spinning local threads against each other.
        try (KeyedLocks.Held ignored = locks.session(id)) {
            long start = System.nanoTime();
            Optional<Session> first = updateOnce(id, change);
            if (first != null) {
                return first;
            }
            return casLoop.retry(System.nanoTime() - start, () -> updateOnce(id, change),
                    () -> { throw conflict("update", id); });
        }
    }

    /** Compare-and-sets the change of a session in hand (see {@link SessionManager#update(Session, UnaryOperator)}). */
    Optional<Session> update(Session current, UnaryOperator<Session> change) {
        String id = current.id();
        try (KeyedLocks.Held ignored = locks.session(id)) {
            long now = clock.millis();
            // An expired snapshot may have been extended by another writer since: the loop reads the truth.
            if (current.isExpiredAt(now)) {
                return casLoop.run(() -> updateOnce(id, change), () -> { throw conflict("update", id); });
            }
            Session next = changed(current, change, now);
            if (store.replace(next, current.version())) {
                return Optional.of(next);
            }
            // Most often the snapshot is simply older than the last write: read the truth at once.
            return casLoop.retryStale(() -> updateOnce(id, change), () -> { throw conflict("update", id); });
        }
    }

    /** One read, change, compare-and-set attempt of an update; null when it lost. */
    private Optional<Session> updateOnce(String id, UnaryOperator<Session> change) {
        long now = clock.millis();
        Optional<Session> loaded = store.load(id);
        if (loaded.isEmpty() || loaded.get().isExpiredAt(now)) {
            return Optional.empty();
        }
        Session next = changed(loaded.get(), change, now);
        return store.replace(next, loaded.get().version()) ? Optional.of(next) : null;
    }

    /**
     * Accesses closer together than this are not written: the manager's threshold, or the same fraction of
     * the session's own idle timeout when an update gave it one.
     */
    private long touchThreshold(Session s) {
        Duration idle = s.idleTimeout();
        return idle == idleTimeout || idle.equals(idleTimeout) ? touchThresholdMillis
                : (long) (idle.toMillis() * touchFraction);
    }

    /**
     * The next version of {@code current}: the change's attributes, checked, and its idle timeout, with an
     * access at {@code now}.
     */
    private Session changed(Session current, UnaryOperator<Session> change, long now) {
        Session changed = Objects.requireNonNull(change.apply(current), "change returned null");
        attributeLimits.check(changed.attributes());
        return accessed(current, changed.attributes(), changed.idleTimeout(), now);
    }

    /** {@code current} with these attributes, accessed at {@code now}, one version on. */
    private static Session accessed(Session current, Map<String, String> attributes, long now) {
        return accessed(current, attributes, current.idleTimeout(), now);
    }

    private static Session accessed(Session current, Map<String, String> attributes, Duration idle, long now) {
        return new Session(current.id(), current.owner(), current.createdAt(), Instant.ofEpochMilli(now),
                idle, current.absoluteExpiry(), current.version() + 1, attributes);
    }

    /** Moves the live session to a fresh id bound to {@code owner}, within the owner limit if one applies. */
    Optional<Session> login(String id, String owner) {
        if (!ownerLimits.applies(owner)) {
            return rotate(id, true, owner);
        }
        try (KeyedLocks.Held ignored = locks.owner(owner)) {
            return rotate(id, true, owner);
        }
    }

    /**
     * Moves the live session to a fresh id, binding it to {@code owner} when {@code setOwner} (holding the
     * owner's lock when a limit applies). Empty if it does not exist or has expired.
     */
    Optional<Session> rotate(String id, boolean setOwner, String owner) {
        try (KeyedLocks.Held ignored = locks.session(id)) {
            return casLoop.run(() -> {
                long nowMillis = clock.millis();
                Optional<Session> loaded = store.load(id);
                if (loaded.isEmpty() || loaded.get().isExpiredAt(nowMillis)) {
                    return Optional.empty();
                }
                Instant now = Instant.ofEpochMilli(nowMillis);
                Session current = loaded.get();
                String newOwner = setOwner ? owner : current.owner();
                Session renamed = new Session(newId(newOwner), newOwner,
                        current.createdAt(), now, current.idleTimeout(), current.absoluteExpiry(),
                        current.version() + 1, current.attributes());
                boolean moved = setOwner && ownerLimits.applies(newOwner)
                        ? ownerLimits.changeId(id, renamed, current.version(), now)
                        : store.changeId(id, renamed, current.version());
                if (!moved) {
                    return null;
                }
                events.idChanged(id, renamed);
                return Optional.of(renamed);
            }, () -> {
                throw conflict("changeId", id);
            });
        }
    }

    private SessionConflictException conflict(String operation, String id) {
        return new SessionConflictException(operation + " of session " + SessionIds.redact(id) + " lost "
                + maxUpdateAttempts + " compare-and-set attempts in a row (maxUpdateAttempts)");
    }
}
