package dev.usher.examples.chat;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import dev.usher.gate.GateOutcome;
import dev.usher.gate.GateRequest;
import dev.usher.gate.WorkflowGate;
import dev.usher.gate.WorkflowGateMetrics;
import dev.usher.gate.admission.AdmissionQueue;
import dev.usher.gate.admission.AdmissionStats;
import dev.usher.gate.cache.WorkflowCache;
import dev.usher.gate.ratelimit.Limit;
import dev.usher.gate.ratelimit.RateLimitHeaders;
import dev.usher.gate.ratelimit.RateLimiter;
import dev.usher.gate.ratelimit.RateLimiterBuilder;
import dev.usher.gate.ratelimit.RedisBuckets;
import dev.usher.gate.ratelimit.StoreDownPolicy;
import dev.usher.gate.redis.AdmissionUnavailableException;
import dev.usher.gate.redis.RedisAdmissionQueue;
import dev.usher.gate.redis.RedisAdmissionQueueMetrics;
import dev.usher.gate.workspace.QuotaExceededException;
import dev.usher.gate.workspace.UnsafePathException;
import dev.usher.gate.workspace.Workspace;
import dev.usher.gate.workspace.WorkspaceAllocator;
import dev.usher.gate.workspace.WorkspaceException;
import dev.usher.session.Session;
import dev.usher.session.SessionLimitException;
import dev.usher.session.SessionManager;
import dev.usher.session.SessionPage;
import dev.usher.session.SessionStore;
import dev.usher.session.jdbc.JdbcSessionStore;
import dev.usher.session.memory.InMemorySessionStore;
import dev.usher.session.redis.RedisSessionStore;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.net.InetSocketAddress;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ExecutorService;
import java.util.stream.Collectors;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import redis.clients.jedis.HostAndPort;
import redis.clients.jedis.RedisClient;
import redis.clients.jedis.RedisClusterClient;
import redis.clients.jedis.UnifiedJedis;

/**
 * An example chat server on the JDK's own {@link HttpServer} that shows how a host wires Usher: one
 * {@link WorkflowGate} in front of a (simulated) model, a session cookie, workspace files, admin endpoints,
 * health and Prometheus metrics. Configured by environment variables ({@link Config}); the default keeps
 * sessions in a SQLite file under {@code ./data}, so they survive a restart with no setup.
 *
 * <p>Endpoints: {@code GET /} (the page), {@code POST /api/login}, {@code POST /api/workflow/execute}
 * (NDJSON stream), {@code GET /api/queue}, {@code PUT|GET|DELETE /api/workspace/files/<path>},
 * {@code GET /api/admin/sessions}, {@code DELETE /api/admin/sessions/<id>}, {@code GET /healthz},
 * {@code GET /metrics}.
 */
