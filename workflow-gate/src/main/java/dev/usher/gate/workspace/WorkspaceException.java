package dev.usher.gate.workspace;

import dev.usher.gate.GateException;

/**
 * The root of the workspace exceptions; all are unchecked. Thrown as such when the file system fails
 * (the cause is the {@link java.io.IOException}) or a workspace cannot be allocated.
 */
public sealed class WorkspaceException extends GateException permits QuotaExceededException, UnsafePathException {
    private static final long serialVersionUID = 1L;

    WorkspaceException(String message) {
        super(message);
    }

    WorkspaceException(String message, Throwable cause) {
        super(message, cause);
    }
}
