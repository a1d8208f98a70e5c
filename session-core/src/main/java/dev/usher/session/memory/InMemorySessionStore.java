package dev.usher.session.memory;

import dev.usher.session.OwnerLimit;
import dev.usher.session.OwnerLimitedWrite;
import dev.usher.session.Session;
import dev.usher.session.SessionLimitException;
import dev.usher.session.SessionPage;
import dev.usher.session.SessionStore;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.NoSuchElementException;
import java.util.Objects;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentSkipListMap;
import java.util.concurrent.ConcurrentSkipListSet;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.locks.ReentrantLock;
import java.util.function.Consumer;

/**
 * A {@link SessionStore} in this process's heap: fast, bounded, and gone on restart.
 *
 * <p>Thread-safe without a global lock: each session is changed atomically through its own map entry,
 * and the expiry, id and owner indexes are concurrent structures updated inside that step. At most
 * {@code maxSessions} are kept, so a flood of new sessions cannot exhaust the heap; when full, the session
 * that would expire soonest is evicted (reported through {@link #onEviction}): with the same timeouts for
 * every session, that is the least recently used one. Or the insert is refused, as configured. Sessions
 * are immutable values, so nothing mutable is ever shared with callers. Owner-limited writes (and moves of
 * a session to an owner) hold a lock of the owner's stripe, one of 64, so the count, the write and the trim
 * are one step for every caller of this store.
 *
 * <p>About 450 lines because each of the SPI's writes keeps the expiry and id indexes and the
 * {@link OwnerIndex} consistent inside the one map step of its session; splitting those steps across
 * classes would spread one atomicity argument over several files.
 *
 * <pre>{@code
 * SessionStore store = InMemorySessionStore.builder().maxSessions(100_000).build();
 * }</pre>
 */
public final class InMemorySessionStore implements SessionStore {

    /** What an insert into a full store does. */
    public enum WhenFull {
        /**
         * End the session that would expire soonest ({@code EVICTED}) to make room: the least recently used,
         * unless another one is closer to its absolute end.
         */
        EVICT_SOONEST_TO_EXPIRE,
        /** Refuse the new session with a {@link SessionLimitException}. */
        REJECT
    }

    /**
     * A stored session and the instant it is filed under in the expiry index; the same object is the map's
     * value and the index's key (ordered by that instant, then the id), so the index costs no key object of
     * its own. The filing instant is never later than the session's real expiry: a write that extends the
     * expiry (every touch and update does) swaps the session in place and leaves the index alone, and the
     * sweep re-files a session it finds filed too early. So the common write costs no index work at all.
     * The session is swapped only inside the map's step for its id; the id, and so the key's order, never
     * changes.
     */
    private static final class Stored {
        private final long filedAt;
        private volatile Session session;

        Stored(Session session, long filedAt) {
            this.session = session;
            this.filedAt = filedAt;
        }

        Session session() {
            return session;
        }

        long filedAt() {
            return filedAt;
        }
    }

    private static final Comparator<Stored> ORDER =
            Comparator.comparingLong(Stored::filedAt).thenComparing(s -> s.session().id());

    private static final int OWNER_STRIPES = 64;

