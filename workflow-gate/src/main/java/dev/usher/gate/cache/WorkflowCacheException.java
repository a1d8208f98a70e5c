package dev.usher.gate.cache;

/** The root of {@link WorkflowCache}'s exceptions; all are unchecked. */
public class WorkflowCacheException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    public WorkflowCacheException(String message) {
        super(message);
    }

    public WorkflowCacheException(String message, Throwable cause) {
        super(message, cause);
    }
}
