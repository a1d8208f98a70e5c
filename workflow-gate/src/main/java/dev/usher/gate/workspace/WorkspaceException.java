package dev.usher.gate.workspace;

/**
 * The root of the workspace exceptions; all are unchecked. Thrown as such when the file system fails
 * (the cause is the {@link java.io.IOException}) or a workspace cannot be allocated.
 */
public class WorkspaceException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    public WorkspaceException(String message) {
        super(message);
    }

    public WorkspaceException(String message, Throwable cause) {
        super(message, cause);
    }
}