    private final int maxSessions;
    private final WhenFull whenFull;
    private final ReentrantLock[] ownerStripes = new ReentrantLock[OWNER_STRIPES];
    private final ConcurrentHashMap<String, Stored> sessions = new ConcurrentHashMap<>();
    private final ConcurrentSkipListSet<Stored> byExpiry = new ConcurrentSkipListSet<>(ORDER);
    private final OwnerIndex byOwner = new OwnerIndex();
    private final ConcurrentSkipListMap<String, Boolean> ids = new ConcurrentSkipListMap<>();
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
        Stored stored = sessions.get(id);
        return stored == null ? Optional.empty() : Optional.of(stored.session());
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
            return index(session);
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
        Stored first = firstOrNull();
        if (first == null) {
            Thread.onSpinWait(); // capacity is reserved by inserts still indexing; it frees up at once
            return;
        }
        Stored[] evicted = new Stored[1];
        sessions.computeIfPresent(first.session().id(), (id, stored) -> {
            if (stored != first) {
                return stored; // filed elsewhere meanwhile
            }
            if (stored.session().expiresAt().toEpochMilli() > first.filedAt()) {
                return refile(stored); // filed too early: others may expire sooner
            }
            unindex(stored);
            evicted[0] = stored;
            return null;
        });
        if (evicted[0] != null) {
            size.decrementAndGet();
            evictionListener.accept(evicted[0].session());
        }
    }

    private Stored firstOrNull() {
        try {
            return byExpiry.first();
        } catch (NoSuchElementException e) {
            return null;
        }
    }

    @Override
    public boolean replace(Session session, long expectedVersion) {
        boolean[] replaced = new boolean[1];
        sessions.computeIfPresent(session.id(), (id, current) -> {
            if (current.session().version() != expectedVersion) {
                return current;
            }
            replaced[0] = true;
            return rewrite(current, session);
        });
        return replaced[0];
    }

    /** The new value for an entry whose session is replaced by {@code next} (same id); call inside its step. */
    private Stored rewrite(Stored current, Session next) {
        Session previous = current.session();
        if (!Objects.equals(previous.owner(), next.owner())) {
            removeFromOwner(previous);
            addToOwner(next);
        }
        long expiry = next.expiresAt().toEpochMilli();
        if (expiry >= current.filedAt()) {
            current.session = next;
            return current;
        }
        // The expiry moved earlier (unusual): file it there, or the sweep would find it late.
        byExpiry.remove(current);
        Stored refiled = new Stored(next, expiry);
        byExpiry.add(refiled);
        return refiled;
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
        // While it moves, the session is in no owner index; an owner-limited write counting then would
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
        Stored current = sessions.get(oldId);
        if (current == null || current.session().version() != expectedVersion) {
            return false;
        }
        // Claim the new id first (capacity moves with the session), then retire the old one with a
        // version check; if that check fails, give the new id back. The old id rejects every write once
        // it is gone, so no update can land on it after the move.
        Stored placeholder = new Stored(renamed, Long.MIN_VALUE);
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
            if (s.session().version() != expectedVersion) {
                return s;
            }
            unindex(s);
            retired[0] = true;
            return null;
        });
        if (!retired[0]) {
            sessions.remove(renamed.id(), placeholder);
            return false;
        }
        sessions.computeIfPresent(renamed.id(), (id, s) -> index(s.session()));
        return true;
    }

    @Override
    public Optional<Session> remove(String id) {
        Stored[] removed = new Stored[1];
        sessions.computeIfPresent(id, (k, current) -> {
            unindex(current);
            removed[0] = current;
            return null;
        });
        if (removed[0] == null) {
            return Optional.empty();
        }
        size.decrementAndGet();
        return Optional.of(removed[0].session());
    }

    @Override
    public List<Session> removeExpired(Instant now, int limit) {
        List<Session> claimed = new ArrayList<>();
        long nowMillis = now.toEpochMilli();
        for (Stored slot : byExpiry) {
            if (slot.filedAt() > nowMillis || claimed.size() >= limit) {
                break;
            }
            Stored[] removed = new Stored[1];
            sessions.computeIfPresent(slot.session().id(), (id, stored) -> {
                if (stored != slot) {
                    return stored;
                }
                if (!stored.session().isExpired(now)) {
                    return refile(stored); // touched since it was filed
                }
                unindex(stored);
                removed[0] = stored;
                return null;
            });
            if (removed[0] != null) {
                size.decrementAndGet();
                claimed.add(removed[0].session());
            }
        }
        return claimed;
    }

    /** Files a session under its real expiry; call inside its step. */
    private Stored refile(Stored stored) {
        Stored refiled = new Stored(stored.session(), stored.session().expiresAt().toEpochMilli());
        byExpiry.add(refiled);
        byExpiry.remove(stored);
        return refiled;
    }

    @Override
    public List<Session> findByOwner(String owner) {
        List<Session> result = new ArrayList<>();
        byOwner.forEachId(owner, id -> {
            Stored stored = sessions.get(id);
            if (stored != null && owner.equals(stored.session().owner())) {
                result.add(stored.session());
            }
        });
        return result;
    }

    @Override
    public SessionPage list(String cursor, int limit) {
        List<Session> page = new ArrayList<>(Math.min(limit, 1024));
        Map<String, Boolean> tail = cursor == null ? ids : ids.tailMap(cursor, false);
        String last = null;
        for (String id : tail.keySet()) {
            if (page.size() >= limit) {
                return new SessionPage(page, last);
            }
            Stored s = sessions.get(id);
            if (s != null) {
                page.add(s.session());
                last = id;
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

    // Called inside the session's map-entry step, so index changes of one session never interleave.
    private Stored index(Session s) {
        Stored stored = new Stored(s, s.expiresAt().toEpochMilli());
        ids.put(s.id(), Boolean.TRUE);
        byExpiry.add(stored);
        addToOwner(s);
        return stored;
    }

    private void unindex(Stored stored) {
        Session s = stored.session();
        ids.remove(s.id());
        byExpiry.remove(stored);
        removeFromOwner(s);
    }

    private void addToOwner(Session s) {
        if (s.owner() != null) {
            byOwner.add(s.owner(), s.id());
        }
    }

    private void removeFromOwner(Session s) {
        if (s.owner() != null) {
            byOwner.remove(s.owner(), s.id());
        }
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
