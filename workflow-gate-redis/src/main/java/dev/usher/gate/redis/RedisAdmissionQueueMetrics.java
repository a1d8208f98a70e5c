package dev.usher.gate.redis;

import dev.usher.gate.admission.AdmissionStats;
import io.micrometer.core.instrument.FunctionCounter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.binder.MeterBinder;
import java.util.Objects;
import java.util.function.ToDoubleFunction;

/**
 * Exposes a {@link RedisAdmissionQueue} to Micrometer under {@code usher.queue.cluster.*}, tagged
 * {@code queue=<name>}: {@code new RedisAdmissionQueueMetrics(queue).bindTo(registry)}. Running and waiting
 * are the whole cluster's; {@code usher.queue.redis.available} is 1 while calls reach Redis.
 *
 * <p>micrometer-core is an optional dependency: only hosts that use this class need it. The cluster figures
 * cost one round trip, taken at most once per second however many meters read them.
 */
public final class RedisAdmissionQueueMetrics implements MeterBinder {
    private static final long SNAPSHOT_NANOS = 1_000_000_000L;

    private final DefaultRedisAdmissionQueue queue;
    private volatile AdmissionStats snapshot;
    private volatile long takenAt;

    public RedisAdmissionQueueMetrics(RedisAdmissionQueue queue) {
        Objects.requireNonNull(queue, "queue");
        if (!(queue instanceof DefaultRedisAdmissionQueue q)) {
            throw new IllegalArgumentException("queue must be built by RedisAdmissionQueue.builder but was " + queue.getClass());
        }
        this.queue = q;
    }

    @Override
    public void bindTo(MeterRegistry registry) {
        gauge(registry, "usher.queue.cluster.running", "permits out across the cluster", s -> stats().running());
        gauge(registry, "usher.queue.cluster.waiting", "tickets waiting across the cluster", s -> stats().queued());
        gauge(registry, "usher.queue.local.waiting", "tickets of this instance waiting", s -> s.localWaiting());
        gauge(registry, "usher.queue.redis.available", "1 while calls reach Redis", s -> s.available() ? 1 : 0);
        counter(registry, "usher.queue.cluster.admitted", "tickets admitted across the cluster", s -> stats().admitted());
        counter(registry, "usher.queue.cluster.rejected", "enters refused as full across the cluster", s -> stats().rejected());
        counter(registry, "usher.queue.cluster.timed.out", "tickets timed out across the cluster", s -> stats().timedOut());
        counter(registry, "usher.queue.cluster.cancelled", "tickets that left across the cluster", s -> stats().cancelled());
        counter(registry, "usher.queue.leases.lost", "times this instance found its lease gone", s -> s.leasesLost());
        counter(registry, "usher.queue.fallback.enters", "enters served by the local fallback while Redis was away",
                s -> s.fallbackEnters());
    }

    private AdmissionStats stats() {
        long now = System.nanoTime();
        AdmissionStats s = snapshot;
        if (s == null || now - takenAt > SNAPSHOT_NANOS) {
            s = queue.stats();
            snapshot = s;
            takenAt = now;
        }
        return s;
    }

    private void gauge(MeterRegistry registry, String name, String help, ToDoubleFunction<DefaultRedisAdmissionQueue> f) {
        Gauge.builder(name, queue, f).description(help).tag("queue", queue.name()).register(registry);
    }

    private void counter(MeterRegistry registry, String name, String help, ToDoubleFunction<DefaultRedisAdmissionQueue> f) {
        FunctionCounter.builder(name, queue, f).description(help).tag("queue", queue.name()).register(registry);
    }
}
