package dev.usher.gate.ratelimit;

import static org.assertj.core.api.Assertions.assertThat;

import io.github.bucket4j.Bandwidth;
import io.github.bucket4j.Bucket;
import io.github.bucket4j.ConsumptionProbe;
import io.github.bucket4j.TimeMeter;
import io.github.bucket4j.VerboseResult;
import io.github.bucket4j.local.LocalBucket;
import io.github.bucket4j.local.LocalBucketBuilder;
import java.time.Duration;
import java.util.List;
import java.util.Random;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The local decision swaps Bucket4j's bucket state itself instead of going through a Bucket4j bucket: it must
 * decide exactly as a Bucket4j lock-free bucket with the same limits and clock would, call after call
 * (allowed, remaining, retry-after, every limit's tokens, time until full).
 */
class LocalBucketsArithmeticTest {

    @ParameterizedTest(name = "{0} limit(s)")
    @ValueSource(ints = {1, 2, 3})
    void decidesExactlyAsABucket4jLockFreeBucket(int limitCount) {
        List<Limit> limits = List.of(Limit.of("sustained", 50, Duration.ofMinutes(1)),
                Limit.of("burst", 7, Duration.ofSeconds(1)), Limit.of("hourly", 400, Duration.ofHours(1)))
                .subList(0, limitCount);
        AtomicLong nanos = new AtomicLong(1_000_000_000L);
        RateLimiter.Builder builder = RateLimiter.builder().ticker(nanos::get);
        limits.forEach(builder::limit);
        RateLimiter limiter = builder.build();

        LocalBucketBuilder reference = Bucket.builder().withCustomTimePrecision(new TimeMeter() {
            @Override
            public long currentTimeNanos() {
                return nanos.get();
            }

            @Override
            public boolean isWallClockBased() {
                return false;
            }
        });
        for (Limit limit : limits) {
            reference.addLimit(Bandwidth.builder().capacity(limit.quota()).refillGreedy(limit.quota(), limit.window())
                    .id(limit.name()).build());
        }
        LocalBucket bucket = reference.build();
        long smallestQuota = limits.stream().mapToLong(Limit::quota).min().orElseThrow();

        Random random = new Random(limitCount);
        int allowed = 0;
        int denied = 0;
        for (int i = 0; i < 20_000; i++) {
            nanos.addAndGet(random.nextInt(4) == 0 ? random.nextInt(400_000_000) : random.nextInt(3_000_000));
            long tokens = 1 + random.nextInt((int) Math.min(smallestQuota, 4));
            Decision d = limiter.tryAcquire("k", tokens);
            VerboseResult<ConsumptionProbe> expected = bucket.asVerbose().tryConsumeAndReturnRemaining(tokens);
            ConsumptionProbe probe = expected.getValue();

            assertThat(d.allowed()).as("call %s", i).isEqualTo(probe.isConsumed());
            assertThat(d.remaining()).as("call %s", i).isEqualTo(Math.max(0, probe.getRemainingTokens()));
            assertThat(d.retryAfter()).as("call %s", i)
                    .isEqualTo(probe.isConsumed() ? Duration.ZERO : Duration.ofNanos(probe.getNanosToWaitForRefill()));
            long[] perLimit = expected.getDiagnostics().getAvailableTokensPerEachBandwidth();
            for (int l = 0; l < limitCount; l++) {
                assertThat(d.limits().get(l).remaining()).as("call %s, limit %s", i, l)
                        .isEqualTo(Math.max(0, Math.min(limits.get(l).quota(), perLimit[l])));
            }
            if (limitCount > 1) {
                assertThat(d.timeUntilFull()).as("call %s", i)
                        .isEqualTo(Duration.ofNanos(expected.getDiagnostics().calculateFullRefillingTime()));
            }
            if (d.allowed()) {
                allowed++;
            } else {
                denied++;
            }
        }
        assertThat(allowed).isPositive();
        assertThat(denied).as("the limits were reached").isPositive();
        assertThat(limiter.stats().allowed()).isEqualTo(allowed);
        assertThat(limiter.stats().denied()).isEqualTo(denied);
    }
}
