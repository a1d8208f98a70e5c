package dev.usher.gate.workspace;

/**
 * A snapshot of a {@link WorkspaceAllocator}'s counters since it was built.
 *
 * @param allocated          directories created for sessions
 * @param reused             {@code workspaceFor} calls answered with the session's existing directory
 * @param raceLosses         fresh directories given back because another thread or instance recorded
 *                           one for the same session first
 * @param released           workspaces deleted or archived by {@code release} or the sweep
 * @param orphansSwept       removed by the orphan sweep: workspaces no live session maps to (also counted
 *                           in {@code released}) and empty directories an allocation left half-made
 * @param writes             successful writes
 * @param quotaRejections    writes refused by a quota
 * @param unsafePaths        user paths refused as unsafe
 */
public record WorkspaceStats(
        long allocated,
        long reused,
        long raceLosses,
        long released,
        long orphansSwept,
        long writes,
        long quotaRejections,
        long unsafePaths) {
}
