package dev.usher.gate.cache;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.usher.session.FakeTicker;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

class WorkflowCacheTest {
    private final ConcurrentLinkedQueue<String> violations = new ConcurrentLinkedQueue<>();
    private final List<TestValue> created = new CopyOnWriteArrayList<>();
    private final FakeTicker ticker = new FakeTicker();
    private final AtomicInteger loads = new AtomicInteger();

    private TestValue load(String key) {
        loads.incrementAndGet();
        TestValue v = new TestValue(key, violations);
        created.add(v);
        return v;
    }

    private WorkflowCache.Builder<String, TestValue> builder() {
        return WorkflowCache.<String, TestValue>builder(this::load).ticker(ticker);
    }

    private static DefaultWorkflowCache<String, TestValue> impl(WorkflowCache<String, TestValue> cache) {
        return (DefaultWorkflowCache<String, TestValue>) cache;
    }

    @AfterEach
    void noViolations() {
        assertThat(violations).isEmpty();
    }

    @Test
    void secondAcquireOfAnIdleValueIsAHit() {
        try (var cache = builder().maximumSize(10).build()) {
            TestValue first;
            try (var lease = cache.acquire("a")) {
                first = lease.value();
            }
            try (var lease = cache.acquire("a")) {
                assertThat(lease.value()).isSameAs(first);
            }
            WorkflowCacheStats stats = cache.stats();
            assertThat(stats.hits()).isEqualTo(1);
            assertThat(stats.misses()).isEqualTo(1);
            assertThat(stats.creations()).isEqualTo(1);
            assertThat(stats.idle()).isEqualTo(1);
            assertThat(stats.leased()).isZero();
        }
        assertThat(created).allMatch(v -> v.closeCount.get() == 1);
    }

    @Test
    void leasedValueIsNeverExpiredAndExpiresOnceIdle() throws Exception {
        try (var cache = builder().maximumSize(10).expireAfterAccess(Duration.ofMinutes(1)).build()) {
            var lease = cache.acquire("a");
            TestValue v = lease.value().use();
            ticker.advance(Duration.ofHours(3));
            impl(cache).cleanUp();
            assertThat(v.isClosed()).isFalse();
            v.done();
            lease.close();

            ticker.advance(Duration.ofSeconds(59));
            impl(cache).cleanUp();
            assertThat(v.isClosed()).as("idle for 59 s of a 60 s idle timeout").isFalse();

            ticker.advance(Duration.ofSeconds(2));
            impl(cache).cleanUp();
            assertThat(v.isClosed()).isTrue();
            assertThat(cache.stats().expired()).isEqualTo(1);
            try (var again = cache.acquire("a")) {
                assertThat(again.value()).isNotSameAs(v);
            }
        }
    }

    @Test
    void sizeBoundAppliesToIdleValuesOnly() throws Exception {
        try (var cache = builder().maximumSize(2).build()) {
            List<Lease<TestValue>> leases = new ArrayList<>();
            for (int i = 0; i < 6; i++) {
                var lease = cache.acquire("k" + i);
                lease.value().use();
                leases.add(lease);
            }
            impl(cache).cleanUp();
            assertThat(created).hasSize(6).noneMatch(TestValue::isClosed);

            for (var lease : leases) {
                lease.value().done();
                lease.close();
            }
            impl(cache).cleanUp();
            assertThat(created.stream().filter(TestValue::isClosed)).hasSize(4);
            WorkflowCacheStats stats = cache.stats();
            assertThat(stats.evictedBySize()).isEqualTo(4);
            assertThat(stats.idle()).isEqualTo(2);
        }
        assertThat(created).allMatch(v -> v.closeCount.get() == 1);
    }

