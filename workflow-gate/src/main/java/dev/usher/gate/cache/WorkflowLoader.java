package dev.usher.gate.cache;

/**
 * Creates the value for a key. It may be slow and may throw; the cache calls it on the thread of the
 * first {@link WorkflowCache#acquire acquire} that misses, outside of every lock of the cache, while
 * other callers for the same key wait for that one creation.
 *
 * @param <K> the key type
 * @param <V> the value type
 */
@FunctionalInterface
public interface WorkflowLoader<K, V> {

    /**
     * Creates the value for {@code key}; never returns null.
     *
     * @throws Exception any failure; it reaches every caller waiting for this creation as the cause of a
     *     {@link WorkflowLoadException}, and nothing is cached
     */
    V load(K key) throws Exception;
}
