package dev.usher.gate.workspace;

import java.util.concurrent.atomic.LongAdder;

/** The counters behind {@link WorkspaceStats}, shared by an allocator and its workspaces. */
final class Counters {
    final LongAdder allocated = new LongAdder();
    final LongAdder reused = new LongAdder();
    final LongAdder raceLosses = new LongAdder();
    final LongAdder released = new LongAdder();
    final LongAdder orphansSwept = new LongAdder();
    final LongAdder writes = new LongAdder();
    final LongAdder quotaRejections = new LongAdder();
    final LongAdder unsafePaths = new LongAdder();

    WorkspaceStats snapshot() {
        return new WorkspaceStats(allocated.sum(), reused.sum(), raceLosses.sum(), released.sum(),
                orphansSwept.sum(), writes.sum(), quotaRejections.sum(), unsafePaths.sum());
    }
}
