package dev.usher.gate;

import dev.usher.gate.background.BackgroundThreads;
import dev.usher.gate.cache.WorkflowCache;
import dev.usher.gate.workspace.WorkspaceAllocator;
import dev.usher.session.EndReason;
import dev.usher.session.Session;
import dev.usher.session.SessionListener;
import java.time.Duration;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.ThreadFactory;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The gate's wiring of session ends: when a session ends its workflow is invalidated (closed once its last
 * lease closes) and then its workspace released, on a thread of its own ({@code usher-gate-workspace-release},
 * or one from the host's factory) since that deletes a directory tree and must stay off the cache's closer thread; when a session's id
 * changes, the workflow cached under the old id is invalidated. Thread-safe; owned by the gate.
 */
final class SessionEndings<W> implements SessionListener {
    private static final Logger log = LoggerFactory.getLogger(SessionEndings.class);

    private final WorkflowCache<String, W> workflows;
    private final WorkspaceAllocator workspaces;
    private final ExecutorService releaser;
    private volatile boolean stopped;

    SessionEndings(WorkflowCache<String, W> workflows, WorkspaceAllocator workspaces, ThreadFactory hostThreads) {
        this.workflows = workflows;
        this.workspaces = workspaces;
        this.releaser = workspaces == null ? null
                : BackgroundThreads.serial(BackgroundThreads.orDaemon(hostThreads, "usher-gate-workspace-release"));
    }

    @Override
    public void ended(Session session, EndReason reason) {
        workflows.invalidate(session.id()).whenComplete((ignored, error) -> releaseWorkspace(session));
    }

    @Override
    public void idChanged(String oldId, Session renamed) {
        workflows.invalidate(oldId);
    }

    private void releaseWorkspace(Session session) {
        if (workspaces == null || stopped) {
            return;
        }
        releaser.execute(() -> {
            try {
                workspaces.release(session);
            } catch (RuntimeException e) {
                // The allocator's orphan sweep finds what could not be released now.
                log.warn("releasing the workspace of {} failed: {}", session, e.toString());
            }
        });
    }

    /** No release is started from now on (the gate is closing). */
    void stop() {
        stopped = true;
    }

    /** Waits, up to 30 s, for the releases already started, then closes the allocator. */
    void finishReleases() {
        if (releaser != null) {
            BackgroundThreads.shutdownAndAwait(releaser, false, Duration.ofSeconds(30), "workspace releases");
            workspaces.close();
        }
    }
}
