package dev.usher.session.redis;

import static org.assertj.core.api.Assertions.assertThat;

import dev.usher.session.Session;
import dev.usher.session.SessionAttribute;
import dev.usher.session.SessionManager;
import dev.usher.session.StoreUnavailableException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import redis.clients.jedis.Jedis;
import redis.clients.jedis.exceptions.JedisException;

/**
 * One master of a cluster of this test's own stops answering (SIGSTOP): calls for its slots, and for the
 * whole cluster once the others declare it failed, end in {@link StoreUnavailableException} within the
 * bound, in spite of the cluster client's retries and redirections; once it answers again, the same store
 * serves every session and none was half-written.
 */
@Tag("server")
class RedisClusterOutageTest {
    private static final SessionAttribute<Integer> COUNTER = SessionAttribute.ofInt("counter");
    private static final Duration TIMEOUT = Duration.ofMillis(500);
    /** The bound plus one more attempt after it (the retry budget is checked between attempts) and slack. */
    private static final long BOUND_NANOS = TIMEOUT.toNanos() * 2 + TimeUnit.SECONDS.toNanos(2);

    private DedicatedCluster cluster;
    private SessionManager manager;

    @BeforeEach
    void start() throws Exception {
        cluster = new DedicatedCluster();
        manager = SessionManager.builder(RedisSessionStore.builder().clusterNodes(cluster.seeds())
                .timeout(TIMEOUT).build()).sweepInterval(Duration.ZERO).build();
    }

    @AfterEach
    void stop() throws Exception {
        manager.close();
        cluster.close();
    }

    @Test
    void aFrozenMasterMakesCallsFailInTimeAndTheStoreRecovers() throws Exception {
        List<Session> sessions = new ArrayList<>();
        for (int i = 0; i < 30; i++) {
            sessions.add(manager.create("user-" + (i % 3), Map.of()));
        }
        DedicatedRedis frozen = cluster.nodes().get(0);
        frozen.freeze();
        int failures = 0;
        long slowest = 0;
        try {
            for (Session s : sessions) {
                long began = System.nanoTime();
                try {
                    manager.update(s.id(), x -> x.withAttribute(COUNTER, x.attribute(COUNTER).orElse(0) + 1));
                } catch (StoreUnavailableException e) {
                    assertThat(e).hasCauseInstanceOf(JedisException.class);
                    failures++;
                }
                long took = System.nanoTime() - began;
                slowest = Math.max(slowest, took);
                assertThat(took).isLessThan(BOUND_NANOS);
            }
        } finally {
            frozen.thaw();
        }
        assertThat(failures).as("sessions on the frozen master").isPositive();
        System.out.printf("cluster: %d of %d calls failed while a master was frozen, slowest after %d ms%n",
                failures, sessions.size(), slowest / 1_000_000);
        awaitClusterOk();
        RedisOutageTest.awaitStoreBack(manager);

        for (Session s : sessions) {
            Session after = manager.update(s.id(), x -> x.withAttribute(COUNTER, x.attribute(COUNTER).orElse(0) + 1))
                    .orElseThrow();
            assertThat(after.attribute(COUNTER).orElseThrow()).isEqualTo((int) (after.version() - 1));
        }
        assertThat(manager.findByOwner("user-1")).hasSize(10);
        assertThat(manager.stats().active()).isEqualTo(30);
    }

    private void awaitClusterOk() throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
        for (DedicatedRedis node : cluster.nodes()) {
            try (Jedis jedis = node.connect()) {
                while (!jedis.clusterInfo().contains("cluster_state:ok")) {
                    assertThat(System.nanoTime()).as("cluster back to ok within 60 s").isLessThan(deadline);
                    DedicatedRedis.sleepBriefly();
                }
            }
        }
    }
}
