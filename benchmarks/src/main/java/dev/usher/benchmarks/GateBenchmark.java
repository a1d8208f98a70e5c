package dev.usher.benchmarks;

import dev.usher.gate.GateOutcome;
import dev.usher.gate.GateRequest;
import dev.usher.gate.QueueObserver;
import dev.usher.gate.WorkflowGate;
import dev.usher.gate.admission.AdmissionQueue;
import dev.usher.gate.admission.Permit;
import dev.usher.gate.cache.Lease;
import dev.usher.gate.cache.WorkflowCache;
import dev.usher.gate.ratelimit.Decision;
import dev.usher.gate.ratelimit.Limit;
import dev.usher.gate.ratelimit.RateLimiter;
import dev.usher.gate.workspace.Workspace;
import dev.usher.gate.workspace.WorkspaceAllocator;
import dev.usher.session.Session;
import dev.usher.session.SessionManager;
import dev.usher.session.memory.InMemorySessionStore;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Comparator;
import java.util.Map;
import java.util.stream.Stream;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;

/**
 * The whole gate in process, no HTTP: {@link WorkflowGate#enter} for a request of an existing session with
 * nothing waiting (rate limit, touch, admission, workspace when {@code workspaces=true}, workflow lease),
 * then closing the outcome; against the same components called one after the other without the gate
 * ({@code directCalls}), so the difference is what the gate itself adds. Each request comes under one of
 * {@value #SESSIONS} sessions; the rate limit is one no run can use up, the queue has room for every
 * thread, and every session's workflow (and workspace) exists before measuring, so nothing waits and
 * nothing is created. Run it with {@link ProcessCpuProfiler} to see whether a request makes other threads
 * work: its {@code cpu.process} and {@code cpu.callers} are the whole process's and the callers' CPU
 * per request.
 */
@State(Scope.Benchmark)
public class GateBenchmark {
    static final int SESSIONS = 1 << 8;
    private static final Duration AWAIT = Duration.ofSeconds(10);

    @Param({"false", "true"})
    public boolean workspaces;

    private final String[] sessionIds = new String[SESSIONS];
    private final GateRequest[] requests = new GateRequest[SESSIONS];
    private Path root;
    private WorkflowGate<Object> gate;
    private SessionManager sessions;
    private RateLimiter rateLimiter;
    private AdmissionQueue queue;
    private WorkflowCache<String, Object> workflows;
    private WorkspaceAllocator allocator;

    @Setup(Level.Trial)
    public void setUp() throws Exception {
        sessions = SessionManager.builder(new InMemorySessionStore()).sweepInterval(Duration.ZERO).build();
        queue = AdmissionQueue.builder(AdmissionBenchmark.MAX_RUNNING).name("bench-gate-in-process").build();
        workflows = WorkflowCache.<String, Object>builder(id -> new Object()).maximumSize(SESSIONS * 2L).build();
        rateLimiter = RateLimiter.builder()
                .limit(Limit.of("bench", RateLimiterBenchmark.QUOTA, RateLimiterBenchmark.WINDOW))
                .build();
        WorkflowGate.Builder<Object> builder = WorkflowGate.builder(sessions, queue, workflows).rateLimiter(rateLimiter);
        if (workspaces) {
            root = Servers.temporaryDirectory("usher-bench-gate-in-process-");
            allocator = WorkspaceAllocator.builder(root.resolve("workspaces"), sessions)
                    .releaseWhenSessionEnds(false)
                    .sweepInterval(Duration.ZERO)
                    .build();
            builder.workspaces(allocator);
        }
        gate = builder.build();
        for (int i = 0; i < SESSIONS; i++) {
            sessionIds[i] = sessions.create("user-" + i, Map.of()).id();
            requests[i] = new GateRequest(sessionIds[i], sessionIds[i], "project " + i);
            // The first request of a session creates its workflow and allocates its workspace.
            if (!(gate.enter(requests[i], QueueObserver.ignoring()) instanceof GateOutcome.Admitted<Object> run)) {
                throw new IllegalStateException("the gate turned a warm-up request away: the measurement is void");
            }
            run.close();
        }
    }

    @TearDown(Level.Trial)
    public void tearDown() throws IOException {
        gate.close();
        if (root != null) {
            try (Stream<Path> files = Files.walk(root)) {
                for (Path p : files.sorted(Comparator.reverseOrder()).toList()) {
                    Files.delete(p);
                }
            }
        }
    }

    @Benchmark
    public Object usherGate(Cursor c) throws InterruptedException {
        GateOutcome<Object> outcome = gate.enter(requests[c.next(SESSIONS)], QueueObserver.ignoring());
        if (!(outcome instanceof GateOutcome.Admitted<Object> run)) {
            throw new IllegalStateException("the gate answered " + outcome + ": the measurement is void");
        }
        Object workflow = run.workflow();
        run.close();
        return workflow;
    }

    @Benchmark
    public Object directCalls(Cursor c) throws Exception {
        String id = sessionIds[c.next(SESSIONS)];
        Decision decision = rateLimiter.tryAcquire(id);
        Session session = sessions.touch(id).orElseThrow();
        if (!decision.allowed()) {
            throw new IllegalStateException("rate limited: the measurement is void");
        }
        Permit permit = queue.enter(id).await(AWAIT);
        Workspace workspace = allocator == null ? null : allocator.workspaceFor(session, null);
        Lease<Object> lease = workflows.acquire(id);
        Object workflow = lease.value();
        lease.close();
        permit.close();
        return workspace == null ? workflow : workspace;
    }
}
