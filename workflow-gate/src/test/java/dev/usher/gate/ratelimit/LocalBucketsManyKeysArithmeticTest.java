package dev.usher.gate.ratelimit;

import static org.assertj.core.api.Assertions.assertThat;

import io.github.bucket4j.Bandwidth;
import io.github.bucket4j.Bucket;
import io.github.bucket4j.ConsumptionProbe;
import io.github.bucket4j.TimeMeter;
import io.github.bucket4j.local.LocalBucket;
import java.time.Duration;
import java.util.HashMap;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Many keys of one limit, each against its own Bucket4j bucket on the same clock: quotas below, at and far
 * above the number of allowed decisions a limiter keeps for reuse, so that kept decisions are handed out
 * again for other keys and their slots are shared by different counts. Every decision must be exactly the
 * Bucket4j bucket's (allowed, remaining, retry-after, the limit's tokens and reset).
 */
class LocalBucketsManyKeysArithmeticTest {
    private static final int KEYS = 40;

    @ParameterizedTest(name = "quota {0}")
    @ValueSource(longs = {1, 5, LocalBuckets.CACHED_DECISIONS, 1_000, 100_000_000})
    void everyKeyDecidesExactlyAsItsOwnBucket4jBucket(long quota) {
        Duration window = Duration.ofSeconds(quota == 100_000_000 ? 100_000_000 : 60);
        Limit limit = Limit.of("only", quota, window);
        AtomicLong nanos = new AtomicLong(7_000_000_000L);
        RateLimiter limiter = RateLimiter.builder().limit(limit).ticker(nanos::get).build();
        TimeMeter clock = new TimeMeter() {
            @Override
            public long currentTimeNanos() {
                return nanos.get();
            }

            @Override
            public boolean isWallClockBased() {
                return false;
            }
        };
        Map<String, LocalBucket> reference = new HashMap<>();
        Random random = new Random(quota);
        int allowed = 0;
        int denied = 0;
        for (int i = 0; i < 30_000; i++) {
            nanos.addAndGet(random.nextInt(100) == 0 ? random.nextInt(1_000_000_000) : random.nextInt(1_000_000));
            String key = "key-" + random.nextInt(KEYS);
            long tokens = 1 + random.nextInt((int) Math.min(quota, 3));
            Decision d = limiter.tryAcquire(key, tokens);
            ConsumptionProbe probe = reference.computeIfAbsent(key, k -> Bucket.builder().withCustomTimePrecision(clock)
                    .addLimit(Bandwidth.builder().capacity(quota).refillGreedy(quota, window).id("only").build())
                    .build()).tryConsumeAndReturnRemaining(tokens);

            assertThat(d.allowed()).as("call %s", i).isEqualTo(probe.isConsumed());
            assertThat(d.remaining()).as("call %s", i).isEqualTo(Math.max(0, probe.getRemainingTokens()));
            assertThat(d.retryAfter()).as("call %s", i)
                    .isEqualTo(probe.isConsumed() ? Duration.ZERO : Duration.ofNanos(probe.getNanosToWaitForRefill()));
            assertThat(d.limits()).hasSize(1);
            Decision.LimitState state = d.limits().get(0);
            assertThat(state.limit()).isEqualTo(limit);
            assertThat(state.remaining()).as("call %s", i).isEqualTo(d.remaining());
            assertThat(state.reset()).as("call %s", i).isEqualTo(LocalBuckets.reset(limit, d.remaining()));
            assertThat(d.timeUntilFull()).as("call %s", i).isEqualTo(state.reset());
            assertThat(d.degraded()).isFalse();
            if (d.allowed()) {
                allowed++;
            } else {
                denied++;
            }
        }
        assertThat(allowed).isPositive();
        if (quota <= LocalBuckets.CACHED_DECISIONS) {
            assertThat(denied).as("the limit was reached").isPositive();
        }
        assertThat(limiter.stats().allowed()).isEqualTo(allowed);
        assertThat(limiter.stats().denied()).isEqualTo(denied);
    }
}
