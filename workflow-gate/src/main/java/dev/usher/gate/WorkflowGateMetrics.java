package dev.usher.gate;

import dev.usher.gate.admission.AdmissionStats;
import dev.usher.gate.cache.WorkflowCacheStats;
import dev.usher.gate.ratelimit.RateLimiterStats;
import dev.usher.gate.workspace.WorkspaceStats;
import dev.usher.session.SessionStats;
import io.micrometer.core.instrument.FunctionCounter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.binder.MeterBinder;
import java.time.Duration;
import java.util.Objects;
import java.util.function.Supplier;
import java.util.function.ToDoubleFunction;

/**
 * Exposes every component's stats of a {@link WorkflowGate} to Micrometer, under {@code usher.*}:
 * {@code new WorkflowGateMetrics(gate).bindTo(registry)}.
 *
 * <p>micrometer-core is an optional dependency of workflow-gate: only hosts that use this class need it.
 * Each component's stats snapshot is taken at most once per second however many meters read it, because
 * the session count may cost a store round trip.
 */
public final class WorkflowGateMetrics implements MeterBinder {
    private static final long SNAPSHOT_NANOS = Duration.ofSeconds(1).toNanos();

    private final WorkflowGate<?> gate;

    public WorkflowGateMetrics(WorkflowGate<?> gate) {
        this.gate = Objects.requireNonNull(gate, "gate");
    }

