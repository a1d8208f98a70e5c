package dev.usher.session.memory;

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
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentSkipListMap;
import java.util.concurrent.ConcurrentSkipListSet;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Consumer;
import java.util.function.Predicate;

/**
 * A {@link SessionStore} in this process's heap: fast, bounded, and gone on restart.
 *
 * <p>Thread-safe without a global lock: each session is changed atomically through its own map entry,
 * and the expiry, recency and owner indexes are concurrent structures updated inside that step. At most
 * {@code maxSessions} are kept, so a flood of new sessions cannot exhaust the heap; when full, the least
 * recently accessed session is evicted (reported through {@link #onEviction}) or the insert is refused,
 * as configured. Sessions are immutable values, so nothing mutable is ever shared with callers.
 *
 * <pre>{@code
 * SessionStore store = InMemorySessionStore.builder().maxSessions(100_000).build();
 * }</pre>
 */
public final class InMemorySessionStore implements SessionStore {

    /** What an insert into a full store does. */
    public enum WhenFull {
        /** End the least recently accessed session ({@code EVICTED}) to make room. */
        EVICT_LEAST_RECENTLY_USED,
        /** Refuse the new session with a {@link SessionLimitException}. */
        REJECT
    }

    /** An index key: an instant plus the id to make it unique. */
    private record Slot(long millis, String id) {
    }

    private static final Comparator<Slot> ORDER = Comparator.comparingLong(Slot::millis).thenComparing(Slot::id);

    private final int maxSessions;
    private final WhenFull whenFull;
    private final ConcurrentHashMap<String, Session> sessions = new ConcurrentHashMap<>();
    private final ConcurrentSkipListSet<Slot> byExpiry = new ConcurrentSkipListSet<>(ORDER);
    private final ConcurrentSkipListSet<Slot> byAccess = new ConcurrentSkipListSet<>(ORDER);
    private final ConcurrentHashMap<String, Set<String>> byOwner = new ConcurrentHashMap<>();
    private final ConcurrentSkipListMap<String, Boolean> ids = new ConcurrentSkipListMap<>();
    private final AtomicInteger size = new AtomicInteger();
    private volatile Consumer<Session> evictionListener = s -> { };

    private InMemorySessionStore(Builder b) {
        this.maxSessions = b.maxSessions;
        this.whenFull = b.whenFull;
    }

    /** A store for at most 100,000 sessions that evicts the least recently used when full. */
    public InMemorySessionStore() {
        this(builder());
    }

    public static Builder builder() {
        return new Builder();
    }

    @Override
    public Optional<Session> load(String id) {
        return Optional.ofNullable(sessions.get(id));
    }

    @Override
    public boolean insert(Session session) {
        if (sessions.containsKey(session.id())) {
            return false;
        }
        reserveSlot();
        boolean[] inserted = new boolean[1];
        sessions.computeIfAbsent(session.id(), id -> {
            index(session);
            inserted[0] = true;
            return session;
        });
        if (!inserted[0]) {
            size.decrementAndGet();
        }
        return inserted[0];
    }

