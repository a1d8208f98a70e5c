package dev.usher.gate.cache;

import static org.assertj.core.api.Assertions.assertThat;

import dev.usher.session.FakeTicker;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicBoolean;
import org.junit.jupiter.api.RepeatedTest;

/**
 * The lock-free lease (a compare-and-set of the entry's count) against everything that may close a value at
 * the same moment: eviction by size, expiry, invalidation and the cache's close. Tight acquire-close loops on
 * two keys with room for one keep every value going idle and leased again while the others retire it.
 */
class WorkflowCacheLeaseRaceTest {
    private static final int WORKERS = 4;
    private static final int LOOPS = 20_000;

    @RepeatedTest(3)
    void aValueIsNeverClosedWhileLeasedAndExactlyOnce() throws Exception {
        ConcurrentLinkedQueue<String> violations = new ConcurrentLinkedQueue<>();
        List<TestValue> created = new CopyOnWriteArrayList<>();
        FakeTicker ticker = new FakeTicker();
        var cache = (DefaultWorkflowCache<String, TestValue>) WorkflowCache.<String, TestValue>builder(key -> {
            TestValue v = new TestValue(key, violations);
            created.add(v);
            return v;
        }).maximumSize(1).expireAfterAccess(Duration.ofMillis(50)).ticker(ticker).build();

        AtomicBoolean stop = new AtomicBoolean();
        ConcurrentLinkedQueue<Throwable> errors = new ConcurrentLinkedQueue<>();
        List<Thread> threads = new ArrayList<>();
        for (int w = 0; w < WORKERS; w++) {
            String key = "k" + (w % 2);
            threads.add(new Thread(() -> {
                try {
                    for (int i = 0; i < LOOPS; i++) {
                        try (var lease = cache.acquire(key)) {
                            lease.value().use().done();
                        }
                    }
                } catch (Throwable t) {
                    errors.add(t);
                }
            }, "leaser-" + w));
        }
        Thread disturber = new Thread(() -> {
            try {
                for (int i = 0; !stop.get(); i++) {
                    switch (i % 3) {
                        case 0 -> cache.invalidate("k" + (i / 3) % 2);
                        case 1 -> ticker.advance(Duration.ofMillis(30));
                        default -> cache.cleanUp();
                    }
                }
            } catch (Throwable t) {
                errors.add(t);
            }
        }, "disturber");
        threads.forEach(Thread::start);
        disturber.start();
        for (Thread t : threads) {
            t.join(300_000);
        }
        stop.set(true);
        disturber.join(60_000);
        assertThat(errors).isEmpty();
        assertThat(cache.stats().leased()).isZero();

        cache.cleanUp();
        assertThat(cache.stats().idle()).as("the bound at rest").isLessThanOrEqualTo(1);
        cache.close();
        assertThat(violations).isEmpty();
        assertThat(created).isNotEmpty().allSatisfy(v -> assertThat(v.closeCount).hasValue(1));
        WorkflowCacheStats stats = cache.stats();
        assertThat(stats.closes()).isEqualTo(created.size());
        assertThat(stats.hits()).as("the lock-free path was taken").isPositive();
    }
}
