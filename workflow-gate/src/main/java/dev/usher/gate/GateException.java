package dev.usher.gate;

/**
 * The root of every exception workflow-gate throws for its own reasons (all unchecked):
 * {@link dev.usher.gate.admission.QueueFullException}, {@link dev.usher.gate.cache.WorkflowCacheException}
 * ({@link dev.usher.gate.cache.CacheClosedException}, {@link dev.usher.gate.cache.WorkflowLoadException})
 * {@link dev.usher.gate.workspace.WorkspaceException}
 * ({@link dev.usher.gate.workspace.QuotaExceededException}, {@link dev.usher.gate.workspace.UnsafePathException}),
 * {@link dev.usher.gate.ratelimit.RateLimitStoreException}, and workflow-gate-redis's
 * {@code AdmissionUnavailableException}.
 * Catch it to handle any gate failure in one place; catch a subclass for its typed accessors.
 *
 * <p>Bad arguments and settings are reported with the JDK's {@link IllegalArgumentException} /
 * {@link IllegalStateException}, worded "&lt;setting&gt; must be … but was …"; session store failures keep
 * session-core's {@code SessionStoreException}. Only Usher creates these: subclasses outside Usher are
 * not supported.
 */
public abstract class GateException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    protected GateException(String message) {
        super(message);
    }

    protected GateException(String message, Throwable cause) {
        super(message, cause);
    }
}
