package dev.usher.benchmarks;

import dev.usher.gate.ratelimit.Decision;
import dev.usher.gate.ratelimit.Limit;
import io.github.bucket4j.Bandwidth;
import io.github.bucket4j.Bucket;
import io.github.resilience4j.ratelimiter.RateLimiter;
import io.github.resilience4j.ratelimiter.RateLimiterConfig;
import java.time.Duration;
import java.util.concurrent.ConcurrentHashMap;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;

/**
 * One rate-limit decision for one user's key, among {@value #KEYS} keys: Usher's {@code RateLimiter},
 * a Resilience4j {@code RateLimiter} per key, and a raw Bucket4j local bucket per key in a
 * {@link ConcurrentHashMap} (the engine under Usher's limiter). Limits are high enough that every call is
 * allowed, so all three measure the same decision.
 */
@State(Scope.Benchmark)
public class RateLimiterBenchmark {
    static final int KEYS = 1 << 10;
    static final long PER_SECOND = 1_000_000_000L;

    private final String[] keys = new String[KEYS];
    private final ConcurrentHashMap<String, Bucket> buckets = new ConcurrentHashMap<>();
    private final ConcurrentHashMap<String, RateLimiter> resilience4j = new ConcurrentHashMap<>();
    private RateLimiterConfig resilience4jConfig;
    private dev.usher.gate.ratelimit.RateLimiter usher;

    @Setup(Level.Trial)
    public void setUp() {
        usher = dev.usher.gate.ratelimit.RateLimiter.builder()
                .limit(Limit.of("bench", PER_SECOND, Duration.ofSeconds(1)))
                .build();
        resilience4jConfig = RateLimiterConfig.custom()
                .limitForPeriod((int) PER_SECOND)
                .limitRefreshPeriod(Duration.ofSeconds(1))
                .timeoutDuration(Duration.ZERO)
                .build();
        for (int i = 0; i < KEYS; i++) {
            keys[i] = "user-" + i;
        }
    }

    @Benchmark
    public Decision usherTryAcquire(Cursor c) {
        return usher.tryAcquire(keys[c.next(KEYS)]);
    }

    @Benchmark
    public boolean resilience4jRateLimiter(Cursor c) {
        String key = keys[c.next(KEYS)];
        return resilience4j.computeIfAbsent(key, k -> RateLimiter.of(k, resilience4jConfig)).acquirePermission();
    }

    @Benchmark
    public boolean rawBucket4j(Cursor c) {
        String key = keys[c.next(KEYS)];
        return buckets.computeIfAbsent(key, k -> Bucket.builder()
                .addLimit(Bandwidth.builder().capacity(PER_SECOND).refillGreedy(PER_SECOND, Duration.ofSeconds(1)).build())
                .build()).tryConsume(1);
    }
}
