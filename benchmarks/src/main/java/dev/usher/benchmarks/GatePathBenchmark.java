package dev.usher.benchmarks;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import dev.usher.gate.GateOutcome;
import dev.usher.gate.GateRequest;
import dev.usher.gate.QueueObserver;
import dev.usher.gate.WorkflowGate;
import dev.usher.gate.admission.AdmissionQueue;
import dev.usher.gate.cache.WorkflowCache;
import dev.usher.gate.ratelimit.Limit;
import dev.usher.gate.ratelimit.RateLimiter;
import dev.usher.gate.workspace.WorkspaceAllocator;
import dev.usher.session.SessionManager;
import dev.usher.session.memory.InMemorySessionStore;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Comparator;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.stream.Stream;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;

/**
 * What the gate costs a request, set against the request itself: one JDK {@link HttpServer} (the server the
 * example runs on) with a bare handler and a handler that passes each request through a
 * {@link WorkflowGate} wired like the example's (in-memory sessions, rate limit, workspace, admission queue,
 * workflow lease) before answering. A JDK {@link HttpClient} in the same process calls one or the other over
 * loopback, each request under one of {@value #SESSIONS} existing sessions.
 */
@State(Scope.Benchmark)
public class GatePathBenchmark {
    static final int SESSIONS = 1 << 8;
    private static final String SESSION_HEADER = "X-Session-Id";

    private final String[] sessionIds = new String[SESSIONS];
    private Path root;
    private WorkflowGate<Object> gate;
    private HttpServer server;
    private ExecutorService handlers;
    private HttpClient client;
    private URI bare;
    private URI gated;

    @Setup(Level.Trial)
    public void setUp() throws Exception {
        root = Servers.temporaryDirectory("usher-bench-gate-");
        SessionManager sessions = SessionManager.builder(new InMemorySessionStore()).sweepInterval(Duration.ZERO).build();
        gate = WorkflowGate.builder(sessions,
                        AdmissionQueue.builder(AdmissionBenchmark.MAX_RUNNING).name("bench-gate").build(),
                        WorkflowCache.<String, Object>builder(id -> new Object()).maximumSize(SESSIONS * 2L).build())
                .rateLimiter(RateLimiter.builder()
                        .limit(Limit.of("bench", RateLimiterBenchmark.QUOTA, RateLimiterBenchmark.WINDOW))
                        .build())
                .workspaces(WorkspaceAllocator.builder(root.resolve("workspaces"), sessions)
                        .releaseWhenSessionEnds(false)
                        .build())
                .build();
        for (int i = 0; i < SESSIONS; i++) {
            sessionIds[i] = sessions.create("user-" + i, Map.of()).id();
        }

        server = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
        handlers = Executors.newFixedThreadPool(4, r -> {
            Thread t = new Thread(r, "usher-bench-http");
            t.setDaemon(true);
            return t;
        });
        server.setExecutor(handlers);
        server.createContext("/bare", exchange -> respond(exchange, 200));
        server.createContext("/gated", this::gated);
        server.start();
        String base = "http://127.0.0.1:" + server.getAddress().getPort();
        bare = URI.create(base + "/bare");
        gated = URI.create(base + "/gated");
        client = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();
        for (String id : sessionIds) { // the first request of a session allocates its workspace
            call(gated, id);
        }
    }

    @TearDown(Level.Trial)
    public void tearDown() throws IOException {
        server.stop(0);
        handlers.shutdownNow();
        gate.close();
        try (Stream<Path> files = Files.walk(root)) {
            for (Path p : files.sorted(Comparator.reverseOrder()).toList()) {
                Files.delete(p);
            }
        }
    }

    private void gated(HttpExchange exchange) throws IOException {
        String id = exchange.getRequestHeaders().getFirst(SESSION_HEADER);
        GateOutcome<Object> outcome;
        try {
            outcome = gate.enter(new GateRequest(id, id, null), QueueObserver.ignoring());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            respond(exchange, 503);
            return;
        }
        if (outcome instanceof GateOutcome.Admitted<Object> run) {
            run.close();
            respond(exchange, 200);
        } else {
            respond(exchange, outcome instanceof GateOutcome.RateLimited ? 429 : 503);
        }
    }

    private static void respond(HttpExchange exchange, int status) throws IOException {
        exchange.sendResponseHeaders(status, -1);
        exchange.close();
    }

    private int call(URI uri, String sessionId) {
        HttpRequest request = HttpRequest.newBuilder(uri).header(SESSION_HEADER, sessionId).GET().build();
        try {
            int status = client.send(request, HttpResponse.BodyHandlers.discarding()).statusCode();
            if (status != 200) {
                throw new IllegalStateException(uri.getPath() + " answered " + status + ": the measurement is void");
            }
            return status;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }

    @Benchmark
    public int bareHandler(Cursor c) {
        return call(bare, sessionIds[c.next(SESSIONS)]);
    }

    @Benchmark
    public int usherGatePath(Cursor c) {
        return call(gated, sessionIds[c.next(SESSIONS)]);
    }
}
