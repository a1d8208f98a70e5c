package dev.usher.gate.ratelimit;

import static org.assertj.core.api.Assertions.assertThat;

import com.zaxxer.hikari.HikariDataSource;
import io.github.bucket4j.TimeMeter;
import io.github.bucket4j.distributed.proxy.ProxyManager;
import java.sql.Connection;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import redis.clients.jedis.RedisClient;
import redis.clients.jedis.RedisClusterClient;

/**
 * Cluster-wide limits against the real shared servers: exact under 100 concurrent threads, and exact in
 * total across two limiter instances (each with its own client, as two server instances would have).
 *
 * <p>The Redis tests also settle a version question: {@code bucket4j_jdk17-jedis} 8.15.0 was compiled
 * against Jedis 4.4.6, and here it runs with the Jedis this project uses (7.x, {@code RedisClient} and
 * {@code RedisClusterClient}, both {@code UnifiedJedis}).
 */
@Tag("server")
class SharedRateLimiterTest {
    private static final Duration MINUTE = Duration.ofMinutes(1);
    /** 100 threads queue for one row lock through a pool of 10-20: a waiting thread is not a store failure. */
    private static final Duration CONTENDED = Duration.ofSeconds(30);
    private static final String TABLE = TestServers.unique("usher_rl_test");
    private static HikariDataSource postgres;
    /**
     * The buckets' clock stands still in these tests: 10 per minute refills a token every 6 s, and a slow
     * machine must not turn "exactly 10" into 11.
     */
    private static final TimeMeter FROZEN = new TimeMeter() {
        private final long now = System.currentTimeMillis() * 1_000_000;

        @Override
        public long currentTimeNanos() {
            return now;
        }

        @Override
        public boolean isWallClockBased() {
            return true;
        }
    };

    @BeforeAll
    static void createTable() throws Exception {
        postgres = TestServers.postgres(TestServers.POSTGRES_URL, 20, CONTENDED);
        PostgresBuckets.createTable(postgres, TABLE);
    }

    @AfterAll
    static void dropTable() throws Exception {
        try (Connection c = postgres.getConnection(); Statement s = c.createStatement()) {
            s.execute("DROP TABLE IF EXISTS " + TABLE);
        }
        postgres.close();
    }

    private static RateLimiter limiter(String name, ProxyManager<String> store) {
        return RateLimiter.builder().name(name).limit(10, MINUTE).shared(store)
                .whenStoreDown(StoreDownPolicy.FAIL_OPEN) // a store failure would show as too many allowed
                .build();
    }

    /** 100 threads at once, spread over the given limiters; returns how many were allowed. */
    private static int hammer(List<RateLimiter> limiters, String key) throws InterruptedException {
        AtomicInteger allowed = new AtomicInteger();
        CountDownLatch start = new CountDownLatch(1);
        List<Throwable> errors = new CopyOnWriteArrayList<>();
        List<Thread> threads = new ArrayList<>();
        for (int i = 0; i < 100; i++) {
            RateLimiter limiter = limiters.get(i % limiters.size());
            Thread t = new Thread(() -> {
                try {
                    start.await();
                    Decision d = limiter.tryAcquire(key);
                    assertThat(d.degraded()).isFalse();
                    if (d.allowed()) {
                        allowed.incrementAndGet();
                    }
                } catch (Throwable e) {
                    errors.add(e);
                }
            });
            t.start();
            threads.add(t);
        }
        start.countDown();
        for (Thread t : threads) {
            t.join();
        }
        assertThat(errors).isEmpty();
        return allowed.get();
    }

    @Test
    void redisTenPerMinuteHitByAHundredThreadsAllowsExactlyTen() throws Exception {
        try (RedisClient jedis = TestServers.redis()) {
            RateLimiter limiter = limiter(TestServers.unique("redis1"), RedisBuckets.proxyManager(jedis, FROZEN));
            assertThat(hammer(List.of(limiter), "user")).isEqualTo(10);
            assertThat(limiter.stats().storeFailures()).isZero();
            assertThat(limiter.stats().localKeys()).as("no local buckets in shared mode").isZero();
        }
    }

