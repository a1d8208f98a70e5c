package dev.usher.gate.cache;

/**
 * Releases the resources of a value the cache no longer holds. Called exactly once per value, never while a
 * lease on it is open, on the cache's closer thread. An exception it throws is logged and counted in
 * {@link WorkflowCacheStats#closeFailures()}, never propagated.
 *
 * @param <V> the value type
 */
@FunctionalInterface
public interface ValueCloser<V> {

    /** Closes {@code value}. */
    void close(V value) throws Exception;

    /** The default: {@link AutoCloseable#close()} for values that implement it, nothing for the others. */
    static <V> ValueCloser<V> autoCloseable() {
        return value -> {
            if (value instanceof AutoCloseable closeable) {
                closeable.close();
            }
        };
    }
}
