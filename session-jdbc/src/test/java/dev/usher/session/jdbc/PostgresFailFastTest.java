package dev.usher.session.jdbc;

import dev.usher.session.DedicatedPostgres;
import org.junit.jupiter.api.Tag;
import static org.assertj.core.api.Assertions.assertThat;

import dev.usher.session.Durations;
import dev.usher.session.OutageLoad;
import dev.usher.session.Session;
import dev.usher.session.SessionAttribute;
import dev.usher.session.SessionManager;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * PostgreSQL crashed (SIGKILL to every server process) or frozen (SIGSTOP) under load, on a server of this
 * test's own: once the store has seen it down, calls fail at once instead of each waiting out the 5 s
 * timeout, and the same store object serves again soon after the server is back. The bounds are generous
 * (a loaded machine), and far from the timeout they guard against.
 */
@Tag("server")
class PostgresFailFastTest {
    private static final SessionAttribute<Integer> COUNTER = SessionAttribute.ofInt("counter");
    private static final Duration TIMEOUT = Duration.ofSeconds(5);
    /** Well under the timeout: a failing call that waited for the pool or the server would exceed it. */
    private static final Duration FAST = Duration.ofSeconds(1);
    /** The promise is 1 s; the rest is room for a loaded machine. Without the probe it would be never. */
    private static final Duration RECOVERY_BOUND = Duration.ofSeconds(5);
    private static final int THREADS = 8;

    private DedicatedPostgres pg;
    private JdbcSessionStore store;
    private SessionManager manager;
    private final List<Session> sessions = new ArrayList<>();

    @BeforeEach
    void start() throws Exception {
        pg = DedicatedPostgres.start();
        store = JdbcSessionStore.builder().jdbcUrl(pg.jdbcUrl()).credentials("usher", "").timeout(TIMEOUT).build();
        manager = SessionManager.builder(store).sweepInterval(Duration.ZERO).build();
        for (int i = 0; i < THREADS; i++) {
            sessions.add(manager.create(null, Map.of()));
        }
    }

    @AfterEach
    void stop() throws Exception {
        manager.close();
        pg.close();
    }

    private OutageLoad load() {
        return OutageLoad.start(THREADS, (thread, i) ->
                manager.update(sessions.get(thread).id(), s -> s.withAttribute(COUNTER, s.attribute(COUNTER).orElse(0) + 1)));
    }

    @Test
    void crashedServerCallsFailFastAndTheSameStoreRecoversAfterTheRestart() throws Exception {
        try (OutageLoad load = load()) {
            load.awaitSuccesses(0, 200);
            pg.crash();
            long crashed = System.nanoTime();
            load.awaitFailures(crashed, 500);
            long restartAt = System.nanoTime();
            pg.startServer();
            long back = System.nanoTime();
            long recovered = load.firstSuccessEnd(back);
            load.awaitSuccesses(back, 200);

            List<OutageLoad.Outcome> down = load.between(crashed, restartAt).stream().filter(o -> !o.succeeded()).toList();
            Duration p99 = OutageLoad.percentile(down, 99);
            System.out.printf("PostgreSQL crashed: %d calls failed while down, p50 %s, p99 %s, max %s; first success %d ms after"
                            + " the server accepted connections again%n", down.size(), Durations.format(OutageLoad.percentile(down, 50)), Durations.format(p99),
                    Durations.format(OutageLoad.percentile(down, 100)), (recovered - back) / 1_000_000);
            assertThat(p99).as("p99 of the calls failing while the server is down").isLessThan(FAST);
            assertThat(Duration.ofNanos(recovered - back)).as("first success after the restart").isLessThan(RECOVERY_BOUND);
        }
        assertCountersWhole();
    }

    @Test
    void frozenServerCallsFailFastAfterTheFirstTimeoutAndRecoverAfterSigcont() throws Exception {
        try (OutageLoad load = load()) {
            load.awaitSuccesses(0, 200);
            pg.freeze();
            long frozen = System.nanoTime();
            long thawAt;
            try {
                load.awaitFailures(frozen, 500);
                thawAt = System.nanoTime();
            } finally {
                pg.thaw();
            }
            long back = System.nanoTime();
            long recovered = load.firstSuccessEnd(back);
            load.awaitSuccesses(back, 200);

            // The calls in flight when the server froze wait out the timeout (that is how the freeze is seen);
            // every call after them fails at once.
            List<OutageLoad.Outcome> down = load.between(frozen, thawAt).stream().filter(o -> !o.succeeded()).toList();
            Duration p99 = OutageLoad.percentile(down, 99);
            System.out.printf("PostgreSQL frozen: %d calls failed while frozen, p50 %s, p99 %s, max %s; first success %d ms"
                            + " after SIGCONT%n", down.size(), Durations.format(OutageLoad.percentile(down, 50)), Durations.format(p99),
                    Durations.format(OutageLoad.percentile(down, 100)), (recovered - back) / 1_000_000);
            assertThat(down.size()).isGreaterThanOrEqualTo(500);
            assertThat(p99).as("p99 of the calls failing while the server is frozen").isLessThan(FAST);
            assertThat(Duration.ofNanos(recovered - back)).as("first success after SIGCONT").isLessThan(RECOVERY_BOUND);
        }
        assertCountersWhole();
    }

    /** Every session is readable and its counter moved with its version: nothing half-written. */
    private void assertCountersWhole() {
        for (Session s : sessions) {
            Session now = manager.find(s.id()).orElseThrow();
            assertThat(now.attribute(COUNTER).orElse(0)).isEqualTo((int) (now.version() - 1));
        }
    }
}
