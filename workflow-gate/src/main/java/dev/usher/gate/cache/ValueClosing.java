package dev.usher.gate.cache;

import dev.usher.gate.background.BackgroundThreads;
import java.time.Duration;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ThreadFactory;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.LongAdder;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Closing values: the closer thread (values may take long to close, GPU memory or remote sessions, so one
 * thread of their own keeps that off both the callers and the maintenance thread), the close counters, and
 * the entries taken out of the cache while still leased, which are closed by their last lease and which
 * {@link WorkflowCache#close()} waits for.
 */
final class ValueClosing<V> {
    private static final Logger log = LoggerFactory.getLogger(ValueClosing.class);

    private final ValueCloser<? super V> closer;
    private final ExecutorService closerThread;
    private final AtomicLong backgroundTasks = new AtomicLong();
    /** Removed from the cache while leased, not yet claimed for closing. */
    private final Set<CacheEntry<?, ? extends V>> awaitingLastLease = ConcurrentHashMap.newKeySet();
    final LongAdder closes = new LongAdder();
    final LongAdder closeFailures = new LongAdder();

    ValueClosing(ValueCloser<? super V> closer, ThreadFactory threads) {
        this.closer = closer;
        this.closerThread = BackgroundThreads.serial(threads);
    }

    /** {@code entry} left the cache with leases open: its last lease will claim and close it. */
    void awaitLastLease(CacheEntry<?, ? extends V> entry) {
        awaitingLastLease.add(entry);
    }

    /** Closes a value claimed for closing, on the closer thread (on this one once the cache is closed). */
    void close(CacheEntry<?, ? extends V> entry) {
        awaitingLastLease.remove(entry);
        try {
            backgroundTasks.incrementAndGet();
            closerThread.execute(() -> closeNow(entry));
        } catch (RejectedExecutionException e) {
            // Only after WorkflowCache.close() gave up waiting for this lease: the closer thread is gone.
            closeNow(entry);
        }
    }

    private void closeNow(CacheEntry<?, ? extends V> entry) {
        try {
            closer.close(entry.value);
            closes.increment();
        } catch (Throwable t) {
            closeFailures.increment();
            log.warn("closing the cached value for {} failed", DefaultWorkflowCache.describe(entry.key), t);
        } finally {
            entry.valueClosed.complete(null);
        }
    }

    /** Leases open on entries no longer in the cache. */
    long leasesOfRemovedEntries() {
        long n = 0;
        for (CacheEntry<?, ?> entry : awaitingLastLease) {
            n += entry.leases();
        }
        return n;
    }

    /** Hits on entries no longer in the cache that are not yet folded into the cache's count. */
    long unfoldedHitsOfRemovedEntries() {
        long n = 0;
        for (CacheEntry<?, ?> entry : awaitingLastLease) {
            n += entry.unfoldedHits();
        }
        return n;
    }

    /**
     * Waits up to {@code timeout} for the values still leased to be closed, then stops the closer thread once
     * it has closed what it was given. Returns the leases still open if the wait timed out, 0 otherwise.
     */
    long shutdown(Duration timeout, String cacheName) {
        long deadline = System.nanoTime() + timeout.toNanos();
        long stillOpen = 0;
        CompletableFuture<?>[] closed = awaitingLastLease.stream().map(e -> e.valueClosed)
                .toArray(CompletableFuture<?>[]::new);
        try {
            CompletableFuture.allOf(closed).get(timeout.toNanos(), TimeUnit.NANOSECONDS);
        } catch (TimeoutException e) {
            stillOpen = Math.max(1, leasesOfRemovedEntries());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            stillOpen = leasesOfRemovedEntries();
        } catch (ExecutionException e) {
            throw new IllegalStateException(e); // never completed exceptionally
        } finally {
            BackgroundThreads.shutdownAndAwait(closerThread, false, Duration.ofNanos(deadline - System.nanoTime()),
                    "workflow cache " + cacheName + " closer");
        }
        return stillOpen;
    }

    /** Waits until the closes queued so far are done (tests). */
    void awaitQueuedCloses() throws InterruptedException, ExecutionException {
        closerThread.submit(() -> { }).get();
    }

    /** Tasks handed to the closer thread so far. */
    long backgroundTasks() {
        return backgroundTasks.get();
    }
}
