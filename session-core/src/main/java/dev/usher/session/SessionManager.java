package dev.usher.session;

import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.concurrent.ThreadFactory;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.LongAdder;
import java.util.function.Supplier;
import java.util.function.UnaryOperator;

/**
 * All session policy, once, over any {@link SessionStore}: ids, validation, idle and absolute expiry,
 * throttled last-access writes, atomic updates, id rotation, owner limits, per-session locks, sweeping
 * and events.
 *
 * <p>Thread-safe; share one per store and process. It owns the store it is built with and the sweeper
 * thread ({@code usher-session-sweeper}), and {@link #close()} stops and closes both. Every method may block
 * on the store's I/O (bounded by the store's timeout) and never holds a monitor while doing so, so it is
 * safe on virtual threads.
 *
 * <p>Session ids are 256 bits from {@link java.security.SecureRandom}, base64url without padding (43
 * characters; a store may choose among random ids to place an owner's sessions together, keeping at least
 * 224 random bits). A malformed id (wrong length or alphabet, empty, null) never reaches the store: lookups
 * answer "no session" and the count shows in {@link SessionStats#malformedIds()}.
 *
 * <p><b>Owner limits</b> are decided by the store in one atomic step
 * ({@link SessionStore#insertWithinOwnerLimit}), so they hold across instances on the stores that ship
 * with Usher; a third-party store that keeps the SPI's default gets them within one process only.
 *
 * <p><b>Expiry events</b>: the sweeper delivers {@link EndReason#EXPIRED} once per session across all
 * instances, and acknowledges each batch to the store after delivering it. If a sweeper dies (or loses
 * the store) between claiming a batch and acknowledging it, another instance's sweeper delivers that batch
 * after the store's claim timeout: exactly once across the surviving instances, and at least once overall
 * (the dead instance may have delivered some of them before it died).
 *
 * <p><b>Exceptions</b>, all unchecked. Every method may throw {@link StoreUnavailableException} (the
 * store could not be reached within its timeout; safe to retry) or {@link SessionStoreException} (another
 * store failure), and {@link IllegalStateException} once the manager is closed. Input is checked before
 * anything reaches the store, and nothing is written when a check fails:
 * <ul>
 *   <li>{@link SessionLimitException} (with {@code limitName()} and {@code limit()}): an attribute name,
 *       value, count or total over {@link AttributeLimits}; an owner over 256 characters; the owner at
 *       {@code maxSessionsPerOwner} under {@link OwnerLimitPolicy#REJECT}; a store that is full
 *       ({@code maxSessions} with REJECT);</li>
 *   <li>{@link IllegalArgumentException}: an empty attribute name, a control character in an attribute
 *       name or an owner, an unpaired surrogate (not well-formed UTF-16) in an attribute name or value or
 *       an owner, a non-positive {@code limit} or a foreign cursor for {@link #list}, a malformed id for
 *       {@link #withLock};</li>
 *   <li>{@link NullPointerException}: a null attribute map, name or value, change function or its
 *       result, listener or timeout;</li>
 *   <li>{@link SessionConflictException}: {@link #update}, {@link #changeId} and {@link #login} lost every
 *       compare-and-set attempt ({@code maxUpdateAttempts});</li>
 *   <li>{@link SessionLockTimeoutException}: {@link #withLock}'s lock not obtained in time; also
 *       {@link #update}, {@link #changeId}, {@link #login} and an owner-limited {@link #create} when this
 *       process's lock on the session or owner is not obtained within 30 s.</li>
 * </ul>
 * A malformed or unknown id is never an exception: lookups and writes answer empty (or false).
 *
 * <p><b>Inside</b>: this class holds the policy (ids, expiry, what a write contains) and delegates the rest
 * to package-private parts: {@link ProcessLocks} (this process's locks on a session or owner, waiting at most
 * {@link ProcessLocks#WAIT}), {@link CompareAndSetLoop} (the retry loop with randomised back-off shared by
 * touch, update, changeId and login), {@link OwnerLimits} (owner checks and the store's owner-limited
 * writes), {@link SessionEvents} (listeners and end counts) and {@link PeriodicTask} (the sweeper thread).
 * It is longer than ~400 lines only because of the nested {@link Builder} (every setting documented with its
 * default, kept nested so that {@code SessionManager.Builder} stays the public name) and this guide.
 *
 * <pre>{@code
 * SessionManager sessions = SessionManager.builder(new InMemorySessionStore())
 *         .idleTimeout(Duration.ofMinutes(30))
 *         .maxSessionsPerOwner(5, OwnerLimitPolicy.END_OLDEST)
 *         .build();
 * Session s = sessions.create("alice", Map.of());
 * sessions.update(s.id(), x -> x.withAttribute(VISITS, x.attribute(VISITS).orElse(0) + 1));
 * }</pre>
 */
