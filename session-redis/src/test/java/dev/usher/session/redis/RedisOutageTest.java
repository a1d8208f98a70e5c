package dev.usher.session.redis;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.usher.session.Session;
import dev.usher.session.SessionAttribute;
import dev.usher.session.SessionManager;
import dev.usher.session.SessionPage;
import dev.usher.session.StoreUnavailableException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.locks.LockSupport;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import redis.clients.jedis.exceptions.JedisException;

/**
 * Redis going away under load, on a server of this test's own: killed with SIGKILL and restarted on the same
 * port, or frozen with SIGSTOP (sockets open, no answers). Calls must fail with
 * {@link StoreUnavailableException} (the Jedis exception as cause) within the configured timeout, never
 * hang, and work again once Redis is back, through the same store object. Every update increments a counter
 * and the version together, so a half-written session would show as counter != version - 1.
 */
@Tag("server")
class RedisOutageTest {
    private static final SessionAttribute<Integer> COUNTER = SessionAttribute.ofInt("counter");
    private static final Duration TIMEOUT = Duration.ofMillis(500);
    /** What "within the timeout" allows on a loaded 2-core machine: the bound, plus scheduling slack. */
    private static final long BOUND_NANOS = TIMEOUT.toNanos() * 2 + TimeUnit.SECONDS.toNanos(2);

    private DedicatedRedis server;
    private SessionManager manager;

    @BeforeEach
    void start() throws Exception {
        server = new DedicatedRedis();
        manager = SessionManager.builder(RedisSessionStore.builder().uri(server.uri()).timeout(TIMEOUT)
                .maxConnections(8).build()).sweepInterval(Duration.ZERO).build();
    }

    @AfterEach
    void stop() throws Exception {
        manager.close();
        server.close();
    }

    @Test
    void killedMidRunCallsFailFastThenRecoverWithoutRebuildingTheStore() throws Exception {
        List<String> ids = new ArrayList<>();
        for (int i = 0; i < 20; i++) {
            ids.add(manager.create("user-" + (i % 4), Map.of()).id());
        }
        AtomicBoolean stop = new AtomicBoolean();
        AtomicInteger failures = new AtomicInteger();
        AtomicInteger successes = new AtomicInteger();
        List<Long> failureNanos = Collections.synchronizedList(new ArrayList<>());
        ExecutorService pool = Executors.newFixedThreadPool(16); // more callers than pooled connections
        List<Future<?>> workers = new ArrayList<>();
        for (int t = 0; t < 16; t++) {
            int thread = t;
            workers.add(pool.submit(() -> {
                int i = thread;
                while (!stop.get()) {
                    String id = ids.get(i++ % ids.size());
                    long began = System.nanoTime();
                    try {
                        manager.update(id, x -> x.withAttribute(COUNTER, x.attribute(COUNTER).orElse(0) + 1));
                        successes.incrementAndGet();
                    } catch (StoreUnavailableException e) {
                        failureNanos.add(System.nanoTime() - began);
                        assertThat(e).hasCauseInstanceOf(JedisException.class);
                        failures.incrementAndGet();
                    }
                }
                return null;
            }));
        }
        awaitAtLeast(successes, 200);
        server.kill9();
        awaitAtLeast(failures, 50);
        server.start();
        int successesAtRestart = successes.get();
        awaitAtLeast(successes, successesAtRestart + 200);
        stop.set(true);
        for (Future<?> w : workers) {
            w.get(30, TimeUnit.SECONDS);
        }
        pool.shutdown();

        assertThat(failureNanos).allSatisfy(n -> assertThat(n).isLessThan(BOUND_NANOS));
        System.out.printf("killed: %d calls failed, slowest after %d ms; %d succeeded in all%n", failures.get(),
                failureNanos.stream().mapToLong(Long::longValue).max().orElseThrow() / 1_000_000, successes.get());
        assertNoHalfWrittenSession(ids.size());
    }

    @Test
    void frozenServerCallsTimeOutInsteadOfHanging() throws Exception {
        List<Session> sessions = new ArrayList<>();
        for (int i = 0; i < 16; i++) {
            sessions.add(manager.create(null, Map.of()));
        }
        server.freeze();
        List<Long> nanos = Collections.synchronizedList(new ArrayList<>());
        try {
            // Twice as many callers as pooled connections: half wait on a socket, half for a connection. Each
            // has a session of its own: callers of one session queue on the manager's per-session lock.
            ExecutorService pool = Executors.newFixedThreadPool(16);
            List<Future<?>> callers = new ArrayList<>();
            for (Session s : sessions) {
                callers.add(pool.submit(() -> {
                    long began = System.nanoTime();
                    assertThatThrownBy(() -> manager.update(s.id(), x -> x.withAttribute(COUNTER, 1)))
                            .isInstanceOf(StoreUnavailableException.class).hasCauseInstanceOf(JedisException.class);
                    nanos.add(System.nanoTime() - began);
                    return null;
                }));
            }
            for (Future<?> c : callers) {
                c.get(60, TimeUnit.SECONDS);
            }
            pool.shutdown();
        } finally {
            server.thaw();
        }
        assertThat(nanos).hasSize(16).allSatisfy(n -> assertThat(n).isLessThan(BOUND_NANOS));
        System.out.printf("frozen: 16 callers failed, slowest after %d ms (timeout %d ms)%n",
                nanos.stream().mapToLong(Long::longValue).max().orElseThrow() / 1_000_000, TIMEOUT.toMillis());
        Session first = sessions.get(0);
        awaitStoreBack(manager);
        assertThat(manager.update(first.id(), x -> x.withAttribute(COUNTER, 7)).orElseThrow().attribute(COUNTER))
                .contains(7);
    }

    /** Waits (up to 30 s) until the store's circuit closed again: its probe reached Redis. */
    static void awaitStoreBack(SessionManager manager) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        while (true) {
            try {
                manager.stats();
                return;
            } catch (StoreUnavailableException e) {
                assertThat(System.nanoTime()).as("store back within 30 s").isLessThan(deadline);
                DedicatedRedis.sleepBriefly();
            }
        }
    }

    /** Every stored session is whole: all fields decode and the counter moved with the version. */
    private void assertNoHalfWrittenSession(int expected) {
        List<Session> all = new ArrayList<>();
        String cursor = null;
        do {
            SessionPage page = manager.list(cursor, 7);
            all.addAll(page.sessions());
            cursor = page.nextCursor();
        } while (cursor != null);
        assertThat(all).hasSize(expected);
        assertThat(manager.stats().active()).isEqualTo(expected);
        for (Session s : all) {
            assertThat(s.attribute(COUNTER).orElse(0)).as("counter of %s", s).isEqualTo((int) (s.version() - 1));
        }
        assertThat(manager.findByOwner("user-1")).hasSize(expected / 4);
    }

    private static void awaitAtLeast(AtomicInteger counter, int target) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
        while (counter.get() < target) {
            if (System.nanoTime() > deadline) {
                throw new AssertionError("counter stuck at " + counter.get() + ", wanted " + target);
            }
            LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(1)); // polling a counter other threads move
        }
    }
}
