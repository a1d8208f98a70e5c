package dev.usher.session;

import java.time.Clock;
import java.time.Duration;
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
 * <p><b>Inside</b>: this class checks input and holds the API; the work is done by package-private parts:
 * {@link SessionAccess} (lookups and compare-and-set writes, under {@link ProcessLocks}, this process's locks on
 * a session or owner, waiting at most {@link ProcessLocks#WAIT}, retried by the {@link CompareAndSetLoop}),
 * {@link OwnerLimits} (owner checks and the store's owner-limited writes), {@link SessionEvents} (listeners and
 * end counts), {@link ExpirySweep} (the sweep and its thread) and {@link LockedActions} ({@link #withLock}).
 * About 450 lines only because of this guide and the nested {@link Builder} (every setting documented with
 * its default, nested so that {@code SessionManager.Builder} stays the public name): the methods between
 * them check input and delegate.
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
    private final SessionStore store;
    private final Duration idleTimeout;
    private final AttributeLimits attributeLimits;
    private final LockedActions lockedActions;
    private final SessionEvents events;
    private final SessionAccess access;
    private final ExpirySweep sweep;
    private final AtomicBoolean closed = new AtomicBoolean();

    private final LongAdder casConflicts = new LongAdder();
    private final LongAdder lockWaits = new LongAdder();
    private final LongAdder malformedIds = new LongAdder();

    private SessionManager(Builder b) {
        this.store = b.store;
        this.idleTimeout = b.idleTimeout;
        this.attributeLimits = b.attributeLimits;
        this.lockedActions = new LockedActions(b.sessionLocks, lockWaits);
        this.events = new SessionEvents(b.listeners);
        OwnerLimits ownerLimits = new OwnerLimits(b.maxSessionsPerOwner > 0
                ? new OwnerLimit(b.maxSessionsPerOwner, b.ownerLimitPolicy) : null, store, events);
        this.access = new SessionAccess(store, b.clock, b.idleTimeout, b.absoluteTimeout,
                (long) (b.idleTimeout.toMillis() * b.touchThreshold), b.maxUpdateAttempts, b.attributeLimits,
                events, ownerLimits, new ProcessLocks(lockWaits), new CompareAndSetLoop(b.maxUpdateAttempts, casConflicts));
        store.onEviction(s -> events.ended(s, EndReason.EVICTED));
        this.sweep = new ExpirySweep(store, b.clock, b.sweepBatchSize, events, b.sweepInterval, b.threadFactory);
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
        Session session = access.create(owner, attributes);
        events.created(session);
        return session;
    }

    /** The live session, without recording an access. Empty for an unknown, expired or malformed id. */
    public Optional<Session> find(String id) {
        checkOpen();
        if (!wellFormed(id)) {
            return Optional.empty();
        }
        return access.find(id);
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
        return access.touch(id);
    }

    /**
     * Atomically applies {@code change} to the live session and stores the result; the change may run more
     * than once (on a version conflict it is applied again to the fresh value) and must not have side effects.
     * Only the attributes and the idle timeout of its result are kept ({@link Session#withIdleTimeout} gives
     * this one session an idle timeout of its own; its touches then follow that one): id, owner, timestamps,
     * absolute expiry and version are the manager's. The write also records an access. Costs two store round
     * trips (read, compare-and-set) when nobody else writes; {@link #update(Session, UnaryOperator)} saves
     * the read when the caller holds the session.
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
        return access.update(id, change);
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
     * <p>Returns and throws as {@link #update(String, UnaryOperator)}, and {@link NullPointerException} for
     * a null {@code current}.
     */
    public Optional<Session> update(Session current, UnaryOperator<Session> change) {
        checkOpen();
        Objects.requireNonNull(current, "current");
        Objects.requireNonNull(change, "change");
        String id = current.id();
        if (!wellFormed(id)) {
            return Optional.empty();
        }
        return access.update(current, change);
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
        return rotate(id, true, owner);
    }

    private Optional<Session> rotate(String id, boolean setOwner, String owner) {
        checkOpen();
        if (!wellFormed(id)) {
            return Optional.empty();
        }
        return setOwner ? access.login(id, owner) : access.rotate(id, false, null);
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
        return lockedActions.run(id, timeout, action);
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
        return access.findByOwner(owner);
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
        return access.list(cursor, limit);
    }

    /**
     * Removes expired sessions now, in batches, and delivers their {@link EndReason#EXPIRED} events; the
     * sweeper thread calls this periodically. Each batch is acknowledged to the store after its events are
     * delivered (see the class documentation for what happens when a sweeper dies first). Returns how many
     * this call removed, batches taken over from a dead sweeper included.
     */
    public int sweep() {
        return sweep.sweep();
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
        sweep.close();
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
            this.idleTimeout = Settings.atLeastOneMilli("idleTimeout", idleTimeout);
            return this;
        }

        /** How long a session lives at most, whatever its use (default 12 hours). */
        public Builder absoluteTimeout(Duration absoluteTimeout) {
            this.absoluteTimeout = Settings.atLeastOneMilli("absoluteTimeout", absoluteTimeout);
            return this;
        }

        /**
         * The fraction of the idle timeout by which the last access must have moved before {@code touch}
         * writes it (default 0.1: with a 30-minute idle timeout, at most one write per 3 minutes). 0 writes
         * every touch.
         */
        public Builder touchThreshold(double fraction) {
            this.touchThreshold = Settings.fraction("touchThreshold", fraction);
            return this;
        }

        /** Compare-and-set attempts of one {@code update} before a {@link SessionConflictException} (default 100). */
        public Builder maxUpdateAttempts(int attempts) {
            this.maxUpdateAttempts = Settings.atLeast("maxUpdateAttempts", 1, attempts);
            return this;
        }

        /** Most live sessions per owner and what happens past it (default: no limit). */
        public Builder maxSessionsPerOwner(int max, OwnerLimitPolicy policy) {
            this.maxSessionsPerOwner = Settings.atLeast("maxSessionsPerOwner", 1, max);
            this.ownerLimitPolicy = Objects.requireNonNull(policy, "policy");
            return this;
        }

        /** How often the sweeper removes expired sessions (default 30 s; {@link Duration#ZERO} for no sweeper thread). */
        public Builder sweepInterval(Duration interval) {
            this.sweepInterval = Settings.notNegative("sweepInterval", interval);
            return this;
        }

        /** Sessions removed per store call while sweeping (default 500). */
        public Builder sweepBatchSize(int size) {
            this.sweepBatchSize = Settings.atLeast("sweepBatchSize", 1, size);
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
    }
}