    @Test
    void twoInstancesSharingOneRedisAllowExactlyTenInTotal() throws Exception {
        String name = TestServers.unique("redis2");
        try (RedisClient a = TestServers.redis(); RedisClient b = TestServers.redis()) {
            RateLimiter first = limiter(name, RedisBuckets.proxyManager(a, FROZEN));
            RateLimiter second = limiter(name, RedisBuckets.proxyManager(b, FROZEN));
            assertThat(hammer(List.of(first, second), "user")).isEqualTo(10);
            assertThat(first.stats().allowed() + second.stats().allowed()).isEqualTo(10);
            assertThat(first.stats().allowed()).as("both took part").isPositive();
            assertThat(second.stats().allowed() + second.stats().denied()).isEqualTo(50);
        }
    }

    @Test
    void redisKeysExpireOnceTheBucketWouldBeFull() throws Exception {
        String name = TestServers.unique("redis3");
        try (RedisClient jedis = TestServers.redis()) {
            RateLimiter limiter = limiter(name, RedisBuckets.proxyManager(jedis));
            limiter.tryAcquire("user");
            long ttlMillis = jedis.pttl(((DefaultRateLimiter) limiter).sharedKey("user"));
            // 1 of 10 per minute taken: full in 6 s, plus the slack.
            assertThat(ttlMillis).isPositive().isLessThanOrEqualTo(6_000 + RedisBuckets.EXPIRY_SLACK.toMillis());
        }
    }

    @Test
    void changedLimitsGetFreshBucketsInsteadOfTheStoredConfiguration() throws Exception {
        String name = TestServers.unique("redis4");
        try (RedisClient jedis = TestServers.redis()) {
            ProxyManager<String> store = RedisBuckets.proxyManager(jedis, FROZEN);
            RateLimiter before = limiter(name, store);
            for (int i = 0; i < 10; i++) {
                before.tryAcquire("user");
            }
            RateLimiter after = RateLimiter.builder().name(name)
                    .limit(Limit.of("sustained", 20, MINUTE))
                    .limit(Limit.of("burst", 5, Duration.ofSeconds(1)))
                    .shared(store).whenStoreDown(StoreDownPolicy.FAIL_CLOSED).build();
            Decision d = after.tryAcquire("user");
            assertThat(d.degraded()).isFalse();
            assertThat(d.limits()).extracting(Decision.LimitState::remaining).containsExactly(19L, 4L);
        }
    }

    @Test
    void twoInstancesSharingOneRedisClusterAllowExactlyTenInTotal() throws Exception {
        String name = TestServers.unique("cluster");
        try (RedisClusterClient a = TestServers.redisCluster(); RedisClusterClient b = TestServers.redisCluster()) {
            RateLimiter first = limiter(name, RedisBuckets.proxyManager(a, FROZEN));
            RateLimiter second = limiter(name, RedisBuckets.proxyManager(b, FROZEN));
            assertThat(hammer(List.of(first, second), "user")).isEqualTo(10);
            assertThat(hammer(List.of(first, second), "another-user")).isEqualTo(10);
        }
    }

    @Test
    void postgresTenPerMinuteHitByAHundredThreadsAllowsExactlyTen() throws Exception {
        RateLimiter limiter = limiter(TestServers.unique("pg1"), PostgresBuckets.proxyManager(postgres, TABLE, FROZEN));
        assertThat(hammer(List.of(limiter), "user")).isEqualTo(10);
        assertThat(limiter.stats().storeFailures()).isZero();
    }

    @Test
    void twoInstancesSharingOnePostgresAllowExactlyTenInTotal() throws Exception {
        String name = TestServers.unique("pg2");
        try (HikariDataSource other = TestServers.postgres(TestServers.POSTGRES_URL, 10, CONTENDED)) {
            RateLimiter first = limiter(name, PostgresBuckets.proxyManager(postgres, TABLE, FROZEN));
            RateLimiter second = limiter(name, PostgresBuckets.proxyManager(other, TABLE, FROZEN));
            assertThat(hammer(List.of(first, second), "user")).isEqualTo(10);
            assertThat(first.stats().allowed() + second.stats().allowed()).isEqualTo(10);
        }
    }
}
