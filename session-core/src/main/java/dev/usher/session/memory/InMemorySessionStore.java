package dev.usher.session.memory;

import dev.usher.session.OwnerLimit;
import dev.usher.session.OwnerLimitedWrite;
import dev.usher.session.Session;
import dev.usher.session.SessionLimitException;
import dev.usher.session.SessionPage;
import dev.usher.session.SessionStore;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.locks.ReentrantLock;
import java.util.function.Consumer;

/**
 * A {@link SessionStore} in this process's heap: fast, bounded, and gone on restart.
 *
 * <p>Thread-safe without a global lock: each session is changed atomically through its own map entry
 * ({@link StoredSession}), under the entry's monitor (inside the map's step for the id when the entry is
 * added, ended or moved; alone for a replace), and its indexes are updated inside that step: the {@link ExpiryWheel} (expiry, for
 * the sweep and for eviction) and the {@link IdIndex} (ids in order, for listing and for owner lookups).
 * At most {@code maxSessions} are kept, so a flood of new sessions cannot exhaust the heap; when full, the
 * session that would expire soonest (to within the wheel's one second) is evicted, reported through
 * {@link #onEviction}: with the same timeouts for every session, that is the least recently used one. Or the
 * insert is refused, as configured. Sessions are immutable values, so nothing mutable is ever shared with
 * callers. Owner-limited writes (and moves of a session to an owner) hold a lock of the owner's stripe, one
 * of 64, so the count, the write and the trim are one step for every caller of this store.
 *
 * <p>Heap: an idle session costs its id, its {@link Session}, one entry object and the map's and the id
 * order's nodes; the expiry index lives in the entry's two links, and owners cost nothing because the store
 * chooses owned sessions' ids so that an owner's sessions are one range of the ordered ids.
 *
 * <pre>{@code
 * SessionStore store = InMemorySessionStore.builder().maxSessions(100_000).build();
 * }</pre>
 */
public final class InMemorySessionStore implements SessionStore {

    /** What an insert into a full store does. */
    public enum WhenFull {
        /**
         * End the session that would expire soonest ({@code EVICTED}), to within a second, to make room: the
         * least recently used, unless another one is closer to its absolute end.
         */
        EVICT_SOONEST_TO_EXPIRE,
        /** Refuse the new session with a {@link SessionLimitException}. */
        REJECT
    }

    private static final int OWNER_STRIPES = 64;

    private final int maxSessions;
    private final WhenFull whenFull;
    private final ReentrantLock[] ownerStripes = new ReentrantLock[OWNER_STRIPES];
    private final ConcurrentHashMap<String, StoredSession> sessions = new ConcurrentHashMap<>();
    private final ExpiryWheel byExpiry = new ExpiryWheel();
    private final IdIndex ids = new IdIndex();
    private final AtomicInteger size = new AtomicInteger();
    private volatile Consumer<Session> evictionListener = s -> { };

    private InMemorySessionStore(Builder b) {
        this.maxSessions = b.maxSessions;
        this.whenFull = b.whenFull;
        for (int i = 0; i < OWNER_STRIPES; i++) {
            ownerStripes[i] = new ReentrantLock();
        }
    }

    /** A store for at most 100,000 sessions that evicts the one closest to expiry when full. */
    public InMemorySessionStore() {
        this(builder());
    }

    public static Builder builder() {
        return new Builder();
    }

    @Override
    public Optional<Session> load(String id) {
        StoredSession stored = sessions.get(id);
        return stored == null ? Optional.empty() : Optional.of(stored.session);
    }

    /** Random ids; an owned session's id starts with its owner's tag (see {@link IdIndex}). */
    @Override
    public String newSessionId(String owner) {
        String random = SessionStore.super.newSessionId(null);
        return owner == null ? random : ids.tagged(random, owner);
    }

    @Override
    public boolean insert(Session session) {
        if (sessions.containsKey(session.id())) {
            return false;
        }
        reserveCapacity();
        boolean[] inserted = new boolean[1];
        sessions.computeIfAbsent(session.id(), id -> {
            inserted[0] = true;
            return index(new StoredSession(session));
        });
        if (!inserted[0]) {
            size.decrementAndGet();
        }
        return inserted[0];
    }

    /** Takes one unit of capacity, evicting if configured, or throws when full and rejecting. */
    private void reserveCapacity() {
        while (true) {
            int current = size.get();
            if (current < maxSessions) {
                if (size.compareAndSet(current, current + 1)) {
                    return;
                }
                continue;
            }
            if (whenFull == WhenFull.REJECT) {
                throw new SessionLimitException("the in-memory store is full: maxSessions=" + maxSessions,
                        "maxSessions", maxSessions);
            }
            evictSoonestToExpire();
        }
    }

