package dev.usher.gate.cache;

import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A cached value that checks the cache's promises: tests count their own open leases on it (incremented
 * after acquire returns, decremented before the lease closes, so never more than the cache's count), and
 * closing it while that count is positive, or twice, is recorded as a violation.
 */
final class TestValue implements AutoCloseable {
    private static final AtomicInteger IDS = new AtomicInteger();

    final String key;
    final int id = IDS.incrementAndGet();
    final AtomicInteger leases = new AtomicInteger();
    final AtomicInteger closeCount = new AtomicInteger();
    final CompletableFuture<String> closedOn = new CompletableFuture<>();
    final ConcurrentLinkedQueue<String> violations;

    TestValue(String key, ConcurrentLinkedQueue<String> violations) {
        this.key = key;
        this.violations = violations;
    }

    /** Call right after acquire returned this value. */
    TestValue use() {
        leases.incrementAndGet();
        if (closeCount.get() != 0) {
            violations.add(this + " handed out after it was closed");
        }
        return this;
    }

    /** Call right before closing the lease. */
    void done() {
        if (closeCount.get() != 0) {
            violations.add(this + " closed while leased");
        }
        leases.decrementAndGet();
    }

    @Override
    public void close() {
        if (leases.get() != 0) {
            violations.add(this + " closed with " + leases.get() + " open lease(s)");
        }
        if (closeCount.incrementAndGet() != 1) {
            violations.add(this + " closed " + closeCount.get() + " times");
        }
        closedOn.complete(Thread.currentThread().getName());
    }

    boolean isClosed() {
        return closeCount.get() > 0;
    }

    /** Waits (bounded, to not hang the build) until the cache's closer thread has closed this value. */
    String awaitClosed() throws Exception {
        return closedOn.get(30, TimeUnit.SECONDS);
    }

    @Override
    public String toString() {
        return "value#" + id + "(" + key + ")";
    }
}