    @Test
    void maximumWeightBoundsIdleValuesByWeight() throws Exception {
        try (var cache = builder().maximumWeight(10, (k, v) -> Integer.parseInt(k)).build()) {
            for (String key : List.of("4", "5", "6")) {
                cache.acquire(key).close();
            }
            impl(cache).cleanUp();
            int idleWeight = created.stream().filter(v -> !v.isClosed()).mapToInt(v -> Integer.parseInt(v.key)).sum();
            assertThat(idleWeight).isLessThanOrEqualTo(10);
            assertThat(cache.stats().evictedBySize()).isGreaterThanOrEqualTo(1);
        }
    }

    @Test
    void maximumAgeCountsFromCreationButNeverCutsALease() throws Exception {
        try (var cache = builder().maximumSize(10).expireAfterWrite(Duration.ofMinutes(10)).build()) {
            var lease = cache.acquire("a");
            TestValue v = lease.value().use();
            ticker.advance(Duration.ofMinutes(11));
            impl(cache).cleanUp();
            assertThat(v.isClosed()).isFalse();
            v.done();
            lease.close(); // already older than the maximum age: retired at once
            assertThat(v.awaitClosed()).startsWith("usher-workflow-cache-");
            try (var again = cache.acquire("a")) {
                assertThat(again.value()).isNotSameAs(v);
            }

            ticker.advance(Duration.ofMinutes(9));
            impl(cache).cleanUp();
            assertThat(created.get(1).isClosed()).as("idle, 9 of 10 minutes old").isFalse();
            ticker.advance(Duration.ofMinutes(2));
            impl(cache).cleanUp();
            assertThat(created.get(1).isClosed()).isTrue();
            assertThat(cache.stats().expired()).isEqualTo(2);
        }
    }

    @Test
    void invalidateOfALeasedValueRemovesItNowAndClosesItOnLastRelease() throws Exception {
        try (var cache = builder().maximumSize(10).build()) {
            var first = cache.acquire("a");
            var second = cache.acquire("a");
            TestValue old = first.value().use();
            second.value().use();

            var closedSignal = cache.invalidate("a");
            try (var fresh = cache.acquire("a")) {
                assertThat(fresh.value()).isNotSameAs(old);
            }
            old.done();
            first.close();
            impl(cache).cleanUp();
            assertThat(old.isClosed()).as("one lease still open").isFalse();
            assertThat(closedSignal).as("the invalidation's future waits for the close").isNotDone();

            old.done();
            second.close();
            assertThat(old.awaitClosed()).isNotEqualTo(Thread.currentThread().getName());
            closedSignal.get(30, java.util.concurrent.TimeUnit.SECONDS);
            assertThat(old.isClosed()).isTrue();
            assertThat(cache.stats().invalidated()).isEqualTo(1);
            assertThat(cache.invalidate("never-there")).isDone();
        }
    }

    @Test
    void invalidateOfAnIdleValueClosesItAndAbsentKeyIsANoOp() throws Exception {
        try (var cache = builder().maximumSize(10).build()) {
            cache.acquire("a").close();
            cache.invalidate("a");
            cache.invalidate("never-there");
            assertThat(created.get(0).awaitClosed()).startsWith("usher-workflow-cache-");
            assertThat(cache.stats().idle()).isZero();
        }
    }

    @Test
    void invalidateDuringCreationDropsThatValueWhenItsCreatorIsDone() throws Exception {
        CountDownLatch inLoader = new CountDownLatch(1);
        CountDownLatch proceed = new CountDownLatch(1);
        WorkflowLoader<String, TestValue> slow = key -> {
            if (loads.get() == 0) {
                inLoader.countDown();
                proceed.await();
            }
            return load(key);
        };
        try (var cache = WorkflowCache.builder(slow).maximumSize(10).build()) {
            CompletableFuture<Lease<TestValue>> first = CompletableFuture.supplyAsync(() -> cache.acquire("a"));
            inLoader.await();
            cache.invalidate("a");
            proceed.countDown();
            Lease<TestValue> lease = first.get(30, TimeUnit.SECONDS);
            TestValue dropped = lease.value().use();
            try (var fresh = cache.acquire("a")) {
                assertThat(fresh.value()).isNotSameAs(dropped);
            }
            dropped.done();
            lease.close();
            assertThat(dropped.awaitClosed()).startsWith("usher-workflow-cache-");
            assertThat(loads).hasValue(2);
            assertThat(cache.stats().invalidated()).isEqualTo(1);
        }
    }

