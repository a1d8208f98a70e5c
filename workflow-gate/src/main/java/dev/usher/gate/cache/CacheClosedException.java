package dev.usher.gate.cache;

/** {@link WorkflowCache#acquire acquire} was called on a cache that is closed or closing. */
public final class CacheClosedException extends WorkflowCacheException {
    private static final long serialVersionUID = 1L;

    CacheClosedException(String message) {
        super(message);
    }
}
