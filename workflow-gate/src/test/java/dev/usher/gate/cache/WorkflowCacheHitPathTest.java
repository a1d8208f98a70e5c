package dev.usher.gate.cache;

import static org.assertj.core.api.Assertions.assertThat;

import dev.usher.session.FakeTicker;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.LongAdder;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The hit path: a hit and its lease close hand no work to the cache's own threads while the cache is within
 * its bound (so a request that finds its value wakes no other thread), and the hits and leases it counts in
 * the entries add up exactly, also while entries are invalidated under it.
 */
class WorkflowCacheHitPathTest {
    private static final int KEYS = 4;

    @ParameterizedTest(name = "{0}")
    @ValueSource(strings = {"size", "weight", "expireAfterAccess", "expireAfterWrite"})
    void hitsAndLeaseClosesHandNoWorkToTheCacheThreads(String configuration) throws Exception {
        ConcurrentLinkedQueue<String> violations = new ConcurrentLinkedQueue<>();
        FakeTicker ticker = new FakeTicker();
        var builder = WorkflowCache.<String, TestValue>builder(key -> new TestValue(key, violations)).ticker(ticker);
        var cache = (DefaultWorkflowCache<String, TestValue>) switch (configuration) {
            case "size" -> builder.maximumSize(KEYS).build();
            case "weight" -> builder.maximumWeight(2L * KEYS, (k, v) -> 2).build();
            case "expireAfterAccess" -> builder.maximumSize(KEYS).expireAfterAccess(Duration.ofMinutes(15)).build();
            default -> builder.maximumSize(KEYS).expireAfterWrite(Duration.ofHours(1)).build();
        };
        try (cache) {
            for (int k = 0; k < KEYS; k++) {
                cache.acquire("k" + k).close(); // a miss: its first release puts a ticket, which does hand work over
            }
            cache.cleanUp();
            long before = cache.backgroundTasks();

            int rounds = 20_000;
            for (int i = 0; i < rounds; i++) {
                String key = "k" + (i % KEYS);
                try (Lease<TestValue> outer = cache.acquire(key); Lease<TestValue> inner = cache.acquire(key)) {
                    assertThat(inner.value()).isSameAs(outer.value().use());
                    outer.value().done();
                }
                if (i % 1_000 == 0) {
                    ticker.advance(Duration.ofSeconds(1)); // time passes, well inside every expiry
                }
            }

            assertThat(cache.backgroundTasks()).as("tasks handed to the cache's threads by %s hits", 2 * rounds)
                    .isEqualTo(before);
            WorkflowCacheStats stats = cache.stats();
            assertThat(stats.hits()).isEqualTo(2L * rounds);
            assertThat(stats.misses()).isEqualTo(KEYS);
            assertThat(stats.leased()).isZero();
            assertThat(stats.idle()).isEqualTo(KEYS);
            assertThat(stats.closes() + stats.evictedBySize() + stats.expired()).isZero();
        }
        assertThat(violations).isEmpty();
    }

    @Test
    void hitsAndMissesAddUpToTheAcquiresWhileEntriesAreInvalidatedUnderThem() throws Exception {
        ConcurrentLinkedQueue<String> violations = new ConcurrentLinkedQueue<>();
        var cache = WorkflowCache.<String, TestValue>builder(key -> new TestValue(key, violations))
                .maximumSize(2).build();
        int threads = 4;
        int loops = 20_000;
        AtomicBoolean stop = new AtomicBoolean();
        AtomicLong invalidations = new AtomicLong();
        ConcurrentLinkedQueue<Throwable> errors = new ConcurrentLinkedQueue<>();
        CountDownLatch start = new CountDownLatch(1);
        List<Thread> workers = new ArrayList<>();
        for (int t = 0; t < threads; t++) {
            String key = "k" + (t % 2);
            workers.add(new Thread(() -> {
                try {
                    start.await();
                    for (int i = 0; i < loops; i++) {
                        try (var lease = cache.acquire(key)) {
                            lease.value().use().done();
                        }
                    }
                } catch (Throwable e) {
                    errors.add(e);
                }
            }, "hitter-" + t));
        }
        Thread invalidator = new Thread(() -> {
            for (int i = 0; !stop.get(); i++) {
                cache.invalidate("k" + (i % 2));
                invalidations.incrementAndGet();
                Thread.yield();
            }
        }, "invalidator");
        workers.forEach(Thread::start);
        invalidator.start();
        start.countDown();
        for (Thread w : workers) {
            w.join(300_000);
        }
        stop.set(true);
        invalidator.join(60_000);
        try (cache) {
            assertThat(errors).isEmpty();
            WorkflowCacheStats stats = cache.stats();
            assertThat(stats.hits() + stats.misses()).isEqualTo((long) threads * loops);
            assertThat(stats.hits()).as("the lock-free path was taken").isPositive();
            assertThat(stats.leased()).isZero();
            assertThat(invalidations.get()).isPositive();
        }
        assertThat(violations).isEmpty();
        assertThat(cache.stats().closes()).isEqualTo(cache.stats().creations());
    }

    @Test
    void anEntrysHitCountMovesToTheCacheBeforeItCouldWrap() throws Exception {
        CacheEntry<String, String> entry = new CacheEntry<>(null, "k", "v", 0);
        VarHandle word = MethodHandles.privateLookupIn(CacheEntry.class, MethodHandles.lookup())
                .findVarHandle(CacheEntry.class, "word", long.class);
        // One lease (the creator's) and 2^31 - 1 hits: the next hit sets bit 63.
        word.set(entry, (((1L << 31) - 1) << 32) | 1);
        LongAdder folded = new LongAdder();

        assertThat(entry.tryLease(true, folded)).isTrue();

        assertThat(folded.sum()).isEqualTo(1L << 31);
        assertThat(entry.unfoldedHits()).isZero();
        assertThat(entry.leases()).isEqualTo(2);
        assertThat(entry.endLease()).isEqualTo(1);
        assertThat(entry.endLease()).isZero();
        assertThat(entry.tryLease(true, folded)).isTrue();
        entry.endLease();
        assertThat(entry.claim(folded)).isTrue();
        assertThat(folded.sum()).as("every hit counted once").isEqualTo((1L << 31) + 1);
        assertThat(entry.tryLease(true, folded)).as("no lease after the claim").isFalse();
        assertThat(entry.claim(folded)).as("claimed once").isFalse();
    }
}
