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
import dev.usher.gate.http.ForwardedClient;
import dev.usher.gate.http.TrustedProxies;
import dev.usher.gate.ratelimit.Decision;
import dev.usher.gate.ratelimit.Limit;
import dev.usher.gate.ratelimit.RateLimitHeaders;
import dev.usher.gate.ratelimit.RateLimiter;
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
import dev.usher.session.SessionIds;
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
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.UnknownHostException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.time.Clock;
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
 * {@code GET /api/admin/sessions}, {@code DELETE /api/admin/sessions/<handle>}, {@code GET /healthz},
 * {@code GET /metrics}. Every error is answered with its status and a JSON body
 * {@code {"error": status, "message": ...}}.
 *
 * <p>Safe behind a reverse proxy: the client's address and scheme come from {@link TrustedProxies} (headers
 * believed only from the configured proxies); rate limits and the limit on new sessions are per client
 * address; the admin API is off without a token and never shows a session id; the cookie is Secure over TLS.
 *
 * <p>Why this class is long: it is the example a host reads to learn the wiring, so every endpoint stays in
 * this one file, each a short handler method, in the order of the list above. What is not wiring has its own
 * class: settings ({@link Config}), the cookie ({@link SessionCookie}), admin handles ({@link AdminHandles}),
 * the NDJSON stream ({@link NdjsonStream}), HTTP helpers ({@link Http}) and the model ({@link SimulatedModel}).
 */
