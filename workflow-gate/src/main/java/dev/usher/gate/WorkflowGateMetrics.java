package dev.usher.gate;

import dev.usher.gate.admission.AdmissionStats;
import dev.usher.gate.cache.WorkflowCacheStats;
import dev.usher.gate.ratelimit.RateLimiterStats;
import dev.usher.gate.workspace.WorkspaceStats;
import dev.usher.session.SessionStats;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.DistributionSummary;
import io.micrometer.core.instrument.FunctionCounter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Tags;
import io.micrometer.core.instrument.Timer;
import io.micrometer.core.instrument.binder.MeterBinder;
import java.time.Duration;
import java.util.Objects;
import java.util.Optional;
import java.util.function.Supplier;
import java.util.function.ToDoubleFunction;

/**
 * Exposes a {@link WorkflowGate} to Micrometer under {@code usher.*}:
 * {@code new WorkflowGateMetrics(gate).bindTo(registry)}.
 *
 * <p>Every meter carries the tag {@code gate} (the gate's name) and, for a component that has a name, the
 * component's tag too: {@code queue}, {@code cache} or {@code limiter}. Two gates on one registry are two
 * series, provided their names differ ({@link WorkflowGate.Builder#name(String)}). Waits, runs and the wait
 * estimate's error are {@link Timer}s and the position at entry a {@link DistributionSummary}, all with
 * percentile histogram buckets, so percentiles can be aggregated across instances
 * ({@code histogram_quantile} in Prometheus); counts and gauges come from the components' stats. The
 * README lists every meter.
 *
 * <p>micrometer-core is an optional dependency of workflow-gate: only hosts that use this class need it.
 * Each component's stats snapshot is taken at most once per second however many meters read it, because
 * the session count may cost a store round trip. Binding to several registries is fine; binding one gate
 * twice to the same registry counts its waits and runs twice.
 */
public final class WorkflowGateMetrics implements MeterBinder {
    private static final long SNAPSHOT_NANOS = Duration.ofSeconds(1).toNanos();
    // Waits and runs of LLM agents range from milliseconds to many minutes.
    private static final Duration SHORTEST = Duration.ofMillis(1);
    private static final Duration LONGEST = Duration.ofMinutes(30);

    private final WorkflowGate<?> gate;

    /** Metrics for {@code gate}; nothing is registered until {@link #bindTo(MeterRegistry)}. */
    public WorkflowGateMetrics(WorkflowGate<?> gate) {
        this.gate = Objects.requireNonNull(gate, "gate");
    }

