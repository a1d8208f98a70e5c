package dev.usher.gate.cache;

/** {@link WorkflowCache#acquire acquire} was called on a cache that is closed or closing. */
public class CacheClosedException extends WorkflowCacheException {
    public CacheClosedException(String message) {
        super(message);
    }
}