    private void evictSoonestToExpire() {
        StoredSession first = byExpiry.first();
        if (first == null) {
            Thread.onSpinWait(); // capacity is reserved by inserts still indexing; it frees up at once
            return;
        }
        StoredSession[] evicted = new StoredSession[1];
        sessions.computeIfPresent(first.session.id(), (id, stored) -> {
            synchronized (stored) {
                if (stored != first || stored.bucket == null) {
                    return stored; // moved or ended meanwhile
                }
                if (ExpiryWheel.filedTooEarly(stored)) {
                    byExpiry.fileAgain(stored); // touched since it was filed: others may expire sooner
                    return stored;
                }
                unindex(stored);
                evicted[0] = stored;
                return null;
            }
        });
        if (evicted[0] != null) {
            size.decrementAndGet();
            evictionListener.accept(evicted[0].session);
        }
    }

    /**
     * Under the entry's monitor only, not in a map step: a map step writes the map's node even when it keeps
     * the entry, and that store into an old object costs the collector a card to refine on every write, as
     * much again as the write itself (measured: G1's refinement threads then burned 0.25 µs per update). Every
     * step that ends, moves or files an entry takes the same monitor, so an entry found here and still filed
     * ({@code bucket != null}) is the id's live session for as long as it is held; one that was ended after
     * the lookup answers false, as if the replace had come at the moment it was gone.
     */
    @Override
    public boolean replace(Session session, long expectedVersion) {
        StoredSession current = sessions.get(session.id());
        if (current == null) {
            return false;
        }
        synchronized (current) {
            if (current.session.version() != expectedVersion || current.bucket == null) {
                return false;
            }
            Session previous = current.session;
            current.session = session;
            if (!Objects.equals(previous.owner(), session.owner())) {
                ids.ownerChanged(previous, session);
            }
            byExpiry.fileAgainIfEarlier(current);
            return true;
        }
    }

    @Override
    public OwnerLimitedWrite insertWithinOwnerLimit(Session session, OwnerLimit limit, Instant now) {
        ReentrantLock lock = ownerStripe(session.owner());
        lock.lock();
        try {
            return SessionStore.super.insertWithinOwnerLimit(session, limit, now);
        } finally {
            lock.unlock();
        }
    }

    @Override
    public OwnerLimitedWrite changeIdWithinOwnerLimit(String oldId, Session renamed, long expectedVersion,
                                                      OwnerLimit limit, Instant now) {
        ReentrantLock lock = ownerStripe(renamed.owner());
        lock.lock();
        try {
            return SessionStore.super.changeIdWithinOwnerLimit(oldId, renamed, expectedVersion, limit, now);
        } finally {
            lock.unlock();
        }
    }

    private ReentrantLock ownerStripe(String owner) {
        return ownerStripes[Math.floorMod(owner.hashCode(), OWNER_STRIPES)];
    }

    @Override
    public boolean changeId(String oldId, Session renamed, long expectedVersion) {
        if (renamed.owner() == null) {
            return move(oldId, renamed, expectedVersion);
        }
        // While it moves, the session is in no owner lookup; an owner-limited write counting then would
        // miss it. The owner's lock keeps those writes out for that moment.
        ReentrantLock lock = ownerStripe(renamed.owner());
        lock.lock();
        try {
            return move(oldId, renamed, expectedVersion);
        } finally {
            lock.unlock();
        }
    }

    private boolean move(String oldId, Session renamed, long expectedVersion) {
        StoredSession current = sessions.get(oldId);
        if (current == null || current.session.version() != expectedVersion) {
            return false;
        }
        // Claim the new id first (capacity moves with the session), then retire the old one with a
        // version check; if that check fails, give the new id back. The old id rejects every write once
        // it is gone, so no update can land on it after the move. Until it is indexed, the claimed entry
        // is in no bucket, and every write to it is refused.
        StoredSession placeholder = new StoredSession(renamed);
        boolean[] claimed = new boolean[1];
        sessions.computeIfAbsent(renamed.id(), id -> {
            claimed[0] = true;
            return placeholder;
        });
        if (!claimed[0]) {
            return false;
        }
        boolean[] retired = new boolean[1];
        sessions.computeIfPresent(oldId, (id, s) -> {
            synchronized (s) {
                if (s.session.version() != expectedVersion || s.bucket == null) {
                    return s;
                }
                unindex(s);
                retired[0] = true;
                return null;
            }
        });
        if (!retired[0]) {
            sessions.remove(renamed.id(), placeholder);
            return false;
        }
        sessions.computeIfPresent(renamed.id(), (id, s) -> {
            synchronized (s) {
                return index(s);
            }
        });
        return true;
    }

