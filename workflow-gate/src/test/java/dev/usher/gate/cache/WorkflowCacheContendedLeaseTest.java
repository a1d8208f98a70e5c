package dev.usher.gate.cache;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import org.junit.jupiter.api.RepeatedTest;
import org.junit.jupiter.api.Test;

/**
 * Leases of one entry taken by threads at the same moment, which move its count from the entry's word to
 * per-thread cells (see {@link CacheEntry}). Leases are also closed on other threads than the ones that took
 * them, so single cells go negative while the sum stays right. Each test runs until entries were given
 * cells (within a minute), so the contended path is the one under test.
 */
class WorkflowCacheContendedLeaseTest {
    private static final int THREADS = 4;
    private static final long CONTENTION_DEADLINE_NANOS = TimeUnit.SECONDS.toNanos(60);

    @Test
    void leasesCountedOnCellsAreCountedExactlyAndTheValueClosesOnlyAfterTheLast() throws Exception {
        ConcurrentLinkedQueue<String> violations = new ConcurrentLinkedQueue<>();
        List<TestValue> created = new CopyOnWriteArrayList<>();
        var cache = recordingCache(4, created, violations);
        hammerUntilGivenCells(cache, "hot");

        // Leases taken on several threads, held, and closed on one other thread.
        LinkedBlockingQueue<Lease<TestValue>> held = new LinkedBlockingQueue<>();
        List<Thread> takers = new ArrayList<>();
        for (int t = 0; t < THREADS; t++) {
            takers.add(started(() -> {
                for (int i = 0; i < 250; i++) {
                    Lease<TestValue> lease = cache.acquire("hot");
                    lease.value().use();
                    held.add(lease);
                }
            }));
        }
        for (Thread t : takers) {
            t.join(60_000);
        }
        assertThat(held).hasSize(THREADS * 250);
        assertThat(cache.stats().leased()).as("every held lease is counted").isEqualTo(THREADS * 250L);

        TestValue value = held.peek().value();
        assertThat(cache.invalidate("hot")).isNotDone();
        assertThat(value.isClosed()).as("invalidated while leased: not closed yet").isFalse();
        Thread closer = started(() -> {
            for (int i = 0; i < THREADS * 250 - 1; i++) {
                Lease<TestValue> lease = held.poll();
                lease.value().done();
                lease.close();
            }
        });
        closer.join(60_000);
        assertThat(cache.stats().leased()).isEqualTo(1);
        assertThat(value.isClosed()).as("one lease is still open").isFalse();

        Lease<TestValue> last = held.poll();
        last.value().done();
        last.close();
        value.awaitClosed();
        assertThat(cache.stats().leased()).isZero();
        cache.close();
        assertThat(violations).isEmpty();
        assertThat(created).allSatisfy(v -> assertThat(v.closeCount).hasValue(1));
    }

    @RepeatedTest(3)
    void leasesHandedBetweenThreadsWhileValuesAreRetiredNeverCloseAValueInUse() throws Exception {
        ConcurrentLinkedQueue<String> violations = new ConcurrentLinkedQueue<>();
        List<TestValue> created = new CopyOnWriteArrayList<>();
        var cache = recordingCache(1, created, violations);

        // Workers take leases of two keys (room for one), keep some, and close those another worker left,
        // until at least three entries (values retired and made again meanwhile) were given cells.
        long cellsBefore = cache.entriesGivenCells();
        long deadline = System.nanoTime() + CONTENTION_DEADLINE_NANOS;
        LinkedBlockingQueue<Lease<TestValue>> handedOver = new LinkedBlockingQueue<>();
        AtomicBoolean stop = new AtomicBoolean();
        ConcurrentLinkedQueue<Throwable> errors = new ConcurrentLinkedQueue<>();
        List<Thread> workers = new ArrayList<>();
        for (int w = 0; w < THREADS; w++) {
            long seed = 17L * w + 1;
            workers.add(started(() -> {
                SplittableRandom random = new SplittableRandom(seed);
                try {
                    for (int i = 0; i < 20_000 || cache.entriesGivenCells() < cellsBefore + 3
                            && System.nanoTime() < deadline; i++) {
                        Lease<TestValue> lease = cache.acquire("k" + random.nextInt(2));
                        lease.value().use();
                        if (random.nextInt(4) == 0) {
                            handedOver.add(lease);
                        } else {
                            lease.value().done();
                            lease.close();
                        }
                        Lease<TestValue> other = random.nextBoolean() ? handedOver.poll() : null;
                        if (other != null) {
                            other.value().done();
                            other.close();
                        }
                    }
                } catch (Throwable t) {
                    errors.add(t);
                }
            }));
        }
        Thread disturber = started(() -> {
            for (int i = 0; !stop.get(); i++) {
                if (i % 64 == 0) {
                    cache.invalidate("k" + (i / 64) % 2);
                }
                Thread.onSpinWait();
            }
        });
        for (Thread t : workers) {
            t.join(300_000);
        }
        stop.set(true);
        disturber.join(60_000);
        for (Lease<TestValue> lease; (lease = handedOver.poll()) != null; ) {
            lease.value().done();
            lease.close();
        }
        assertThat(errors).isEmpty();
        assertThat(cache.entriesGivenCells()).as("entries given cells while values were retired")
                .isGreaterThanOrEqualTo(cellsBefore + 3);
        assertThat(cache.stats().leased()).isZero();
        cache.close();
        for (TestValue v : created) {
            v.awaitClosed();
        }
        assertThat(violations).isEmpty();
        assertThat(created).isNotEmpty().allSatisfy(v -> assertThat(v.closeCount).hasValue(1));
        assertThat(cache.stats().closes()).isEqualTo(created.size());
    }

    /** A cache of at most {@code size} values, each made recorded in {@code created}. */
    private static DefaultWorkflowCache<String, TestValue> recordingCache(
            long size, List<TestValue> created, ConcurrentLinkedQueue<String> violations) {
        return (DefaultWorkflowCache<String, TestValue>) WorkflowCache.<String, TestValue>builder(key -> {
            TestValue v = new TestValue(key, violations);
            created.add(v);
            return v;
        }).maximumSize(size).build();
    }

    private static Thread started(Runnable work) {
        Thread t = new Thread(work);
        t.start();
        return t;
    }

    /** Tight acquire-close loops on one key from several threads until its entry counts on cells. */
    private static void hammerUntilGivenCells(DefaultWorkflowCache<String, TestValue> cache, String key)
            throws InterruptedException {
        long deadline = System.nanoTime() + CONTENTION_DEADLINE_NANOS;
        List<Thread> threads = new ArrayList<>();
        for (int t = 0; t < THREADS; t++) {
            threads.add(started(() -> {
                while (cache.entriesGivenCells() == 0 && System.nanoTime() < deadline) {
                    for (int i = 0; i < 1_000; i++) {
                        try (Lease<TestValue> lease = cache.acquire(key)) {
                            lease.value().use().done();
                        }
                    }
                }
            }));
        }
        for (Thread t : threads) {
            t.join(120_000);
        }
        assertThat(cache.entriesGivenCells()).as("two threads collided on %s's entry within a minute", key).isOne();
    }
}