public final class SessionManager implements AutoCloseable {
    private static final int MAX_ID_ATTEMPTS = 3;

    private final SessionStore store;
    private final Clock clock;
    private final Duration idleTimeout;
    private final Duration absoluteTimeout;
    private final long touchThresholdMillis;
    private final int maxUpdateAttempts;
    private final int sweepBatchSize;
    private final AttributeLimits attributeLimits;
    private final SessionLocks sessionLocks;
    private final SessionEvents events;
    private final OwnerLimits ownerLimits;
    private final ProcessLocks processLocks;
    private final CompareAndSetLoop casLoop;
    private final PeriodicTask sweeper;
    private final AtomicBoolean closed = new AtomicBoolean();

    private final LongAdder casConflicts = new LongAdder();
    private final LongAdder lockWaits = new LongAdder();
    private final LongAdder malformedIds = new LongAdder();

    private SessionManager(Builder b) {
        this.store = b.store;
        this.clock = b.clock;
        this.idleTimeout = b.idleTimeout;
        this.absoluteTimeout = b.absoluteTimeout;
        this.touchThresholdMillis = (long) (b.idleTimeout.toMillis() * b.touchThreshold);
        this.maxUpdateAttempts = b.maxUpdateAttempts;
        this.sweepBatchSize = b.sweepBatchSize;
        this.attributeLimits = b.attributeLimits;
        this.sessionLocks = b.sessionLocks;
        this.events = new SessionEvents(b.listeners);
        this.ownerLimits = new OwnerLimits(b.maxSessionsPerOwner > 0
                ? new OwnerLimit(b.maxSessionsPerOwner, b.ownerLimitPolicy) : null, store, events);
        this.processLocks = new ProcessLocks(lockWaits);
        this.casLoop = new CompareAndSetLoop(b.maxUpdateAttempts, casConflicts);
        store.onEviction(s -> events.ended(s, EndReason.EVICTED));
        this.sweeper = b.sweepInterval.isZero() ? null
                : PeriodicTask.start("session sweeper", b.threadFactory, b.sweepInterval, this::sweep);
    }

    public static Builder builder(SessionStore store) {
        return new Builder(store);
    }

