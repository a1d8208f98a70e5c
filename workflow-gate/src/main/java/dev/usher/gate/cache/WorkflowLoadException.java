package dev.usher.gate.cache;

/**
 * Creating a value failed (the loader threw or returned null), or the wait for a creation was interrupted.
 * The cause is the loader's exception; every caller that waited for the same creation gets the same cause.
 * Nothing is cached: the next {@link WorkflowCache#acquire acquire} of the key tries again.
 */
public final class WorkflowLoadException extends WorkflowCacheException {
    private static final long serialVersionUID = 1L;

    WorkflowLoadException(String message, Throwable cause) {
        super(message, cause);
    }
}
