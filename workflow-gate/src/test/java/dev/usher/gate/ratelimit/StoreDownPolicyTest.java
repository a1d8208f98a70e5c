package dev.usher.gate.ratelimit;

import static org.assertj.core.api.Assertions.assertThat;

import com.zaxxer.hikari.HikariDataSource;
import dev.usher.session.DedicatedPostgres;
import dev.usher.session.redis.DedicatedRedis;
import io.github.bucket4j.distributed.proxy.ProxyManager;
import java.net.URI;
import java.time.Duration;
import java.util.EnumMap;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import redis.clients.jedis.RedisClient;

/**
 * Each {@link StoreDownPolicy}, by stopping a real server: a redis-server and a PostgreSQL cluster that this
 * test starts for itself (the shared servers are not touched), stopped by their own PIDs, then started
 * again to show that the limiter goes back to the shared store.
 */
@Tag("server")
class StoreDownPolicyTest {
    private static final Duration STORE_DOWN_RETRY = Duration.ofSeconds(2);

    private static Map<StoreDownPolicy, RateLimiter> limiters(ProxyManager<String> store) {
        Map<StoreDownPolicy, RateLimiter> limiters = new EnumMap<>(StoreDownPolicy.class);
        for (StoreDownPolicy policy : StoreDownPolicy.values()) {
            limiters.put(policy, RateLimiter.builder()
                    .name("down-" + policy.name().toLowerCase())
                    .limit(3, Duration.ofMinutes(1))
                    .shared(store)
                    .whenStoreDown(policy)
                    .storeDownRetryAfter(STORE_DOWN_RETRY)
                    .build());
        }
        return limiters;
    }

    private static void exerciseAllPolicies(Map<StoreDownPolicy, RateLimiter> limiters, Stoppable server)
            throws Exception {
        // While the store is up, all three decide from it: 2 of 3 taken in the shared bucket.
        for (RateLimiter limiter : limiters.values()) {
            for (int i = 0; i < 2; i++) {
                Decision d = limiter.tryAcquire("user");
                assertThat(d.allowed()).isTrue();
                assertThat(d.degraded()).isFalse();
            }
            assertThat(limiter.tryAcquire("user").remaining()).as("shared bucket").isZero();
        }

        server.stop();

        RateLimiter open = limiters.get(StoreDownPolicy.FAIL_OPEN);
        for (int i = 0; i < 2; i++) {
            Decision d = open.tryAcquire("user");
            assertThat(d.allowed()).as("fail open, although the shared bucket is empty").isTrue();
            assertThat(d.degraded()).isTrue();
            assertThat(d.limits()).isEmpty();
        }

        RateLimiter closed = limiters.get(StoreDownPolicy.FAIL_CLOSED);
        for (int i = 0; i < 2; i++) {
            Decision d = closed.tryAcquire("someone-new");
            assertThat(d.allowed()).as("fail closed, although this key never used a token").isFalse();
            assertThat(d.degraded()).isTrue();
            assertThat(d.retryAfter()).isEqualTo(STORE_DOWN_RETRY);
            assertThat(RateLimitHeaders.of(closed, d)).containsEntry("Retry-After", "2");
        }

        RateLimiter fallback = limiters.get(StoreDownPolicy.LOCAL_FALLBACK);
        for (int i = 0; i < 3; i++) {
            Decision d = fallback.tryAcquire("user");
            assertThat(d.allowed()).as("local bucket, full quota, call %s", i).isTrue();
            assertThat(d.degraded()).isTrue();
            assertThat(d.limits()).hasSize(1);
        }
        Decision overLocal = fallback.tryAcquire("user");
        assertThat(overLocal.allowed()).as("the local fallback still limits").isFalse();
        assertThat(overLocal.degraded()).isTrue();

        assertThat(open.stats().storeFailures()).isEqualTo(2);
        assertThat(closed.stats().storeFailures()).isEqualTo(2);
        assertThat(fallback.stats().storeFailures()).isEqualTo(4);
        assertThat(fallback.stats().degraded()).isEqualTo(4);
        assertThat(fallback.stats().localKeys()).isEqualTo(1);

        server.start();

        // Back to the shared store once the limiter's probe has reached it (every 200 ms).
        for (RateLimiter limiter : limiters.values()) {
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
            Decision d = limiter.tryAcquire("after-restart");
            while (d.degraded() && System.nanoTime() < deadline) {
                LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(20));
                d = limiter.tryAcquire("after-restart");
            }
            assertThat(d.degraded()).as("%s after the store came back", limiter).isFalse();
            assertThat(d.allowed()).isTrue();
            limiter.close();
        }
    }

    @Test
    void redisStoppedAndStartedAgain() throws Exception {
        try (DedicatedRedis redis = new DedicatedRedis();
                RedisClient jedis = RedisClient.create(URI.create(redis.uri()))) {
            exerciseAllPolicies(limiters(RedisBuckets.proxyManager(jedis)), new Stoppable() {
                @Override
                public void stop() throws Exception {
                    redis.stop();
                }

                @Override
                public void start() throws Exception {
                    redis.start();
                }
            });
        }
    }

    @Test
    void postgresStoppedAndStartedAgain() throws Exception {
        try (DedicatedPostgres pg = DedicatedPostgres.start();
                HikariDataSource pool = TestServers.postgres(pg.jdbcUrl(), 4, Duration.ofMillis(500))) {
            PostgresBuckets.createTable(pool, "buckets");
            exerciseAllPolicies(limiters(PostgresBuckets.proxyManager(pool, "buckets")), new Stoppable() {
                @Override
                public void stop() throws Exception {
                    pg.stopServer();
                }

                @Override
                public void start() throws Exception {
                    pg.startServer();
                }
            });
        }
    }

    private interface Stoppable {
        void stop() throws Exception;

        void start() throws Exception;
    }
}