    /**
     * Creates a session for {@code owner} ({@code null} for anonymous) with the given attributes.
     *
     * @throws SessionLimitException     if an attribute limit is exceeded, the owner is longer than 256
     *                                   characters or at the limit under {@link OwnerLimitPolicy#REJECT},
     *                                   or the store is full
     * @throws IllegalArgumentException  for an empty attribute name, a control character in a name or the
     *                                   owner, or an unpaired surrogate in a name, a value or the owner
     * @throws NullPointerException      if {@code attributes} or one of its names or values is null
     */
    public Session create(String owner, Map<String, String> attributes) {
        checkOpen();
        OwnerLimits.checkOwner(owner);
        attributeLimits.check(attributes);
        // Truncated once, so that createdAt and lastAccessedAt share one Instant in the heap.
        Instant now = clock.instant().truncatedTo(ChronoUnit.MILLIS);
        Session session = new Session(newId(owner), owner, now, now, idleTimeout,
                now.plus(absoluteTimeout), 1, attributes);
        if (ownerLimits.applies(owner)) {
            // The store decides the limit in one atomic step, across instances; the local owner lock only
            // keeps this process's callers from racing each other into the store.
            try (KeyedLocks.Held ignored = processLocks.owner(owner)) {
                session = insert(session, now);
            }
        } else {
            session = insert(session, now);
        }
        events.created(session);
        return session;
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

    /** The live session, without recording an access. Empty for an unknown, expired or malformed id. */
    public Optional<Session> find(String id) {
        checkOpen();
        if (!wellFormed(id)) {
            return Optional.empty();
        }
        return store.load(id).filter(s -> !s.isExpired(clock.instant()));
    }

    /**
     * Records an access (sliding idle expiry) and returns the live session. The access is written only when
     * it has moved by more than the touch threshold (a fraction of the idle timeout), so a busy session
     * costs one read per request, not one write. Empty for an unknown, expired or malformed id.
     */
    public Optional<Session> touch(String id) {
        checkOpen();
        if (!wellFormed(id)) {
            return Optional.empty();
        }
        Session[] seen = new Session[1];
        // The common case (a read, at most one write) runs outside the loop, which allocates per call.
        Optional<Session> touched = touchOnce(id, seen);
        if (touched != null) {
            return touched;
        }
        // Every attempt lost to a writer, each of which recorded an access: the last session seen will do.
        return casLoop.retry(0, () -> touchOnce(id, seen), () -> Optional.ofNullable(seen[0]));
    }

    /** One touch attempt; null when its write lost the compare-and-set. */
    private Optional<Session> touchOnce(String id, Session[] seen) {
        Instant now = clock.instant();
        Optional<Session> loaded = store.load(id);
        if (loaded.isEmpty() || loaded.get().isExpired(now)) {
            return Optional.empty();
        }
        Session current = loaded.get();
        seen[0] = current;
        if (now.toEpochMilli() - current.lastAccessedAt().toEpochMilli() <= touchThresholdMillis) {
            return loaded;
        }
        Session touched = current.withLastAccessedAt(now).withVersion(current.version() + 1);
        return store.replace(touched, current.version()) ? Optional.of(touched) : null;
    }

    /**
     * Atomically applies {@code change} to the live session and stores the result; the change may run more
     * than once (on a version conflict it is applied again to the fresh value) and must not have side effects.
     * Only the attributes of its result are kept: id, owner, timestamps and version are the manager's. The
     * write also records an access. Costs two store round trips (read, compare-and-set) when nobody else
     * writes; {@link #update(Session, UnaryOperator)} saves the read when the caller holds the session.
     *
     * @return the stored session, or empty if the session does not exist or has expired
     * @throws SessionConflictException    after the bounded number of attempts all lost the race
     * @throws SessionLimitException       if the new attributes exceed a limit (nothing is written)
     * @throws IllegalArgumentException    if the new attributes have an illegal name or an unpaired surrogate
     *                                     (nothing is written)
     * @throws NullPointerException        if {@code change} or its result is null
     * @throws SessionLockTimeoutException if this process's lock on the session is not obtained within 30 s
     */
    public Optional<Session> update(String id, UnaryOperator<Session> change) {
        checkOpen();
        Objects.requireNonNull(change, "change");
        if (!wellFormed(id)) {
            return Optional.empty();
        }
        // Serialising this process's writers on the id leaves the compare-and-set to settle races between
        // instances only, instead of spinning local threads against each other.
        try (KeyedLocks.Held ignored = processLocks.session(id)) {
            return casLoop.run(() -> updateOnce(id, change), () -> { throw conflict("update", id); });
        }
    }

    /**
     * As {@link #update(String, UnaryOperator)}, for a caller that already holds the session (from
     * {@link #touch}, {@link #find}, {@link #create} or an earlier update): the change is applied to
     * {@code current} and compare-and-set against its version at once, one store round trip. Only if the
     * store holds a newer version (or none) does it fall back to reading and retrying as the other
     * {@code update}; the result is the same as that method's, whichever path wrote it.
     *
     * <p>{@code current} must be a session as this manager returned it: its id, owner, timestamps and
     * version are taken as the stored ones when the version matches.
     *
     * @return the stored session, or empty if the session does not exist or has expired
     * @throws SessionConflictException    after the bounded number of attempts all lost the race
     * @throws SessionLimitException       if the new attributes exceed a limit (nothing is written)
     * @throws IllegalArgumentException    if the new attributes have an illegal name or an unpaired surrogate
     *                                     (nothing is written)
     * @throws NullPointerException        if {@code current}, {@code change} or its result is null
     * @throws SessionLockTimeoutException if this process's lock on the session is not obtained within 30 s
     */
    public Optional<Session> update(Session current, UnaryOperator<Session> change) {
        checkOpen();
        Objects.requireNonNull(current, "current");
        Objects.requireNonNull(change, "change");
        String id = current.id();
        if (!wellFormed(id)) {
            return Optional.empty();
        }
        try (KeyedLocks.Held ignored = processLocks.session(id)) {
            Instant now = clock.instant();
            // An expired snapshot may have been extended by another writer since: the loop reads the truth.
            if (current.isExpired(now)) {
                return casLoop.run(() -> updateOnce(id, change), () -> { throw conflict("update", id); });
            }
            long start = System.nanoTime();
            Session next = changed(current, change, now);
            if (store.replace(next, current.version())) {
                return Optional.of(next);
            }
            return casLoop.retry(System.nanoTime() - start, () -> updateOnce(id, change),
                    () -> { throw conflict("update", id); });
        }
    }

    /** One read, change, compare-and-set attempt of an update; null when it lost. */
    private Optional<Session> updateOnce(String id, UnaryOperator<Session> change) {
        Instant now = clock.instant();
        Optional<Session> loaded = store.load(id);
        if (loaded.isEmpty() || loaded.get().isExpired(now)) {
            return Optional.empty();
        }
        Session next = changed(loaded.get(), change, now);
        return store.replace(next, loaded.get().version()) ? Optional.of(next) : null;
    }

    /** The next version of {@code current}: the change's attributes, checked, and an access at {@code now}. */
    private Session changed(Session current, UnaryOperator<Session> change, Instant now) {
        Session changed = Objects.requireNonNull(change.apply(current), "change returned null");
        attributeLimits.check(changed.attributes());
        return new Session(current.id(), current.owner(), current.createdAt(), now,
                current.idleTimeout(), current.absoluteExpiry(), current.version() + 1, changed.attributes());
    }

    private SessionConflictException conflict(String operation, String id) {
        return new SessionConflictException(operation + " of session " + SessionIds.redact(id) + " lost "
                + maxUpdateAttempts + " compare-and-set attempts in a row (maxUpdateAttempts)");
    }

    /**
     * Moves the live session to a fresh id, atomically: the old id is gone and no write to it can land
     * afterwards. Call it when the session's privilege changes (login) to defeat session fixation.
     *
     * @return the session under its new id, or empty if it does not exist or has expired
     * @throws SessionConflictException    after the bounded number of attempts all lost the race
     * @throws SessionLockTimeoutException if this process's lock on the session is not obtained within 30 s
     */
    public Optional<Session> changeId(String id) {
        return rotate(id, false, null);
    }

    /**
     * Logs the session in as {@code owner}: moves it to a fresh id, as {@link #changeId}, and binds it to
     * the owner in the same atomic step. The owner limit applies as in {@link #create}.
     *
     * @return the session under its new id, or empty if it does not exist or has expired
     * @throws SessionLimitException       if the owner is at the limit under {@link OwnerLimitPolicy#REJECT}
     *                                     (the session keeps its id and stays anonymous), or is over 256 characters
     * @throws IllegalArgumentException    for a control character or an unpaired surrogate in the owner
     * @throws SessionConflictException    after the bounded number of attempts all lost the race
     * @throws SessionLockTimeoutException if this process's lock is not obtained within 30 s
     */
    public Optional<Session> login(String id, String owner) {
        Objects.requireNonNull(owner, "owner");
        OwnerLimits.checkOwner(owner);
        if (!ownerLimits.applies(owner)) {
            return rotate(id, true, owner);
        }
        try (KeyedLocks.Held ignored = processLocks.owner(owner)) {
            return rotate(id, true, owner);
        }
    }

    private Optional<Session> rotate(String id, boolean setOwner, String owner) {
        checkOpen();
        if (!wellFormed(id)) {
            return Optional.empty();
        }
        try (KeyedLocks.Held ignored = processLocks.session(id)) {
            return casLoop.run(() -> {
                Instant now = clock.instant();
                Optional<Session> loaded = store.load(id);
                if (loaded.isEmpty() || loaded.get().isExpired(now)) {
                    return Optional.empty();
                }
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

    /** Ends the session ({@link EndReason#DELETED}). False if there was nothing to end. */
    public boolean end(String id) {
        checkOpen();
        if (!wellFormed(id)) {
            return false;
        }
        Optional<Session> removed = store.remove(id);
        removed.ifPresent(s -> events.ended(s, EndReason.DELETED));
        return removed.isPresent();
    }

    /**
     * Runs {@code action} while holding the session's lock, so that actions on one session never overlap:
     * within this process with the default {@link SessionLocks#inProcess()} (reentrant, held by the calling
     * thread), across instances with a cluster-wide {@link SessionLocks}. Waiting is bounded by
     * {@code timeout} and counted in {@link SessionStats#lockWaits()}. The id is not checked against the
     * store: locking a session that does not exist is harmless.
     *
     * @throws SessionLockTimeoutException if the lock was not obtained in time
     * @throws IllegalArgumentException    if the id is malformed
     */
    public <T> T withLock(String id, Duration timeout, Supplier<T> action) {
        checkOpen();
        Objects.requireNonNull(action, "action");
        Objects.requireNonNull(timeout, "timeout");
        if (!wellFormed(id)) {
            throw new IllegalArgumentException("malformed session id " + SessionIds.redact(id));
        }
        SessionLocks.Held held;
        try {
            held = sessionLocks.acquire(id, timeout);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new SessionLockTimeoutException("interrupted while waiting for the lock of session "
                    + SessionIds.redact(id));
        }
        if (held == null) {
            lockWaits.increment();
            throw new SessionLockTimeoutException("lock of session " + SessionIds.redact(id)
                    + " not obtained within " + Durations.format(timeout));
        }
        try (held) {
            if (held.waited()) {
                lockWaits.increment();
            }
            return action.get();
        }
    }

    /**
     * The owner's live sessions.
     *
     * @throws SessionLimitException    if the owner is empty or over 256 characters
     * @throws IllegalArgumentException for a control character or an unpaired surrogate in the owner
     */
    public List<Session> findByOwner(String owner) {
        checkOpen();
        OwnerLimits.checkOwner(owner);
        Instant now = clock.instant();
        List<Session> live = new ArrayList<>();
        for (Session s : store.findByOwner(owner)) {
            if (!s.isExpired(now)) {
                live.add(s);
            }
        }
        return live;
    }

    /**
     * One page of live sessions; see {@link SessionStore#list}. A page may hold fewer than {@code limit}.
     *
     * @throws IllegalArgumentException if {@code limit} is not positive, or the cursor was not issued by this store
     */
    public SessionPage list(String cursor, int limit) {
        checkOpen();
        if (limit <= 0) {
            throw new IllegalArgumentException("limit must be positive but was " + limit);
        }
        SessionPage page = store.list(cursor, limit);
        Instant now = clock.instant();
        return new SessionPage(page.sessions().stream().filter(s -> !s.isExpired(now)).toList(), page.nextCursor());
    }

    /**
     * Removes expired sessions now, in batches, and delivers their {@link EndReason#EXPIRED} events; the
     * sweeper thread calls this periodically. Each batch is acknowledged to the store after its events are
     * delivered (see the class documentation for what happens when a sweeper dies first). Returns how many
     * this call removed, batches taken over from a dead sweeper included.
     */
    public int sweep() {
        int total = 0;
        while (true) {
            List<Session> batch = store.removeExpired(clock.instant(), sweepBatchSize);
            List<String> delivered = new ArrayList<>(batch.size());
            for (Session s : batch) {
                events.ended(s, EndReason.EXPIRED);
                delivered.add(s.id());
            }
            // Only now may the claims go: a sweeper that dies before this line leaves them to another
            // instance's sweeper, which delivers them after the store's claim timeout.
            if (!delivered.isEmpty()) {
                store.acknowledgeExpired(delivered);
            }
            total += batch.size();
            if (batch.size() < sweepBatchSize || closed.get()) {
                return total;
            }
        }
    }

    public void addListener(SessionListener listener) {
        events.add(listener);
    }

    public void removeListener(SessionListener listener) {
        events.remove(listener);
    }

    public SessionStats stats() {
        return events.stats(store.count(), casConflicts.sum(), lockWaits.sum(), malformedIds.sum());
    }

    /** The idle timeout given to new sessions. */
    public Duration idleTimeout() {
        return idleTimeout;
    }

    /** Stops the sweeper and closes the store. Idempotent. */
    @Override
    public void close() {
        if (!closed.compareAndSet(false, true)) {
            return;
        }
        if (sweeper != null) {
            sweeper.close();
        }
        store.close();
    }

    private boolean wellFormed(String id) {
        if (SessionIds.isWellFormed(id)) {
            return true;
        }
        malformedIds.increment();
        return false;
    }

    private void checkOpen() {
        if (closed.get()) {
            throw new IllegalStateException("SessionManager is closed");
        }
    }

    /** Builds a {@link SessionManager}; every setting has a default listed on its method. */
    public static final class Builder {
        private final SessionStore store;
        private Clock clock = Clock.systemUTC();
        private Duration idleTimeout = Duration.ofMinutes(30);
        private Duration absoluteTimeout = Duration.ofHours(12);
        private double touchThreshold = 0.1;
        private int maxUpdateAttempts = 100;
        private int maxSessionsPerOwner;
        private OwnerLimitPolicy ownerLimitPolicy = OwnerLimitPolicy.REJECT;
        private Duration sweepInterval = Duration.ofSeconds(30);
        private int sweepBatchSize = 500;
        private AttributeLimits attributeLimits = AttributeLimits.DEFAULTS;
        private SessionLocks sessionLocks = SessionLocks.inProcess();
        private ThreadFactory threadFactory = PeriodicTask.daemonThreads("usher-session-sweeper");
        private final List<SessionListener> listeners = new ArrayList<>();

        private Builder(SessionStore store) {
            this.store = Objects.requireNonNull(store, "store");
        }

        /** The clock for every timestamp and expiry decision (default: system UTC). */
        public Builder clock(Clock clock) {
            this.clock = Objects.requireNonNull(clock, "clock");
            return this;
        }

        /** How long a session lives without access (default 30 minutes). */
        public Builder idleTimeout(Duration idleTimeout) {
            this.idleTimeout = positive("idleTimeout", idleTimeout);
            return this;
        }

        /** How long a session lives at most, whatever its use (default 12 hours). */
        public Builder absoluteTimeout(Duration absoluteTimeout) {
            this.absoluteTimeout = positive("absoluteTimeout", absoluteTimeout);
            return this;
        }

        /**
         * The fraction of the idle timeout by which the last access must have moved before {@code touch}
         * writes it (default 0.1: with a 30-minute idle timeout, at most one write per 3 minutes). 0 writes
         * every touch.
         */
        public Builder touchThreshold(double fraction) {
            if (!(fraction >= 0 && fraction < 1)) {
                throw new IllegalArgumentException("touchThreshold must be in [0, 1) but was " + fraction);
            }
            this.touchThreshold = fraction;
            return this;
        }

        /** Compare-and-set attempts of one {@code update} before a {@link SessionConflictException} (default 100). */
        public Builder maxUpdateAttempts(int attempts) {
            if (attempts < 1) {
                throw new IllegalArgumentException("maxUpdateAttempts must be at least 1 but was " + attempts);
            }
            this.maxUpdateAttempts = attempts;
            return this;
        }

        /** Most live sessions per owner and what happens past it (default: no limit). */
        public Builder maxSessionsPerOwner(int max, OwnerLimitPolicy policy) {
            if (max < 1) {
                throw new IllegalArgumentException("maxSessionsPerOwner must be at least 1 but was " + max);
            }
            this.maxSessionsPerOwner = max;
            this.ownerLimitPolicy = Objects.requireNonNull(policy, "policy");
            return this;
        }

        /** How often the sweeper removes expired sessions (default 30 s; {@link Duration#ZERO} for no sweeper thread). */
        public Builder sweepInterval(Duration interval) {
            Objects.requireNonNull(interval, "sweepInterval");
            if (interval.isNegative()) {
                throw new IllegalArgumentException("sweepInterval must not be negative but was " + Durations.format(interval));
            }
            this.sweepInterval = interval;
            return this;
        }

        /** Sessions removed per store call while sweeping (default 500). */
        public Builder sweepBatchSize(int size) {
            if (size < 1) {
                throw new IllegalArgumentException("sweepBatchSize must be at least 1 but was " + size);
            }
            this.sweepBatchSize = size;
            return this;
        }

        /** Limits on attribute names and values (default {@link AttributeLimits#DEFAULTS}). */
        public Builder attributeLimits(AttributeLimits limits) {
            this.attributeLimits = Objects.requireNonNull(limits, "attributeLimits");
            return this;
        }

        /** Where {@link SessionManager#withLock} locks (default {@link SessionLocks#inProcess()}). */
        public Builder sessionLocks(SessionLocks locks) {
            this.sessionLocks = Objects.requireNonNull(locks, "sessionLocks");
            return this;
        }

        /**
         * Where the sweeper's thread comes from (default: a daemon thread named {@code usher-session-sweeper}),
         * for a host that wants virtual threads, its own names or context (MDC). {@link SessionManager#close()}
         * stops the thread either way.
         */
        public Builder threadFactory(ThreadFactory threadFactory) {
            this.threadFactory = Objects.requireNonNull(threadFactory, "threadFactory");
            return this;
        }

        public Builder listener(SessionListener listener) {
            listeners.add(Objects.requireNonNull(listener, "listener"));
            return this;
        }

        /**
         * Builds the manager.
         *
         * @throws IllegalStateException if the settings contradict each other (an absolute timeout shorter
         *     than the idle timeout would make the idle timeout meaningless)
         */
        public SessionManager build() {
            if (absoluteTimeout.compareTo(idleTimeout) < 0) {
                throw new IllegalStateException("absoluteTimeout must be at least idleTimeout ("
                        + Durations.format(idleTimeout) + ") but was " + Durations.format(absoluteTimeout));
            }
            return new SessionManager(this);
        }

        private static Duration positive(String name, Duration d) {
            Objects.requireNonNull(d, name);
            if (d.isNegative() || d.isZero() || d.toMillis() == 0) {
                throw new IllegalArgumentException(name + " must be at least 1ms but was " + Durations.format(d));
            }
            return d;
        }
    }
}
