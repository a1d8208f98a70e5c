package dev.usher.gate.ratelimit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.LongSupplier;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

class RateLimiterTest {
    private final AtomicLong nanos = new AtomicLong(1_000_000_000L);
    private final LongSupplier ticker = nanos::get;

    private void advance(Duration d) {
        nanos.addAndGet(d.toNanos());
    }

    static int hammer(RateLimiter limiter, String key, int threads) throws InterruptedException {
        AtomicInteger allowed = new AtomicInteger();
        CountDownLatch start = new CountDownLatch(1);
        List<Thread> all = new ArrayList<>();
        List<Throwable> errors = new java.util.concurrent.CopyOnWriteArrayList<>();
        for (int i = 0; i < threads; i++) {
            Thread t = new Thread(() -> {
                try {
                    start.await();
                    if (limiter.tryAcquire(key).allowed()) {
                        allowed.incrementAndGet();
                    }
                } catch (Throwable e) {
                    errors.add(e);
                }
            });
            t.start();
            all.add(t);
        }
        start.countDown();
        for (Thread t : all) {
            t.join();
        }
        assertThat(errors).isEmpty();
        return allowed.get();
    }

    @Test
    void tenPerMinuteHitByAHundredThreadsAllowsExactlyTen() throws Exception {
        RateLimiter limiter = RateLimiter.builder().limit(10, Duration.ofMinutes(1)).ticker(ticker).build();
        assertThat(hammer(limiter, "user-1", 100)).isEqualTo(10);
        assertThat(limiter.stats().allowed()).isEqualTo(10);
        assertThat(limiter.stats().denied()).isEqualTo(90);
        assertThat(hammer(limiter, "user-2", 100)).as("another key has its own bucket").isEqualTo(10);
    }

    @Test
    void burstAndSustainedLimitsBothApply() {
        RateLimiter limiter = RateLimiter.builder()
                .limit(Limit.of("sustained", 10, Duration.ofMinutes(1)))
                .limit(Limit.of("burst", 3, Duration.ofSeconds(1)))
                .ticker(ticker)
                .build();
        for (int i = 0; i < 3; i++) {
            assertThat(limiter.tryAcquire("u").allowed()).isTrue();
        }
        Decision denied = limiter.tryAcquire("u");
        assertThat(denied.allowed()).isFalse();
        assertThat(denied.remaining()).isZero();
        // The burst bucket refills one token every 1/3 s.
        assertThat(denied.retryAfter()).isGreaterThan(Duration.ofMillis(300)).isLessThanOrEqualTo(Duration.ofMillis(334));
        assertThat(denied.limits()).extracting(s -> s.limit().name(), Decision.LimitState::remaining)
                .containsExactly(org.assertj.core.groups.Tuple.tuple("sustained", 7L),
                        org.assertj.core.groups.Tuple.tuple("burst", 0L));
        // 7 of 10 per minute left: full again in 3 x 6 s.
        assertThat(denied.timeUntilFull()).isEqualTo(Duration.ofSeconds(18));

        int allowed = 0;
        for (int second = 0; second < 10; second++) {
            advance(Duration.ofSeconds(1));
            for (int i = 0; i < 3; i++) {
                if (limiter.tryAcquire("u").allowed()) {
                    allowed++;
                }
            }
        }
        // 7 left plus 10 s x (10 per 60 s) refilled: the sustained limit caps the bursts at 7 + 1.
        assertThat(allowed).isEqualTo(8);
    }

    @Test
    void tokensAreTakenAllOrNothing() {
        RateLimiter limiter = RateLimiter.builder().limit(10, Duration.ofMinutes(1)).ticker(ticker).build();
        assertThat(limiter.tryAcquire("k", 7).remaining()).isEqualTo(3);
        Decision d = limiter.tryAcquire("k", 4);
        assertThat(d.allowed()).isFalse();
        assertThat(d.remaining()).isEqualTo(3);
        assertThat(d.retryAfter()).isEqualTo(Duration.ofSeconds(6));
        assertThat(limiter.tryAcquire("k", 3).allowed()).isTrue();
    }

    @Test
    void aBucketIsDroppedOnlyOnceItWouldBeFullAgain() {
        var limiter = (DefaultRateLimiter) RateLimiter.builder().limit(10, Duration.ofMinutes(1)).ticker(ticker).build();
        LocalBuckets buckets = limiter.localBuckets();
        for (int i = 0; i < 10; i++) {
            limiter.tryAcquire("k");
        }
        advance(Duration.ofSeconds(59));
        buckets.cleanUp();
        assertThat(buckets.holds("k")).as("9.8 of 10 tokens back: must be kept").isTrue();
        advance(Duration.ofMillis(999));
        buckets.cleanUp();
        assertThat(buckets.holds("k")).isTrue();
        advance(Duration.ofMillis(2));
        buckets.cleanUp();
        assertThat(buckets.holds("k")).as("full again: nothing to remember").isFalse();

        // And it makes no difference: a fresh bucket is a full one.
        for (int i = 0; i < 10; i++) {
            assertThat(limiter.tryAcquire("k").allowed()).isTrue();
        }
        assertThat(limiter.tryAcquire("k").allowed()).isFalse();
    }

