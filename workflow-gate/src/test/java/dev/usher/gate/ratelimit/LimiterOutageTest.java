package dev.usher.gate.ratelimit;

import dev.usher.session.DedicatedPostgres;
import dev.usher.session.redis.DedicatedRedis;
import org.junit.jupiter.api.Tag;
import static org.assertj.core.api.Assertions.assertThat;

import com.zaxxer.hikari.HikariConfig;
import com.zaxxer.hikari.HikariDataSource;
import dev.usher.gate.GateOutcome;
import dev.usher.gate.GateRequest;
import dev.usher.gate.QueueObserver;
import dev.usher.gate.WorkflowGate;
import dev.usher.gate.admission.AdmissionQueue;
import dev.usher.gate.cache.WorkflowCache;
import dev.usher.session.Durations;
import dev.usher.session.SessionManager;
import dev.usher.session.memory.InMemorySessionStore;
import java.net.URI;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;
import org.junit.jupiter.api.Test;
import redis.clients.jedis.RedisClient;

/**
 * The limiter's shared Redis frozen (SIGSTOP) or stopped, on a server of this test's own: after the first
 * call that waits out the client's 2 s timeout, the store-down policy applies at once; the gate answers
 * {@link GateOutcome.Unavailable} (503) under FAIL_CLOSED; the same limiter decides from Redis again soon
 * after it answers. And the local-fallback share: two instances with half the quota each grant the quota
 * between them while the store is down.
 */
@Tag("server")
class LimiterOutageTest {
    /** Well under the client's 2 s timeout. */
    private static final Duration FAST = Duration.ofMillis(500);
    private static final Duration RECOVERY_BOUND = Duration.ofSeconds(5);