public final class ChatServer implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(ChatServer.class);
    private static final int MAX_PROMPT = 4_000;
    private static final int MAX_UPLOAD = 8 * 1024 * 1024;

    private final Config config;
    private final SessionCookie cookie;
    private final AdminHandles adminHandles;
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
        this.cookie = new SessionCookie(config.secureCookie(), config.cookieHostPrefix());
        this.adminHandles = config.adminToken() == null ? null : new AdminHandles(config.adminToken(), Clock.systemUTC());
        Files.createDirectories(config.dataDir());
        SessionManager sessions = SessionManager.builder(openStore(config))
                .idleTimeout(config.idleTimeout())
                .sweepInterval(Duration.ofSeconds(10))
                .build();
        this.rateLimitRedis = config.rateLimitRedisUri() == null ? null : RedisClient.create(URI.create(config.rateLimitRedisUri()));
        RateLimiter.Builder limits = RateLimiter.builder().name("chat")
                .limit(Limit.of("minute", config.requestsPerMinute(), Duration.ofMinutes(1)))
                .limit(Limit.of("burst", config.burstPerSecond(), Duration.ofSeconds(1)));
        if (rateLimitRedis != null) {
            limits.shared(RedisBuckets.proxyManager(rateLimitRedis)).whenStoreDown(StoreDownPolicy.LOCAL_FALLBACK);
        }
        this.limiter = limits.build();
        // Sessions one client address may create: a client that drops its cookie cannot grow the store.
        RateLimiter.Builder newSessions = RateLimiter.builder().name("chat-new-sessions")
                .limit(Limit.of("new-sessions", config.newSessionsPerHour(), Duration.ofHours(1)));
        if (rateLimitRedis != null) {
            newSessions.shared(RedisBuckets.proxyManager(rateLimitRedis)).whenStoreDown(StoreDownPolicy.LOCAL_FALLBACK);
        }
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
        this.gate = WorkflowGate.builder(sessions, queue, models).name("chat").rateLimiter(limiter)
                .sessionCreationLimiter(newSessions.build()).workspaces(workspaces)
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
        route("/api/login", exact(this::login));
        route("/api/workflow/execute", exact(this::execute));
        route("/api/queue", exact(this::queueState));
        route("/api/workspace/files", this::files);
        route("/api/admin/sessions", this::admin);
        route("/healthz", exact(this::health));
        route("/metrics", exact(ex -> {
            requireMethod(ex, "GET");
            Http.sendText(ex, 200, "text/plain; version=0.0.4; charset=utf-8", metrics.scrape());
        }));
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
            // A bound on live sessions in every store: cookie-less floods are also limited per address, but
            // many addresses together must not grow the store without limit either.
            case "memory" -> InMemorySessionStore.builder().maxSessions(config.maxSessions())
                    .whenFull(InMemorySessionStore.WhenFull.REJECT).build();
            case "sqlite", "postgres" -> JdbcSessionStore.builder().jdbcUrl(config.storeUrl())
                    .maxSessions(config.maxSessions()).build();
            case "redis" -> RedisSessionStore.builder().uri(config.storeUrl()).maxSessions(config.maxSessions()).build();
            default -> throw new IllegalArgumentException("unknown store " + config.store());
        };
    }

    // ---- handlers ---------------------------------------------------------------------------------

    private void page(HttpExchange ex) throws IOException {
        if (!ex.getRequestURI().getPath().equals("/")) {
            throw new Http.ClientError(404, "no such page");
        }
        requireMethod(ex, "GET");
        try (InputStream in = ChatServer.class.getResourceAsStream("index.html")) {
            Http.sendText(ex, 200, "text/html; charset=utf-8", new String(in.readAllBytes(), StandardCharsets.UTF_8));
        }
    }

    /** "Login" without a password, as a stand-in for the host's own: what matters is the id rotation. */
    private void login(HttpExchange ex) throws IOException {
        requireMethod(ex, "POST");
        String user = Http.string(Http.readJson(ex), "user", 64);
        if (user == null || user.isBlank()) {
            throw Http.ClientError.badRequest("'user' is required");
        }
        SessionManager sessions = gate.sessions();
        ForwardedClient client = client(ex);
        Session session = cookie.read(ex).flatMap(sessions::touch).orElse(null);
        if (session == null) {
            // The same limit on new sessions as the gate's: login is the other way to create one.
            Decision decision = gate.sessionCreationLimiter().orElseThrow().tryAcquire(creationKey(client.address()));
            if (!decision.allowed()) {
                sendRateLimited(ex, decision);
                return;
            }
            session = sessions.create(null, Map.of());
        }
        Session rotated = sessions.login(session.id(), user.strip())
                .orElseThrow(() -> new Http.ClientError(409, "the session ended during login; try again"));
        cookie.write(ex, rotated.id(), client.secure());
        Http.sendJson(ex, 200, Map.of("user", rotated.owner()));
    }

    private void execute(HttpExchange ex) throws IOException {
        requireMethod(ex, "POST");
        Map<String, Object> body = Http.readJson(ex);
        String prompt = Http.string(body, "prompt", MAX_PROMPT);
        if (prompt == null || prompt.isBlank()) {
            throw Http.ClientError.badRequest("'prompt' is required");
        }
        String projectName = Http.string(body, "projectName", 200);
        Optional<String> cookie = this.cookie.read(ex);
        ForwardedClient client = client(ex);
        // A real host limits by user or API key; the example uses the session cookie, or the client address
        // (behind a proxy, the one the trusted proxy reported). A cookie that names no live session gets no
        // free pass: the gate's limit on new sessions per address still applies.
        String rateKey = cookie.map(c -> "session:" + c).orElse("ip:" + client.address().getHostAddress());

        try (NdjsonStream stream = new NdjsonStream(ex)) {
            GateOutcome<SimulatedModel> outcome;
            try {
                outcome = gate.enter(new GateRequest(cookie.orElse(null), rateKey, projectName,
                                creationKey(client.address())),
                        (session, position, eta) -> {
                            if (!stream.started() && !cookie.equals(Optional.of(session.id()))) {
                                this.cookie.write(ex, session.id(), client.secure());
                            }
                            stream.sendWaiting(position, eta);
                        });
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return;
            } catch (UncheckedIOException e) {
                return; // the client left while queued; the gate gave its place back
            } catch (SessionLimitException e) {
                // USHER_MAX_SESSIONS live sessions already: refuse the newcomer, as a full queue would.
                if (stream.started()) {
                    stream.send(Map.of("type", "error", "message", "too many sessions; try again later"));
                    return;
                }
                ex.getResponseHeaders().set("Retry-After", "60");
                Http.sendError(ex, 503, "Too many sessions, try again later.");
                return;
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
                sendRateLimited(ex, limited.decision());
            } else if (outcome instanceof GateOutcome.Rejected<SimulatedModel> rejected) {
                if (stream.started()) {
                    stream.send(Map.of("type", "error", "message", "not admitted: " + rejected.reason()));
                    return;
                }
                long retryAfter = rejected.retryAfter().map(Duration::toSeconds).orElse(5L);
                ex.getResponseHeaders().set("Retry-After", Long.toString(Math.max(1, retryAfter)));
                rejected.session().ifPresent(s -> setCookieIfNew(ex, cookie, s, client));
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
                        setCookieIfNew(ex, cookie, run.session(), client);
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

    private void setCookieIfNew(HttpExchange ex, Optional<String> sent, Session session, ForwardedClient client) {
        if (!sent.equals(Optional.of(session.id()))) {
            cookie.write(ex, session.id(), client.secure());
        }
    }

    /** 429 with the standard headers of the limiter that decided (the request limit or the new-session limit). */
    private void sendRateLimited(HttpExchange ex, Decision decision) throws IOException {
        List<Limit> limits = decision.limits().isEmpty() ? limiter.limits()
                : decision.limits().stream().map(Decision.LimitState::limit).toList();
        RateLimitHeaders.of(limits, decision).forEach(ex.getResponseHeaders()::set);
        boolean newSessions = limits.stream().anyMatch(l -> l.name().equals("new-sessions"));
        Http.sendError(ex, 429, newSessions ? "Too many new sessions from this address." : "Too many requests.");
    }

    /** The client behind the trusted proxies, if any; this server itself speaks plain HTTP. */
    private ForwardedClient client(HttpExchange ex) {
        return config.trustedProxies().resolve(ex.getRemoteAddress().getAddress(), false,
                name -> ex.getRequestHeaders().get(name));
    }

    /**
     * The key of the new-session limit: the address, or for IPv6 its /64 network, because one subscriber
     * usually holds a whole /64 and could otherwise rotate through 2^64 addresses.
     */
    static String creationKey(InetAddress address) {
        byte[] bytes = address.getAddress();
        if (bytes.length == 16) {
            Arrays.fill(bytes, 8, 16, (byte) 0);
            try {
                return InetAddress.getByAddress(bytes).getHostAddress() + "/64";
            } catch (UnknownHostException impossible) {
                throw new IllegalStateException(impossible);
            }
        }
        return address.getHostAddress();
    }

    private void queueState(HttpExchange ex) throws IOException {
        requireMethod(ex, "GET");
        AdmissionStats s = gate.queue().stats();
        Http.sendJson(ex, 200, Map.of("running", s.running(), "queued", s.queued(), "maxRunning", config.maxRunning()));
    }

    private void files(HttpExchange ex) throws IOException {
        String prefix = "/api/workspace/files";
        String path = ex.getRequestURI().getPath().substring(prefix.length());
        String userPath = path.startsWith("/") ? path.substring(1) : path;
        SessionManager sessions = gate.sessions();
        Session session = cookie.read(ex).flatMap(sessions::touch).orElse(null);
        if (session == null) {
            throw new Http.ClientError(401, "no session: run a workflow or log in first");
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
                default -> throw Http.ClientError.methodNotAllowed("PUT", "GET", "DELETE");
            }
        } catch (UnsafePathException e) {
            Http.sendError(ex, 400, e.getMessage());
        } catch (QuotaExceededException e) {
            Http.sendError(ex, 413, e.getMessage());
        } catch (WorkspaceException e) {
            Http.sendError(ex, 404, e.getMessage());
        }
    }

    /**
     * Lists and ends sessions. Off unless {@code USHER_ADMIN_TOKEN} is set (no "loopback is trusted" rule:
     * behind a proxy on the same host every request comes from loopback). A listing shows ids redacted and an
     * opaque handle per session ({@link AdminHandles}); every action is logged with the redacted id.
     */
    private void admin(HttpExchange ex) throws IOException {
        if (adminHandles == null) {
            throw new Http.ClientError(404, "the admin API is off: set USHER_ADMIN_TOKEN to turn it on");
        }
        ForwardedClient client = client(ex);
        if (!adminHandles.authorized(ex.getRequestHeaders().getFirst("Authorization"))) {
            log.warn("admin: refused {} {} from {} (no or wrong token)", ex.getRequestMethod(),
                    ex.getRequestURI().getPath().startsWith("/api/admin/sessions/") ? "/api/admin/sessions/<handle>"
                            : ex.getRequestURI().getPath(), client.address().getHostAddress());
            ex.getResponseHeaders().set("WWW-Authenticate", "Bearer");
            throw new Http.ClientError(401, "the admin API needs Authorization: Bearer <USHER_ADMIN_TOKEN>");
        }
        SessionManager sessions = gate.sessions();
        String rest = ex.getRequestURI().getPath().substring("/api/admin/sessions".length());
        if (rest.isEmpty()) {
            requireMethod(ex, "GET");
            String query = ex.getRequestURI().getRawQuery();
            String cursor = null;
            if (query != null && query.startsWith("cursor=")) {
                String sealed = java.net.URLDecoder.decode(query.substring("cursor=".length()), StandardCharsets.UTF_8);
                cursor = adminHandles.storeCursor(sealed).orElseThrow(
                        () -> Http.ClientError.badRequest("unknown or expired cursor: list from the start again"));
            }
            SessionPage page = sessions.list(cursor, 100);
            List<Map<String, Object>> rows = new ArrayList<>();
            for (Session s : page.sessions()) {
                Map<String, Object> row = new LinkedHashMap<>();
                row.put("session", SessionIds.redact(s.id()));
                row.put("handle", adminHandles.handle(s.id()));
                row.put("owner", s.owner());
                row.put("createdAt", s.createdAt().toString());
                row.put("lastAccessedAt", s.lastAccessedAt().toString());
                row.put("expiresAt", s.expiresAt().toString());
                rows.add(row);
            }
            log.info("admin: {} listed {} session(s)", client.address().getHostAddress(), rows.size());
            Map<String, Object> result = new LinkedHashMap<>();
            result.put("sessions", rows);
            result.put("nextCursor", page.nextCursor() == null ? null : adminHandles.cursor(page.nextCursor()));
            result.put("handlesValidForSeconds", AdminHandles.VALID_FOR.toSeconds());
            Http.sendJson(ex, 200, result);
        } else if (rest.startsWith("/") && rest.indexOf('/', 1) < 0) {
            requireMethod(ex, "DELETE");
            Optional<String> id = adminHandles.sessionId(rest.substring(1));
            if (id.isEmpty()) {
                throw new Http.ClientError(404, "unknown or expired handle: list the sessions again");
            }
            boolean ended = sessions.end(id.get());
            log.info("admin: {} ended session {}: {}", client.address().getHostAddress(), SessionIds.redact(id.get()),
                    ended ? "ended" : "already gone");
            Http.sendJson(ex, ended ? 200 : 404, Map.of("ended", ended, "session", SessionIds.redact(id.get())));
        } else {
            throw new Http.ClientError(404, "GET /api/admin/sessions or DELETE /api/admin/sessions/<handle>");
        }
    }

    private void health(HttpExchange ex) throws IOException {
        requireMethod(ex, "GET");
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

    /**
     * Registers a handler. Every failure is answered before the exchange is closed: a client error with its
     * status, a {@link SessionLimitException} with 409, anything else with 500 (logged). Once a stream has
     * started, the status is gone; the client then sees the stream end.
     */
    private void route(String path, Handler handler) {
        http.createContext(path, ex -> {
            try {
                handler.handle(ex);
            } catch (Http.ClientError e) {
                if (e.allow != null) {
                    ex.getResponseHeaders().set("Allow", e.allow);
                }
                sendErrorIfPossible(ex, e.status, e.getMessage());
            } catch (SessionLimitException e) {
                sendErrorIfPossible(ex, 409, e.getMessage());
            } catch (RuntimeException e) {
                log.warn("{} {} failed", ex.getRequestMethod(), ex.getRequestURI().getPath(), e);
                sendErrorIfPossible(ex, 500, "internal error");
            } finally {
                ex.close();
            }
        });
    }

    private static void sendErrorIfPossible(HttpExchange ex, int status, String message) {
        if (ex.getResponseCode() != -1) {
            return; // the response (a stream) has started: its status cannot change
        }
        try {
            Http.sendError(ex, status, message);
        } catch (IOException | RuntimeException e) {
            // the client is gone; nothing left to tell it
        }
    }

    /** A handler of exactly its context's path: anything below it is a 404, not the same endpoint. */
    private static Handler exact(Handler handler) {
        return ex -> {
            if (!ex.getRequestURI().getPath().equals(ex.getHttpContext().getPath())) {
                throw new Http.ClientError(404, "no such endpoint");
            }
            handler.handle(ex);
        };
    }

    private static void requireMethod(HttpExchange ex, String method) {
        if (!ex.getRequestMethod().equals(method)) {
            throw Http.ClientError.methodNotAllowed(method);
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