    @Test
    @Tag("slow")
    void aFloodOfAMillionDistinctKeysStaysWithinTheKeyBoundAndAnActiveKeyKeepsItsLimit() {
        var limiter = (DefaultRateLimiter) RateLimiter.builder()
                .limit(10, Duration.ofMinutes(1))
                .maximumKeys(10_000)
                .ticker(ticker)
                .build();
        for (int i = 0; i < 10; i++) {
            assertThat(limiter.tryAcquire("active-user").allowed()).isTrue();
        }
        long maxSeen = 0;
        for (int i = 0; i < 1_000_000; i++) {
            limiter.tryAcquire("flood-" + i);
            if (i % 1_000 == 0) {
                // The active user keeps knocking during the flood, and keeps being denied.
                assertThat(limiter.tryAcquire("active-user").allowed()).as("after %s flood keys", i).isFalse();
                maxSeen = Math.max(maxSeen, limiter.stats().localKeys());
            }
        }
        limiter.localBuckets().cleanUp();
        assertThat(limiter.stats().localKeys()).isLessThanOrEqualTo(10_000);
        // Maintenance runs on the callers; it may trail by a write buffer, never by much.
        assertThat(maxSeen).isLessThan(2 * 10_000);
        assertThat(limiter.tryAcquire("active-user").allowed()).isFalse();
    }

    @Test
    void headersFollowTheDraftAndRetryAfterIsRoundedUp() {
        RateLimiter limiter = RateLimiter.builder()
                .limit(Limit.of("sustained", 10, Duration.ofMinutes(1)))
                .limit(Limit.of("burst", 3, Duration.ofSeconds(1)))
                .ticker(ticker)
                .build();
        Map<String, String> first = RateLimitHeaders.of(limiter, limiter.tryAcquire("u"));
        assertThat(first).containsExactly(
                Map.entry("RateLimit-Policy", "\"sustained\";q=10;w=60, \"burst\";q=3;w=1"),
                Map.entry("RateLimit", "\"sustained\";r=9;t=6, \"burst\";r=2;t=1"));
        limiter.tryAcquire("u");
        limiter.tryAcquire("u");
        Map<String, String> denied = RateLimitHeaders.of(limiter, limiter.tryAcquire("u"));
        assertThat(denied).containsEntry("Retry-After", "1")
                .containsEntry("RateLimit", "\"sustained\";r=7;t=18, \"burst\";r=0;t=1");
        assertThat(denied.keySet()).containsExactly("Retry-After", "RateLimit-Policy", "RateLimit");
    }

    @Test
    void degradedDecisionWithoutStateHasNoRateLimitField() {
        List<Limit> limits = List.of(Limit.of(10, Duration.ofMinutes(1)));
        Decision failClosed = new Decision(false, 0, Duration.ofMillis(1500), Duration.ZERO, List.of(), true);
        assertThat(RateLimitHeaders.of(limits, failClosed)).containsExactly(
                Map.entry("Retry-After", "2"),
                Map.entry("RateLimit-Policy", "\"10-per-60s\";q=10;w=60"));
    }

    @Test
    void badInputIsRejectedNamingTheValueAndTheLimit() {
        RateLimiter limiter = RateLimiter.builder().name("chat").limit(10, Duration.ofMinutes(1))
                .limit(Limit.of("burst", 3, Duration.ofSeconds(1))).build();
        assertThatThrownBy(() -> limiter.tryAcquire("k", 4)).isInstanceOf(IllegalArgumentException.class)
                .hasMessage("rate limiter 'chat': tokens must be 1 to 3 (the smallest quota) but was 4");
        assertThatThrownBy(() -> limiter.tryAcquire("k", 0)).hasMessageContaining("was 0");
        assertThatThrownBy(() -> limiter.tryAcquire("")).hasMessageContaining("key length must be 1 to 256 but was 0");
        assertThatThrownBy(() -> limiter.tryAcquire("x".repeat(257))).hasMessageContaining("was 257");
        assertThatThrownBy(() -> Limit.of(0, Duration.ofSeconds(1))).hasMessageContaining("was 0");
        assertThatThrownBy(() -> Limit.of(5, Duration.ofMillis(1500))).hasMessageContaining("PT1.5S");
        assertThatThrownBy(() -> Limit.of("bad name", 5, Duration.ofSeconds(1))).hasMessageContaining("'bad name'");
        assertThatThrownBy(() -> RateLimiter.builder().build()).isInstanceOf(IllegalStateException.class)
                .hasMessageContaining("at least one limit");
        assertThatThrownBy(() -> RateLimiter.builder().limit(Limit.of("a", 1, Duration.ofSeconds(1)))
                .limit(Limit.of("a", 2, Duration.ofSeconds(1)))).isInstanceOf(IllegalArgumentException.class)
                .hasMessageStartingWith("limit name must be unique but was 'a'");
        assertThatThrownBy(() -> RateLimiter.builder().name("a b")).isInstanceOf(IllegalArgumentException.class)
                .hasMessage("name must be 1 to 64 of [A-Za-z0-9._-] but was 'a b'");
        assertThatThrownBy(() -> RateLimiter.builder().ticker(null)).isInstanceOf(NullPointerException.class)
                .hasMessage("nanoTicker");
        assertThatThrownBy(() -> RateLimiter.builder().maximumKeys(0)).hasMessageContaining("was 0");
        assertThatThrownBy(() -> PostgresBuckets.proxyManager(new org.postgresql.ds.PGSimpleDataSource(), "x; drop"))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("'x; drop'");
    }
}
