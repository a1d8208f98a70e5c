package dev.usher.gate.cache;

import static org.assertj.core.api.Assertions.assertThat;

import dev.usher.session.FakeTicker;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.RepeatedTest;
import org.junit.jupiter.api.Test;

class WorkflowCacheConcurrencyTest {

    /** Blocks the loader until every other thread is parked waiting for this very creation. */
    private static void awaitParked(List<Thread> others) {
        for (Thread t : others) {
            while (!waitingForCreation(t)) {
                if (!t.isAlive()) {
                    throw new AssertionError(t.getName() + " finished before the creation completed");
                }
                Thread.onSpinWait();
            }
        }
    }

    /** Parked inside acquire on the creation's future (not, say, on a class-initialization lock). */
    private static boolean waitingForCreation(Thread t) {
        if (t.getState() != Thread.State.WAITING) {
            return false;
        }
        boolean inFuture = false;
        for (StackTraceElement frame : t.getStackTrace()) {
            inFuture |= frame.getClassName().equals("java.util.concurrent.CompletableFuture");
            if (inFuture && frame.getClassName().equals(DefaultWorkflowCache.class.getName())) {
                return true;
            }
        }
        return false;
    }

    private static List<Thread> startAll(int n, CountDownLatch entered, Runnable body) {
        List<Thread> threads = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            threads.add(new Thread(() -> {
                entered.countDown();
                body.run();
            }, "acquirer-" + i));
        }
        return threads;
    }

    @Test
    void fiftyThreadsAcquiringOneKeyRunTheLoaderOnce() throws Exception {
        int n = 50;
        AtomicInteger loads = new AtomicInteger();
        List<Thread> threads = new CopyOnWriteArrayList<>();
        CountDownLatch entered = new CountDownLatch(n);
        WorkflowLoader<String, Object> loader = key -> {
            loads.incrementAndGet();
            entered.await();
            List<Thread> others = new ArrayList<>(threads);
            others.remove(Thread.currentThread());
            awaitParked(others); // all 49 others are now inside acquire, waiting for this creation
            return new Object();
        };
        try (var cache = WorkflowCache.builder(loader).maximumSize(10).build()) {
            Set<Object> seen = ConcurrentHashMap.newKeySet();
            ConcurrentLinkedQueue<Throwable> errors = new ConcurrentLinkedQueue<>();
            threads.addAll(startAll(n, entered, () -> {
                try (var lease = cache.acquire("one")) {
                    seen.add(lease.value());
                } catch (Throwable t) {
                    errors.add(t);
                }
            }));
            threads.forEach(Thread::start);
            for (Thread t : threads) {
                t.join();
            }
            assertThat(errors).isEmpty();
            assertThat(loads).hasValue(1);
            assertThat(seen).hasSize(1);
            WorkflowCacheStats stats = cache.stats();
            assertThat(stats.creations()).isEqualTo(1);
            assertThat(stats.misses()).isEqualTo(n);
            assertThat(stats.hits()).isZero();
        }
    }

    @Test
    void failedCreationReachesEveryWaiterOfThatAttemptAndIsNotCached() throws Exception {
        int n = 20;
        AtomicInteger loads = new AtomicInteger();
        List<Thread> threads = new CopyOnWriteArrayList<>();
        CountDownLatch entered = new CountDownLatch(n);
        IllegalStateException failure = new IllegalStateException("out of GPU memory");
        WorkflowLoader<String, Object> loader = key -> {
            if (loads.incrementAndGet() > 1) {
                return "second attempt";
            }
            entered.await();
            List<Thread> others = new ArrayList<>(threads);
            others.remove(Thread.currentThread());
            awaitParked(others);
            throw failure;
        };
        try (var cache = WorkflowCache.builder(loader).maximumSize(10).build()) {
            ConcurrentLinkedQueue<Throwable> causes = new ConcurrentLinkedQueue<>();
            threads.addAll(startAll(n, entered, () -> {
                try (var lease = cache.acquire("one")) {
                    causes.add(new AssertionError("got a value: " + lease.value()));
                } catch (WorkflowLoadException e) {
                    causes.add(e.getCause());
                }
            }));
            threads.forEach(Thread::start);
            for (Thread t : threads) {
                t.join();
            }
            assertThat(causes).hasSize(n).allMatch(c -> c == failure);
            try (var lease = cache.acquire("one")) {
                assertThat(lease.value()).isEqualTo("second attempt");
            }
            assertThat(cache.stats().creationFailures()).isEqualTo(1);
        }
    }

    /**
     * Many threads acquire, hold (sometimes several leases), release, invalidate, move the ticker past idle
     * and age limits, and run clean-ups, over few keys with a small size bound, with some creations failing.
     * The values check that they are never closed while leased and never handed out closed; at the end every
     * created value must have been closed exactly once, and the counters must agree.
     */
    @RepeatedTest(3)
    void randomizedLeasesInvalidationsExpiryAndSizePressureKeepTheInvariants() throws Exception {
        ConcurrentLinkedQueue<String> violations = new ConcurrentLinkedQueue<>();
        List<TestValue> created = new CopyOnWriteArrayList<>();
        FakeTicker ticker = new FakeTicker();
        AtomicInteger failedLoads = new AtomicInteger();
        long seed = new Random().nextLong();
        Random loaderRandom = new Random(seed);
        WorkflowLoader<String, TestValue> loader = key -> {
            boolean fail;
            synchronized (loaderRandom) {
                fail = loaderRandom.nextInt(10) == 0;
            }
            if (fail) {
                failedLoads.incrementAndGet();
                throw new IllegalStateException("injected failure");
            }
            TestValue v = new TestValue(key, violations);
            created.add(v);
            return v;
        };
        var cache = WorkflowCache.builder(loader)
                .maximumSize(3)
                .expireAfterAccess(Duration.ofSeconds(2))
                .expireAfterWrite(Duration.ofSeconds(7))
                .ticker(ticker)
                .build();
        var impl = (DefaultWorkflowCache<String, TestValue>) cache;

        int threads = 8;
        int opsPerThread = 3_000;
        ConcurrentLinkedQueue<Throwable> errors = new ConcurrentLinkedQueue<>();
        Map<String, AtomicInteger> unexpected = new ConcurrentHashMap<>();
        List<Thread> workers = new ArrayList<>();
        for (int w = 0; w < threads; w++) {
            Random random = new Random(seed + w);
            workers.add(new Thread(() -> {
                List<Lease<TestValue>> held = new ArrayList<>();
                try {
                    for (int op = 0; op < opsPerThread; op++) {
                        String key = "k" + random.nextInt(8);
                        int dice = random.nextInt(100);
                        if (dice < 55) {
                            try {
                                var lease = cache.acquire(key);
                                lease.value().use();
                                held.add(lease);
                            } catch (WorkflowLoadException e) {
                                if (!"injected failure".equals(e.getCause().getMessage())) {
                                    throw e;
                                }
                            }
                        } else if (dice < 85 && !held.isEmpty()) {
                            var lease = held.remove(random.nextInt(held.size()));
                            lease.value().done();
                            lease.close();
                        } else if (dice < 92) {
                            cache.invalidate(key);
                        } else if (dice < 97) {
                            ticker.advance(Duration.ofMillis(random.nextInt(1500)));
                        } else {
                            impl.cleanUp();
                        }
                        if (held.size() > 4) {
                            var lease = held.remove(0);
                            lease.value().done();
                            lease.close();
                        }
                    }
                } catch (Throwable t) {
                    errors.add(t);
                    unexpected.computeIfAbsent(t.toString(), x -> new AtomicInteger()).incrementAndGet();
                } finally {
                    for (var lease : held) {
                        lease.value().done();
                        lease.close();
                    }
                }
            }, "worker-" + w));
        }
        workers.forEach(Thread::start);
        for (Thread t : workers) {
            t.join();
        }
        assertThat(errors).as("seed %s: %s", seed, unexpected).isEmpty();
        assertThat(cache.stats().leased()).isZero();
        impl.cleanUp(); // the bound is enforced by Caffeine's maintenance, which may lag behind writes
        assertThat(cache.stats().idle()).isLessThanOrEqualTo(3);
        cache.close();

        assertThat(violations).as("seed %s", seed).isEmpty();
        assertThat(created).as("seed %s", seed).allSatisfy(v -> assertThat(v.closeCount).hasValue(1));
        WorkflowCacheStats stats = cache.stats();
        assertThat(stats.creations()).isEqualTo(created.size());
        assertThat(stats.creationFailures()).isEqualTo(failedLoads.get());
        assertThat(stats.closes()).isEqualTo(created.size());
        assertThat(stats.evictedBySize() + stats.expired() + stats.invalidated()).isPositive();
        assertThat(stats.hits() + stats.misses()).isPositive();
    }
}
