package dev.usher.gate.cache;

/** {@link WorkflowCache#acquire acquire} was called on a cache that is closed or closing. */
public class CacheClosedException extends WorkflowCacheException {
    private static final long serialVersionUID = 1L;

    public CacheClosedException(String message) {
        super(message);
    }
}