    /** Takes one unit of capacity, evicting if configured, or throws when full and rejecting. */
    private void reserveSlot() {
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
            evictLeastRecentlyUsed();
        }
    }

    private void evictLeastRecentlyUsed() {
        Slot oldest = byAccess.isEmpty() ? null : firstOrNull(byAccess);
        if (oldest == null) {
            Thread.onSpinWait(); // capacity is reserved by inserts still indexing; it frees up at once
            return;
        }
        Session evicted = removeIf(oldest.id(), s -> s.lastAccessedAt().toEpochMilli() == oldest.millis());
        if (evicted != null) {
            evictionListener.accept(evicted);
        }
    }

    private static Slot firstOrNull(ConcurrentSkipListSet<Slot> set) {
        try {
            return set.first();
        } catch (NoSuchElementException e) {
            return null;
        }
    }

    @Override
    public boolean replace(Session session, long expectedVersion) {
        boolean[] replaced = new boolean[1];
        sessions.computeIfPresent(session.id(), (id, current) -> {
            if (current.version() != expectedVersion) {
                return current;
            }
            unindex(current);
            index(session);
            replaced[0] = true;
            return session;
        });
        return replaced[0];
    }

    @Override
    public boolean changeId(String oldId, Session renamed, long expectedVersion) {
        Session current = sessions.get(oldId);
        if (current == null || current.version() != expectedVersion) {
            return false;
        }
        // Claim the new id first (capacity moves with the session), then retire the old one with a
        // version check; if that check fails, give the new id back. Readers of either id see at most one
        // live copy's worth of writes: the old id rejects every write once it is gone.
        boolean[] claimed = new boolean[1];
        sessions.computeIfAbsent(renamed.id(), id -> {
            claimed[0] = true;
            return renamed;
        });
        if (!claimed[0]) {
            return false;
        }
        boolean[] retired = new boolean[1];
        sessions.computeIfPresent(oldId, (id, s) -> {
            if (s.version() != expectedVersion) {
                return s;
            }
            unindex(s);
            retired[0] = true;
            return null;
        });
        if (!retired[0]) {
            sessions.remove(renamed.id(), renamed);
            return false;
        }
        sessions.computeIfPresent(renamed.id(), (id, s) -> {
            index(s);
            return s;
        });
        return true;
    }

    @Override
    public Optional<Session> remove(String id) {
        return Optional.ofNullable(removeIf(id, s -> true));
    }

    private Session removeIf(String id, Predicate<Session> condition) {
        Session[] removed = new Session[1];
        sessions.computeIfPresent(id, (k, current) -> {
            if (!condition.test(current)) {
                return current;
            }
            unindex(current);
            removed[0] = current;
            return null;
        });
        if (removed[0] != null) {
            size.decrementAndGet();
        }
        return removed[0];
    }

    @Override
    public List<Session> removeExpired(Instant now, int limit) {
        List<Session> claimed = new ArrayList<>();
        long nowMillis = now.toEpochMilli();
        for (Slot slot : byExpiry) {
            if (slot.millis() > nowMillis || claimed.size() >= limit) {
                break;
            }
            Session removed = removeIf(slot.id(), s -> s.isExpired(now));
            if (removed != null) {
                claimed.add(removed);
            }
        }
        return claimed;
    }

    @Override
    public List<Session> findByOwner(String owner) {
        Set<String> ownedIds = byOwner.get(owner);
        if (ownedIds == null) {
            return List.of();
        }
        List<Session> result = new ArrayList<>(ownedIds.size());
        for (String id : ownedIds) {
            Session s = sessions.get(id);
            if (s != null && owner.equals(s.owner())) {
                result.add(s);
            }
        }
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
            Session s = sessions.get(id);
            if (s != null) {
                page.add(s);
                last = id;
            }
        }
        return new SessionPage(page, null);
    }

    @Override
    public long count() {
        // ConcurrentHashMap.size() is an estimate under concurrent updates and can briefly read above the
        // bound; the slot counter never exceeds it and never reads below the map's real size.
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
    private void index(Session s) {
        ids.put(s.id(), Boolean.TRUE);
        byExpiry.add(new Slot(s.expiresAt().toEpochMilli(), s.id()));
        byAccess.add(new Slot(s.lastAccessedAt().toEpochMilli(), s.id()));
        if (s.owner() != null) {
            byOwner.compute(s.owner(), (o, set) -> {
                Set<String> x = set == null ? ConcurrentHashMap.newKeySet() : set;
                x.add(s.id());
                return x;
            });
        }
    }

    private void unindex(Session s) {
        ids.remove(s.id());
        byExpiry.remove(new Slot(s.expiresAt().toEpochMilli(), s.id()));
        byAccess.remove(new Slot(s.lastAccessedAt().toEpochMilli(), s.id()));
        if (s.owner() != null) {
            byOwner.computeIfPresent(s.owner(), (o, set) -> {
                set.remove(s.id());
                return set.isEmpty() ? null : set;
            });
        }
    }

    /** Builds an {@link InMemorySessionStore}. */
    public static final class Builder {
        private int maxSessions = 100_000;
        private WhenFull whenFull = WhenFull.EVICT_LEAST_RECENTLY_USED;

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

        /** What an insert into a full store does (default {@link WhenFull#EVICT_LEAST_RECENTLY_USED}). */
        public Builder whenFull(WhenFull whenFull) {
            this.whenFull = Objects.requireNonNull(whenFull, "whenFull");
            return this;
        }

        public InMemorySessionStore build() {
            return new InMemorySessionStore(this);
        }
    }
}
