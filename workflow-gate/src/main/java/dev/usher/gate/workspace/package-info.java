/**
 * One directory per session under a root, with safe user paths inside it, durable writes, quotas and
 * cleanup. Start at {@link dev.usher.gate.workspace.WorkspaceAllocator}.
 *
 * <p>Parameters and return values are never {@code null} unless a method says otherwise.
 */
package dev.usher.gate.workspace;
