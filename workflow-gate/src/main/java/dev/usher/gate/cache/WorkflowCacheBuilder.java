package dev.usher.gate.cache;

import com.github.benmanes.caffeine.cache.Ticker;
import com.github.benmanes.caffeine.cache.Weigher;
import dev.usher.session.Durations;
import java.time.Duration;
import java.util.Objects;
import java.util.concurrent.ThreadFactory;

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
public final class WorkflowCacheBuilder<K, V> {
    static final Duration DEFAULT_CLOSE_TIMEOUT = Duration.ofSeconds(30);

    final WorkflowLoader<K, V> loader;
    long maximumSize = -1;
    long maximumWeight = -1;
    Weigher<? super K, ? super V> weigher;
    Duration expireAfterAccess;
    Duration expireAfterWrite;
    ValueCloser<? super V> closer = ValueCloser.autoCloseable();
    Ticker ticker = Ticker.systemTicker();
    Duration closeTimeout = DEFAULT_CLOSE_TIMEOUT;
    String name = "workflows";
    ThreadFactory threadFactory;

    WorkflowCacheBuilder(WorkflowLoader<K, V> loader) {
        this.loader = Objects.requireNonNull(loader, "loader");
    }

    /**
     * A name for the {@code cache} tag of the cache's metrics: 1 to 64 letters, digits, '-' or '_'. Default
     * "workflows".
     */
    public WorkflowCacheBuilder<K, V> name(String name) {
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
    public WorkflowCacheBuilder<K, V> maximumSize(long maximumSize) {
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
    public WorkflowCacheBuilder<K, V> maximumWeight(long maximumWeight, Weigher<? super K, ? super V> weigher) {
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
    public WorkflowCacheBuilder<K, V> expireAfterAccess(Duration idle) {
        this.expireAfterAccess = positive("expireAfterAccess", idle, this.expireAfterAccess);
        return this;
    }

    /**
     * Maximum age: a value is removed and closed once this long has passed since it was created; a value
     * leased at that moment is removed when its last lease closes. Default: never.
     */
    public WorkflowCacheBuilder<K, V> expireAfterWrite(Duration maximumAge) {
        this.expireAfterWrite = positive("expireAfterWrite", maximumAge, this.expireAfterWrite);
        return this;
    }

    /** How a value is closed. Default: {@link ValueCloser#autoCloseable()}. */
    public WorkflowCacheBuilder<K, V> closer(ValueCloser<? super V> closer) {
        this.closer = Objects.requireNonNull(closer, "closer");
        return this;
    }

    /** The time source for expiry and creation time. Default: {@link Ticker#systemTicker()}. */
    public WorkflowCacheBuilder<K, V> ticker(Ticker ticker) {
        this.ticker = Objects.requireNonNull(ticker, "ticker");
        return this;
    }

    /** How long {@link WorkflowCache#close()} waits for open leases. Default: 30 seconds. */
    public WorkflowCacheBuilder<K, V> closeTimeout(Duration timeout) {
        Objects.requireNonNull(timeout, "closeTimeout");
        if (timeout.isNegative()) {
            throw new IllegalArgumentException("closeTimeout must not be negative but was " + Durations.format(timeout));
        }
        this.closeTimeout = timeout;
        return this;
    }

    /**
     * Where the cache's two threads (maintenance/expiry and closer) come from. Default: platform daemon
     * threads named {@code usher-workflow-cache-<n>-maintenance} and {@code -closer}. Pass the host's
     * factory for virtual threads, its naming or MDC; the host then owns what the factory does.
     */
    public WorkflowCacheBuilder<K, V> threadFactory(ThreadFactory factory) {
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
            throw new IllegalStateException("a maximum size or a maximum weight is required");
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
