package dev.usher.gate.cache;

import com.github.benmanes.caffeine.cache.Weigher;
import dev.usher.session.Durations;
import java.time.Duration;
import java.util.Objects;
import java.util.function.LongSupplier;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ThreadFactory;

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
    static <K, V> Builder<K, V> builder(WorkflowLoader<K, V> loader) {
        return new Builder<>(loader);
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

    /** The cache's name, as given to {@link Builder#name(String)}: the {@code cache} tag of its metrics. */
    String name();

    /**
     * Closes the cache: {@link #acquire} fails from now on, idle values are closed, and this call waits up
     * to the configured close timeout for open leases to close (their values are closed as they do). A
     * lease still open after that bound has its value closed when it closes, on the thread closing it.
     * The cache's threads are stopped. Idempotent.
     */
    @Override
    void close();

    /**
     * Configures and builds a {@link WorkflowCache}. A size bound is required: either
     * {@link #maximumSize(long)} or {@link #maximumWeight(long, Weigher)}; everything else has a default.
     *
     * <p>Not thread-safe; use it from one thread, then share the cache it builds. Every setter validates at
     * once and throws {@link IllegalArgumentException} or {@link IllegalStateException} naming the bad value.
     *
     * @param <K> the key type
     * @param <V> the value type
     */
    final class Builder<K, V> {
        static final Duration DEFAULT_CLOSE_TIMEOUT = Duration.ofSeconds(30);

        final WorkflowLoader<K, V> loader;
        long maximumSize = -1;
        long maximumWeight = -1;
        Weigher<? super K, ? super V> weigher;
        Duration expireAfterAccess;
        Duration expireAfterWrite;
        ValueCloser<? super V> closer = ValueCloser.autoCloseable();
        LongSupplier ticker = System::nanoTime;
        Duration closeTimeout = DEFAULT_CLOSE_TIMEOUT;
        String name = "workflows";
        ThreadFactory threadFactory;

        private Builder(WorkflowLoader<K, V> loader) {
            this.loader = Objects.requireNonNull(loader, "loader");
        }

        /**
         * A name for the {@code cache} tag of the cache's metrics: 1 to 64 letters, digits, '-' or '_'. Default
         * "workflows".
         */
        public Builder<K, V> name(String name) {
            Objects.requireNonNull(name, "name");
            if (!name.matches("[A-Za-z0-9_-]{1,64}")) {
                throw new IllegalArgumentException("name must be 1 to 64 letters, digits, '-' or '_' but was '" + name + "'");
            }
            this.name = name;
            return this;
        }

        /**
         * At most this many idle values are kept (leased values do not count and are never evicted); beyond
         * it, Window TinyLFU picks the idle value to evict. At least 1: a cache that keeps nothing would close
         * and recreate the expensive value on every request.
         */
        public Builder<K, V> maximumSize(long maximumSize) {
            checkNoBound();
            if (maximumSize < 1) {
                throw new IllegalArgumentException("maximumSize must be at least 1 but was " + maximumSize
                        + " (a cache that keeps nothing would recreate the value on every request)");
            }
            this.maximumSize = maximumSize;
            return this;
        }

        /**
         * The idle values' weights, as given by {@code weigher} when a value becomes idle, add up to at most
         * {@code maximumWeight}. Use it when values differ a lot in cost (e.g. GPU memory in MiB).
         */
        public Builder<K, V> maximumWeight(long maximumWeight, Weigher<? super K, ? super V> weigher) {
            checkNoBound();
            if (maximumWeight < 1) {
                throw new IllegalArgumentException("maximumWeight must be at least 1 but was " + maximumWeight
                        + " (a cache that keeps nothing would recreate the value on every request)");
            }
            this.maximumWeight = maximumWeight;
            this.weigher = Objects.requireNonNull(weigher, "weigher");
            return this;
        }

        /** An idle value is removed and closed once it has not been leased for this long. Default: never. */
        public Builder<K, V> expireAfterAccess(Duration idle) {
            this.expireAfterAccess = positive("expireAfterAccess", idle, this.expireAfterAccess);
            return this;
        }

        /**
         * Maximum age: a value is removed and closed once this long has passed since it was created; a value
         * leased at that moment is removed when its last lease closes. Default: never.
         */
        public Builder<K, V> expireAfterWrite(Duration maximumAge) {
            this.expireAfterWrite = positive("expireAfterWrite", maximumAge, this.expireAfterWrite);
            return this;
        }

        /** How a value is closed. Default: {@link ValueCloser#autoCloseable()}. */
        public Builder<K, V> closer(ValueCloser<? super V> closer) {
            this.closer = Objects.requireNonNull(closer, "closer");
            return this;
        }

        /**
         * The source of nanosecond time for expiry and creation time, for tests. Default
         * {@link System#nanoTime()}.
         */
        public Builder<K, V> ticker(LongSupplier nanoTicker) {
            this.ticker = Objects.requireNonNull(nanoTicker, "nanoTicker");
            return this;
        }

        /** How long {@link WorkflowCache#close()} waits for open leases. Default: 30 seconds. */
        public Builder<K, V> closeTimeout(Duration timeout) {
            this.closeTimeout = Durations.requireAtLeast("closeTimeout", timeout, Duration.ZERO);
            return this;
        }

        /**
         * Where the cache's two threads (maintenance/expiry and closer) come from. Default: platform daemon
         * threads named {@code usher-workflow-cache-<n>-maintenance} and {@code -closer}. Pass the host's
         * factory for virtual threads, its naming or MDC; the host then owns what the factory does.
         */
        public Builder<K, V> threadFactory(ThreadFactory factory) {
            this.threadFactory = Objects.requireNonNull(factory, "threadFactory");
            return this;
        }

        /**
         * Builds the cache and starts its two threads (maintenance/expiry and closer), which
         * {@link WorkflowCache#close()} stops.
         *
         * @throws IllegalStateException if neither a maximum size nor a maximum weight was set
         */
        public WorkflowCache<K, V> build() {
            if (maximumSize < 0 && maximumWeight < 0) {
                throw new IllegalStateException("a maximum size or a maximum weight is required but neither was set");
            }
            return new DefaultWorkflowCache<>(this);
        }

        private void checkNoBound() {
            if (maximumSize >= 0) {
                throw new IllegalStateException("maximumSize was already set to " + maximumSize);
            }
            if (maximumWeight >= 0) {
                throw new IllegalStateException("maximumWeight was already set to " + maximumWeight);
            }
        }

        private static Duration positive(String what, Duration value, Duration previous) {
            Objects.requireNonNull(value, what);
            if (previous != null) {
                throw new IllegalStateException(what + " was already set to " + Durations.format(previous));
            }
            if (value.isNegative() || value.isZero()) {
                throw new IllegalArgumentException(what + " must be positive but was " + Durations.format(value));
            }
            return value;
        }
    }
}
