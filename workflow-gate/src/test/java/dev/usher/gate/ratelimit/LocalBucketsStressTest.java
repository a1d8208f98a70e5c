package dev.usher.gate.ratelimit;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CyclicBarrier;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicIntegerArray;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;

/**
 * Decisions racing the sweep that drops full buckets: with the clock stopped nothing refills, so every key
 * must allow exactly its quota in each window, whatever the sweep removed meanwhile (a lost decision would allow more,
 * a counted-twice one fewer).
 */
class LocalBucketsStressTest {
    private static final int KEYS = 500;
    private static final int QUOTA = 3;
    private static final int PHASES = 30;
    private static final int THREADS = 6;

    @Test
    void everyKeyAllowsExactlyItsQuotaPerWindowWhileASweepDropsFullBuckets() throws Exception {
        AtomicLong nanos = new AtomicLong(1);
        var limiter = (DefaultRateLimiter) RateLimiter.builder().limit(QUOTA, Duration.ofHours(1))
                .ticker(nanos::get).build();
        AtomicIntegerArray allowed = new AtomicIntegerArray(PHASES * KEYS);
        AtomicBoolean done = new AtomicBoolean();
        AtomicInteger sweeps = new AtomicInteger();
        Thread sweeper = new Thread(() -> {
            while (!done.get()) {
                limiter.localBuckets().cleanUp();
                sweeps.incrementAndGet();
            }
        }, "test-sweeper");
        sweeper.start();
        // Between phases the clock jumps a whole window: every bucket is full again, so the sweep races
        // the first decisions of the next phase on buckets it may drop.
        CyclicBarrier phase = new CyclicBarrier(THREADS, () -> nanos.addAndGet(Duration.ofHours(1).toNanos() + 1));
        List<Thread> callers = new ArrayList<>();
        AtomicInteger failures = new AtomicInteger();
        for (int t = 0; t < THREADS; t++) {
            int offset = t;
            Thread caller = new Thread(() -> {
                try {
                    for (int p = 0; p < PHASES; p++) {
                        for (int round = 0; round < QUOTA; round++) {
                            for (int i = 0; i < KEYS; i++) {
                                int k = (i + offset * 97) % KEYS;
                                if (limiter.tryAcquire("key-" + k).allowed()) {
                                    allowed.incrementAndGet(p * KEYS + k);
                                }
                            }
                        }
                        phase.await(120, TimeUnit.SECONDS);
                    }
                } catch (Exception e) {
                    failures.incrementAndGet();
                }
            }, "test-caller-" + t);
            caller.start();
            callers.add(caller);
        }
        for (Thread caller : callers) {
            caller.join(300_000);
            assertThat(caller.isAlive()).isFalse();
        }
        done.set(true);
        sweeper.join(120_000);
        assertThat(failures.get()).isZero();
        assertThat(sweeps.get()).isPositive();
        for (int p = 0; p < PHASES; p++) {
            for (int k = 0; k < KEYS; k++) {
                assertThat(allowed.get(p * KEYS + k)).as("phase %s, key-%s", p, k).isEqualTo(QUOTA);
            }
        }
    }

    @Test
    void theKeyBoundHoldsAsNewKeysArrive() {
        AtomicLong nanos = new AtomicLong(1);
        var limiter = (DefaultRateLimiter) RateLimiter.builder().limit(3, Duration.ofHours(1))
                .maximumKeys(4).ticker(nanos::get).build();
        for (int i = 0; i < 100; i++) {
            limiter.tryAcquire("k-" + i);
            assertThat(limiter.stats().localKeys()).isLessThanOrEqualTo(4);
        }
    }
}
