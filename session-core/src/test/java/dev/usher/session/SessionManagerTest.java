package dev.usher.session;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.usher.session.memory.InMemorySessionStore;
import java.time.Duration;
import java.util.HashSet;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

class SessionManagerTest {

    @Test
    void idsAreUniqueUrlSafeAndCarry256Bits() {
        Set<String> ids = new HashSet<>();
        for (int i = 0; i < 10_000; i++) {
            String id = SessionIds.generate();
            assertThat(id).matches("[A-Za-z0-9_-]{43}");
            assertThat(SessionIds.isWellFormed(id)).isTrue();
            ids.add(id);
        }
        assertThat(ids).hasSize(10_000);
        assertThat(SessionIds.BYTES * 8).isGreaterThanOrEqualTo(128);
    }

    @Test
    void theSweeperThreadExpiresSessionsAndStopsOnClose() throws Exception {
        TestClock clock = new TestClock();
        CountDownLatch expired = new CountDownLatch(1);
        SessionManager m = SessionManager.builder(new InMemorySessionStore()).clock(clock)
                .idleTimeout(Duration.ofMinutes(1)).sweepInterval(Duration.ofMillis(20))
                .listener(new SessionListener() {
                    @Override
                    public void ended(Session session, EndReason reason) {
                        if (reason == EndReason.EXPIRED) {
                            expired.countDown();
                        }
                    }
                }).build();
        m.create(null, Map.of());
        java.util.List<Thread> sweepers = sweeperThreads();
        assertThat(sweepers).hasSize(1);
        clock.advance(Duration.ofMinutes(2));
        assertThat(expired.await(30, TimeUnit.SECONDS)).as("the sweeper delivered the expiry").isTrue();
        m.close();
        // The executor has terminated; its thread may still be returning from run().
        sweepers.get(0).join(10_000);
        assertThat(sweepers.get(0).isAlive()).isFalse();
        assertThat(sweeperThreads()).isEmpty();
        assertThatThrownBy(() -> m.find(SessionIds.generate())).isInstanceOf(IllegalStateException.class);
        m.close(); // idempotent
    }

    private static java.util.List<Thread> sweeperThreads() {
        return Thread.getAllStackTraces().keySet().stream()
                .filter(t -> t.getName().equals("usher-session-sweeper") && t.isAlive()).toList();
    }

    @Test
    void aFailingStoreDoesNotKillTheSweeper() throws Exception {
        TestClock clock = new TestClock();
        CountDownLatch sweptAfterFailure = new CountDownLatch(1);
        InMemorySessionStore real = new InMemorySessionStore();
        int[] calls = new int[1];
        SessionStore flaky = new ForwardingSessionStore(real) {
            @Override
            public java.util.List<Session> removeExpired(java.time.Instant now, int limit) {
                if (calls[0]++ == 0) {
                    throw new StoreUnavailableException("store down (test)", new java.io.IOException("refused"));
                }
                java.util.List<Session> removed = super.removeExpired(now, limit);
                if (!removed.isEmpty()) {
                    sweptAfterFailure.countDown();
                }
                return removed;
            }
        };
        try (SessionManager m = SessionManager.builder(flaky).clock(clock).idleTimeout(Duration.ofMinutes(1))
                .sweepInterval(Duration.ofMillis(20)).build()) {
            m.create(null, Map.of());
            clock.advance(Duration.ofMinutes(2));
            assertThat(sweptAfterFailure.await(30, TimeUnit.SECONDS)).isTrue();
        }
    }

    @Test
    void builderRejectsNonsenseNamingTheValue() {
        SessionManager.Builder b = SessionManager.builder(new InMemorySessionStore());
        assertThatThrownBy(() -> b.idleTimeout(Duration.ZERO)).hasMessageContaining("idleTimeout").hasMessageContaining("0s");
        assertThatThrownBy(() -> SessionManager.builder(new InMemorySessionStore()).idleTimeout(Duration.ofHours(2))
                .absoluteTimeout(Duration.ofMinutes(30)).build())
                .isInstanceOf(IllegalStateException.class)
                .hasMessage("absoluteTimeout must be at least idleTimeout (2h) but was 30m");
        assertThatThrownBy(() -> b.touchThreshold(1.5)).hasMessageContaining("1.5");
        assertThatThrownBy(() -> b.maxUpdateAttempts(0)).hasMessageContaining("0");
        assertThatThrownBy(() -> b.maxSessionsPerOwner(0, OwnerLimitPolicy.REJECT)).hasMessageContaining("0");
        assertThatThrownBy(() -> b.sweepBatchSize(-1)).hasMessageContaining("-1");
        assertThatThrownBy(() -> new AttributeLimits(0, 1, 1, 1)).hasMessageContaining("maxNameLength");
    }

