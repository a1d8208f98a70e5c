package dev.usher.session.jdbc;

import static org.assertj.core.api.Assertions.assertThat;

import dev.usher.session.Concurrently;
import dev.usher.session.EndReason;
import dev.usher.session.Session;
import dev.usher.session.SessionAttribute;
import dev.usher.session.SessionListener;
import dev.usher.session.SessionManager;
import dev.usher.session.TestClock;
import dev.usher.session.jdbc.JdbcSessionStore.Dialect;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * Two store instances with separate pools on one database, each under its own {@link SessionManager}, as
 * two servers would run: no increment is lost, and their sweepers end each expired session exactly once.
 * On SQLite this is also the "database is locked never reaches the caller" test: any exception fails it.
 */
@Tag("server")
class TwoInstancesTest {
    private static final SessionAttribute<Integer> COUNTER = SessionAttribute.ofInt("counter");
    private static final Duration IDLE = Duration.ofMinutes(30);

    @TempDir
    Path dir;
    private TestEngine engine;
    private final List<SessionManager> managers = new ArrayList<>();
    private final TestClock clock = new TestClock();

    @AfterEach
    void close() throws Exception {
        managers.forEach(SessionManager::close);
        engine.close();
    }

    /** Two managers, each over its own store instance (own pools) on the same table. */
    private List<SessionManager> twoInstances(Dialect dialect) {
        engine = TestEngine.create(dialect, dir);
        for (int i = 0; i < 2; i++) {
            // PostgreSQL: see PostgresSessionStoreContractTest for why commits are not flushed one by one here.
            JdbcSessionStore store = engine.builder().synchronousCommit(dialect == Dialect.SQLITE).build();
            // More compare-and-set attempts than the default 100: see PostgresSessionStoreContractTest.
            managers.add(SessionManager.builder(store).clock(clock).idleTimeout(IDLE).sweepInterval(Duration.ZERO)
                    .maxUpdateAttempts(10_000).build());
        }
        return managers;
    }

    @ParameterizedTest
    @EnumSource(Dialect.class)
    void incrementsFromTwoInstancesAreNeverLost(Dialect dialect) throws Exception {
        List<SessionManager> m = twoInstances(dialect);
        int threadsPerInstance = 4;
        int perThread = dialect == Dialect.POSTGRESQL ? 5_000 : 2_500;
        Session s = m.get(0).create("alice", Map.of());
        Concurrently.run(2 * threadsPerInstance, t -> {
            SessionManager mine = m.get(t % 2);
            for (int i = 0; i < perThread; i++) {
                mine.update(s.id(), x -> x.withAttribute(COUNTER, x.attribute(COUNTER).orElse(0) + 1)).orElseThrow();
            }
        });
        int total = 2 * threadsPerInstance * perThread;
        Session end = m.get(1).find(s.id()).orElseThrow();
        assertThat(end.attribute(COUNTER)).contains(total);
        assertThat(end.version()).isEqualTo(1L + total);
    }

    @ParameterizedTest
    @EnumSource(Dialect.class)
    void sweepersOnTwoInstancesEndEachExpiredSessionOnce(Dialect dialect) throws Exception {
        List<SessionManager> m = twoInstances(dialect);
        Map<String, Integer> ends = new ConcurrentHashMap<>();
        SessionListener counting = new SessionListener() {
            @Override
            public void ended(Session session, EndReason reason) {
                if (reason == EndReason.EXPIRED) {
                    ends.merge(session.id(), 1, Integer::sum);
                }
            }
        };
        m.forEach(x -> x.addListener(counting));
        int sessions = 3_000;
        List<Session> created = new ArrayList<>();
        for (int i = 0; i < sessions; i++) {
            created.add(m.get(i % 2).create(i % 3 == 0 ? "owner" + i % 11 : null, Map.of("i", "" + i)));
        }
        Session survivor = m.get(0).create("survivor", Map.of());
        clock.advance(IDLE.minusMinutes(1));
        m.get(0).touch(survivor.id());
        clock.advance(Duration.ofMinutes(2));

        Concurrently.run(4, t -> {
            SessionManager mine = m.get(t % 2);
            while (mine.sweep() > 0) {
                Thread.onSpinWait();
            }
        });
        assertThat(ends).hasSize(sessions);
        assertThat(ends.values()).containsOnly(1);
        assertThat(ends.keySet()).containsExactlyInAnyOrderElementsOf(created.stream().map(Session::id).toList());
        assertThat(m.get(1).find(survivor.id())).isPresent();
        assertThat(m.get(1).stats().active()).isEqualTo(1);
    }


}
