package dev.usher.session.memory;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.usher.session.EndReason;
import dev.usher.session.Session;
import dev.usher.session.SessionLimitException;
import dev.usher.session.SessionListener;
import dev.usher.session.SessionManager;
import dev.usher.session.TestClock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

class InMemorySessionStoreTest {
    private final TestClock clock = new TestClock();

    private SessionManager managerWith(InMemorySessionStore store, SessionListener listener) {
        return SessionManager.builder(store).clock(clock).sweepInterval(Duration.ZERO).touchThreshold(0)
                .listener(listener).build();
    }

    @Test
    void aFullStoreEvictsTheLeastRecentlyUsedWithOneEventEach() {
        InMemorySessionStore store = InMemorySessionStore.builder().maxSessions(3).build();
        List<Session> evicted = new ArrayList<>();
        try (SessionManager m = managerWith(store, new SessionListener() {
            @Override
            public void ended(Session session, EndReason reason) {
                assertThat(reason).isEqualTo(EndReason.EVICTED);
                evicted.add(session);
            }
        })) {
            Session a = m.create(null, Map.of());
            clock.advance(Duration.ofSeconds(1));
            Session b = m.create(null, Map.of());
            clock.advance(Duration.ofSeconds(1));
            Session c = m.create(null, Map.of());
            clock.advance(Duration.ofSeconds(1));
            m.touch(a.id()); // a is now the most recently used; b the least
            clock.advance(Duration.ofSeconds(1));
            Session d = m.create(null, Map.of());
            assertThat(evicted).extracting(Session::id).containsExactly(b.id());
            assertThat(m.find(b.id())).isEmpty();
            assertThat(m.find(a.id())).isPresent();
            assertThat(m.find(c.id())).isPresent();
            assertThat(m.find(d.id())).isPresent();
            assertThat(m.stats().endedEvicted()).isEqualTo(1);
            assertThat(store.count()).isEqualTo(3);
        }
    }

    @Test
    void aFullStoreThatRejectsWritesNothing() {
        InMemorySessionStore store = InMemorySessionStore.builder().maxSessions(2)
                .whenFull(InMemorySessionStore.WhenFull.REJECT).build();
        try (SessionManager m = managerWith(store, new SessionListener() { })) {
            m.create(null, Map.of());
            m.create(null, Map.of());
            assertThatThrownBy(() -> m.create(null, Map.of()))
                    .isInstanceOf(SessionLimitException.class)
                    .hasMessageContaining("maxSessions=2");
            assertThat(store.count()).isEqualTo(2);
            assertThat(m.stats().created()).isEqualTo(2);
        }
    }

    @Test
    void aFloodOfNewSessionsStaysWithinTheBoundAndEveryEvictionIsReportedOnce() throws Exception {
        int max = 1_000;
        InMemorySessionStore store = InMemorySessionStore.builder().maxSessions(max).build();
        Set<String> evicted = ConcurrentHashMap.newKeySet();
        AtomicInteger evictions = new AtomicInteger();
        int threads = 8;
        int perThread = 10_000;
        try (SessionManager m = managerWith(store, new SessionListener() {
            @Override
            public void ended(Session session, EndReason reason) {
                evictions.incrementAndGet();
                evicted.add(session.id());
            }
        })) {
            ExecutorService pool = Executors.newFixedThreadPool(threads);
            List<Future<?>> futures = new ArrayList<>();
            AtomicInteger maxSeen = new AtomicInteger();
            for (int t = 0; t < threads; t++) {
                futures.add(pool.submit(() -> {
                    for (int i = 0; i < perThread; i++) {
                        m.create(null, Map.of("i", "" + i));
                        maxSeen.accumulateAndGet((int) store.count(), Math::max);
                    }
                }));
            }
            for (Future<?> f : futures) {
                f.get(2, TimeUnit.MINUTES);
            }
            pool.shutdown();
            assertThat(store.count()).isEqualTo(max);
            assertThat(maxSeen.get()).isLessThanOrEqualTo(max);
            assertThat(evictions.get()).isEqualTo(threads * perThread - max);
            assertThat(evicted).hasSize(threads * perThread - max);
        }
    }

    @Test
    void aReplaceThatMovesTheExpiryEarlierIsSweptAtTheEarlierTime() {
        InMemorySessionStore store = new InMemorySessionStore();
        java.time.Instant now = clock.instant();
        Session s = new Session("id-1", null, now, now, Duration.ofHours(1), now.plus(Duration.ofHours(12)), 1, Map.of());
        store.insert(s);
        Session shortened = new Session("id-1", null, now, now, Duration.ofMinutes(1), now.plus(Duration.ofHours(12)), 2, Map.of());
        assertThat(store.replace(shortened, 1)).isTrue();
        assertThat(store.removeExpired(now.plus(Duration.ofMinutes(1)), 10)).containsExactly(shortened);
        assertThat(store.count()).isZero();
    }

    @Test
    void loadedSessionsAreImmutableValues() {
        InMemorySessionStore store = new InMemorySessionStore();
        try (SessionManager m = managerWith(store, new SessionListener() { })) {
            Session s = m.create(null, Map.of("k", "v"));
            Session loaded = m.find(s.id()).orElseThrow();
            assertThatThrownBy(() -> loaded.attributes().put("k", "changed"))
                    .isInstanceOf(UnsupportedOperationException.class);
            assertThat(store.load(s.id()).orElseThrow().attributes()).containsEntry("k", "v");
        }
    }

    /**
     * Heap kept per idle session (id, owner index, expiry and list indexes, one attribute): live heap after
     * full collections before and after 100,000 sessions, printed for the README's figure. The bound is
     * generous (GC accounting is not exact); the benchmark suite's footprint table is the figure to quote.
     */
    @Test
    void anIdleSessionCostsAFewHundredBytesOfHeap() {
        int n = 100_000;
        long before = liveHeap();
        SessionManager m = SessionManager.builder(InMemorySessionStore.builder().maxSessions(n).build())
                .sweepInterval(Duration.ZERO).build();
        for (int i = 0; i < n; i++) {
            m.create("user-" + i, Map.of("plan", "pro"));
        }
        long perSession = (liveHeap() - before) / n;
        assertThat(m.stats().active()).isEqualTo(n);
        m.close();
        System.out.printf("in-memory store: %d bytes of heap per idle session (owner, one attribute)%n", perSession);
        assertThat(perSession).isBetween(100L, 800L);
    }

    private static long liveHeap() {
        long used = Long.MAX_VALUE;
        for (int i = 0; i < 10; i++) {
            System.gc();
            long now = Runtime.getRuntime().totalMemory() - Runtime.getRuntime().freeMemory();
            if (Math.abs(now - used) < 64 * 1024) {
                return now;
            }
            used = now;
        }
        return used;
    }
}