    @Override
    public void bindTo(MeterRegistry registry) {
        Tags gateTags = Tags.of("gate", gate.name());

        Snapshot<SessionStats> sessions = new Snapshot<>(() -> gate.sessions().stats());
        gauge(registry, "usher.sessions.active", "live sessions in the store", gateTags, sessions, SessionStats::active);
        // Not "created": Prometheus reserves the _created suffix (counter creation times) and drops such a series.
        counter(registry, "usher.sessions.opened", "sessions created", gateTags, sessions, SessionStats::created);
        counter(registry, "usher.sessions.ended", "sessions ended", gateTags.and("reason", "deleted"), sessions, SessionStats::endedDeleted);
        counter(registry, "usher.sessions.ended", "sessions ended", gateTags.and("reason", "expired"), sessions, SessionStats::endedExpired);
        counter(registry, "usher.sessions.ended", "sessions ended", gateTags.and("reason", "evicted"), sessions, SessionStats::endedEvicted);
        counter(registry, "usher.sessions.cas.conflicts", "compare-and-set conflicts", gateTags, sessions, SessionStats::casConflicts);
        counter(registry, "usher.sessions.lock.waits", "waits for a session lock", gateTags, sessions, SessionStats::lockWaits);
        counter(registry, "usher.sessions.malformed.ids", "malformed session ids seen", gateTags, sessions, SessionStats::malformedIds);
        Counter storeErrors = Counter.builder("usher.sessions.store.errors")
                .description("session store calls made by the gate that failed").tags(gateTags).register(registry);

        Tags queueTags = gateTags.and("queue", gate.queue().name());
        Snapshot<AdmissionStats> queue = new Snapshot<>(() -> gate.queue().stats());
        gauge(registry, "usher.queue.running", "runs holding a permit", queueTags, queue, AdmissionStats::running);
        gauge(registry, "usher.queue.waiting", "requests waiting in the queue", queueTags, queue, AdmissionStats::queued);
        counter(registry, "usher.queue.admitted", "requests admitted", queueTags, queue, AdmissionStats::admitted);
        counter(registry, "usher.queue.rejected", "requests rejected because the queue was full", queueTags, queue, AdmissionStats::rejected);
        counter(registry, "usher.queue.timed.out", "requests that waited too long", queueTags, queue, AdmissionStats::timedOut);
        counter(registry, "usher.queue.cancelled", "requests that left the queue", queueTags, queue, AdmissionStats::cancelled);
        Timer waits = histogram(Timer.builder("usher.queue.wait"), "wait in the queue of admitted requests")
                .tags(queueTags).register(registry);
        Timer runs = histogram(Timer.builder("usher.queue.run"), "how long admitted requests ran")
                .tags(queueTags).register(registry);
        Timer estimateErrors = histogram(Timer.builder("usher.queue.estimate.error"),
                "|actual wait - wait estimated at entry| of admitted requests that waited")
                .tags(queueTags).register(registry);
        DistributionSummary positions = DistributionSummary.builder("usher.queue.position")
                .description("place in line of requests that had to wait, when they entered (1 = next)")
                .tags(queueTags).publishPercentileHistogram().minimumExpectedValue(1.0)
                .maximumExpectedValue(100_000.0).register(registry);
        // The queue's own accuracy figure, relative to each actual wait: the target is stated as a ratio, which a
        // histogram of absolute errors cannot give.
        gauge(registry, "usher.queue.estimate.relative.error", "median |actual wait - estimate at queueing| / actual wait",
                queueTags.and("quantile", "0.5"), queue, AdmissionStats::estimateRelativeErrorP50);
        gauge(registry, "usher.queue.estimate.relative.error", "p95 |actual wait - estimate at queueing| / actual wait",
                queueTags.and("quantile", "0.95"), queue, AdmissionStats::estimateRelativeErrorP95);

        Tags cacheTags = gateTags.and("cache", gate.workflows().name());
        Snapshot<WorkflowCacheStats> cache = new Snapshot<>(() -> gate.workflows().stats());
        counter(registry, "usher.cache.gets", "acquires", cacheTags.and("result", "hit"), cache, WorkflowCacheStats::hits);
        counter(registry, "usher.cache.gets", "acquires", cacheTags.and("result", "miss"), cache, WorkflowCacheStats::misses);
        counter(registry, "usher.cache.creations", "workflows created", cacheTags, cache, WorkflowCacheStats::creations);
        counter(registry, "usher.cache.creation.failures", "workflow creations that failed", cacheTags, cache, WorkflowCacheStats::creationFailures);
        counter(registry, "usher.cache.evictions", "workflows removed", cacheTags.and("cause", "size"), cache, WorkflowCacheStats::evictedBySize);
        counter(registry, "usher.cache.evictions", "workflows removed", cacheTags.and("cause", "expired"), cache, WorkflowCacheStats::expired);
        counter(registry, "usher.cache.evictions", "workflows removed", cacheTags.and("cause", "invalidated"), cache, WorkflowCacheStats::invalidated);
        counter(registry, "usher.cache.closes", "workflows closed", cacheTags, cache, WorkflowCacheStats::closes);
        counter(registry, "usher.cache.close.failures", "workflow closes that threw", cacheTags, cache, WorkflowCacheStats::closeFailures);
        gauge(registry, "usher.cache.leased", "workflows in use", cacheTags, cache, WorkflowCacheStats::leased);
        gauge(registry, "usher.cache.idle", "workflows cached and idle", cacheTags, cache, WorkflowCacheStats::idle);

        gate.rateLimiter().ifPresent(limiter -> {
            Tags limiterTags = gateTags.and("limiter", limiter.name());
            Snapshot<RateLimiterStats> limits = new Snapshot<>(limiter::stats);
            counter(registry, "usher.ratelimit.decisions", "rate-limit decisions", limiterTags.and("result", "allowed"), limits, RateLimiterStats::allowed);
            counter(registry, "usher.ratelimit.decisions", "rate-limit decisions", limiterTags.and("result", "denied"), limits, RateLimiterStats::denied);
            counter(registry, "usher.ratelimit.store.failures", "shared-store failures", limiterTags, limits, RateLimiterStats::storeFailures);
            counter(registry, "usher.ratelimit.degraded", "decisions made by the store-down policy", limiterTags, limits, RateLimiterStats::degraded);
            gauge(registry, "usher.ratelimit.local.keys", "keys with a local bucket", limiterTags, limits, RateLimiterStats::localKeys);
        });

        gate.workspaces().ifPresent(allocator -> {
            Snapshot<WorkspaceStats> ws = new Snapshot<>(allocator::stats);
            counter(registry, "usher.workspaces.allocated", "workspaces created", gateTags, ws, WorkspaceStats::allocated);
            counter(registry, "usher.workspaces.released", "workspaces released", gateTags, ws, WorkspaceStats::released);
            counter(registry, "usher.workspaces.orphans.swept", "orphan workspaces released", gateTags, ws, WorkspaceStats::orphansSwept);
            counter(registry, "usher.workspaces.writes", "files written", gateTags, ws, WorkspaceStats::writes);
            counter(registry, "usher.workspaces.quota.rejections", "writes refused by a quota", gateTags, ws, WorkspaceStats::quotaRejections);
            counter(registry, "usher.workspaces.unsafe.paths", "user paths refused", gateTags, ws, WorkspaceStats::unsafePaths);
        });

        gate.addRecorder(new GateRecorder() {
            @Override
            public void queued(int position) {
                positions.record(position);
            }

            @Override
            public void admitted(Duration waited, Optional<Duration> estimateAtEnter) {
                waits.record(waited);
                estimateAtEnter.ifPresent(estimate -> estimateErrors.record(waited.minus(estimate).abs()));
            }

            @Override
            public void finished(Duration ran) {
                runs.record(ran);
            }

            @Override
            public void storeFailed() {
                storeErrors.increment();
            }
        });
    }

    private static Timer.Builder histogram(Timer.Builder timer, String help) {
        return timer.description(help).publishPercentileHistogram().minimumExpectedValue(SHORTEST)
                .maximumExpectedValue(LONGEST);
    }

    // Meters hold their state object weakly: the gate (kept by the host) is that object, and the
    // snapshot is captured by the function, so neither is collected while the gate lives.
    private <S> void gauge(MeterRegistry registry, String name, String help, Tags tags, Snapshot<S> stats,
                           ToDoubleFunction<S> value) {
        Gauge.builder(name, gate, g -> value.applyAsDouble(stats.get())).description(help).tags(tags)
                .register(registry);
    }

    private <S> void counter(MeterRegistry registry, String name, String help, Tags tags, Snapshot<S> stats,
                             ToDoubleFunction<S> value) {
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
