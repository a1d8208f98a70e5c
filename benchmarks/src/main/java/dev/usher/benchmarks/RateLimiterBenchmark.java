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
 * {@link ConcurrentHashMap} (the engine under Usher's limiter). All three get the same limit: a quota
 * that no run can use up, refilled at one token a second, so every call is allowed and every bucket stays
 * short of full. (A limiter may drop a bucket once it is full again, as Usher's does; a limit that refills
 * faster than the benchmark consumes would measure bucket creation, not the decision.)
 */
@State(Scope.Benchmark)
public class RateLimiterBenchmark {
    static final int KEYS = 1 << 10;
    static final int QUOTA = 100_000_000;
    static final Duration WINDOW = Duration.ofSeconds(QUOTA);

    private final String[] keys = new String[KEYS];
    private final ConcurrentHashMap<String, Bucket> buckets = new ConcurrentHashMap<>();
    private final ConcurrentHashMap<String, RateLimiter> resilience4j = new ConcurrentHashMap<>();
    private RateLimiterConfig resilience4jConfig;
    private dev.usher.gate.ratelimit.RateLimiter usher;

    @Setup(Level.Trial)
    public void setUp() {
        usher = dev.usher.gate.ratelimit.RateLimiter.builder()
                .limit(Limit.of("bench", QUOTA, WINDOW))
                .build();
        resilience4jConfig = RateLimiterConfig.custom()
                .limitForPeriod(QUOTA)
                .limitRefreshPeriod(WINDOW)
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
                .addLimit(Bandwidth.builder().capacity(QUOTA).refillGreedy(QUOTA, WINDOW).build())
                .build()).tryConsume(1);
    }
}