    @Override
    public Optional<Session> remove(String id) {
        StoredSession[] removed = new StoredSession[1];
        sessions.computeIfPresent(id, (k, current) -> {
            synchronized (current) {
                if (current.bucket == null) {
                    return current; // a move's claim on this id, not yet a session
                }
                unindex(current);
                removed[0] = current;
                return null;
            }
        });
        if (removed[0] == null) {
            return Optional.empty();
        }
        size.decrementAndGet();
        return Optional.of(removed[0].session);
    }

    @Override
    public List<Session> removeExpired(Instant now, int limit) {
        List<Session> claimed = new ArrayList<>();
        long nowMillis = StoredSession.millis(now);
        byExpiry.forEachDue(nowMillis, slot -> {
            if (claimed.size() >= limit) {
                return false;
            }
            StoredSession[] removed = new StoredSession[1];
            sessions.computeIfPresent(slot.session.id(), (id, stored) -> {
                synchronized (stored) {
                    if (stored != slot || stored.bucket == null) {
                        return stored;
                    }
                    if (!stored.session.isExpired(now)) {
                        if (ExpiryWheel.filedTooEarly(stored)) {
                            byExpiry.fileAgain(stored); // touched since it was filed
                        }
                        return stored;
                    }
                    unindex(stored);
                    removed[0] = stored;
                    return null;
                }
            });
            if (removed[0] != null) {
                size.decrementAndGet();
                claimed.add(removed[0].session);
            }
            return true;
        });
        return claimed;
    }

    @Override
    public List<Session> findByOwner(String owner) {
        List<Session> result = new ArrayList<>();
        ids.forEachOfOwner(owner, sessions::get, stored -> {
            Session s = stored.session;
            if (owner.equals(s.owner()) && sessions.get(s.id()) == stored) {
                result.add(s);
            }
        });
        return result;
    }

    @Override
    public SessionPage list(String cursor, int limit) {
        List<Session> page = new ArrayList<>(Math.min(limit, 1024));
        String last = null;
        for (StoredSession stored : ids.after(cursor).values()) {
            if (page.size() >= limit) {
                return new SessionPage(page, last);
            }
            Session s = stored.session;
            if (sessions.get(s.id()) == stored) {
                page.add(s);
                last = s.id();
            }
        }
        return new SessionPage(page, null);
    }

    @Override
    public long count() {
        // ConcurrentHashMap.size() is an estimate under concurrent updates and can briefly read above the
        // bound; the capacity counter never exceeds it and never reads below the map's real size.
        return Math.min(sessions.size(), size.get());
    }

    @Override
    public void onEviction(Consumer<Session> listener) {
        this.evictionListener = Objects.requireNonNull(listener, "listener");
    }

    /** Nothing to release: the sessions simply become garbage. */
    @Override
    public void close() {
    }

    /** The expiry index, for tests that check it against the sessions. */
    ExpiryWheel expiryIndex() {
        return byExpiry;
    }

    /** The id index, for tests that check it against the sessions. */
    IdIndex idIndex() {
        return ids;
    }

    // Called inside the session's map-entry step holding the entry's monitor (a new entry, not yet visible,
    // needs none), so index changes of one session never interleave with each other or with a replace.
    private StoredSession index(StoredSession stored) {
        ids.add(stored);
        byExpiry.file(stored);
        return stored;
    }

    private void unindex(StoredSession stored) {
        ids.remove(stored.session);
        byExpiry.unfile(stored);
    }

    /** Builds an {@link InMemorySessionStore}. */
    public static final class Builder {
        private int maxSessions = 100_000;
        private WhenFull whenFull = WhenFull.EVICT_SOONEST_TO_EXPIRE;

        private Builder() {
        }

        /** Most sessions kept (default 100,000). */
        public Builder maxSessions(int maxSessions) {
            if (maxSessions < 1) {
                throw new IllegalArgumentException("maxSessions must be at least 1 but was " + maxSessions);
            }
            this.maxSessions = maxSessions;
            return this;
        }

        /** What an insert into a full store does (default {@link WhenFull#EVICT_SOONEST_TO_EXPIRE}). */
        public Builder whenFull(WhenFull whenFull) {
            this.whenFull = Objects.requireNonNull(whenFull, "whenFull");
            return this;
        }

        public InMemorySessionStore build() {
            return new InMemorySessionStore(this);
        }
    }
}
