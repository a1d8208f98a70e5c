package dev.usher.gate.ratelimit;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicLongArray;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Decisions from several threads at once on a clock that the threads themselves move forward (so a caller
 * often decides on a reading older than the one its key was last refilled at, as two callers' readings of a
 * real clock can be). Token arithmetic is exact: per limit, every token ever granted on a key plus the tokens
 * it holds at the end must add up to its quota plus what the elapsed time refilled, to the token (a lost
 * compare-and-set, a refill counted twice or lost, tokens taken twice or granted beyond the limit all break
 * it), and the limiter's counts of allowed and denied decisions must be exactly the callers' counts.
 */
class LocalBucketsConcurrencyTest {
    private static final int THREADS = 4;
    private static final int KEYS = 8;
    private static final int CALLS_PER_THREAD = 40_000;
    private static final long START = 5_000_000_000L;

    @ParameterizedTest(name = "{0} limit(s)")
    @ValueSource(ints = {1, 2, 3})
    void grantedPlusLeftEqualsQuotaPlusRefillForEveryLimit(int limitCount) throws Exception {
        // Slow refills against a demand far above them: after its first decision no bucket is ever full again,
        // so no refill is cut off at the quota and the sums are exact.
        List<Limit> limits = List.of(Limit.of("slow", 1_000, Duration.ofSeconds(100)),
                Limit.of("slower", 700, Duration.ofSeconds(140)), Limit.of("odd", 999, Duration.ofSeconds(301)))
                .subList(0, limitCount);
        AtomicLong nanos = new AtomicLong(START);
        RateLimiter.Builder builder = RateLimiter.builder().ticker(nanos::get);
        limits.forEach(builder::limit);
        RateLimiter limiter = builder.build();

        AtomicLongArray granted = new AtomicLongArray(KEYS);
        for (int k = 0; k < KEYS; k++) {
            // Each bucket's first decision starts its refill clock at START, with the bucket full.
            assertThat(limiter.tryAcquire("key-" + k).allowed()).isTrue();
            granted.incrementAndGet(k);
        }
        long[] decided = runCallers(limiter, nanos, granted, null);

        long end = nanos.get();
        for (int k = 0; k < KEYS; k++) {
            Decision last = limiter.tryAcquire("key-" + k, 1);
            if (last.allowed()) {
                granted.incrementAndGet(k);
            }
            for (int l = 0; l < limitCount; l++) {
                Limit limit = limits.get(l);
                long refilled = Math.floorDiv((end - START) * limit.quota(), limit.window().toNanos());
                assertThat(granted.get(k) + last.limits().get(l).remaining())
                        .as("key-%s, limit %s: granted + left", k, limit.name())
                        .isEqualTo(limit.quota() + refilled);
            }
            decided[last.allowed() ? 0 : 1]++;
        }
        assertThat(decided[0]).as("some allowed").isGreaterThan(KEYS * 100L);
        assertThat(decided[1]).as("the limits were reached").isPositive();
        assertThat(limiter.stats().allowed()).isEqualTo(decided[0] + KEYS);
        assertThat(limiter.stats().denied()).isEqualTo(decided[1]);
    }

    @ParameterizedTest(name = "quota {0}")
    @ValueSource(ints = {1, 3})
    void countsStayExactAndNeverGoBackWhileSweepsDropBucketsThatRefilled(int quota) throws Exception {
        // A short window and a clock that jumps now and then: buckets fill up again and a sweeper drops
        // them while decisions race it; also a bound small enough that sweeps evict keys in use.
        AtomicLong nanos = new AtomicLong(START);
        var limiter = (DefaultRateLimiter) RateLimiter.builder().limit(quota, Duration.ofSeconds(1))
                .maximumKeys(KEYS - 2).ticker(nanos::get).build();
        AtomicBoolean done = new AtomicBoolean();
        AtomicReference<String> wentBack = new AtomicReference<>();
        Thread sweeper = new Thread(() -> {
            long seen = 0;
            while (!done.get()) {
                limiter.localBuckets().cleanUp();
                long allowed = limiter.stats().allowed();
                if (allowed < seen) {
                    wentBack.set(seen + " then " + allowed);
                }
                seen = allowed;
            }
        }, "test-sweeper");
        sweeper.start();
        long[] decided;
        try {
            decided = runCallers(limiter, nanos, new AtomicLongArray(KEYS), Duration.ofMillis(300).toNanos());
        } finally {
            done.set(true);
            sweeper.join(120_000);
        }
        assertThat(sweeper.isAlive()).isFalse();
        assertThat(wentBack.get()).as("allowed count went back").isNull();
        assertThat(decided[0]).isPositive();
        assertThat(decided[1]).isPositive();
        assertThat(limiter.stats().allowed()).isEqualTo(decided[0]);
        assertThat(limiter.stats().denied()).isEqualTo(decided[1]);
    }

    /**
     * Runs the callers: each call moves the clock on by up to 0.5 ms (or, one call in 500, by up to
     * {@code jump}) and asks for 1 to 3 tokens of a random key. Returns the allowed and denied counts.
     */
    private static long[] runCallers(RateLimiter limiter, AtomicLong nanos, AtomicLongArray granted, Long jump)
            throws InterruptedException {
        long smallestQuota = limiter.limits().stream().mapToLong(Limit::quota).min().orElseThrow();
        AtomicLong allowed = new AtomicLong();
        AtomicLong denied = new AtomicLong();
        AtomicReference<Throwable> failure = new AtomicReference<>();
        CountDownLatch start = new CountDownLatch(1);
        List<Thread> callers = new ArrayList<>();
        for (int t = 0; t < THREADS; t++) {
            Random random = new Random(t);
            Thread caller = new Thread(() -> {
                try {
                    start.await();
                    for (int i = 0; i < CALLS_PER_THREAD; i++) {
                        nanos.addAndGet(jump != null && random.nextInt(500) == 0
                                ? random.nextLong(jump) : random.nextInt(500_000));
                        int k = random.nextInt(KEYS);
                        long tokens = 1 + random.nextInt((int) Math.min(3, smallestQuota));
                        Decision d = limiter.tryAcquire("key-" + k, tokens);
                        if (d.allowed()) {
                            granted.addAndGet(k, tokens);
                            allowed.incrementAndGet();
                        } else {
                            denied.incrementAndGet();
                        }
                    }
                } catch (Throwable e) {
                    failure.compareAndSet(null, e);
                }
            }, "test-caller-" + t);
            caller.start();
            callers.add(caller);
        }
        start.countDown();
        for (Thread caller : callers) {
            caller.join(TimeUnit.MINUTES.toMillis(5));
            assertThat(caller.isAlive()).isFalse();
        }
        assertThat(failure.get()).isNull();
        return new long[] {allowed.get(), denied.get()};
    }
}
