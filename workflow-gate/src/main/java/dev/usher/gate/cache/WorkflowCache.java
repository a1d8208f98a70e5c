package dev.usher.gate.cache;

import java.util.concurrent.CompletableFuture;

/**
 * A bounded, expiring cache of expensive objects, one per key (typically one agent workflow per session),
 * that lends them out as {@link Lease leases} and never closes an object that is in use.
 *
 * <p><b>Thread-safety:</b> all methods are safe to call from any number of threads. <b>Ownership:</b> the
 * cache owns every value its loader creates and closes each exactly once, never while leased, on a closer
 * thread it owns (never on the caller's thread while the cache is open). <b>Blocking:</b>
 * {@link #acquire} blocks while the value is being created, by this caller or another one; no lock of the
 * cache is held meanwhile, so it is safe on virtual threads. The other methods do not block, except
 * {@link #close()}, which waits up to the configured bound for open leases.
 *
 * <p><b>Why not a plain Caffeine cache:</b> Caffeine may evict or expire an entry while code still uses it
 * and its removal listener would then close the object under the running code. Here only <em>idle</em>
 * values (no open lease) are ever evicted or expired; a leased value stays, and it goes back (or is closed,
 * if it was invalidated or aged out meanwhile) when its last lease closes. Eviction among idle values uses
 * Caffeine's policy, Window TinyLFU, which keeps the values used often and recently and beats plain LRU on
 * hit rate; expiry is prompt even with no traffic, driven by a scheduler thread the cache owns.
 *
 * <pre>{@code
 * WorkflowCache<String, AgentWorkflow> workflows = WorkflowCache.builder(AgentWorkflow::start)
 *         .maximumSize(32)
 *         .expireAfterAccess(Duration.ofMinutes(15))
 *         .build();
 * try (Lease<AgentWorkflow> lease = workflows.acquire(sessionId)) {
 *     lease.value().run(request);
 * }
 * }</pre>
 *
 * @param <K> the key type; keys must have proper {@code equals} and {@code hashCode}
 * @param <V> the value type
 */
public interface WorkflowCache<K, V> extends AutoCloseable {

    /** Starts a builder for a cache whose values are created by {@code loader}. */
    static <K, V> WorkflowCacheBuilder<K, V> builder(WorkflowLoader<K, V> loader) {
        return new WorkflowCacheBuilder<>(loader);
    }

    /**
     * Leases the value for {@code key}, creating it if there is none. Creation happens at most once at a
     * time per key: concurrent callers for the same key wait for the same creation, which runs on the
     * first caller's thread outside the cache's locks.
     *
     * @throws WorkflowLoadException if the creation this call waited for failed (not cached: the next
     *     call tries again), or if the wait was interrupted (the interrupt flag is set again)
     * @throws CacheClosedException if the cache is closed
     */
    Lease<V> acquire(K key);

    /**
     * Removes the value for {@code key} at once: the next {@link #acquire} creates a fresh one. An idle
     * value is closed now (on the closer thread); a leased one when its last lease closes. A creation in
     * progress completes for the callers waiting for it, and its value is then dropped the same way.
     * Does nothing when the key is absent.
     *
     * @return completes once the removed value has been closed (at once when the key was absent), so a
     *     caller can release what the value used only after it is gone; it completes normally even when
     *     the close threw (that is logged and counted)
     */
    CompletableFuture<Void> invalidate(K key);

    /** A snapshot of the counters. */
    WorkflowCacheStats stats();

    /** The cache's name, as given to {@link WorkflowCacheBuilder#name(String)}: the {@code cache} tag of its metrics. */
    String name();

    /**
     * Closes the cache: {@link #acquire} fails from now on, idle values are closed, and this call waits up
     * to the configured close timeout for open leases to close (their values are closed as they do). A
     * lease still open after that bound has its value closed when it closes, on the thread closing it.
     * The cache's threads are stopped. Idempotent.
     */
    @Override
    void close();
}
