package dev.usher.gate.cache;

import dev.usher.gate.GateException;

/** The root of {@link WorkflowCache}'s exceptions; all are unchecked and created only by the cache. */
public abstract sealed class WorkflowCacheException extends GateException
        permits CacheClosedException, WorkflowLoadException {
    private static final long serialVersionUID = 1L;

    WorkflowCacheException(String message) {
        super(message);
    }

    WorkflowCacheException(String message, Throwable cause) {
        super(message, cause);
    }
}