    @Test
    void ownersAreValidated() {
        try (SessionManager m = SessionManager.builder(new InMemorySessionStore()).sweepInterval(Duration.ZERO).build()) {
            assertThatThrownBy(() -> m.create("", Map.of())).isInstanceOf(SessionLimitException.class);
            assertThatThrownBy(() -> m.create("x".repeat(257), Map.of()))
                    .isInstanceOf(SessionLimitException.class).hasMessageContaining("256");
            assertThatThrownBy(() -> m.create("evil\r\nowner", Map.of()))
                    .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("control character");
            assertThatThrownBy(() -> m.create(null, Map.of("bad\nname", "v")))
                    .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("control character");
            assertThat(m.stats().created()).isZero();
        }
    }

    @Test
    void sessionToStringNeverShowsTheWholeIdOrValues() {
        String id = SessionIds.generate();
        Session s = new Session(id, "alice", java.time.Instant.now(), java.time.Instant.now(), Duration.ofMinutes(1),
                java.time.Instant.now().plusSeconds(60), 1, Map.of("secret", "hunter2"));
        assertThat(s.toString()).doesNotContain(id).doesNotContain("hunter2").contains(id.substring(0, 6));
    }

    @Test
    void withLockUsesThePluggedInLocks() {
        SessionLocks local = SessionLocks.inProcess();
        java.util.List<String> acquired = new java.util.concurrent.CopyOnWriteArrayList<>();
        SessionLocks recording = (id, timeout) -> {
            acquired.add(id);
            return local.acquire(id, timeout);
        };
        SessionLocks never = (id, timeout) -> null; // e.g. a cluster-wide lease held by another instance
        String id = SessionIds.generate();
        try (SessionManager m = SessionManager.builder(new InMemorySessionStore()).sweepInterval(Duration.ZERO)
                .sessionLocks(recording).build()) {
            assertThat(m.withLock(id, Duration.ofSeconds(1), () -> "ran")).isEqualTo("ran");
            assertThat(acquired).containsExactly(id);
        }
        try (SessionManager m = SessionManager.builder(new InMemorySessionStore()).sweepInterval(Duration.ZERO)
                .sessionLocks(never).build()) {
            assertThatThrownBy(() -> m.withLock(id, Duration.ofMillis(10), () -> "never"))
                    .isInstanceOf(SessionLockTimeoutException.class).hasMessageContaining("10ms");
            assertThat(m.stats().lockWaits()).isEqualTo(1);
        }
    }

    @Test
    void theLockTableForgetsIdleKeys() throws Exception {
        KeyedLocks locks = new KeyedLocks();
        for (int i = 0; i < 1000; i++) {
            try (KeyedLocks.Held held = locks.acquire("k" + i, 1_000_000, new boolean[1])) {
                assertThat(held).isNotNull();
            }
        }
        assertThat(locks.size()).isZero();
    }

    @Test
    void theSweeperRunsOnTheHostsThreadFactoryAndCloseStopsIt() throws Exception {
        java.util.List<Thread> made = new java.util.concurrent.CopyOnWriteArrayList<>();
        CountDownLatch swept = new CountDownLatch(1);
        SessionManager m = SessionManager.builder(new InMemorySessionStore())
                .sweepInterval(Duration.ofMillis(5))
                .threadFactory(r -> {
                    Thread t = new Thread(r, "host-sweeper");
                    t.setDaemon(true);
                    made.add(t);
                    return t;
                })
                .listener(new SessionListener() {
                    @Override
                    public void ended(Session session, EndReason reason) {
                        swept.countDown();
                    }
                })
                .idleTimeout(Duration.ofMillis(1)).absoluteTimeout(Duration.ofMillis(1))
                .build();
        m.create(null, Map.of());
        assertThat(swept.await(30, TimeUnit.SECONDS)).as("an expiry delivered by the sweeper").isTrue();
        assertThat(made).isNotEmpty().allMatch(t -> t.getName().equals("host-sweeper"));
        m.close();
        for (Thread t : made) {
            t.join(TimeUnit.SECONDS.toMillis(30));
            assertThat(t.isAlive()).isFalse();
        }
    }
}