    @Override
    public void bindTo(MeterRegistry registry) {
        Snapshot<SessionStats> sessions = new Snapshot<>(() -> gate.sessions().stats());
        gauge(registry, "usher.sessions.active", "live sessions in the store", sessions, SessionStats::active);
        counter(registry, "usher.sessions.opened", "sessions created", sessions, SessionStats::created);
        counter(registry, "usher.sessions.ended", "sessions ended", sessions, SessionStats::endedDeleted, "reason", "deleted");
        counter(registry, "usher.sessions.ended", "sessions ended", sessions, SessionStats::endedExpired, "reason", "expired");
        counter(registry, "usher.sessions.ended", "sessions ended", sessions, SessionStats::endedEvicted, "reason", "evicted");
        counter(registry, "usher.sessions.cas.conflicts", "compare-and-set conflicts", sessions, SessionStats::casConflicts);
        counter(registry, "usher.sessions.lock.waits", "waits for a session lock", sessions, SessionStats::lockWaits);
        counter(registry, "usher.sessions.malformed.ids", "malformed session ids seen", sessions, SessionStats::malformedIds);

        Snapshot<AdmissionStats> queue = new Snapshot<>(() -> gate.queue().stats());
        gauge(registry, "usher.queue.running", "runs holding a permit", queue, AdmissionStats::running);
        gauge(registry, "usher.queue.waiting", "requests waiting in the queue", queue, AdmissionStats::queued);
        counter(registry, "usher.queue.admitted", "requests admitted", queue, AdmissionStats::admitted);
        counter(registry, "usher.queue.rejected", "requests rejected because the queue was full", queue, AdmissionStats::rejected);
        counter(registry, "usher.queue.timed.out", "requests that waited too long", queue, AdmissionStats::timedOut);
        counter(registry, "usher.queue.cancelled", "requests that left the queue", queue, AdmissionStats::cancelled);
        gauge(registry, "usher.queue.wait.seconds", "wait in the queue", queue, s -> seconds(s.waitP50()), "quantile", "0.5");
        gauge(registry, "usher.queue.wait.seconds", "wait in the queue", queue, s -> seconds(s.waitP95()), "quantile", "0.95");
        gauge(registry, "usher.queue.wait.seconds", "wait in the queue", queue, s -> seconds(s.waitP99()), "quantile", "0.99");
        gauge(registry, "usher.queue.estimate.error.seconds", "mean absolute error of wait estimates", queue,
                s -> seconds(s.estimateMeanAbsoluteError()));
        gauge(registry, "usher.queue.estimate.abs.error.seconds", "|actual wait - estimate at queueing|", queue,
                s -> seconds(s.estimateErrorP50()), "quantile", "0.5");
        gauge(registry, "usher.queue.estimate.abs.error.seconds", "|actual wait - estimate at queueing|", queue,
                s -> seconds(s.estimateErrorP95()), "quantile", "0.95");
        gauge(registry, "usher.queue.estimate.relative.error", "|actual wait - estimate at queueing| / actual wait",
                queue, AdmissionStats::estimateRelativeErrorP50, "quantile", "0.5");
        gauge(registry, "usher.queue.estimate.relative.error", "|actual wait - estimate at queueing| / actual wait",
                queue, AdmissionStats::estimateRelativeErrorP95, "quantile", "0.95");

        Snapshot<WorkflowCacheStats> cache = new Snapshot<>(() -> gate.workflows().stats());
        counter(registry, "usher.workflows.hits", "acquires served by a cached workflow", cache, WorkflowCacheStats::hits);
        counter(registry, "usher.workflows.misses", "acquires that created a workflow", cache, WorkflowCacheStats::misses);
        counter(registry, "usher.workflows.creations", "workflows created", cache, WorkflowCacheStats::creations);
        counter(registry, "usher.workflows.creation.failures", "workflow creations that failed", cache, WorkflowCacheStats::creationFailures);
        counter(registry, "usher.workflows.removed", "workflows removed", cache, WorkflowCacheStats::evictedBySize, "cause", "size");
        counter(registry, "usher.workflows.removed", "workflows removed", cache, WorkflowCacheStats::expired, "cause", "expired");
        counter(registry, "usher.workflows.removed", "workflows removed", cache, WorkflowCacheStats::invalidated, "cause", "invalidated");
        counter(registry, "usher.workflows.closes", "workflows closed", cache, WorkflowCacheStats::closes);
        counter(registry, "usher.workflows.close.failures", "workflow closes that threw", cache, WorkflowCacheStats::closeFailures);
        gauge(registry, "usher.workflows.leased", "workflows in use", cache, WorkflowCacheStats::leased);
        gauge(registry, "usher.workflows.idle", "workflows cached and idle", cache, WorkflowCacheStats::idle);

        gate.rateLimiter().ifPresent(limiter -> {
            Snapshot<RateLimiterStats> limits = new Snapshot<>(limiter::stats);
            counter(registry, "usher.ratelimit.decisions", "rate-limit decisions", limits, RateLimiterStats::allowed, "result", "allowed");
            counter(registry, "usher.ratelimit.decisions", "rate-limit decisions", limits, RateLimiterStats::denied, "result", "denied");
            counter(registry, "usher.ratelimit.store.failures", "shared-store failures", limits, RateLimiterStats::storeFailures);
            counter(registry, "usher.ratelimit.degraded", "decisions made by the store-down policy", limits, RateLimiterStats::degraded);
            gauge(registry, "usher.ratelimit.local.keys", "keys with a local bucket", limits, RateLimiterStats::localKeys);
        });

        gate.workspaces().ifPresent(allocator -> {
            Snapshot<WorkspaceStats> ws = new Snapshot<>(allocator::stats);
            counter(registry, "usher.workspaces.allocated", "workspaces created", ws, WorkspaceStats::allocated);
            counter(registry, "usher.workspaces.released", "workspaces released", ws, WorkspaceStats::released);
            counter(registry, "usher.workspaces.orphans.swept", "orphan workspaces released", ws, WorkspaceStats::orphansSwept);
            counter(registry, "usher.workspaces.writes", "files written", ws, WorkspaceStats::writes);
            counter(registry, "usher.workspaces.quota.rejections", "writes refused by a quota", ws, WorkspaceStats::quotaRejections);
            counter(registry, "usher.workspaces.unsafe.paths", "user paths refused", ws, WorkspaceStats::unsafePaths);
        });
    }

    private static double seconds(Duration d) {
        return d.toNanos() / 1e9;
    }

    // Meters hold their state object weakly: the gate (kept by the host) is that object, and the
    // snapshot is captured by the function, so neither is collected while the gate lives.
    private <S> void gauge(MeterRegistry registry, String name, String help, Snapshot<S> stats,
                           ToDoubleFunction<S> value, String... tags) {
        Gauge.builder(name, gate, g -> value.applyAsDouble(stats.get())).description(help).tags(tags)
                .register(registry);
    }

    private <S> void counter(MeterRegistry registry, String name, String help, Snapshot<S> stats,
                             ToDoubleFunction<S> value, String... tags) {
        FunctionCounter.builder(name, gate, g -> value.applyAsDouble(stats.get())).description(help).tags(tags)
                .register(registry);
    }

    /** The latest stats snapshot, refreshed when older than a second. */
    private static final class Snapshot<S> {
        private final Supplier<S> source;
        private volatile S value;
        private volatile long takenAt;

        Snapshot(Supplier<S> source) {
            this.source = source;
        }

        S get() {
            long now = System.nanoTime();
            S current = value;
            if (current == null || now - takenAt > SNAPSHOT_NANOS) {
                current = source.get();
                value = current;
                takenAt = now;
            }
            return current;
        }
    }
}