    @Test
    void frozenRedisTheFailClosedPolicyAppliesAtOnceAndTheGateAnswersUnavailable() throws Exception {
        try (DedicatedRedis redis = new DedicatedRedis();
                RedisClient jedis = RedisClient.create(URI.create(redis.uri()))) {
            RateLimiter limiter = RateLimiter.builder().name(TestServers.unique("frozen"))
                    .limit(100, Duration.ofMinutes(1))
                    .shared(RedisBuckets.proxyManager(jedis))
                    .whenStoreDown(StoreDownPolicy.FAIL_CLOSED)
                    .storeDownRetryAfter(Duration.ofSeconds(3))
                    .build();
            SessionManager sessions = SessionManager.builder(new InMemorySessionStore()).sweepInterval(Duration.ZERO).build();
            try (WorkflowGate<String> gate = WorkflowGate.builder(sessions, AdmissionQueue.builder(2).build(),
                    WorkflowCache.<String, String>builder(id -> "workflow").maximumSize(10).build())
                    .rateLimiter(limiter).build()) {
                assertThat(limiter.tryAcquire("user").degraded()).isFalse();

                redis.freeze();
                List<Long> nanos = new ArrayList<>();
                try {
                    assertThat(limiter.tryAcquire("user").degraded()).as("the first call times out").isTrue();
                    for (int i = 0; i < 300; i++) {
                        long began = System.nanoTime();
                        Decision d = limiter.tryAcquire("user-" + i);
                        nanos.add(System.nanoTime() - began);
                        assertThat(d.allowed()).isFalse();
                        assertThat(d.degraded()).isTrue();
                        assertThat(d.retryAfter()).isEqualTo(Duration.ofSeconds(3));
                    }
                    long began = System.nanoTime();
                    GateOutcome<String> outcome = gate.enter(new GateRequest(null, "someone", null), QueueObserver.ignoring());
                    nanos.add(System.nanoTime() - began);
                    assertThat(outcome).isInstanceOf(GateOutcome.Unavailable.class);
                    assertThat(((GateOutcome.Unavailable<String>) outcome).retryAfter()).isEqualTo(Duration.ofSeconds(3));
                    assertThat(sessions.stats().created()).as("nothing created for a request turned away").isZero();
                } finally {
                    redis.thaw();
                }
                long back = System.nanoTime();
                Duration p99 = percentile(nanos, 99);
                Decision d = limiter.tryAcquire("after");
                while (d.degraded() && System.nanoTime() - back < TimeUnit.SECONDS.toNanos(30)) {
                    LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(5));
                    d = limiter.tryAcquire("after");
                }
                Duration recovery = Duration.ofNanos(System.nanoTime() - back);
                System.out.printf("limiter, Redis frozen: %d decisions while down, p99 %s, max %s; shared again %s after SIGCONT%n",
                        nanos.size(), Durations.format(p99), Durations.format(percentile(nanos, 100)), Durations.format(recovery));
                assertThat(p99).as("p99 of decisions while the store is frozen").isLessThan(FAST);
                assertThat(d.degraded()).isFalse();
                assertThat(recovery).isLessThan(RECOVERY_BOUND);
                assertThat(gate.enter(new GateRequest(null, "someone", null), QueueObserver.ignoring()))
                        .isInstanceOf(GateOutcome.Admitted.class)
                        .satisfies(o -> ((GateOutcome.Admitted<String>) o).close());
            }
        }
    }

    @Test
    void frozenPostgresTheLocalFallbackAppliesAtOnceAndTheSameLimiterRecovers() throws Exception {
        try (DedicatedPostgres pg = DedicatedPostgres.start();
                HikariDataSource pool = poolWithSocketTimeout(pg.jdbcUrl())) {
            PostgresBuckets.createTable(pool, "frozen_buckets");
            RateLimiter limiter = RateLimiter.builder().name(TestServers.unique("pgfrozen"))
                    .limit(1000, Duration.ofMinutes(1))
                    .shared(PostgresBuckets.proxyManager(pool, "frozen_buckets"))
                    .whenStoreDown(StoreDownPolicy.LOCAL_FALLBACK)
                    .build();
            assertThat(limiter.tryAcquire("user").degraded()).isFalse();
            pg.freeze();
            List<Long> nanos = new ArrayList<>();
            try {
                assertThat(limiter.tryAcquire("user").degraded()).as("the first call times out").isTrue();
                for (int i = 0; i < 300; i++) {
                    long began = System.nanoTime();
                    Decision d = limiter.tryAcquire("user-" + (i % 10));
                    nanos.add(System.nanoTime() - began);
                    assertThat(d.allowed()).isTrue();
                    assertThat(d.degraded()).isTrue();
                }
            } finally {
                pg.thaw();
            }
            long back = System.nanoTime();
            Decision d = limiter.tryAcquire("after");
            while (d.degraded() && System.nanoTime() - back < TimeUnit.SECONDS.toNanos(30)) {
                LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(5));
                d = limiter.tryAcquire("after");
            }
            Duration recovery = Duration.ofNanos(System.nanoTime() - back);
            Duration p99 = percentile(nanos, 99);
            System.out.printf("limiter, PostgreSQL frozen: %d decisions while down, p99 %s, max %s; shared again %s after SIGCONT%n",
                    nanos.size(), Durations.format(p99), Durations.format(percentile(nanos, 100)), Durations.format(recovery));
            assertThat(p99).as("p99 of decisions while the store is frozen").isLessThan(FAST);
            assertThat(d.degraded()).isFalse();
            assertThat(recovery).isLessThan(RECOVERY_BOUND);
            limiter.close();
        }
    }

    @Test
    void twoInstancesWithHalfShareGrantTheQuotaBetweenThemWhileTheStoreIsDown() throws Exception {
        String name = TestServers.unique("share");
        try (DedicatedRedis redis = new DedicatedRedis();
                RedisClient jedis = RedisClient.create(URI.create(redis.uri()))) {
            List<RateLimiter> instances = new ArrayList<>();
            for (int i = 0; i < 2; i++) {
                instances.add(RateLimiter.builder().name(name)
                        .limit(Limit.of("sustained", 10, Duration.ofMinutes(10)))
                        .shared(RedisBuckets.proxyManager(jedis))
                        .whenStoreDown(StoreDownPolicy.LOCAL_FALLBACK)
                        .localFallbackShare(0.5)
                        .build());
            }
            redis.stop();
            int allowed = 0;
            for (int round = 0; round < 20; round++) {
                for (RateLimiter instance : instances) {
                    Decision d = instance.tryAcquire("user");
                    assertThat(d.degraded()).isTrue();
                    if (d.allowed()) {
                        allowed++;
                        assertThat(d.limits()).singleElement().satisfies(s -> assertThat(s.limit().quota()).isEqualTo(5));
                    }
                }
            }
            assertThat(allowed).as("2 instances x half of 10").isEqualTo(10);
            instances.forEach(RateLimiter::close);
        }
    }

    @Test
    void theShareIsCheckedAndNamed() {
        assertThat(org.assertj.core.api.Assertions.catchThrowable(() -> RateLimiter.builder().localFallbackShare(0)))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("localFallbackShare").hasMessageContaining("0.0");
        assertThat(org.assertj.core.api.Assertions.catchThrowable(() -> RateLimiter.builder().localFallbackShare(1.5)))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("1.5");
        assertThat(org.assertj.core.api.Assertions.catchThrowable(() -> RateLimiter.builder().limit(1, Duration.ofSeconds(1))
                .localFallbackShare(0.5).build()))
                .isInstanceOf(IllegalStateException.class).hasMessageContaining("localFallbackShare");
        assertThat(org.assertj.core.api.Assertions.catchThrowable(() -> RateLimiter.builder().limit(1, Duration.ofSeconds(1))
                .whenStoreDown(StoreDownPolicy.FAIL_CLOSED).build()))
                .isInstanceOf(IllegalStateException.class).hasMessageContaining("whenStoreDown")
                .hasMessageContaining("no shared store");
        assertThat(DefaultRateLimiter.fallbackLimits(List.of(Limit.of(3, Duration.ofSeconds(1))), 0.1))
                .singleElement().satisfies(l -> assertThat(l.quota()).as("at least one token").isEqualTo(1));
    }

    /** The host's pool: without a socket timeout, a query on a frozen server would wait forever. */
    private static HikariDataSource poolWithSocketTimeout(String jdbcUrl) {
        HikariConfig config = new HikariConfig();
        config.setJdbcUrl(jdbcUrl);
        config.setUsername(TestServers.POSTGRES_USER);
        config.setMaximumPoolSize(4);
        config.setConnectionTimeout(2000);
        config.setValidationTimeout(500);
        config.addDataSourceProperty("socketTimeout", "2");
        config.addDataSourceProperty("connectTimeout", "2");
        return new HikariDataSource(config);
    }

    private static Duration percentile(List<Long> nanos, double p) {
        long[] sorted = nanos.stream().mapToLong(Long::longValue).sorted().toArray();
        int index = (int) Math.min(sorted.length - 1, Math.max(0, Math.ceil(p / 100 * sorted.length) - 1));
        return Duration.ofNanos(sorted[index]);
    }
}