    @Test
    void creationTimeIsMeasuredWithTheTicker() {
        WorkflowLoader<String, TestValue> slow = key -> {
            ticker.advance(Duration.ofSeconds(5));
            return load(key);
        };
        try (var cache = WorkflowCache.builder(slow).ticker(ticker).maximumSize(10).build()) {
            cache.acquire("a").close();
            cache.acquire("b").close();
            assertThat(cache.stats().creationTime()).isEqualTo(Duration.ofSeconds(10));
        }
    }

    @Test
    void leaseIsIdempotentAndUnusableAfterClose() {
        try (var cache = builder().maximumSize(10).build()) {
            var lease = cache.acquire("a");
            lease.close();
            lease.close();
            assertThat(cache.stats().leased()).isZero();
            assertThatThrownBy(lease::value).isInstanceOf(IllegalStateException.class)
                    .hasMessageContaining("already closed");
        }
    }

    @Test
    void failedCreationIsNotCachedAndReachesTheCaller() {
        AtomicInteger attempts = new AtomicInteger();
        WorkflowLoader<String, TestValue> flaky = key -> {
            if (attempts.incrementAndGet() == 1) {
                throw new java.io.IOException("model server unreachable");
            }
            return load(key);
        };
        try (var cache = WorkflowCache.builder(flaky).maximumSize(10).build()) {
            assertThatThrownBy(() -> cache.acquire("a"))
                    .isInstanceOf(WorkflowLoadException.class)
                    .hasMessageContaining("key 'a'")
                    .hasRootCauseMessage("model server unreachable");
            try (var lease = cache.acquire("a")) {
                assertThat(lease.value()).isNotNull();
            }
            assertThat(attempts).hasValue(2);
            assertThat(cache.stats().creationFailures()).isEqualTo(1);
            assertThat(cache.stats().creations()).isEqualTo(1);
        }
    }

    @Test
    void loaderReturningNullIsAFailure() {
        try (var cache = WorkflowCache.<String, Object>builder(key -> null).maximumSize(1).build()) {
            assertThatThrownBy(() -> cache.acquire("abc"))
                    .isInstanceOf(WorkflowLoadException.class)
                    .hasRootCauseInstanceOf(NullPointerException.class);
        }
    }

    @Test
    void throwingCloseIsLoggedAndCounted() {
        var cache = WorkflowCache.<String, String>builder(key -> "v-" + key)
                .maximumSize(10)
                .closer(v -> {
                    throw new IllegalStateException("GPU driver said no");
                })
                .build();
        cache.acquire("a").close();
        cache.acquire("b").close();
        cache.close();
        assertThat(cache.stats().closeFailures()).isEqualTo(2);
        assertThat(cache.stats().closes()).isZero();
    }

    @Test
    void closeClosesIdleValuesAndWaitsForLeases() throws Exception {
        var cache = builder().maximumSize(10).closeTimeout(Duration.ofMinutes(1)).build();
        cache.acquire("idle").close();
        var lease = cache.acquire("busy");
        TestValue busy = lease.value().use();

        Thread closer = new Thread(cache::close, "test-closer");
        closer.start();
        // close() parks while the lease is open; wait for it to get there (no sleeping).
        while (closer.getState() != Thread.State.TIMED_WAITING) {
            assertThat(closer.isAlive()).isTrue();
            Thread.onSpinWait();
        }
        assertThat(created.get(0).awaitClosed()).startsWith("usher-workflow-cache-");
        assertThat(busy.isClosed()).isFalse();
        assertThatThrownBy(() -> cache.acquire("other")).isInstanceOf(CacheClosedException.class);

        busy.done();
        lease.close();
        closer.join();
        assertThat(busy.closeCount).hasValue(1);
        assertThat(cache.stats().closes()).isEqualTo(2);
    }

