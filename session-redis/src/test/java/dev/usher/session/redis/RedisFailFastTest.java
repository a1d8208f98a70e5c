package dev.usher.session.redis;

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
 * Redis killed (SIGKILL) or frozen (SIGSTOP) under load, on a server of this test's own, with a 2 s timeout:
 * once the store has seen it down, calls fail at once instead of each waiting for a connection or the
 * timeout, and the same store object serves again soon after the server is back.
 */
@Tag("server")
class RedisFailFastTest {
    private static final SessionAttribute<Integer> COUNTER = SessionAttribute.ofInt("counter");
    private static final Duration TIMEOUT = Duration.ofSeconds(2);
    /** Well under the timeout: a failing call that waited for a connection or the server would exceed it. */
    private static final Duration FAST = Duration.ofMillis(500);
    /** The promise is 1 s; the rest is room for a loaded machine. */
    private static final Duration RECOVERY_BOUND = Duration.ofSeconds(5);
    private static final int THREADS = 8;

    private DedicatedRedis server;
    private SessionManager manager;
    private final List<Session> sessions = new ArrayList<>();

    @BeforeEach
    void start() throws Exception {
        server = new DedicatedRedis();
        manager = SessionManager.builder(RedisSessionStore.builder().uri(server.uri()).timeout(TIMEOUT).build())
                .sweepInterval(Duration.ZERO).build();
        for (int i = 0; i < THREADS; i++) {
            sessions.add(manager.create(null, Map.of()));
        }
    }

    @AfterEach
    void stop() throws Exception {
        manager.close();
        server.close();
    }

    private OutageLoad load() {
        return OutageLoad.start(THREADS, (thread, i) ->
                manager.update(sessions.get(thread).id(), s -> s.withAttribute(COUNTER, s.attribute(COUNTER).orElse(0) + 1)));
    }

    @Test
    void killedServerCallsFailFastAndTheSameStoreRecoversAfterTheRestart() throws Exception {
        try (OutageLoad load = load()) {
            load.awaitSuccesses(0, 200);
            server.kill9();
            long killed = System.nanoTime();
            load.awaitFailures(killed, 500 + 4 * THREADS);
            long restartAt = System.nanoTime();
            server.start();
            long back = System.nanoTime();
            long recovered = load.firstSuccessEnd(back);
            load.awaitSuccesses(back, 200);
            report("killed", load.between(killed, restartAt), recovered - back);
        }
        assertCountersWhole();
    }

    @Test
    void frozenServerCallsFailFastAfterTheFirstTimeoutAndRecoverAfterSigcont() throws Exception {
        try (OutageLoad load = load()) {
            load.awaitSuccesses(0, 200);
            server.freeze();
            long frozen = System.nanoTime();
            long thawAt;
            try {
                load.awaitFailures(frozen, 500 + 4 * THREADS);
                thawAt = System.nanoTime();
            } finally {
                server.thaw();
            }
            long back = System.nanoTime();
            long recovered = load.firstSuccessEnd(back);
            load.awaitSuccesses(back, 200);
            report("frozen", load.between(frozen, thawAt), recovered - back);
        }
        assertCountersWhole();
    }

    @Test
    void aFrozenClusterMasterMakesTheStoreFailFastAndItRecoversAfterSigcont() throws Exception {
        try (DedicatedCluster cluster = new DedicatedCluster();
                SessionManager onCluster = SessionManager.builder(RedisSessionStore.builder().clusterNodes(cluster.seeds())
                        .timeout(TIMEOUT).build()).sweepInterval(Duration.ZERO).build()) {
            List<Session> mine = new ArrayList<>();
            for (int i = 0; i < THREADS * 4; i++) {
                mine.add(onCluster.create(null, Map.of()));
            }
            try (OutageLoad load = OutageLoad.start(THREADS, (thread, i) -> {
                Session s = mine.get((int) ((thread + i * THREADS) % mine.size()));
                onCluster.update(s.id(), x -> x.withAttribute(COUNTER, x.attribute(COUNTER).orElse(0) + 1));
            })) {
                load.awaitSuccesses(0, 200);
                DedicatedRedis frozen = cluster.nodes().get(0);
                frozen.freeze();
                long frozenAt = System.nanoTime();
                long thawAt;
                try {
                    load.awaitFailures(frozenAt, 500 + 4 * THREADS);
                    thawAt = System.nanoTime();
                } finally {
                    frozen.thaw();
                }
                long back = System.nanoTime();
                long recovered = load.firstSuccessEnd(back);
                load.awaitSuccesses(back, 200);
                report("cluster master frozen", load.between(frozenAt, thawAt), recovered - back);
            }
            for (Session s : mine) {
                Session now = onCluster.find(s.id()).orElseThrow();
                assertThat(now.attribute(COUNTER).orElse(0)).isEqualTo((int) (now.version() - 1));
            }
        }
    }

    private static void report(String what, List<OutageLoad.Outcome> calls, long recoveryNanos) {
        // The guarantee is for calls made once the store has been seen unreachable (its first failed call
        // ended): the calls already in flight when the server froze each wait out the client's timeout,
        // which is how the outage is detected, and on a loaded machine they can be more than 1% of the rest.
        long seenDown = calls.stream().filter(o -> !o.succeeded()).mapToLong(OutageLoad.Outcome::endNanos).min()
                .orElse(Long.MAX_VALUE);
        List<OutageLoad.Outcome> down = calls.stream().filter(o -> !o.succeeded() && o.startNanos() >= seenDown).toList();
        Duration p99 = OutageLoad.percentile(down, 99);
        System.out.printf("Redis %s: %d calls failed while down, p50 %s, p99 %s, max %s; first success %s after it was back%n",
                what, down.size(), Durations.format(OutageLoad.percentile(down, 50)), Durations.format(p99),
                Durations.format(OutageLoad.percentile(down, 100)), Durations.format(Duration.ofNanos(recoveryNanos)));
        assertThat(down.size()).isGreaterThanOrEqualTo(500);
        assertThat(p99).as("p99 of the calls failing while Redis is down").isLessThan(FAST);
        assertThat(Duration.ofNanos(recoveryNanos)).as("first success after Redis is back").isLessThan(RECOVERY_BOUND);
    }

    private void assertCountersWhole() {
        for (Session s : sessions) {
            Session now = manager.find(s.id()).orElseThrow();
            assertThat(now.attribute(COUNTER).orElse(0)).isEqualTo((int) (now.version() - 1));
        }
    }
}
