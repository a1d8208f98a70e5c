package dev.usher.gate;

import static dev.usher.session.Await.awaitCondition;
import static org.assertj.core.api.Assertions.assertThat;

import dev.usher.gate.admission.AdmissionQueue;
import dev.usher.gate.cache.WorkflowCache;
import dev.usher.gate.ratelimit.Limit;
import dev.usher.gate.ratelimit.RateLimiter;
import dev.usher.session.ForwardingSessionStore;
import dev.usher.session.Session;
import dev.usher.session.SessionManager;
import dev.usher.session.StoreUnavailableException;
import dev.usher.session.memory.InMemorySessionStore;
import io.micrometer.core.instrument.FunctionCounter;
import io.micrometer.core.instrument.Meter;
import io.micrometer.core.instrument.Timer;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.stream.Collectors;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

class WorkflowGateMetricsTest {
    private final List<WorkflowGate<AutoCloseable>> gates = new ArrayList<>();
    private final SimpleMeterRegistry registry = new SimpleMeterRegistry();

    private WorkflowGate<AutoCloseable> gate(String gateName, String queueName, String limiterName) {
        SessionManager sessions = SessionManager.builder(new InMemorySessionStore()).sweepInterval(Duration.ZERO).build();
        AdmissionQueue queue = AdmissionQueue.builder(1).name(queueName).notificationPeriod(Duration.ofMillis(10))
                .initialRunDuration(Duration.ofMillis(50)).build();
        WorkflowCache<String, AutoCloseable> cache = WorkflowCache.<String, AutoCloseable>builder(id -> () -> { })
                .maximumSize(10).build();
        WorkflowGate.Builder<AutoCloseable> b = WorkflowGate.builder(sessions, queue, cache)
                .rateLimiter(RateLimiter.builder().name(limiterName).limit(Limit.of(100, Duration.ofMinutes(1))).build());
        if (gateName != null) {
            b.name(gateName);
        }
        WorkflowGate<AutoCloseable> gate = b.build();
        gates.add(gate);
        new WorkflowGateMetrics(gate).bindTo(registry);
        return gate;
    }

    @AfterEach
    void closeGates() {
        gates.forEach(WorkflowGate::close);
    }

    private static void runOnce(WorkflowGate<AutoCloseable> gate) throws InterruptedException {
        GateOutcome<AutoCloseable> outcome = gate.enter(new GateRequest(null, "user", "project"), QueueObserver.ignoring());
        assertThat(outcome).isInstanceOf(GateOutcome.Admitted.class);
        ((GateOutcome.Admitted<AutoCloseable>) outcome).close();
    }

    private double admitted(String tag, String value) {
        return registry.get("usher.queue.admitted").tag(tag, value).functionCounter().count();
    }

    @Test
    void twoGatesOnOneRegistryAreTwoSeriesEachCountingItsOwnRequests() throws Exception {
        // Before the component tags, the second gate's meters had the same name and tags as the first's, so
        // Micrometer handed back the first gate's meters and the second gate was never seen.
        WorkflowGate<AutoCloseable> a = gate(null, "queue-a", "limiter-a");
        WorkflowGate<AutoCloseable> b = gate(null, "queue-b", "limiter-b");
        runOnce(a);
        runOnce(b);
        runOnce(b);

        assertThat(registry.find("usher.queue.admitted").functionCounters()).hasSize(2);
        assertThat(admitted("queue", "queue-a")).isEqualTo(1.0);
        assertThat(admitted("queue", "queue-b")).isEqualTo(2.0);
        assertThat(registry.get("usher.ratelimit.decisions").tags("limiter", "limiter-b", "result", "allowed")
                .functionCounter().count()).isEqualTo(2.0);
        assertThat(registry.get("usher.queue.wait").tag("queue", "queue-a").timer().count()).isEqualTo(1);
        assertThat(registry.get("usher.queue.wait").tag("queue", "queue-b").timer().count()).isEqualTo(2);
    }

    @Test
    void gatesWithTheSameComponentNamesAreTellApartByTheGateName() throws Exception {
        WorkflowGate<AutoCloseable> east = gate("east", "chat", "chat");
        WorkflowGate<AutoCloseable> west = gate("west", "chat", "chat");
        runOnce(east);
        runOnce(west);
        runOnce(west);
        runOnce(west);

        assertThat(admitted("gate", "east")).isEqualTo(1.0);
        assertThat(admitted("gate", "west")).isEqualTo(3.0);
        assertThat(registry.get("usher.sessions.opened").tag("gate", "west").functionCounter().count()).isEqualTo(3.0);
    }

    @Test
    void everyMeterNamesItsGateAndComponent() throws Exception {
        runOnce(gate("g", "q", "l"));
        for (Meter meter : registry.getMeters()) {
            String name = meter.getId().getName();
            assertThat(meter.getId().getTag("gate")).as(name).isEqualTo("g");
            assertThat(name).as("dot-separated lower case").matches("usher(\\.[a-z]+)+");
            if (name.startsWith("usher.queue.")) {
                assertThat(meter.getId().getTag("queue")).as(name).isEqualTo("q");
            } else if (name.startsWith("usher.ratelimit.")) {
                assertThat(meter.getId().getTag("limiter")).as(name).isEqualTo("l");
            } else if (name.startsWith("usher.cache.")) {
                assertThat(meter.getId().getTag("cache")).as(name).isEqualTo("workflows");
            }
        }
        assertThat(registry.getMeters().stream().map(m -> m.getId().getName()).collect(Collectors.toSet()))
                .contains("usher.sessions.active", "usher.sessions.store.errors", "usher.queue.wait", "usher.queue.run",
                        "usher.queue.position", "usher.queue.estimate.error", "usher.cache.gets",
                        "usher.cache.evictions", "usher.ratelimit.decisions");
    }