    @Test
    void closeGivesUpWaitingAfterItsBoundAndTheLeaseStillClosesItsValue() {
        var cache = builder().maximumSize(10).closeTimeout(Duration.ZERO).build();
        var lease = cache.acquire("busy");
        TestValue busy = lease.value().use();
        cache.close();
        assertThat(busy.isClosed()).isFalse();
        busy.done();
        lease.close();
        assertThat(busy.closeCount).hasValue(1);
        assertThat(busy.closedOn).isCompletedWithValue(Thread.currentThread().getName());
    }

    @Test
    void expiresPromptlyWithoutAnyTraffic() throws Exception {
        // Real time here: the point is that the cache's own scheduler thread does it, not a later call.
        try (var cache = WorkflowCache.<String, TestValue>builder(this::load)
                .maximumSize(10)
                .expireAfterAccess(Duration.ofMillis(50))
                .build()) {
            cache.acquire("a").close();
            assertThat(created.get(0).awaitClosed()).startsWith("usher-workflow-cache-");
            assertThat(cache.stats().expired()).isEqualTo(1);
        }
    }

    @Test
    void closeStopsTheCacheThreads() throws InterruptedException {
        var cache = builder().maximumSize(10).expireAfterAccess(Duration.ofMinutes(1)).build();
        cache.acquire("a").close();
        cache.close();
        cache.close();
        // Thread names carry the cache's instance number; other tests' caches may still be running.
        // A terminated executor's worker may still be on its way out: wait for it (bounded), then check.
        String prefix = impl(cache).threadNamePrefix();
        List<Thread> owned = Thread.getAllStackTraces().keySet().stream()
                .filter(t -> t.getName().startsWith(prefix))
                .toList();
        for (Thread t : owned) {
            t.join(30_000);
            assertThat(t.isAlive()).as(t.getName()).isFalse();
        }
    }

    @Test
    void builderRejectsBadSettingsNamingTheValue() {
        WorkflowLoader<String, String> loader = k -> k;
        assertThatThrownBy(() -> WorkflowCache.builder(loader).maximumSize(-1))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("-1");
        assertThatThrownBy(() -> WorkflowCache.builder(loader).maximumSize(0))
                .isInstanceOf(IllegalArgumentException.class).hasMessageStartingWith("maximumSize must be at least 1 but was 0");
        assertThatThrownBy(() -> WorkflowCache.builder(loader).maximumWeight(0, (k, v) -> 1))
                .isInstanceOf(IllegalArgumentException.class).hasMessageStartingWith("maximumWeight must be at least 1 but was 0");
        assertThatThrownBy(() -> WorkflowCache.builder(loader).maximumSize(5).maximumWeight(10, (k, v) -> 1))
                .isInstanceOf(IllegalStateException.class).hasMessage("maximumSize was already set to 5");
        assertThatThrownBy(() -> WorkflowCache.builder(loader).expireAfterAccess(Duration.ZERO))
                .isInstanceOf(IllegalArgumentException.class).hasMessage("expireAfterAccess must be positive but was 0s");
        assertThatThrownBy(() -> WorkflowCache.builder(loader).build())
                .isInstanceOf(IllegalStateException.class).hasMessageContaining("maximum size");
        assertThatThrownBy(() -> WorkflowCache.builder(loader).closeTimeout(Duration.ofSeconds(-1)))
                .isInstanceOf(IllegalArgumentException.class).hasMessage("closeTimeout must be at least 0s but was -1s");
    }

    @Test
    void longKeysAreNotWrittenWholeInMessages() {
        String sessionId = "s3cr3t-session-id-0123456789abcdef";
        try (var cache = WorkflowCache.<String, String>builder(k -> {
            throw new IllegalStateException("boom");
        }).maximumSize(1).build()) {
            assertThatThrownBy(() -> cache.acquire(sessionId))
                    .hasMessageNotContaining(sessionId)
                    .hasMessageContaining("s3cr3t");
        }
    }
}
