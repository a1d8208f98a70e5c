package dev.usher.session.jdbc;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowable;

import dev.usher.session.DedicatedPostgres;
import dev.usher.session.Session;
import dev.usher.session.SessionAttribute;
import dev.usher.session.SessionManager;
import dev.usher.session.StoreUnavailableException;
import java.sql.SQLException;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Supplier;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/**
 * PostgreSQL stopped while the host runs: every call fails within the store's timeout with
 * {@link StoreUnavailableException} (the driver's exception attached), and the same store works again once
 * the server is back, without restarting anything on the host side. Uses a dedicated cluster of its own.
 */
@Tag("server")
class PostgresStoreDownTest {
    private static final SessionAttribute<Integer> COUNTER = SessionAttribute.ofInt("counter");
    /** Room for scheduling on a loaded machine; the promise under test is the timeout itself. */
    private static final Duration SLACK = Duration.ofSeconds(2);

    @Test
    void callsFailWithinTheTimeoutWhileTheServerIsDownAndSucceedAfterItsRestart() throws Exception {
        try (DedicatedPostgres pg = DedicatedPostgres.start()) {
            JdbcSessionStore withDefaults = JdbcSessionStore.builder().jdbcUrl(pg.jdbcUrl()).credentials("usher", "").build();
            Duration timeout = Duration.ofSeconds(2);
            JdbcSessionStore store = JdbcSessionStore.builder().jdbcUrl(pg.jdbcUrl()).credentials("usher", "")
                    .tableName("usher_session").timeout(timeout).build();
            try (withDefaults; SessionManager manager = SessionManager.builder(store).sweepInterval(Duration.ZERO).build()) {
                Session s = manager.create("alice", Map.of("k", "v"));
                Session other = manager.create("bob", Map.of());

                // A writer that keeps going through the outage, as a host's request threads would.
                AtomicBoolean restarted = new AtomicBoolean();
                AtomicBoolean stop = new AtomicBoolean();
                AtomicInteger applied = new AtomicInteger();
                AtomicInteger unknownOutcome = new AtomicInteger();
                CountDownLatch failedWhileDown = new CountDownLatch(1);
                CountDownLatch succeededAfterRestart = new CountDownLatch(1);
                List<Throwable> unexpected = new ArrayList<>();
                ExecutorService writer = Executors.newSingleThreadExecutor();
                Future<?> writing = writer.submit(() -> {
                    while (!stop.get()) {
                        boolean afterRestart = restarted.get();
                        try {
                            manager.update(s.id(), x -> x.withAttribute(COUNTER, x.attribute(COUNTER).orElse(0) + 1)).orElseThrow();
                            applied.incrementAndGet();
                            if (afterRestart) {
                                succeededAfterRestart.countDown();
                            }
                        } catch (StoreUnavailableException e) {
                            unknownOutcome.incrementAndGet();
                            failedWhileDown.countDown();
                        } catch (RuntimeException | Error e) {
                            synchronized (unexpected) {
                                unexpected.add(e);
                            }
                            return;
                        }
                    }
                });

                pg.stopServer();
                assertFailsInTime("load with default settings", Duration.ofSeconds(5), () -> withDefaults.load(s.id()));
                assertFailsInTime("load", timeout, () -> store.load(s.id()));
                assertFailsInTime("insert", timeout, () -> store.insert(TestEngine.session("new", null, Instant.now(), Map.of())));
                assertFailsInTime("replace", timeout, () -> store.replace(other.withVersion(2), 1));
                assertFailsInTime("changeId", timeout, () -> store.changeId(other.id(), other.withId("moved").withVersion(2), 1));
                assertFailsInTime("remove", timeout, () -> store.remove(other.id()));
                assertFailsInTime("removeExpired", timeout, () -> store.removeExpired(Instant.now(), 10));
                assertFailsInTime("findByOwner", timeout, () -> store.findByOwner("alice"));
                assertFailsInTime("list", timeout, () -> store.list(null, 10));
                assertFailsInTime("count", timeout, store::count);
                assertFailsInTime("manager.find", timeout, () -> manager.find(s.id()));
                assertThat(failedWhileDown.await(2, TimeUnit.MINUTES)).as("the writer saw the outage").isTrue();

                pg.startServer();
                restarted.set(true);
                assertThat(succeededAfterRestart.await(2, TimeUnit.MINUTES)).as("the writer recovered").isTrue();
                stop.set(true);
                writing.get(1, TimeUnit.MINUTES);
                writer.shutdown();
                assertThat(unexpected).isEmpty();

                Session after = manager.find(s.id()).orElseThrow();
                // A commit whose answer the shutdown cut off is "unknown" to the caller: it may or may not have landed.
                assertThat(after.attribute(COUNTER).orElseThrow()).isBetween(applied.get(), applied.get() + unknownOutcome.get());
                // withDefaults has a circuit of its own: it lets calls through once its own probe sees the server.
                assertThat(afterRecovery(() -> withDefaults.load(other.id()))).contains(other);
                assertThat(store.remove(other.id())).contains(other);
            }
        }
    }

    /** The action's result once its store's probe has seen the server back (bounded: the probe runs every 200 ms). */
    private static <T> T afterRecovery(Supplier<T> action) throws InterruptedException {
        long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
        while (true) {
            try {
                return action.get();
            } catch (StoreUnavailableException e) {
                if (System.nanoTime() - deadline > 0) {
                    throw e;
                }
                Thread.sleep(50);
            }
        }
    }

    private static void assertFailsInTime(String call, Duration timeout, Supplier<?> action) {
        long start = System.nanoTime();
        Throwable thrown = catchThrowable(action::get);
        Duration took = Duration.ofNanos(System.nanoTime() - start);
        assertThat(thrown).as(call).isInstanceOf(StoreUnavailableException.class);
        assertThat(thrown.getCause()).as(call + " keeps the driver's exception").isInstanceOf(SQLException.class);
        assertThat(took).as(call + " failed within its timeout").isLessThanOrEqualTo(timeout.plus(SLACK));
    }
}
