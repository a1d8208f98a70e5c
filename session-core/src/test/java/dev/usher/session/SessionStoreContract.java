package dev.usher.session;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Consumer;
import java.util.function.UnaryOperator;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The {@link SessionStore} contract as tests. Every backend runs this suite unchanged against its real
 * engine by implementing {@link #createStore()} (and {@link #createPeerStore()} when a second instance can
 * share the same data, as two servers would).
 *
 * <p>Each test gets a fresh, empty store and a {@link SessionManager} over it with a {@link TestClock}
 * and no sweeper thread, so expiry is driven by moving the clock and calling {@link SessionManager#sweep()}.
 */
public abstract class SessionStoreContract {

    protected static final Duration IDLE = Duration.ofMinutes(30);
    protected static final Duration ABSOLUTE = Duration.ofHours(12);
    private static final SessionAttribute<Integer> COUNTER = SessionAttribute.ofInt("counter");

    protected TestClock clock;
    protected SessionStore store;
    protected SessionManager manager;
    private final List<AutoCloseable> toClose = new ArrayList<>();

    /** A new, empty store, isolated from every other test's data. */
    protected abstract SessionStore createStore();

    /**
     * A second, independent instance (its own pool or client) over the same data as the store last
     * returned by {@link #createStore()}, as another server would have; null where that cannot exist.
     */
    protected SessionStore createPeerStore() {
        return null;
    }

    /**
     * The claim timeout of the stores {@link #createStore()} builds, for a store shared by several processes
     * whose expiry claims outlive a dead sweeper; null (the default) for a store that lives and dies with
     * its process and removes at once.
     */
    protected Duration expiryClaimTimeout() {
        return null;
    }

    @BeforeEach
    void openStore() {
        clock = new TestClock();
        store = createStore();
        manager = managerOver(store).build();
    }

    @AfterEach
    void closeStore() throws Exception {
        for (AutoCloseable c : toClose) {
            c.close();
        }
        manager.close();
    }

    protected SessionManager.Builder managerOver(SessionStore s) {
        return SessionManager.builder(s).clock(clock).idleTimeout(IDLE).absoluteTimeout(ABSOLUTE)
                .sweepInterval(Duration.ZERO);
    }

    /** A peer manager, or one more manager over the same store where the backend has no peers. */
    private SessionManager peerManager() {
        return peerManager(100);
    }

    private SessionManager peerManager(int maxUpdateAttempts) {
        return peerManager(maxUpdateAttempts, b -> b);
    }

    private SessionManager peerManager(int maxUpdateAttempts,
                                       UnaryOperator<SessionManager.Builder> settings) {
        SessionStore peer = createPeerStore();
        if (peer == null) {
            // Sharing the store object; closing this manager must not close it, so give it a view.
            peer = new NonClosingStore(store);
        }
        SessionManager m = settings.apply(managerOver(peer).maxUpdateAttempts(maxUpdateAttempts)).build();
        toClose.add(m);
        return m;
    }

    protected Session newSession(String owner, Map<String, String> attributes) {
        Instant now = clock.instant();
        return new Session(SessionIds.generate(), owner, now, now, IDLE, now.plus(ABSOLUTE), 1, attributes);
    }

    // ---- SPI semantics -------------------------------------------------------------------------

    @Test
    public void insertThenLoadReturnsAnEqualSession() {
        Session s = newSession("alice", Map.of("a", "1", "b", "two"));
        assertThat(store.insert(s)).isTrue();
        assertThat(store.load(s.id())).contains(s);
    }

    @Test
    public void anonymousSessionRoundTrips() {
        Session s = newSession(null, Map.of());
        assertThat(store.insert(s)).isTrue();
        assertThat(store.load(s.id())).contains(s);
    }

    @Test
    public void hostileAndUnicodeValuesRoundTripExactly() {
        Map<String, String> attrs = new LinkedHashMap<>();
        attrs.put("quote", "it's \"quoted\" `back` \\ slash");
        attrs.put("sql", "'; DROP TABLE sessions; --");
        attrs.put("korean", "안녕하세요 세계");
        attrs.put("emoji", "👩🏽‍💻🚀 family 👨‍👩‍👧‍👦");
        attrs.put("nul", "before\u0000after");
        attrs.put("controls", "tab\tnewline\ncr\r\u0001\u001f");
        attrs.put("json", "{\"a\":[1,2,{\"b\":null}]}");
        attrs.put("lua", "]]--[[ redis.call('FLUSHALL') ]]");
        attrs.put("percent", "%s %d %n {0} ${x}");
        attrs.put("empty", "");
        attrs.put("이름", "키도 유니코드");
        attrs.put("big", "x".repeat(AttributeLimits.DEFAULTS.maxValueBytes()));
        Session s = newSession("owner 'with' \"quotes\" 사용자 🙂", attrs);
        assertThat(store.insert(s)).isTrue();
        Session loaded = store.load(s.id()).orElseThrow();
        assertThat(loaded).isEqualTo(s);
        assertThat(loaded.attributes()).containsExactlyInAnyOrderEntriesOf(attrs);
        assertThat(store.findByOwner(s.owner())).containsExactly(s);
    }

    @Test
    public void insertOfATakenIdIsRefusedAndChangesNothing() {
        Session s = newSession("alice", Map.of("v", "original"));
        assertThat(store.insert(s)).isTrue();
        Session other = s.withAttribute("v", "intruder");
        assertThat(store.insert(other)).isFalse();
        assertThat(store.load(s.id())).contains(s);
    }

    @Test
    public void loadOfAnUnknownIdIsEmpty() {
        assertThat(store.load(SessionIds.generate())).isEmpty();
    }

    @Test
    public void replaceIsACompareAndSetOnTheVersion() {
        Session s = newSession("alice", Map.of("k", "v1"));
        store.insert(s);
        Session v2 = s.withAttribute("k", "v2").withVersion(2);
        assertThat(store.replace(v2, 1)).isTrue();
        assertThat(store.load(s.id())).contains(v2);

        Session stale = s.withAttribute("k", "stale").withVersion(2);
        assertThat(store.replace(stale, 1)).as("a stale expected version must be refused").isFalse();
        assertThat(store.load(s.id())).contains(v2);
    }

    @Test
    public void replaceRemovesAttributesThatAreGone() {
        Session s = newSession(null, Map.of("keep", "1", "drop", "2"));
        store.insert(s);
        Session next = s.withoutAttribute("drop").withVersion(2);
        assertThat(store.replace(next, 1)).isTrue();
        assertThat(store.load(s.id()).orElseThrow().attributes()).containsOnlyKeys("keep");
    }

    @Test
    public void replaceOfAMissingSessionIsRefusedAndCreatesNothing() {
        Session ghost = newSession(null, Map.of());
        assertThat(store.replace(ghost.withVersion(2), 1)).isFalse();
        assertThat(store.load(ghost.id())).isEmpty();
        assertThat(store.count()).isZero();
    }

    @Test
    public void concurrentReplacesOfOneVersionHaveExactlyOneWinner() throws Exception {
        Session s = newSession(null, Map.of());
        store.insert(s);
        SessionStore peer = Optional.ofNullable(createPeerStore()).orElse(store);
        if (peer != store) {
            toClose.add(peer);
        }
        int threads = 8;
        CountDownLatch start = new CountDownLatch(1);
        AtomicInteger winners = new AtomicInteger();
        ExecutorService pool = Executors.newFixedThreadPool(threads);
        List<Future<?>> futures = new ArrayList<>();
        for (int t = 0; t < threads; t++) {
            SessionStore target = t % 2 == 0 ? store : peer;
            String value = "writer-" + t;
            futures.add(pool.submit(() -> {
                start.await();
                if (target.replace(s.withAttribute("w", value).withVersion(2), 1)) {
                    winners.incrementAndGet();
                }
                return null;
            }));
        }
        start.countDown();
        for (Future<?> f : futures) {
            f.get(60, TimeUnit.SECONDS);
        }
        pool.shutdown();
        assertThat(winners).hasValue(1);
        assertThat(store.load(s.id()).orElseThrow().version()).isEqualTo(2);
    }

    @Test
    public void removeReturnsTheRemovedSessionOnce() {
        Session s = newSession("alice", Map.of("k", "v"));
        store.insert(s);
        assertThat(store.remove(s.id())).contains(s);
        assertThat(store.remove(s.id())).isEmpty();
        assertThat(store.load(s.id())).isEmpty();
        assertThat(store.findByOwner("alice")).isEmpty();
        assertThat(store.count()).isZero();
    }

    @Test
    public void removeExpiredTakesOnlyExpiredSessionsUpToTheLimit() {
        Instant now = clock.instant();
        List<Session> idleExpired = new ArrayList<>();
        for (int i = 0; i < 5; i++) {
            Session s = new Session(SessionIds.generate(), "o", now.minus(Duration.ofHours(2)),
                    now.minus(Duration.ofHours(1)), IDLE, now.plus(ABSOLUTE), 1, Map.of("i", "" + i));
            store.insert(s);
            idleExpired.add(s);
        }
        Session absoluteExpired = new Session(SessionIds.generate(), "o", now.minus(Duration.ofHours(13)),
                now, IDLE, now.minusMillis(1), 1, Map.of());
        store.insert(absoluteExpired);
        Session live = newSession("o", Map.of());
        store.insert(live);
        Session expiringExactlyNow = new Session(SessionIds.generate(), null, now.minus(IDLE), now.minus(IDLE),
                IDLE, now.plus(ABSOLUTE), 1, Map.of());
        store.insert(expiringExactlyNow);

        List<Session> first = store.removeExpired(now, 4);
        assertThat(first).hasSize(4);
        List<Session> rest = store.removeExpired(now, 100);
        Set<Session> all = new HashSet<>(first);
        all.addAll(rest);
        assertThat(first.size() + rest.size()).isEqualTo(all.size());
        Set<Session> expected = new HashSet<>(idleExpired);
        expected.add(absoluteExpired);
        expected.add(expiringExactlyNow);
        assertThat(all).isEqualTo(expected);
        assertThat(store.load(live.id())).contains(live);
        assertThat(store.count()).isEqualTo(1);
        assertThat(store.findByOwner("o")).containsExactly(live);
        assertThat(store.removeExpired(now, 100)).isEmpty();
    }

    @Test
    public void removeExpiredUsesTheLatestExpiryAfterATouch() {
        Session s = newSession(null, Map.of());
        store.insert(s);
        Instant later = clock.instant().plus(IDLE.minusMinutes(1));
        Session touched = s.withLastAccessedAt(later).withVersion(2);
        assertThat(store.replace(touched, 1)).isTrue();
        assertThat(store.removeExpired(s.idleExpiry(), 100)).as("touched session is not expired").isEmpty();
        assertThat(store.removeExpired(touched.idleExpiry(), 100)).containsExactly(touched);
    }

    @Test
    public void anUnacknowledgedExpiryClaimIsTakenOverAfterTheClaimTimeoutAndAnAcknowledgedOneNever() {
        Duration claimTimeout = expiryClaimTimeout();
        Instant now = clock.instant();
        List<Session> expired = new ArrayList<>();
        for (int i = 0; i < 3; i++) {
            Session s = new Session(SessionIds.generate(), "claimed", now.minus(Duration.ofHours(2)),
                    now.minus(Duration.ofHours(1)), IDLE, now.plus(ABSOLUTE), 1, Map.of("i", "" + i));
            store.insert(s);
            expired.add(s);
        }
        assertThat(store.removeExpired(now, 10)).containsExactlyInAnyOrderElementsOf(expired);
        assertThat(store.removeExpired(now, 10)).as("a claim holds").isEmpty();
        for (Session s : expired) {
            assertThat(store.load(s.id())).as("a claimed session is gone for every other method").isEmpty();
            assertThat(store.remove(s.id())).isEmpty();
        }
        assertThat(store.count()).isZero();
        assertThat(store.findByOwner("claimed")).isEmpty();
        assertThat(store.list(null, 10).sessions()).isEmpty();
        store.acknowledgeExpired(List.of(expired.get(0).id()));
        if (claimTimeout == null) {
            assertThat(store.removeExpired(now.plus(Duration.ofDays(1)), 10)).as("removed at once").isEmpty();
            return;
        }
        assertThat(store.removeExpired(now.plus(claimTimeout).minusMillis(1), 10)).as("before the deadline").isEmpty();
        List<Session> takenOver = store.removeExpired(now.plus(claimTimeout), 10);
        assertThat(takenOver).as("unacknowledged claims, once each").containsExactlyInAnyOrder(expired.get(1), expired.get(2));
        assertThat(store.removeExpired(now.plus(claimTimeout), 10)).as("the takeover is a claim too").isEmpty();
        store.acknowledgeExpired(List.of(expired.get(1).id(), expired.get(2).id(), "unknown-id"));
        assertThat(store.removeExpired(now.plus(claimTimeout.multipliedBy(10)), 10)).as("acknowledged: never again")
                .isEmpty();
    }

    @Test
    public void findByOwnerReturnsExactlyThatOwnersSessions() {
        Session a1 = newSession("alice", Map.of());
        Session a2 = newSession("alice", Map.of());
        Session b = newSession("bob", Map.of());
        Session anon = newSession(null, Map.of());
        for (Session s : List.of(a1, a2, b, anon)) {
            store.insert(s);
        }
        assertThat(store.findByOwner("alice")).containsExactlyInAnyOrder(a1, a2);
        assertThat(store.findByOwner("bob")).containsExactly(b);
        assertThat(store.findByOwner("carol")).isEmpty();
        store.remove(a1.id());
        assertThat(store.findByOwner("alice")).containsExactly(a2);
    }

    @Test
    public void listPagesThroughEverySession() {
        Set<String> ids = new HashSet<>();
        for (int i = 0; i < 53; i++) {
            Session s = newSession(i % 2 == 0 ? "even" : null, Map.of("i", "" + i));
            store.insert(s);
            ids.add(s.id());
        }
        Set<String> seen = new HashSet<>();
        String cursor = null;
        int pages = 0;
        do {
            SessionPage page = store.list(cursor, 10);
            assertThat(page.sessions().size()).isLessThanOrEqualTo(10);
            page.sessions().forEach(s -> seen.add(s.id()));
            cursor = page.nextCursor();
            assertThat(++pages).as("listing must terminate").isLessThan(1000);
        } while (cursor != null);
        assertThat(seen).isEqualTo(ids);
        assertThat(store.count()).isEqualTo(53);
    }

    @Test
    public void changeIdMovesTheSessionAndRetiresTheOldId() {
        Session s = newSession("alice", Map.of("k", "v"));
        store.insert(s);
        Session renamed = s.withId(SessionIds.generate()).withVersion(2);
        assertThat(store.changeId(s.id(), renamed, 1)).isTrue();
        assertThat(store.load(s.id())).isEmpty();
        assertThat(store.load(renamed.id())).contains(renamed);
        assertThat(store.replace(s.withVersion(3), 2)).as("no write can land on the old id").isFalse();
        assertThat(store.load(s.id())).isEmpty();
        assertThat(store.findByOwner("alice")).containsExactly(renamed);
        assertThat(store.count()).isEqualTo(1);
    }

    @Test
    public void changeIdCanBindAnOwner() {
        Session anonymous = newSession(null, Map.of("cart", "3 items"));
        store.insert(anonymous);
        Session loggedIn = new Session(SessionIds.generate(), "alice", anonymous.createdAt(), anonymous.lastAccessedAt(),
                anonymous.idleTimeout(), anonymous.absoluteExpiry(), 2, anonymous.attributes());
        assertThat(store.changeId(anonymous.id(), loggedIn, 1)).isTrue();
        assertThat(store.findByOwner("alice")).containsExactly(loggedIn);
        assertThat(store.load(loggedIn.id())).contains(loggedIn);

        Session moved = new Session(SessionIds.generate(), "bob", loggedIn.createdAt(), loggedIn.lastAccessedAt(),
                loggedIn.idleTimeout(), loggedIn.absoluteExpiry(), 3, loggedIn.attributes());
        assertThat(store.changeId(loggedIn.id(), moved, 2)).isTrue();
        assertThat(store.findByOwner("alice")).isEmpty();
        assertThat(store.findByOwner("bob")).containsExactly(moved);
    }

    @Test
    public void changeIdWithAStaleVersionChangesNothing() {
        Session s = newSession("alice", Map.of("k", "v"));
        store.insert(s);
        Session renamed = s.withId(SessionIds.generate()).withVersion(6);
        assertThat(store.changeId(s.id(), renamed, 5)).isFalse();
        assertThat(store.load(s.id())).contains(s);
        assertThat(store.load(renamed.id())).isEmpty();
        assertThat(store.changeId(SessionIds.generate(), renamed, 1)).as("unknown old id").isFalse();
        assertThat(store.load(renamed.id())).isEmpty();
    }

    @Test
    public void changeIdOntoATakenIdChangesNothing() {
        Session s = newSession("alice", Map.of("k", "v"));
        Session other = newSession("bob", Map.of());
        store.insert(s);
        store.insert(other);
        assertThat(store.changeId(s.id(), s.withId(other.id()).withVersion(2), 1)).isFalse();
        assertThat(store.load(s.id())).contains(s);
        assertThat(store.load(other.id())).contains(other);
    }

    // ---- the manager over this store --------------------------------------------------------------

    @Test
    public void createdSessionsCanBeFoundAndEnded() {
        List<String> events = new CopyOnWriteArrayList<>();
        manager.addListener(new SessionListener() {
            @Override
            public void created(Session session) {
                events.add("created " + session.id());
            }

            @Override
            public void ended(Session session, EndReason reason) {
                events.add(reason + " " + session.id());
            }
        });
        Session s = manager.create("alice", Map.of("k", "v"));
        assertThat(s.id()).matches("[A-Za-z0-9_-]{43}");
        assertThat(manager.find(s.id())).contains(s);
        assertThat(manager.end(s.id())).isTrue();
        assertThat(manager.end(s.id())).isFalse();
        assertThat(manager.find(s.id())).isEmpty();
        assertThat(events).containsExactly("created " + s.id(), "DELETED " + s.id());
        assertThat(manager.stats().created()).isEqualTo(1);
        assertThat(manager.stats().endedDeleted()).isEqualTo(1);
    }

    @Test
    public void touchWritesOnlyPastTheThreshold() {
        Session s = manager.create(null, Map.of());
        clock.advance(IDLE.dividedBy(20)); // under the default 10 % threshold
        assertThat(manager.touch(s.id()).orElseThrow().version()).isEqualTo(1);
        assertThat(store.load(s.id()).orElseThrow().version()).isEqualTo(1);
        clock.advance(IDLE.dividedBy(10));
        Session touched = manager.touch(s.id()).orElseThrow();
        assertThat(touched.version()).isEqualTo(2);
        assertThat(touched.lastAccessedAt()).isEqualTo(clock.instant());
        assertThat(store.load(s.id())).contains(touched);
    }

    @Test
    public void touchSlidesTheIdleExpiry() {
        Session s = manager.create(null, Map.of());
        clock.advance(IDLE.minusMinutes(1));
        assertThat(manager.touch(s.id())).isPresent();
        clock.advance(IDLE.minusMinutes(1));
        assertThat(manager.find(s.id())).as("still alive thanks to the touch").isPresent();
        clock.advance(Duration.ofMinutes(2));
        assertThat(manager.find(s.id())).isEmpty();
        assertThat(manager.touch(s.id())).as("an expired session cannot be revived").isEmpty();
    }

    @Test
    public void anUpdateMayGiveTheSessionAnIdleTimeoutOfItsOwnWhichItsExpiryAndTouchesFollow() {
        Session s = manager.create(null, Map.of());
        Duration shorter = Duration.ofMinutes(2);
        Session changed = manager.update(s.id(), x -> x.withIdleTimeout(shorter)).orElseThrow();
        assertThat(changed.idleTimeout()).isEqualTo(shorter);
        assertThat(store.load(s.id()).orElseThrow().idleTimeout()).isEqualTo(shorter);
        // the touch threshold is 10 % of the session's own idle timeout (12 s), not of the manager's (3 min)
        clock.advance(Duration.ofSeconds(10));
        assertThat(manager.touch(s.id()).orElseThrow().version()).isEqualTo(changed.version());
        clock.advance(Duration.ofSeconds(30));
        Session touched = manager.touch(s.id()).orElseThrow();
        assertThat(touched.version()).isEqualTo(changed.version() + 1);
        assertThat(touched.idleTimeout()).isEqualTo(shorter);
        clock.advance(shorter.minusSeconds(1));
        assertThat(manager.find(s.id())).isPresent();
        clock.advance(Duration.ofSeconds(2));
        assertThat(manager.find(s.id())).as("expired on its own idle timeout, long before the manager's").isEmpty();
        assertThat(manager.sweep()).isEqualTo(1);
        assertThat(store.load(s.id())).isEmpty();

        Session longer = manager.create(null, Map.of());
        manager.update(longer.id(), x -> x.withIdleTimeout(IDLE.multipliedBy(2)).withAttribute("k", "v"));
        clock.advance(IDLE.plusMinutes(1));
        assertThat(manager.find(longer.id())).as("alive past the manager's idle timeout").isPresent();
        assertThatThrownBy(() -> manager.update(longer.id(), x -> x.withIdleTimeout(Duration.ZERO)))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("idleTimeout must be positive");
        Session kept = store.load(longer.id()).orElseThrow();
        assertThat(kept.idleTimeout()).as("nothing written").isEqualTo(IDLE.multipliedBy(2));
        assertThat(kept.attributes()).containsEntry("k", "v");
    }

    @Test
    public void expiredSessionsAreInvisibleAtOnceAndSweptWithOneEventEach() {
        List<Session> expired = new CopyOnWriteArrayList<>();
        manager.addListener(new SessionListener() {
            @Override
            public void ended(Session session, EndReason reason) {
                if (reason == EndReason.EXPIRED) {
                    expired.add(session);
                }
            }
        });
        Session a = manager.create("alice", Map.of());
        Session b = manager.create(null, Map.of());
        clock.advance(IDLE);
        assertThat(manager.find(a.id())).isEmpty();
        assertThat(manager.findByOwner("alice")).isEmpty();
        assertThat(manager.update(a.id(), x -> x.withAttribute("k", "v"))).isEmpty();
        assertThat(manager.list(null, 10).sessions()).isEmpty();
        assertThat(manager.sweep()).isEqualTo(2);
        assertThat(manager.sweep()).isZero();
        assertThat(expired).extracting(Session::id).containsExactlyInAnyOrder(a.id(), b.id());
        assertThat(store.count()).isZero();
        assertThat(store.findByOwner("alice")).isEmpty();
    }

    @Test
    public void absoluteTimeoutEndsEvenABusySession() {
        Session s = manager.create(null, Map.of());
        for (int i = 0; i < 30; i++) {
            clock.advance(Duration.ofMinutes(25));
            manager.touch(s.id());
        }
        assertThat(manager.find(s.id())).as("12.5 h after creation").isEmpty();
        assertThat(manager.sweep()).isEqualTo(1);
    }

    @Test
    public void sweepWorksInBatches() {
        SessionManager small = managerOver(new NonClosingStore(store)).sweepBatchSize(7).build();
        toClose.add(small);
        for (int i = 0; i < 50; i++) {
            small.create(null, Map.of());
        }
        clock.advance(IDLE);
        assertThat(small.sweep()).isEqualTo(50);
        assertThat(store.count()).isZero();
    }

    @Test
    public void malformedIdsNeverReachTheStoreAndAreCounted() {
        SessionStore counting = new NonClosingStore(store);
        List<String> bad = new ArrayList<>(List.of("", "short", "x".repeat(43 * 100), "{" + "a".repeat(41) + "}",
                "a".repeat(42) + "*", "a".repeat(20) + " " + "a".repeat(22), "a".repeat(41) + "\r\n",
                "a".repeat(42) + "\u0000", "a".repeat(42) + "=", "a".repeat(42) + "é", "../../" + "a".repeat(37)));
        bad.add(null);
        for (String id : bad) {
            assertThat(manager.find(id)).isEmpty();
            assertThat(manager.touch(id)).isEmpty();
            assertThat(manager.update(id, s -> s.withAttribute("k", "v"))).isEmpty();
            assertThat(manager.changeId(id)).isEmpty();
            assertThat(manager.end(id)).isFalse();
        }
        assertThat(manager.stats().malformedIds()).isEqualTo(bad.size() * 5L);
        assertThat(counting.count()).isZero();
    }

    @Test
    public void attributeLimitsRejectAndWriteNothing() {
        Session s = manager.create(null, Map.of("k", "v"));
        String tooLong = "x".repeat(AttributeLimits.DEFAULTS.maxValueBytes() + 1);
        assertThatThrownBy(() -> manager.update(s.id(), x -> x.withAttribute("big", tooLong)))
                .isInstanceOf(SessionLimitException.class)
                .hasMessageContaining("big").hasMessageContaining("65536");
        // 3-byte characters: under the limit in characters, over it in UTF-8 bytes.
        String hangul = "가".repeat(AttributeLimits.DEFAULTS.maxValueBytes() / 3 + 1);
        assertThatThrownBy(() -> manager.update(s.id(), x -> x.withAttribute("hangul", hangul)))
                .isInstanceOf(SessionLimitException.class).hasMessageContaining("hangul");
        String longName = "n".repeat(129);
        assertThatThrownBy(() -> manager.update(s.id(), x -> x.withAttribute(longName, "v")))
                .isInstanceOf(SessionLimitException.class).hasMessageContaining("128");
        Map<String, String> many = new HashMap<>();
        for (int i = 0; i < 257; i++) {
            many.put("a" + i, "v");
        }
        assertThatThrownBy(() -> manager.update(s.id(), x -> x.withAttributes(many)))
                .isInstanceOf(SessionLimitException.class).hasMessageContaining("256");
        Map<String, String> heavy = new HashMap<>();
        for (int i = 0; i < 17; i++) {
            heavy.put("h" + i, "x".repeat(64 * 1024 - 10));
        }
        assertThatThrownBy(() -> manager.update(s.id(), x -> x.withAttributes(heavy)))
                .isInstanceOf(SessionLimitException.class)
                .satisfies(e -> assertThat(((SessionLimitException) e).limitName()).isEqualTo("maxTotalBytes"));
        assertThatThrownBy(() -> manager.create(null, Map.of("big", tooLong)))
                .isInstanceOf(SessionLimitException.class);
        assertThat(store.load(s.id())).contains(s);
        assertThat(store.count()).isEqualTo(1);
    }

    /**
     * Strings that are not well-formed UTF-16 have no UTF-8 form, which every backend but memory stores: one
     * engine would keep them, another write '?'. So the manager refuses them for every backend alike, with
     * IllegalArgumentException, before a store sees them; well-formed pairs (emoji) round-trip exactly.
     */
    @Test
    public void unpairedSurrogatesAreRefusedAlikeOnEveryBackend() {
        Session s = manager.create(null, Map.of("k", "v"));
        for (String bad : List.of("\uD800", "x\uDC00y", "\uDBFF", "ok\uD83D")) {
            assertThatThrownBy(() -> manager.update(s.id(), x -> x.withAttribute("k", bad)))
                    .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("unpaired surrogate")
                    .hasMessageContaining("'k'");
            assertThatThrownBy(() -> manager.update(s.id(), x -> x.withAttribute(bad, "v")))
                    .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("unpaired surrogate");
            assertThatThrownBy(() -> manager.create(null, Map.of("k", bad)))
                    .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("unpaired surrogate");
            assertThatThrownBy(() -> manager.create("owner" + bad, Map.of()))
                    .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("unpaired surrogate");
        }
        assertThat(store.load(s.id())).contains(s);
        assertThat(store.count()).isEqualTo(1);
        Session paired = manager.update(s.id(), x -> x.withAttribute("\uD83D\uDE00", "\uD83D\uDE80")).orElseThrow();
        assertThat(manager.find(s.id()).orElseThrow().attributes()).isEqualTo(paired.attributes());
    }

    @Test
    public void updateAppliesTheChangeAndBumpsTheVersion() {
        Session s = manager.create("alice", Map.of());
        clock.advance(Duration.ofSeconds(5));
        Session updated = manager.update(s.id(), x -> x.withAttribute(COUNTER, 41)).orElseThrow();
        assertThat(updated.version()).isEqualTo(2);
        assertThat(updated.attribute(COUNTER)).contains(41);
        assertThat(updated.lastAccessedAt()).isEqualTo(clock.instant());
        assertThat(updated.owner()).isEqualTo("alice");
        assertThat(store.load(s.id())).contains(updated);
    }

    @Test
    public void updatesFromManyThreadsLoseNothing() throws Exception {
        Session s = manager.create(null, Map.of());
        int threads = 8;
        int perThread = 10_000;
        Concurrently.run(threads, t -> {
            for (int i = 0; i < perThread; i++) {
                manager.update(s.id(), x -> x.withAttribute(COUNTER, x.attribute(COUNTER).orElse(0) + 1)).orElseThrow();
            }
        });
        Session end = store.load(s.id()).orElseThrow();
        assertThat(end.attribute(COUNTER)).contains(threads * perThread);
        assertThat(end.version()).isEqualTo(1L + threads * perThread);
    }

    @Test
    public void updatesFromTwoInstancesLoseNothing() throws Exception {
        Session s = manager.create(null, Map.of());
        // Across instances only the compare-and-set arbitrates; a busy peer can win many rounds in a row,
        // so this manager allows more attempts than the default before giving up.
        SessionManager patient = managerOver(new NonClosingStore(store)).maxUpdateAttempts(100_000).build();
        toClose.add(patient);
        SessionManager other = peerManager(100_000);
        int threads = 4;
        int perThread = 1_000;
        Concurrently.run(threads, t -> {
            SessionManager m = t % 2 == 0 ? patient : other;
            for (int i = 0; i < perThread; i++) {
                m.update(s.id(), x -> x.withAttribute(COUNTER, x.attribute(COUNTER).orElse(0) + 1)).orElseThrow();
            }
        });
        assertThat(store.load(s.id()).orElseThrow().attribute(COUNTER)).contains(threads * perThread);
    }

    @Test
    public void aConflictIsReportedNotSwallowed() {
        Session s = manager.create(null, Map.of());
        SessionManager impatient = managerOver(new NonClosingStore(store)).maxUpdateAttempts(1).build();
        toClose.add(impatient);
        // A writer that always lands between the read and the write of the impatient manager.
        assertThatThrownBy(() -> impatient.update(s.id(), x -> {
            Session current = store.load(x.id()).orElseThrow();
            store.replace(current.withAttribute("other", "wins").withVersion(current.version() + 1), current.version());
            return x.withAttribute("mine", "lost");
        })).isInstanceOf(SessionConflictException.class).hasMessageContaining("1");
        Session stored = store.load(s.id()).orElseThrow();
        assertThat(stored.attributes()).containsEntry("other", "wins").doesNotContainKey("mine");
        assertThat(impatient.stats().casConflicts()).isEqualTo(1);
    }

    @Test
    public void anUpdateOfTheSessionInHandIsOneCompareAndSetWithoutARead() {
        Session s = manager.create(null, Map.of());
        CountingSessionStore counting = new CountingSessionStore(store);
        SessionManager m = managerOver(counting).build();
        toClose.add(m);
        Session touched = m.touch(s.id()).orElseThrow();
        counting.loads.set(0);
        Session updated = m.update(touched, x -> x.withAttribute(COUNTER, 7)).orElseThrow();
        assertThat(counting.loads).hasValue(0);
        assertThat(counting.replaces).hasValue(1);
        assertThat(updated.version()).isEqualTo(touched.version() + 1);
        Session stored = store.load(s.id()).orElseThrow();
        assertThat(stored.attribute(COUNTER)).contains(7);
        assertThat(stored.version()).isEqualTo(updated.version());
        // The same call by id reads first: two round trips.
        counting.loads.set(0);
        counting.replaces.set(0);
        m.update(s.id(), x -> x.withAttribute(COUNTER, 8)).orElseThrow();
        assertThat(counting.loads).hasValue(1);
        assertThat(counting.replaces).hasValue(1);
    }

    @Test
    public void anUpdateOfAStaleSessionRereadsItAndKeepsTheOtherWrite() {
        Session stale = manager.create(null, Map.of());
        manager.update(stale.id(), x -> x.withAttribute("first", "kept")).orElseThrow();
        CountingSessionStore counting = new CountingSessionStore(store);
        SessionManager m = managerOver(counting).build();
        toClose.add(m);
        List<Session> seenByChange = new ArrayList<>();
        Session updated = m.update(stale, x -> {
            seenByChange.add(x);
            return x.withAttribute("second", "added");
        }).orElseThrow();
        assertThat(updated.attributes()).containsEntry("first", "kept").containsEntry("second", "added");
        assertThat(updated.version()).isEqualTo(stale.version() + 2);
        assertThat(store.load(stale.id()).orElseThrow()).isEqualTo(updated);
        // Tried on the snapshot, lost, applied again to the stored session.
        assertThat(seenByChange).hasSize(2);
        assertThat(seenByChange.get(1).attributes()).containsEntry("first", "kept");
        assertThat(counting.replaces).hasValue(2);
        assertThat(counting.loads).hasValue(1);
        assertThat(m.stats().casConflicts()).isEqualTo(1);
    }

    @Test
    public void anUpdateOfASessionInHandThatEndedMeanwhileWritesNothing() {
        Session s = manager.create(null, Map.of());
        manager.end(s.id());
        assertThat(manager.update(s, x -> x.withAttribute("late", "write"))).isEmpty();
        assertThat(store.load(s.id())).isEmpty();
        Session expired = manager.create(null, Map.of());
        clock.advance(IDLE.plusSeconds(1));
        assertThat(manager.update(expired, x -> x.withAttribute("late", "write"))).isEmpty();
        assertThat(store.load(expired.id()).map(x -> x.attributes().containsKey("late")).orElse(false)).isFalse();
    }

    @Test
    public void changeIdKeepsTheDataUnderAFreshId() {
        Session s = manager.create("alice", Map.of("k", "v"));
        List<String> moves = new CopyOnWriteArrayList<>();
        manager.addListener(new SessionListener() {
            @Override
            public void idChanged(String oldId, Session renamed) {
                moves.add(oldId + "->" + renamed.id());
            }
        });
        Session renamed = manager.changeId(s.id()).orElseThrow();
        assertThat(renamed.id()).isNotEqualTo(s.id()).matches("[A-Za-z0-9_-]{43}");
        assertThat(renamed.attributes()).isEqualTo(s.attributes());
        assertThat(renamed.owner()).isEqualTo("alice");
        assertThat(manager.find(s.id())).isEmpty();
        assertThat(manager.find(renamed.id())).contains(renamed);
        assertThat(moves).containsExactly(s.id() + "->" + renamed.id());
    }

    @Test
    public void loginRotatesTheIdAndBindsTheOwnerWithinTheLimit() {
        SessionManager limited = managerOver(new NonClosingStore(store))
                .maxSessionsPerOwner(1, OwnerLimitPolicy.END_OLDEST).build();
        toClose.add(limited);
        Session first = limited.login(limited.create(null, Map.of()).id(), "alice").orElseThrow();
        Session anonymous = limited.create(null, Map.of("cart", "3 items"));
        Session loggedIn = limited.login(anonymous.id(), "alice").orElseThrow();
        assertThat(loggedIn.id()).isNotEqualTo(anonymous.id());
        assertThat(loggedIn.owner()).isEqualTo("alice");
        assertThat(loggedIn.attributes()).containsEntry("cart", "3 items");
        assertThat(limited.find(anonymous.id())).isEmpty();
        assertThat(limited.find(first.id())).as("the older login was ended by the limit").isEmpty();
        assertThat(limited.findByOwner("alice")).containsExactly(loggedIn);
    }

    @Test
    public void changeIdRacingWithUpdatesLosesNothing() throws Exception {
        Session s = manager.create(null, Map.of());
        AtomicReference<String> currentId = new AtomicReference<>(s.id());
        AtomicInteger applied = new AtomicInteger();
        int writers = 4;
        int perWriter = 500;
        CountDownLatch writersDone = new CountDownLatch(writers);
        ExecutorService pool = Executors.newFixedThreadPool(writers + 1);
        List<Future<?>> futures = new ArrayList<>();
        for (int t = 0; t < writers; t++) {
            futures.add(pool.submit(() -> {
                try {
                    for (int i = 0; i < perWriter; i++) {
                        // Follow the session to its current id; an update that finds the old id gone retries.
                        while (manager.update(currentId.get(),
                                x -> x.withAttribute(COUNTER, x.attribute(COUNTER).orElse(0) + 1)).isEmpty()) {
                            Thread.onSpinWait();
                        }
                        applied.incrementAndGet();
                    }
                } finally {
                    writersDone.countDown();
                }
                return null;
            }));
        }
        futures.add(pool.submit(() -> {
            int rotations = 0;
            while (writersDone.getCount() > 0 || rotations == 0) {
                Session renamed = manager.changeId(currentId.get()).orElseThrow();
                currentId.set(renamed.id());
                rotations++;
                // One update lands between rotations. A rotator in a tight loop always wins the race for the
                // new id's lock while the writers are still finding the old id gone, which starves them on any
                // store where that costs a network round trip.
                int seen = applied.get();
                while (applied.get() == seen && writersDone.getCount() > 0) {
                    Thread.onSpinWait();
                }
            }
            return rotations;
        }));
        for (Future<?> f : futures) {
            f.get(5, TimeUnit.MINUTES);
        }
        pool.shutdown();
        Session end = manager.find(currentId.get()).orElseThrow();
        assertThat(end.attribute(COUNTER)).contains(writers * perWriter);
        assertThat(applied).hasValue(writers * perWriter);
        assertThat(store.count()).isEqualTo(1);
    }

    @Test
    public void ownerLimitRejectsPastTheMaximum() {
        SessionManager limited = managerOver(new NonClosingStore(store))
                .maxSessionsPerOwner(2, OwnerLimitPolicy.REJECT).build();
        toClose.add(limited);
        limited.create("alice", Map.of());
        limited.create("alice", Map.of());
        assertThatThrownBy(() -> limited.create("alice", Map.of()))
                .isInstanceOf(SessionLimitException.class).hasMessageContaining("alice").hasMessageContaining("2");
        limited.create("bob", Map.of());
        limited.create(null, Map.of());
        assertThat(store.findByOwner("alice")).hasSize(2);
    }

    @Test
    public void ownerLimitEndsTheOldest() {
        SessionManager limited = managerOver(new NonClosingStore(store))
                .maxSessionsPerOwner(2, OwnerLimitPolicy.END_OLDEST).build();
        toClose.add(limited);
        List<Session> ended = new CopyOnWriteArrayList<>();
        limited.addListener(new SessionListener() {
            @Override
            public void ended(Session session, EndReason reason) {
                ended.add(session);
            }
        });
        Session first = limited.create("alice", Map.of());
        clock.advance(Duration.ofSeconds(1));
        Session second = limited.create("alice", Map.of());
        clock.advance(Duration.ofSeconds(1));
        Session third = limited.create("alice", Map.of());
        assertThat(ended).containsExactly(first);
        assertThat(store.findByOwner("alice")).containsExactlyInAnyOrder(second, third);
    }

    @Test
    public void ownerLimitHoldsUnderConcurrentLogins() throws Exception {
        for (OwnerLimitPolicy policy : OwnerLimitPolicy.values()) {
            SessionManager limited = managerOver(new NonClosingStore(store)).maxSessionsPerOwner(3, policy).build();
            toClose.add(limited);
            String owner = "owner-" + policy;
            Concurrently.run(50, t -> {
                try {
                    limited.create(owner, Map.of("t", "" + t));
                } catch (SessionLimitException e) {
                    assertThat(policy).isEqualTo(OwnerLimitPolicy.REJECT);
                }
            });
            assertThat(store.findByOwner(owner)).as(policy.name()).hasSize(3);
        }
    }

    private Session ownedSession(String owner, Instant createdAt, Instant lastAccess) {
        return new Session(store.newSessionId(owner), owner, createdAt, lastAccess, IDLE, createdAt.plus(ABSOLUTE), 1,
                Map.of());
    }

    @Test
    public void ownerLimitedInsertCountsOnlyLiveSessionsAndWritesNothingPastTheLimit() {
        Instant now = clock.instant();
        OwnerLimit rejectAtTwo = new OwnerLimit(2, OwnerLimitPolicy.REJECT);
        Session expired = ownedSession("carol", now.minus(Duration.ofHours(2)), now.minus(Duration.ofHours(1)));
        assertThat(store.insert(expired)).isTrue();
        Session a = ownedSession("carol", now, now);
        Session b = ownedSession("carol", now.plusMillis(1), now);
        assertThat(store.insertWithinOwnerLimit(a, rejectAtTwo, now).outcome()).isEqualTo(OwnerLimitedWrite.Outcome.WRITTEN);
        assertThat(store.insertWithinOwnerLimit(b, rejectAtTwo, now))
                .as("the expired session neither counts nor is removed")
                .isEqualTo(new OwnerLimitedWrite(OwnerLimitedWrite.Outcome.WRITTEN, List.of()));
        Session c = ownedSession("carol", now.plusMillis(2), now);
        assertThat(store.insertWithinOwnerLimit(c, rejectAtTwo, now).outcome())
                .isEqualTo(OwnerLimitedWrite.Outcome.OWNER_AT_LIMIT);
        assertThat(store.load(c.id())).isEmpty();
        assertThat(store.insertWithinOwnerLimit(a, rejectAtTwo, now.plus(Duration.ofDays(1))).outcome())
                .as("a taken id is refused like a plain insert").isEqualTo(OwnerLimitedWrite.Outcome.REFUSED);
        assertThat(store.findByOwner("carol")).containsExactlyInAnyOrder(expired, a, b);

        OwnerLimitedWrite trimmed = store.insertWithinOwnerLimit(c, new OwnerLimit(2, OwnerLimitPolicy.END_OLDEST), now);
        assertThat(trimmed).isEqualTo(new OwnerLimitedWrite(OwnerLimitedWrite.Outcome.WRITTEN, List.of(a)));
        assertThat(store.findByOwner("carol")).containsExactlyInAnyOrder(expired, b, c);
    }

    @Test
    public void ownerLimitedChangeIdNeverCountsOrTrimsTheSessionItMoves() {
        Instant now = clock.instant();
        Session a = ownedSession("dave", now, now);
        Session b = ownedSession("dave", now.plusMillis(1), now);
        store.insert(a);
        store.insert(b);
        Session relogged = a.withId(store.newSessionId("dave")).withVersion(2);
        OwnerLimitedWrite moved = store.changeIdWithinOwnerLimit(a.id(), relogged, 1,
                new OwnerLimit(2, OwnerLimitPolicy.REJECT), now);
        assertThat(moved).isEqualTo(new OwnerLimitedWrite(OwnerLimitedWrite.Outcome.WRITTEN, List.of()));
        assertThat(store.load(a.id())).isEmpty();
        Session anonymous = newSession(null, Map.of());
        store.insert(anonymous);
        Session login = new Session(store.newSessionId("dave"), "dave", anonymous.createdAt(), now, IDLE,
                anonymous.absoluteExpiry(), 2, Map.of());
        assertThat(store.changeIdWithinOwnerLimit(anonymous.id(), login, 1, new OwnerLimit(2, OwnerLimitPolicy.REJECT), now)
                .outcome()).isEqualTo(OwnerLimitedWrite.Outcome.OWNER_AT_LIMIT);
        assertThat(store.load(anonymous.id())).as("nothing moved").contains(anonymous);
        assertThat(store.changeIdWithinOwnerLimit(anonymous.id(), login, 7, new OwnerLimit(2, OwnerLimitPolicy.END_OLDEST), now)
                .outcome()).as("stale version").isEqualTo(OwnerLimitedWrite.Outcome.REFUSED);
        OwnerLimitedWrite trimmed = store.changeIdWithinOwnerLimit(anonymous.id(), login, 1,
                new OwnerLimit(2, OwnerLimitPolicy.END_OLDEST), now);
        assertThat(trimmed.outcome()).isEqualTo(OwnerLimitedWrite.Outcome.WRITTEN);
        assertThat(store.findByOwner("dave")).hasSize(2).contains(login);
    }

    @Test
    public void loginPastARejectingOwnerLimitLeavesTheSessionAsItWas() {
        SessionManager limited = managerOver(new NonClosingStore(store))
                .maxSessionsPerOwner(1, OwnerLimitPolicy.REJECT).build();
        toClose.add(limited);
        Session first = limited.create("erin", Map.of());
        Session anonymous = limited.create(null, Map.of("cart", "1"));
        assertThatThrownBy(() -> limited.login(anonymous.id(), "erin")).isInstanceOf(SessionLimitException.class)
                .hasMessageContaining("erin");
        assertThat(limited.find(anonymous.id())).contains(anonymous);
        assertThat(limited.findByOwner("erin")).containsExactly(first);
        Session again = limited.login(first.id(), "erin").orElseThrow();
        assertThat(limited.findByOwner("erin")).as("re-login of the owner's own session fits").containsExactly(again);
    }

    /**
     * Two instances (peer stores where the backend has them) x 8 threads create sessions for one owner,
     * round after round. REJECT: exactly the callers that got a session back own the live sessions, never
     * more than the limit. END_OLDEST: every caller gets a session, and trimming by both instances at once
     * leaves exactly the limit, all of them sessions some caller got, and one DELETED event per trimmed one.
     */
    @Test
    public void ownerLimitHoldsAcrossInstances() throws Exception {
        int limit = 3;
        for (OwnerLimitPolicy policy : OwnerLimitPolicy.values()) {
            SessionManager one = managerOver(new NonClosingStore(store)).maxSessionsPerOwner(limit, policy).build();
            toClose.add(one);
            SessionManager two = peerManager(100, b -> b.maxSessionsPerOwner(limit, policy));
            Map<String, Integer> deleted = new ConcurrentHashMap<>();
            SessionListener countingDeletes = new SessionListener() {
                @Override
                public void ended(Session session, EndReason reason) {
                    assertThat(reason).isEqualTo(EndReason.DELETED);
                    deleted.merge(session.id(), 1, Integer::sum);
                }
            };
            one.addListener(countingDeletes);
            two.addListener(countingDeletes);
            for (int round = 0; round < 12; round++) {
                String owner = "racer-" + policy + "-" + round;
                Set<String> granted = ConcurrentHashMap.newKeySet();
                deleted.clear();
                Concurrently.run(16, t -> {
                    try {
                        granted.add((t % 2 == 0 ? one : two).create(owner, Map.of("t", "" + t)).id());
                    } catch (SessionLimitException e) {
                        assertThat(policy).isEqualTo(OwnerLimitPolicy.REJECT);
                    }
                });
                Set<String> live = new HashSet<>();
                for (Session s : one.findByOwner(owner)) {
                    live.add(s.id());
                }
                if (policy == OwnerLimitPolicy.REJECT) {
                    assertThat(granted).as("round %d: callers that got a session", round).hasSize(limit);
                    assertThat(live).as("round %d: live sessions are exactly the granted ones", round)
                            .isEqualTo(granted);
                } else {
                    assertThat(granted).as("round %d", round).hasSize(16);
                    assertThat(live).as("round %d: live sessions after racing trims", round).hasSize(limit);
                    assertThat(granted).containsAll(live);
                    assertThat(deleted.keySet()).as("round %d: one DELETED per trimmed session", round)
                            .hasSize(16 - limit).doesNotContainAnyElementsOf(live);
                    assertThat(deleted.values()).containsOnly(1);
                }
            }
        }
    }

    @Test
    public void concurrentSweepersClaimEachExpiredSessionExactlyOnce() throws Exception {
        int sessions = 2_000;
        for (int i = 0; i < sessions; i++) {
            manager.create(i % 3 == 0 ? "o" + (i % 7) : null, Map.of());
        }
        clock.advance(IDLE.plusSeconds(1));
        SessionManager other = peerManager();
        Map<String, Integer> ends = new ConcurrentHashMap<>();
        SessionListener counting = new SessionListener() {
            @Override
            public void ended(Session session, EndReason reason) {
                assertThat(reason).isEqualTo(EndReason.EXPIRED);
                ends.merge(session.id(), 1, Integer::sum);
            }
        };
        manager.addListener(counting);
        other.addListener(counting);
        Concurrently.run(4, t -> {
            SessionManager m = t % 2 == 0 ? manager : other;
            while (m.sweep() > 0) {
                Thread.onSpinWait();
            }
        });
        assertThat(ends).hasSize(sessions);
        assertThat(ends.values()).containsOnly(1);
        assertThat(store.count()).isZero();
    }

    @Test
    public void aThrowingListenerDoesNotStopTheOthers() {
        List<String> seen = new CopyOnWriteArrayList<>();
        manager.addListener(new SessionListener() {
            @Override
            public void created(Session session) {
                throw new IllegalStateException("listener bug");
            }

            @Override
            public void ended(Session session, EndReason reason) {
                throw new IllegalStateException("listener bug");
            }
        });
        manager.addListener(new SessionListener() {
            @Override
            public void created(Session session) {
                seen.add("created");
            }

            @Override
            public void ended(Session session, EndReason reason) {
                seen.add(reason.name());
            }
        });
        Session a = manager.create(null, Map.of());
        manager.create(null, Map.of());
        manager.end(a.id());
        clock.advance(IDLE);
        assertThat(manager.sweep()).isEqualTo(1);
        assertThat(seen).containsExactly("created", "created", "DELETED", "EXPIRED");
    }

    @Test
    public void withLockExcludesConcurrentActionsOnOneSession() throws Exception {
        Session s = manager.create(null, Map.of());
        AtomicInteger inside = new AtomicInteger();
        AtomicInteger maxInside = new AtomicInteger();
        int[] plainCounter = new int[1];
        Concurrently.run(8, t -> {
            for (int i = 0; i < 2_000; i++) {
                manager.withLock(s.id(), Duration.ofSeconds(30), () -> {
                    maxInside.accumulateAndGet(inside.incrementAndGet(), Math::max);
                    plainCounter[0]++;
                    inside.decrementAndGet();
                    return null;
                });
            }
        });
        assertThat(maxInside).hasValue(1);
        assertThat(plainCounter[0]).isEqualTo(16_000);
    }

    @Test
    public void withLockTimesOutWhileAnotherThreadHoldsIt() throws Exception {
        Session s = manager.create(null, Map.of());
        CountDownLatch held = new CountDownLatch(1);
        CountDownLatch release = new CountDownLatch(1);
        ExecutorService pool = Executors.newSingleThreadExecutor();
        Future<?> holder = pool.submit(() -> manager.withLock(s.id(), Duration.ofSeconds(5), () -> {
            held.countDown();
            try {
                release.await();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            return null;
        }));
        held.await();
        assertThatThrownBy(() -> manager.withLock(s.id(), Duration.ofMillis(50), () -> "never"))
                .isInstanceOf(SessionLockTimeoutException.class);
        release.countDown();
        holder.get(10, TimeUnit.SECONDS);
        pool.shutdown();
        assertThat(manager.withLock(s.id(), Duration.ofSeconds(1), () -> "now")).isEqualTo("now");
        assertThat(manager.stats().lockWaits()).isGreaterThanOrEqualTo(1);
    }

    @Test
    public void statsCountWhatHappened() {
        Session a = manager.create(null, Map.of());
        manager.create(null, Map.of());
        manager.end(a.id());
        manager.find("garbage");
        SessionStats stats = manager.stats();
        assertThat(stats.active()).isEqualTo(1);
        assertThat(stats.created()).isEqualTo(2);
        assertThat(stats.endedDeleted()).isEqualTo(1);
        assertThat(stats.malformedIds()).isEqualTo(1);
    }

    // ---- helpers ---------------------------------------------------------------------------------



    /**
     * Shares a store between managers of one test without letting the extra managers close it, or take
     * over its one eviction listener from the test's own manager.
     */
    private static final class NonClosingStore extends ForwardingSessionStore {
        NonClosingStore(SessionStore delegate) {
            super(delegate);
        }

        @Override
        public void onEviction(Consumer<Session> listener) {
            // the test's own manager receives the store's evictions
        }

        @Override
        public void close() {
            // the test's own manager closes the real store
        }
    }
}
