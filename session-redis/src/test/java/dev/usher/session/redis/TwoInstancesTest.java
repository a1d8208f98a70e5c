package dev.usher.session.redis;

import static org.assertj.core.api.Assertions.assertThat;

import dev.usher.session.Concurrently;
import dev.usher.session.EndReason;
import dev.usher.session.Session;
import dev.usher.session.SessionAttribute;
import dev.usher.session.SessionListener;
import dev.usher.session.SessionManager;
import dev.usher.session.SessionStore;
import dev.usher.session.TestClock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * Two host instances, each with its own store and client over the same Redis (standalone and cluster):
 * no lost update between them, and their sweeper threads end each expired session exactly once.
 */
@Tag("server")
class TwoInstancesTest {
    private static final SessionAttribute<Integer> COUNTER = SessionAttribute.ofInt("counter");

    enum Target {
        STANDALONE, CLUSTER;

        SessionStore open(String prefix) {
            RedisSessionStore.Builder b = RedisSessionStore.builder().keyPrefix(prefix);
            return (this == STANDALONE ? b.uri(RedisTestSupport.standaloneUri())
                    : b.clusterNodes(RedisTestSupport.clusterNodes())).build();
        }

        void deleteKeys(String prefix) {
            if (this == STANDALONE) {
                RedisTestSupport.deleteStandaloneKeys(prefix);
            } else {
                RedisTestSupport.deleteClusterKeys(prefix);
            }
        }
    }

    @ParameterizedTest
    @EnumSource(Target.class)
    void twoInstancesTimesFourThreadsLoseNoIncrement(Target target) throws Exception {
        String prefix = RedisTestSupport.uniquePrefix("two-instances-" + target);
        // The two instances race on one session the whole time, with no pause between writes: an instance can
        // lose many compare-and-sets in a row. What is checked is that no increment is lost, so give each
        // update more attempts than the default before it reports a conflict.
        try (SessionManager a = SessionManager.builder(target.open(prefix)).sweepInterval(Duration.ZERO)
                .maxUpdateAttempts(10_000).build();
             SessionManager b = SessionManager.builder(target.open(prefix)).sweepInterval(Duration.ZERO)
                .maxUpdateAttempts(10_000).build()) {
            Session s = a.create(null, Map.of());
            int perThread = 5_000;
            Concurrently.run(8, t -> {
                SessionManager m = t < 4 ? a : b;
                for (int i = 0; i < perThread; i++) {
                    m.update(s.id(), x -> x.withAttribute(COUNTER, x.attribute(COUNTER).orElse(0) + 1)).orElseThrow();
                }
            });
            Session end = b.find(s.id()).orElseThrow();
            assertThat(end.attribute(COUNTER)).contains(40_000);
            assertThat(end.version()).isEqualTo(40_001);
            System.out.printf("%s: compare-and-set conflicts %d and %d%n", target, a.stats().casConflicts(),
                    b.stats().casConflicts());
        } finally {
            target.deleteKeys(prefix);
        }
    }

    @ParameterizedTest
    @EnumSource(Target.class)
    void sweepersOfTwoInstancesEndEachExpiredSessionOnce(Target target) throws Exception {
        String prefix = RedisTestSupport.uniquePrefix("two-sweepers-" + target);
        TestClock clock = new TestClock();
        int sessions = 1_000;
        Map<String, Integer> ends = new ConcurrentHashMap<>();
        CountDownLatch allEnded = new CountDownLatch(sessions);
        SessionListener counting = new SessionListener() {
            @Override
            public void ended(Session session, EndReason reason) {
                if (reason == EndReason.EXPIRED) {
                    ends.merge(session.id(), 1, Integer::sum);
                    allEnded.countDown();
                }
            }
        };
        Supplier<SessionManager> instance = () -> SessionManager.builder(target.open(prefix)).clock(clock)
                .idleTimeout(Duration.ofMinutes(5)).sweepInterval(Duration.ofMillis(20)).sweepBatchSize(50)
                .listener(counting).build();
        List<String> created = new ArrayList<>();
        try {
            try (SessionManager a = instance.get(); SessionManager b = instance.get()) {
                for (int i = 0; i < sessions; i++) {
                    created.add((i % 2 == 0 ? a : b).create(i % 3 == 0 ? "owner-" + (i % 5) : null, Map.of()).id());
                }
                clock.advance(Duration.ofMinutes(6));
                assertThat(allEnded.await(2, TimeUnit.MINUTES)).as("every session ended").isTrue();
                // Closing stops both sweeper threads, so every event that will ever come has come.
            }
            assertThat(ends.keySet()).containsExactlyInAnyOrderElementsOf(created);
            assertThat(ends.values()).containsOnly(1);
            try (SessionStore check = target.open(prefix)) {
                assertThat(check.count()).isZero();
                for (int o = 0; o < 5; o++) {
                    assertThat(check.findByOwner("owner-" + o)).isEmpty();
                }
            }
        } finally {
            target.deleteKeys(prefix);
        }
    }


}
