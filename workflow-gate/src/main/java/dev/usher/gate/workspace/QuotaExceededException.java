package dev.usher.gate.workspace;

/**
 * A write would take a workspace over one of its quotas; nothing was written and the old content, if
 * any, is untouched.
 */
public final class QuotaExceededException extends WorkspaceException {
    private static final long serialVersionUID = 1L;

    private final String limitName;
    private final long limit;

    QuotaExceededException(String message, String limitName, long limit) {
        super(message);
        this.limitName = limitName;
        this.limit = limit;
    }

    /** The builder setting that was hit: {@code "maxBytes"} or {@code "maxFiles"}. */
    public String limitName() {
        return limitName;
    }

    /** The value of that setting. */
    public long limit() {
        return limit;
    }
}
