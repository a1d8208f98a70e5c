package dev.usher.gate;

import static dev.usher.session.Await.awaitCondition;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.usher.gate.admission.AdmissionQueue;
import dev.usher.gate.admission.AdmissionStats;
import dev.usher.gate.cache.WorkflowCache;
import dev.usher.gate.ratelimit.Limit;
import dev.usher.gate.ratelimit.RateLimiter;
import dev.usher.gate.workspace.Workspace;
import dev.usher.gate.workspace.WorkspaceAllocator;
import dev.usher.session.Session;
import dev.usher.session.SessionManager;
import dev.usher.session.memory.InMemorySessionStore;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class WorkflowGateTest {
    @TempDir
    Path root;
    private WorkflowGate<Model> gate;
    private final List<Model> models = new CopyOnWriteArrayList<>();

    /** A workflow that records when it was closed and whether its workspace still existed then. */
    final class Model implements AutoCloseable {
        final String sessionId;
        volatile boolean closed;
        volatile Boolean workspaceExistedAtClose;
        volatile Path workspaceDir;

        Model(String sessionId) {
            this.sessionId = sessionId;
        }

        @Override
        public void close() {
            workspaceExistedAtClose = workspaceDir == null ? null : Files.isDirectory(workspaceDir);
            closed = true;
        }
    }

    private WorkflowGate<Model> gate(int maxRunning, int maxQueued, Duration maxWait, RateLimiter limiter) {
        SessionManager sessions = SessionManager.builder(new InMemorySessionStore()).sweepInterval(Duration.ZERO).build();
        AdmissionQueue.Builder queue = AdmissionQueue.builder(maxRunning).maxQueued(maxQueued)
                .notificationPeriod(Duration.ofMillis(10));
        if (maxWait != null) {
            queue.maxWait(maxWait);
        }
        WorkflowCache<String, Model> cache = WorkflowCache.<String, Model>builder(id -> {
            Model m = new Model(id);
            models.add(m);
            return m;
        }).maximumSize(100).build();
        WorkspaceAllocator workspaces = WorkspaceAllocator.builder(root.resolve("ws"), sessions)
                .releaseWhenSessionEnds(false).build();
        WorkflowGate.Builder<Model> b = WorkflowGate.builder(sessions, queue.build(), cache).workspaces(workspaces);
        if (limiter != null) {
            b.rateLimiter(limiter);
        }
        gate = b.build();
        return gate;
    }

    @AfterEach
    void close() {
        if (gate != null) {
            gate.close();
        }
    }

    private static GateOutcome.Admitted<Model> admitted(GateOutcome<Model> outcome) {
        assertThat(outcome).isInstanceOf(GateOutcome.Admitted.class);
        return (GateOutcome.Admitted<Model>) outcome;
    }

    @Test
    void aRateLimitedRequestTouchesNothingElse() throws Exception {
        RateLimiter limiter = RateLimiter.builder().limit(Limit.of(1, Duration.ofMinutes(1))).build();
        gate(2, 10, null, limiter);
        try (GateOutcome.Admitted<Model> run = admitted(gate.enter(new GateRequest(null, "ip-1", "first"), QueueObserver.ignoring()))) {
            assertThat(run.session().id()).hasSize(43);
            assertThat(run.workspace()).isPresent();
        }
        GateOutcome<Model> second = gate.enter(new GateRequest(null, "ip-1", "second"), QueueObserver.ignoring());
        assertThat(second).isInstanceOf(GateOutcome.RateLimited.class);
        assertThat(((GateOutcome.RateLimited<Model>) second).decision().retryAfter()).isPositive();
        assertThat(gate.sessions().stats().created()).isEqualTo(1);
        assertThat(gate.queue().stats().admitted()).isEqualTo(1);
    }

    @Test
    void aKnownSessionIsReusedWithItsWorkspaceAndWorkflow() throws Exception {
        gate(2, 10, null, null);
        String id;
        Workspace ws;
        try (GateOutcome.Admitted<Model> run = admitted(gate.enter(new GateRequest(null, "k", "보고서"), QueueObserver.ignoring()))) {
            id = run.session().id();
            ws = run.workspace().orElseThrow();
            assertThat(ws.name()).isEqualTo("보고서");
            assertThat(run.session().attributes()).containsKey(WorkspaceAllocator.NAME_ATTRIBUTE);
        }
        try (GateOutcome.Admitted<Model> again = admitted(gate.enter(new GateRequest(id, "k", "ignored"), QueueObserver.ignoring()))) {
            assertThat(again.session().id()).isEqualTo(id);
            assertThat(again.workspace().orElseThrow().directory()).isEqualTo(ws.directory());
            assertThat(again.workflow()).isSameAs(models.get(0));
        }
        assertThat(models).hasSize(1);
    }

    @Test
    void everythingIsReleasedExactlyOnceWhateverTheHostThrows() throws Exception {
        gate(1, 10, null, null);
        GateOutcome.Admitted<Model> run = admitted(gate.enter(new GateRequest(null, "k", null), QueueObserver.ignoring()));
        assertThatThrownBy(() -> {
            try (run) {
                assertThat(gate.queue().stats().running()).isEqualTo(1);
                assertThat(gate.workflows().stats().leased()).isEqualTo(1);
                throw new IllegalStateException("host bug");
            }
        }).hasMessage("host bug");
        run.close(); // a second close changes nothing
        assertThat(gate.queue().stats().running()).isZero();
        assertThat(gate.workflows().stats().leased()).isZero();
        // The one slot is free again.
        try (GateOutcome.Admitted<Model> next = admitted(gate.enter(new GateRequest(null, "k2", null), QueueObserver.ignoring()))) {
            assertThat(gate.queue().stats().running()).isEqualTo(1);
        }
    }

    @Test
    void aQueuedRequestHearsItsPositionOnItsOwnThreadAndRunsWhenTheSlotFrees() throws Exception {
        gate(1, 10, null, null);
        GateOutcome.Admitted<Model> holder = admitted(gate.enter(new GateRequest(null, "a", null), QueueObserver.ignoring()));
        List<Integer> positions = new CopyOnWriteArrayList<>();
        List<Thread> observerThreads = new CopyOnWriteArrayList<>();
        ExecutorService pool = Executors.newSingleThreadExecutor();
        CountDownLatch queued = new CountDownLatch(1);
        Future<Thread> waiter = pool.submit(() -> {
            GateOutcome<Model> outcome = gate.enter(new GateRequest(null, "b", null), (session, position, eta) -> {
                positions.add(position);
                observerThreads.add(Thread.currentThread());
                queued.countDown();
            });
            admitted(outcome).close();
            return Thread.currentThread();
        });
        assertThat(queued.await(30, TimeUnit.SECONDS)).isTrue();
        holder.close();
        Thread callerThread = waiter.get(30, TimeUnit.SECONDS);
        pool.shutdown();
        assertThat(positions).startsWith(1);
        assertThat(observerThreads).containsOnly(callerThread);
        assertThat(gate.queue().stats().running()).isZero();
    }

    @Test
    void aClientThatGoesAwayWhileQueuedGivesItsPlaceBack() throws Exception {
        gate(1, 10, null, null);
        GateOutcome.Admitted<Model> holder = admitted(gate.enter(new GateRequest(null, "a", null), QueueObserver.ignoring()));
        assertThatThrownBy(() -> gate.enter(new GateRequest(null, "b", null), (session, position, eta) -> {
            throw new UncheckedIOException(new java.io.IOException("broken pipe"));
        })).isInstanceOf(UncheckedIOException.class);
        AdmissionStats s = gate.queue().stats();
        assertThat(s.queued()).isZero();
        assertThat(s.cancelled()).isEqualTo(1);
        holder.close();
        assertThat(gate.queue().stats().running()).isZero();
    }

    @Test
    void aFullQueueAndATimeoutAreRejections() throws Exception {
        gate(1, 0, null, null);
        try (GateOutcome.Admitted<Model> holder = admitted(gate.enter(new GateRequest(null, "a", null), QueueObserver.ignoring()))) {
            GateOutcome<Model> full = gate.enter(new GateRequest(null, "b", null), QueueObserver.ignoring());
            assertThat(full).isInstanceOf(GateOutcome.Rejected.class);
            assertThat(((GateOutcome.Rejected<Model>) full).reason()).isEqualTo(GateOutcome.Rejected.Reason.QUEUE_FULL);
            assertThat(((GateOutcome.Rejected<Model>) full).session()).isEmpty(); // turned away: nothing created
            assertThat(gate.sessions().stats().created()).isEqualTo(1);
        }
        gate.close();
        gate(1, 10, Duration.ofMillis(50), null);
        try (GateOutcome.Admitted<Model> holder = admitted(gate.enter(new GateRequest(null, "a", null), QueueObserver.ignoring()))) {
            GateOutcome<Model> late = gate.enter(new GateRequest(null, "b", null), QueueObserver.ignoring());
            assertThat(((GateOutcome.Rejected<Model>) late).reason()).isEqualTo(GateOutcome.Rejected.Reason.TIMED_OUT);
            // it was queued, so the client was told of its (new) session while waiting
            assertThat(((GateOutcome.Rejected<Model>) late).session()).isPresent();
        }
        assertThat(gate.queue().stats().running()).isZero();
    }

    @Test
    void aSessionEndClosesItsWorkflowAfterTheLastRunAndThenReleasesItsWorkspace() throws Exception {
        gate(2, 10, null, null);
        GateOutcome.Admitted<Model> run = admitted(gate.enter(new GateRequest(null, "k", "project"), QueueObserver.ignoring()));
        Model model = run.workflow();
        Path dir = run.workspace().orElseThrow().directory();
        model.workspaceDir = dir;
        assertThat(gate.sessions().end(run.session().id())).isTrue();
        assertThat(model.closed).as("not closed under the running code").isFalse();
        assertThat(dir).isDirectory();
        run.close();
        awaitCondition(() -> model.closed && !Files.exists(dir));
        assertThat(model.workspaceExistedAtClose).as("the workspace outlived the workflow").isTrue();
    }

    @Test
    void loginInvalidatesTheWorkflowOfTheOldIdButKeepsTheWorkspace() throws Exception {
        gate(2, 10, null, null);
        Session session;
        Path dir;
        try (GateOutcome.Admitted<Model> run = admitted(gate.enter(new GateRequest(null, "k", "keep me"), QueueObserver.ignoring()))) {
            session = run.session();
            dir = run.workspace().orElseThrow().directory();
        }
        Model before = models.get(0);
        Session loggedIn = gate.sessions().login(session.id(), "alice").orElseThrow();
        awaitCondition(() -> before.closed);
        try (GateOutcome.Admitted<Model> run = admitted(gate.enter(new GateRequest(loggedIn.id(), "k", null), QueueObserver.ignoring()))) {
            assertThat(run.workspace().orElseThrow().directory()).isEqualTo(dir);
            assertThat(run.workflow()).isNotSameAs(before);
        }
    }

    @Test
    void underConcurrentTrafficNothingLeaks() throws Exception {
        gate(2, 1_000, Duration.ofSeconds(30), null);
        int threads = 16;
        int perThread = 40;
        AtomicInteger running = new AtomicInteger();
        AtomicInteger maxRunning = new AtomicInteger();
        ExecutorService pool = Executors.newFixedThreadPool(threads);
        List<Future<?>> futures = new ArrayList<>();
        for (int t = 0; t < threads; t++) {
            futures.add(pool.submit(() -> {
                String session = null;
                for (int i = 0; i < perThread; i++) {
                    boolean leave = ThreadLocalRandom.current().nextInt(4) == 0;
                    try {
                        GateOutcome<Model> outcome = gate.enter(new GateRequest(session, "k", null), (s, p, e) -> {
                            if (leave) {
                                throw new UncheckedIOException(new java.io.IOException("client left"));
                            }
                        });
                        if (outcome instanceof GateOutcome.Admitted<Model> run) {
                            try (run) {
                                session = run.session().id();
                                maxRunning.accumulateAndGet(running.incrementAndGet(), Math::max);
                                try {
                                    assertThat(run.workflow().closed).isFalse();
                                    if (ThreadLocalRandom.current().nextBoolean()) {
                                        throw new IllegalStateException("workflow failed");
                                    }
                                } finally {
                                    running.decrementAndGet(); // before the permit goes back
                                }
                            } catch (IllegalStateException expected) {
                                // the run failed; the gate still got everything back
                            }
                        }
                    } catch (UncheckedIOException expected) {
                        // left the queue
                    }
                }
                return null;
            }));
        }
        for (Future<?> f : futures) {
            f.get(2, TimeUnit.MINUTES);
        }
        pool.shutdown();
        assertThat(maxRunning.get()).isLessThanOrEqualTo(2);
        AdmissionStats s = gate.queue().stats();
        assertThat(s.running()).isZero();
        assertThat(s.queued()).isZero();
        assertThat(gate.workflows().stats().leased()).isZero();
    }

    @Test
    void requestsTurnedAwayCreateNoSessionAndNoWorkspace() throws Exception {
        gate(1, 1, null, RateLimiter.builder().limit(Limit.of(2, Duration.ofHours(1))).build());
        Path wsRoot = root.resolve("ws");
        try (GateOutcome.Admitted<Model> holder = admitted(gate.enter(new GateRequest(null, "a", "held"), QueueObserver.ignoring()))) {
            CountDownLatch queued = new CountDownLatch(1);
            ExecutorService pool = Executors.newSingleThreadExecutor();
            List<Session> toldSessions = new CopyOnWriteArrayList<>();
            Future<GateOutcome<Model>> waiter = pool.submit(() -> gate.enter(new GateRequest(null, "b", "waiting"), (session, p, e) -> {
                toldSessions.add(session);
                queued.countDown();
            }));
            assertThat(queued.await(30, TimeUnit.SECONDS)).isTrue();
            long sessionsBefore = gate.sessions().stats().active();
            long dirsBefore = countDirectories(wsRoot);
            // the queue is full: turned away, nothing created
            GateOutcome<Model> full = gate.enter(new GateRequest(null, "c", "full"), QueueObserver.ignoring());
            assertThat(((GateOutcome.Rejected<Model>) full).reason()).isEqualTo(GateOutcome.Rejected.Reason.QUEUE_FULL);
            // "a" may make 2 requests: its second finds the queue full, its third is rate-limited
            assertThat(gate.enter(new GateRequest(null, "a", "x"), QueueObserver.ignoring()))
                    .isInstanceOf(GateOutcome.Rejected.class);
            GateOutcome<Model> limited = gate.enter(new GateRequest(null, "a", "y"), QueueObserver.ignoring());
            assertThat(limited).isInstanceOf(GateOutcome.RateLimited.class);
            assertThat(gate.sessions().stats().active()).isEqualTo(sessionsBefore);
            assertThat(countDirectories(wsRoot)).isEqualTo(dirsBefore);
            holder.close();
            try (GateOutcome.Admitted<Model> run = admitted(waiter.get(30, TimeUnit.SECONDS))) {
                // the session the waiter was told about while queued is the one it runs in, now with its workspace
                assertThat(run.session().id()).isEqualTo(toldSessions.get(0).id());
                assertThat(run.workspace().orElseThrow().name()).isEqualTo("waiting");
            }
            pool.shutdown();
        }
    }

    @Test
    void theCreationLimitBoundsNewSessionsPerClientButNotLiveOnes() throws Exception {
        SessionManager sessions = SessionManager.builder(new InMemorySessionStore()).sweepInterval(Duration.ZERO).build();
        gate = WorkflowGate.builder(sessions, AdmissionQueue.builder(4).build(),
                        WorkflowCache.<String, Model>builder(Model::new).maximumSize(100).build())
                .sessionCreationLimiter(RateLimiter.builder().name("new-sessions")
                        .limit(Limit.of("new-sessions", 3, Duration.ofHours(1))).build())
                .build();
        String first = null;
        int limited = 0;
        for (int i = 0; i < 100; i++) {
            // a fresh rate key each time, as a client rotating garbage cookies would get: the address still counts
            GateOutcome<Model> outcome = gate.enter(new GateRequest("bogus" + i, "rk" + i, null, "203.0.113.9"),
                    QueueObserver.ignoring());
            if (outcome instanceof GateOutcome.Admitted<Model> run) {
                try (run) {
                    first = first == null ? run.session().id() : first;
                }
            } else {
                assertThat(outcome).isInstanceOf(GateOutcome.RateLimited.class);
                assertThat(((GateOutcome.RateLimited<Model>) outcome).decision().limits())
                        .extracting(l -> l.limit().name()).containsExactly("new-sessions");
                limited++;
            }
        }
        assertThat(limited).isEqualTo(97);
        assertThat(sessions.stats().active()).isEqualTo(3);
        // a client with a live session is not held back by the creation limit
        try (GateOutcome.Admitted<Model> run = admitted(gate.enter(new GateRequest(first, "rk", null, "203.0.113.9"),
                QueueObserver.ignoring()))) {
            assertThat(run.session().id()).isEqualTo(first);
        }
        // another address has its own allowance
        try (GateOutcome.Admitted<Model> run = admitted(gate.enter(new GateRequest(null, "rk", null, "203.0.113.10"),
                QueueObserver.ignoring()))) {
            assertThat(run.session().id()).isNotEqualTo(first);
        }
    }

    @Test
    void aRequestPrintsItsSessionIdOnlyRedacted() {
        String id = "AbCdEfGhIjKlMnOpQrStUvWxYz0123456789-_abcde";
        GateRequest request = new GateRequest(id, id, "proj", "198.51.100.1");
        assertThat(request.toString()).doesNotContain(id).contains("AbCdEf…").contains("198.51.100.1");
        assertThat(new dev.usher.gate.admission.TicketUpdate(dev.usher.gate.admission.TicketUpdate.Kind.QUEUED, id, 1,
                java.util.Optional.empty()).toString()).doesNotContain(id).contains("AbCdEf…");
    }

    private static long countDirectories(Path dir) throws java.io.IOException {
        if (!Files.isDirectory(dir)) {
            return 0;
        }
        try (var entries = Files.list(dir)) {
            return entries.filter(p -> Files.isDirectory(p) && !p.getFileName().toString().startsWith(".")).count();
        }
    }

    @Test
    void micrometerSeesEveryComponent() throws Exception {
        gate(1, 10, null, RateLimiter.builder().limit(Limit.of(10, Duration.ofMinutes(1))).build());
        SimpleMeterRegistry registry = new SimpleMeterRegistry();
        new WorkflowGateMetrics(gate).bindTo(registry);
        GateOutcome.Admitted<Model> run = admitted(gate.enter(new GateRequest(null, "k", "m"), QueueObserver.ignoring()));
        // The first read takes the snapshot that the following reads share.
        assertThat(registry.get("usher.queue.running").gauge().value()).isEqualTo(1.0);
        assertThat(registry.get("usher.cache.leased").gauge().value()).isEqualTo(1.0);
        run.close();
        assertThat(registry.get("usher.queue.admitted").functionCounter().count()).isEqualTo(1.0);
        assertThat(registry.get("usher.sessions.opened").functionCounter().count()).isEqualTo(1.0);
        assertThat(registry.get("usher.cache.creations").functionCounter().count()).isEqualTo(1.0);
        assertThat(registry.get("usher.ratelimit.decisions").tag("result", "allowed").functionCounter().count()).isEqualTo(1.0);
        assertThat(registry.get("usher.workspaces.allocated").functionCounter().count()).isEqualTo(1.0);
        AdmissionStats queueStats = gate.queue().stats();
        assertThat(registry.get("usher.queue.estimate.relative.error").tag("quantile", "0.5").gauge().value())
                .isEqualTo(queueStats.estimateRelativeErrorP50());
        assertThat(registry.get("usher.queue.estimate.relative.error").tag("quantile", "0.95").gauge().value())
                .isEqualTo(queueStats.estimateRelativeErrorP95());
        assertThat(registry.get("usher.queue.estimate.error").timer()).isNotNull();
    }
}
