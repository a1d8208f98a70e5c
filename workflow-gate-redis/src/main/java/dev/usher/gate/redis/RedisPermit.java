package dev.usher.gate.redis;

import java.time.Duration;
import java.util.concurrent.atomic.AtomicBoolean;

/** A lease on one slot; its id is its ticket's id. */
final class RedisPermit implements FencedPermit {
    private final DefaultRedisAdmissionQueue queue;
    final String id;
    private final String key;
    private final long fence;
    private final Duration waited;
    private final AtomicBoolean closed = new AtomicBoolean();

    RedisPermit(DefaultRedisAdmissionQueue queue, String id, String key, long fence, Duration waited) {
        this.queue = queue;
        this.id = id;
        this.key = key;
        this.fence = fence;
        this.waited = waited;
    }

    @Override
    public String key() {
        return key;
    }

    @Override
    public Duration waited() {
        return waited;
    }

    @Override
    public long fencingToken() {
        return fence;
    }

    @Override
    public void close() {
        if (closed.compareAndSet(false, true)) {
            queue.release(id);
        }
    }

    @Override
    public String toString() {
        return "Permit[" + (closed.get() ? "closed" : "open") + ", fence " + fence + "]";
    }
}