    @Test
    void waitsRunsPositionsAndEstimateErrorsAreHistogramsRecordedAsTheyHappen() throws Exception {
        WorkflowGate<AutoCloseable> gate = gate("g", "q", "l");
        // One run holds the only slot while three more requests queue behind it.
        GateOutcome.Admitted<AutoCloseable> first = (GateOutcome.Admitted<AutoCloseable>)
                gate.enter(new GateRequest(null, "holder", "p"), QueueObserver.ignoring());
        ExecutorService pool = Executors.newFixedThreadPool(3);
        try {
            List<Future<?>> waiters = new ArrayList<>();
            for (int i = 0; i < 3; i++) {
                waiters.add(pool.submit(() -> {
                    runOnce(gate);
                    return null;
                }));
            }
            awaitCondition(() -> gate.queue().stats().queued() == 3);
            first.close();
            for (Future<?> w : waiters) {
                w.get(30, TimeUnit.SECONDS);
            }
        } finally {
            pool.shutdownNow();
        }

        Timer waits = registry.get("usher.queue.wait").timer();
        assertThat(waits.count()).isEqualTo(4);
        assertThat(registry.get("usher.queue.run").timer().count()).isEqualTo(4);
        // Each waiter was told where it stood when it entered: somewhere among the three waiting.
        assertThat(registry.get("usher.queue.position").summary().count()).isEqualTo(3);
        assertThat(registry.get("usher.queue.position").summary().max()).isBetween(1.0, 3.0);
        assertThat(registry.get("usher.queue.position").summary().totalAmount()).isBetween(3.0, 9.0);
        // Each had an estimate (the initial run duration) to compare with its actual wait.
        assertThat(registry.get("usher.queue.estimate.error").timer().count()).isEqualTo(3);
        FunctionCounter admittedCount = registry.get("usher.queue.admitted").functionCounter();
        awaitCondition(() -> admittedCount.count() == 4.0);
    }

    @Test
    void aFailingSessionStoreIsCountedAsAStoreError() throws Exception {
        AtomicBoolean down = new AtomicBoolean();
        ForwardingSessionStore store = new ForwardingSessionStore(new InMemorySessionStore()) {
            @Override
            public boolean insert(Session session) {
                if (down.get()) {
                    throw new StoreUnavailableException("store down (test)", null);
                }
                return super.insert(session);
            }
        };
        SessionManager sessions = SessionManager.builder(store).sweepInterval(Duration.ZERO).build();
        WorkflowGate<AutoCloseable> gate = WorkflowGate.builder(sessions, AdmissionQueue.builder(1).build(),
                WorkflowCache.<String, AutoCloseable>builder(id -> () -> { }).maximumSize(10).build()).name("g").build();
        gates.add(gate);
        new WorkflowGateMetrics(gate).bindTo(registry);
        runOnce(gate);
        down.set(true);
        // An unavailable store is an outcome (a 503), not an exception, since the fail-fast merge.
        for (int i = 0; i < 2; i++) {
            assertThat(gate.enter(new GateRequest(null, "user", "project"), QueueObserver.ignoring()))
                    .isInstanceOf(GateOutcome.Unavailable.class);
        }

        assertThat(registry.get("usher.sessions.store.errors").tag("gate", "g").counter().count()).isEqualTo(2.0);
        assertThat(gate.queue().stats().running()).as("nothing held after a failure").isZero();
    }

    @Test
    void prometheusSeesHistogramBucketsInBaseUnits() throws Exception {
        PrometheusMeterRegistry prometheus = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
        try {
            WorkflowGate<AutoCloseable> gate = gate("g", "q", "l");
            new WorkflowGateMetrics(gate).bindTo(prometheus);
            runOnce(gate);
            String scrape = prometheus.scrape();
            assertThat(scrape)
                    .contains("usher_queue_wait_seconds_bucket{gate=\"g\",queue=\"q\",le=")
                    .contains("usher_queue_run_seconds_bucket{gate=\"g\",queue=\"q\",le=")
                    .contains("usher_queue_position_bucket{gate=\"g\",queue=\"q\",le=")
                    .contains("usher_queue_estimate_error_seconds_bucket{gate=\"g\",queue=\"q\",le=")
                    .contains("usher_queue_admitted_total{gate=\"g\",queue=\"q\"} 1")
                    .contains("usher_sessions_active{gate=\"g\"}")
                    .contains("usher_sessions_opened_total{gate=\"g\"} 1")
                    .contains("usher_sessions_store_errors_total{gate=\"g\"} 0")
                    .contains("usher_ratelimit_decisions_total{gate=\"g\",limiter=\"l\",result=\"allowed\"} 1")
                    .contains("usher_cache_gets_total{cache=\"workflows\",gate=\"g\",result=\"miss\"} 1");
        } finally {
            prometheus.close();
        }
    }
}