public final class ChatServer implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(ChatServer.class);
    private static final int MAX_PROMPT = 4_000;
    private static final int MAX_UPLOAD = 8 * 1024 * 1024;

    private final Config config;
    private final WorkflowGate<SimulatedModel> gate;
    private final RateLimiter limiter;
    private final RedisClient rateLimitRedis;
    private final UnifiedJedis queueRedis;
    private RedisAdmissionQueueMetrics queueMetrics;
    private final PrometheusMeterRegistry metrics;
    private final HttpServer http;
    private final ExecutorService executor;

    private ChatServer(Config config) throws IOException {
        this.config = config;
        Files.createDirectories(config.dataDir());
        SessionManager sessions = SessionManager.builder(openStore(config))
                .idleTimeout(config.idleTimeout())
                .sweepInterval(Duration.ofSeconds(10))
                .build();
        this.rateLimitRedis = config.rateLimitRedisUri() == null ? null : RedisClient.create(URI.create(config.rateLimitRedisUri()));
        RateLimiterBuilder limits = RateLimiter.builder().name("chat")
                .limit(Limit.of("minute", config.requestsPerMinute(), Duration.ofMinutes(1)))
                .limit(Limit.of("burst", config.burstPerSecond(), Duration.ofSeconds(1)));
        if (rateLimitRedis != null) {
            limits.shared(RedisBuckets.proxyManager(rateLimitRedis)).whenStoreDown(StoreDownPolicy.LOCAL_FALLBACK);
        }
        this.limiter = limits.build();
        WorkspaceAllocator workspaces = WorkspaceAllocator.builder(config.dataDir().resolve("workspaces"), sessions)
                .releaseWhenSessionEnds(false) // the gate releases it once the workflow has closed
                .maxBytes(64L << 20)
                .maxFiles(1_000)
                .build();
        AdmissionQueue queue;
        if (config.queue().equals("redis")) {
            // One queue for every instance on this Redis: one cap, one fair line, global positions.
            this.queueRedis = connectQueueRedis(config.queueRedis());
            RedisAdmissionQueue shared = RedisAdmissionQueue.builder(queueRedis, config.queueName(), config.maxRunning())
                    .maxQueued(config.maxQueued())
                    .maxWait(config.maxWait())
                    .maxRunningPerKey(1)
                    .initialRunDuration(SimulatedModel.typicalRun(config.tokenDelay()))
                    .build();
            queue = shared;
            queueMetrics = new RedisAdmissionQueueMetrics(shared);
        } else {
            this.queueRedis = null;
            queue = AdmissionQueue.builder(config.maxRunning())
                    .maxQueued(config.maxQueued())
                    .maxWait(config.maxWait())
                    .maxRunningPerKey(1)
                    // The estimate until real runs have finished: a host puts its typical run here.
                    .initialRunDuration(SimulatedModel.typicalRun(config.tokenDelay()))
                    .name("chat")
                    .build();
        }
        WorkflowCache<String, SimulatedModel> models = WorkflowCache
                .<String, SimulatedModel>builder(sessionId -> new SimulatedModel(config.tokenDelay()))
                .maximumSize(256)
                .expireAfterAccess(Duration.ofMinutes(15))
                .build();
        this.gate = WorkflowGate.builder(sessions, queue, models).name("chat").rateLimiter(limiter).workspaces(workspaces)
                .keepAliveInterval(config.keepAlive()).build();
        this.metrics = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
        new WorkflowGateMetrics(gate).bindTo(metrics);
        if (queueMetrics != null) {
            queueMetrics.bindTo(metrics);
        }

        this.http = HttpServer.create(new InetSocketAddress(config.port()), 0);
        this.executor = Http.requestExecutor();
        http.setExecutor(executor);
        route("/", this::page);
        route("/api/login", this::login);
        route("/api/workflow/execute", this::execute);
        route("/api/queue", this::queueState);
        route("/api/workspace/files", this::files);
        route("/api/admin/sessions", this::admin);
        route("/healthz", this::health);
        route("/metrics", ex -> Http.sendText(ex, 200, "text/plain; version=0.0.4; charset=utf-8", metrics.scrape()));
        http.start();
    }

    /** Starts a server; {@code config.port() == 0} picks a free port (see {@link #port()}). */
    static ChatServer start(Config config) throws IOException {
        return new ChatServer(config);
    }

    public static void main(String[] args) throws IOException {
        Config config = Config.fromEnvironment();
        ChatServer server = start(config);
        Runtime.getRuntime().addShutdownHook(new Thread(server::close, "chat-shutdown"));
        System.out.printf("Usher example chat on %s sessions — open http://localhost:%d/%n", config.store(), server.port());
    }

    int port() {
        return http.getAddress().getPort();
    }

    WorkflowGate<SimulatedModel> gate() {
        return gate;
    }

    /** A Redis URI, or a comma-separated host:port list of Redis Cluster nodes. */
    private static UnifiedJedis connectQueueRedis(String spec) {
        if (spec.contains(",")) {
            return RedisClusterClient.create(Arrays.stream(spec.split(",")).map(String::trim).map(HostAndPort::from)
                    .collect(Collectors.toSet()));
        }
        return RedisClient.create(URI.create(spec));
    }

    private static SessionStore openStore(Config config) {
        return switch (config.store()) {
            case "memory" -> new InMemorySessionStore();
            case "sqlite", "postgres" -> JdbcSessionStore.builder().jdbcUrl(config.storeUrl()).build();
            case "redis" -> RedisSessionStore.builder().uri(config.storeUrl()).build();
            default -> throw new IllegalArgumentException("unknown store " + config.store());
        };
    }

    // ---- handlers ---------------------------------------------------------------------------------

    private void page(HttpExchange ex) throws IOException {
        if (!ex.getRequestURI().getPath().equals("/")) {
            Http.sendError(ex, 404, "no such page");
            return;
        }
        try (InputStream in = ChatServer.class.getResourceAsStream("index.html")) {
            Http.sendText(ex, 200, "text/html; charset=utf-8", new String(in.readAllBytes(), StandardCharsets.UTF_8));
        }
    }

    /** "Login" without a password, as a stand-in for the host's own: what matters is the id rotation. */
    private void login(HttpExchange ex) throws IOException {
        requireMethod(ex, "POST");
        String user = Http.string(Http.readJson(ex), "user", 64);
        if (user == null || user.isBlank()) {
            throw new Http.BadRequest("'user' is required");
        }
        SessionManager sessions = gate.sessions();
        Session session = Http.sessionCookie(ex).flatMap(sessions::touch)
                .orElseGet(() -> sessions.create(null, Map.of()));
        Session rotated = sessions.login(session.id(), user.strip())
                .orElseThrow(() -> new Http.BadRequest("the session ended during login; try again"));
        Http.setSessionCookie(ex, rotated.id());
        Http.sendJson(ex, 200, Map.of("user", rotated.owner()));
    }

    private void execute(HttpExchange ex) throws IOException {
        requireMethod(ex, "POST");
        Map<String, Object> body = Http.readJson(ex);
        String prompt = Http.string(body, "prompt", MAX_PROMPT);
        if (prompt == null || prompt.isBlank()) {
            throw new Http.BadRequest("'prompt' is required");
        }
        String projectName = Http.string(body, "projectName", 200);
        Optional<String> cookie = Http.sessionCookie(ex);
        // A real host limits by user or API key; the example uses the session cookie, or the address.
        String rateKey = cookie.orElse("ip:" + ex.getRemoteAddress().getAddress().getHostAddress());

        try (NdjsonStream stream = new NdjsonStream(ex)) {
            GateOutcome<SimulatedModel> outcome;
            try {
                outcome = gate.enter(new GateRequest(cookie.orElse(null), rateKey, projectName),
                        (session, position, eta) -> {
                            if (!stream.started() && !cookie.equals(Optional.of(session.id()))) {
                                Http.setSessionCookie(ex, session.id());
                            }
                            stream.sendWaiting(position, eta);
                        });
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return;
            } catch (UncheckedIOException e) {
                return; // the client left while queued; the gate gave its place back
            } catch (AdmissionUnavailableException e) {
                // The shared queue's Redis is down or slow: refuse fast rather than run uncapped.
                if (stream.started()) {
                    stream.send(Map.of("type", "error", "message", "the queue is unavailable; try again"));
                    return;
                }
                ex.getResponseHeaders().set("Retry-After", Long.toString(Math.max(1, e.retryAfter().toSeconds())));
                Http.sendError(ex, 503, "The queue is unavailable.");
                return;
            }
            if (outcome instanceof GateOutcome.RateLimited<SimulatedModel> limited) {
                RateLimitHeaders.of(limiter, limited.decision()).forEach(ex.getResponseHeaders()::set);
                Http.sendError(ex, 429, "Too many requests.");
            } else if (outcome instanceof GateOutcome.Rejected<SimulatedModel> rejected) {
                if (stream.started()) {
                    stream.send(Map.of("type", "error", "message", "not admitted: " + rejected.reason()));
                    return;
                }
                long retryAfter = rejected.retryAfter().map(Duration::toSeconds).orElse(5L);
                ex.getResponseHeaders().set("Retry-After", Long.toString(Math.max(1, retryAfter)));
                setCookieIfNew(ex, cookie, rejected.session());
                Http.sendError(ex, 503, "The queue is full.");
            } else if (outcome instanceof GateOutcome.Unavailable<SimulatedModel> unavailable) {
                log.warn("store unavailable: {}", unavailable.message());
                if (stream.started()) {
                    stream.send(Map.of("type", "error", "message", "temporarily unavailable"));
                    return;
                }
                long retryAfter = (unavailable.retryAfter().toMillis() + 999) / 1000;
                ex.getResponseHeaders().set("Retry-After", Long.toString(Math.max(1, retryAfter)));
                Http.sendError(ex, 503, "Temporarily unavailable, try again shortly.");
            } else if (outcome instanceof GateOutcome.Admitted<SimulatedModel> run) {
                try (run) {
                    if (!stream.started()) {
                        setCookieIfNew(ex, cookie, run.session());
                    }
                    stream.send(Map.of("type", "started"));
                    run.workflow().answer(prompt, token -> stream.send(Map.of("type", "token", "text", token)));
                    stream.send(Map.of("type", "done"));
                } catch (UncheckedIOException e) {
                    // the client left mid-answer; try-with-resources gave the run back
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            }
        }
    }

    private static void setCookieIfNew(HttpExchange ex, Optional<String> cookie, Session session) {
        if (!cookie.equals(Optional.of(session.id()))) {
            Http.setSessionCookie(ex, session.id());
        }
    }

    private void queueState(HttpExchange ex) throws IOException {
        AdmissionStats s = gate.queue().stats();
        Http.sendJson(ex, 200, Map.of("running", s.running(), "queued", s.queued(), "maxRunning", config.maxRunning()));
    }

    private void files(HttpExchange ex) throws IOException {
        String prefix = "/api/workspace/files";
        String path = ex.getRequestURI().getPath().substring(prefix.length());
        String userPath = path.startsWith("/") ? path.substring(1) : path;
        SessionManager sessions = gate.sessions();
        Session session = Http.sessionCookie(ex).flatMap(sessions::touch).orElse(null);
        if (session == null) {
            Http.sendError(ex, 401, "no session: run a workflow or log in first");
            return;
        }
        Workspace ws = gate.workspaces().orElseThrow().workspaceFor(session, "files");
        try {
            switch (ex.getRequestMethod()) {
                case "PUT" -> {
                    try (InputStream in = ex.getRequestBody()) {
                        byte[] content = in.readNBytes(MAX_UPLOAD + 1);
                        if (content.length > MAX_UPLOAD) {
                            Http.sendError(ex, 413, "upload is over " + MAX_UPLOAD + " bytes");
                            return;
                        }
                        ws.write(userPath, content);
                    }
                    Http.sendJson(ex, 200, Map.of("written", userPath));
                }
                case "GET" -> {
                    if (userPath.isEmpty() || userPath.endsWith("/")) {
                        Http.sendJson(ex, 200, Map.of("workspace", ws.name(), "files", ws.list(userPath)));
                    } else {
                        byte[] content = ws.read(userPath);
                        ex.getResponseHeaders().set("Content-Type", "application/octet-stream");
                        ex.sendResponseHeaders(200, content.length == 0 ? -1 : content.length);
                        try (var out = ex.getResponseBody()) {
                            out.write(content);
                        }
                    }
                }
                case "DELETE" -> Http.sendJson(ex, 200, Map.of("deleted", ws.delete(userPath)));
                default -> Http.sendError(ex, 405, "use PUT, GET or DELETE");
            }
        } catch (UnsafePathException e) {
            Http.sendError(ex, 400, e.getMessage());
        } catch (QuotaExceededException e) {
            Http.sendError(ex, 413, e.getMessage());
        } catch (WorkspaceException e) {
            Http.sendError(ex, 404, e.getMessage());
        }
    }

    private void admin(HttpExchange ex) throws IOException {
        if (!adminAllowed(ex)) {
            Http.sendError(ex, 403, "admin endpoints need the admin token (or a loopback client when none is set)");
            return;
        }
        SessionManager sessions = gate.sessions();
        String rest = ex.getRequestURI().getPath().substring("/api/admin/sessions".length());
        if (ex.getRequestMethod().equals("GET") && rest.isEmpty()) {
            String query = ex.getRequestURI().getQuery();
            String cursor = query != null && query.startsWith("cursor=") ? query.substring("cursor=".length()) : null;
            SessionPage page = sessions.list(cursor, 100);
            List<Map<String, Object>> rows = new ArrayList<>();
            for (Session s : page.sessions()) {
                Map<String, Object> row = new LinkedHashMap<>();
                row.put("id", s.id());
                row.put("owner", s.owner());
                row.put("createdAt", s.createdAt().toString());
                row.put("lastAccessedAt", s.lastAccessedAt().toString());
                row.put("expiresAt", s.expiresAt().toString());
                rows.add(row);
            }
            Map<String, Object> result = new LinkedHashMap<>();
            result.put("sessions", rows);
            result.put("nextCursor", page.nextCursor());
            Http.sendJson(ex, 200, result);
        } else if (ex.getRequestMethod().equals("DELETE") && rest.startsWith("/")) {
            boolean ended = sessions.end(rest.substring(1));
            Http.sendJson(ex, ended ? 200 : 404, Map.of("ended", ended));
        } else {
            Http.sendError(ex, 405, "GET /api/admin/sessions or DELETE /api/admin/sessions/<id>");
        }
    }

    private boolean adminAllowed(HttpExchange ex) {
        if (config.adminToken() == null) {
            return ex.getRemoteAddress().getAddress().isLoopbackAddress();
        }
        String auth = ex.getRequestHeaders().getFirst("Authorization");
        return auth != null && auth.equals("Bearer " + config.adminToken());
    }

    private void health(HttpExchange ex) throws IOException {
        try {
            long active = gate.sessions().stats().active(); // reaches the store
            Http.sendJson(ex, 200, Map.of("status", "ok", "sessions", active));
        } catch (RuntimeException e) {
            Http.sendJson(ex, 503, Map.of("status", "store unavailable", "message", e.getMessage()));
        }
    }

    // ---- plumbing ---------------------------------------------------------------------------------

    @FunctionalInterface
    private interface Handler {
        void handle(HttpExchange exchange) throws IOException;
    }

    private void route(String path, Handler handler) {
        http.createContext(path, ex -> {
            try (ex) {
                handler.handle(ex);
            } catch (Http.BadRequest e) {
                Http.sendError(ex, 400, e.getMessage());
            } catch (SessionLimitException e) {
                Http.sendError(ex, 409, e.getMessage());
            } catch (RuntimeException e) {
                log.warn("{} {} failed", ex.getRequestMethod(), ex.getRequestURI().getPath(), e);
                try {
                    Http.sendError(ex, 500, "internal error");
                } catch (IOException | RuntimeException ignored) {
                    // headers were already sent; the client sees a cut stream
                }
            }
        });
    }

    private static void requireMethod(HttpExchange ex, String method) {
        if (!ex.getRequestMethod().equals(method)) {
            throw new Http.BadRequest("use " + method);
        }
    }

    @Override
    public void close() {
        http.stop(0);
        executor.shutdownNow();
        gate.close();
        if (queueRedis != null) {
            queueRedis.close();
        }
        if (rateLimitRedis != null) {
            rateLimitRedis.close();
        }
        metrics.close();
    }
}
