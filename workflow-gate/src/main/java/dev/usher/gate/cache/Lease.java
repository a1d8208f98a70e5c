package dev.usher.gate.cache;

/**
 * The right to use one cached value until {@link #close()}; the value is not closed, evicted or expired
 * while any lease on it is open.
 *
 * <p>Thread-safe. The holder of the lease owns it and must close it exactly once, best with
 * try-with-resources; closing again does nothing. Closing never blocks: if the value has to be closed
 * (it was invalidated or evicted meanwhile), that happens on the cache's own closer thread.
 *
 * @param <V> the type of the cached value
 */
public interface Lease<V> extends AutoCloseable {

    /**
     * The leased value.
     *
     * @throws IllegalStateException if this lease was already closed
     */
    V value();

    /** Gives the value back to the cache; only the first call has an effect. */
    @Override
    void close();
}
