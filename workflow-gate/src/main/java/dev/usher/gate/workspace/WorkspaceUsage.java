package dev.usher.gate.workspace;

/**
 * What a workspace holds against its quotas, as this process counts it.
 *
 * @param bytes    total size of the regular files
 * @param entries  files and directories below the workspace directory
 * @param maxBytes the {@code maxBytes} quota
 * @param maxFiles the {@code maxFiles} quota, which counts files and directories
 */
public record WorkspaceUsage(long bytes, long entries, long maxBytes, long maxFiles) {
}
