package dev.usher.servlet;

import java.util.function.UnaryOperator;
import dev.usher.gate.http.TrustedProxies;
import static org.assertj.core.api.Assertions.assertThat;

import dev.usher.gate.WorkflowGate;
import dev.usher.gate.admission.AdmissionQueue;
import dev.usher.gate.cache.WorkflowCache;
import dev.usher.gate.ratelimit.Limit;
import dev.usher.gate.ratelimit.RateLimiter;
import dev.usher.session.ForwardingSessionStore;
import dev.usher.session.HostThreads;
import dev.usher.session.Session;
import dev.usher.session.SessionManager;
import dev.usher.session.StoreUnavailableException;
import dev.usher.session.memory.InMemorySessionStore;
import jakarta.servlet.AsyncContext;
import jakarta.servlet.Filter;
import jakarta.servlet.http.HttpServlet;
import jakarta.servlet.http.HttpServletRequest;
import jakarta.servlet.http.HttpServletResponse;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.net.Socket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.BooleanSupplier;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** UsherFilter on a real embedded Tomcat (and, through {@link JettyUsherFilterTest}, Jetty), driven over real sockets. */
class UsherFilterTest {
    private static final Duration PATIENCE = Duration.ofSeconds(30);

    private final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(10)).build();
    private final List<AutoCloseable> toClose = new ArrayList<>();
    /** Requests to /work/hold wait on this latch inside the handler, holding their permit. */
    private final CountDownLatch hold = new CountDownLatch(1);
    private final AtomicInteger holding = new AtomicInteger();
    private final BlockingQueue<AsyncContext> asyncRuns = new LinkedBlockingQueue<>();
    private final AtomicBoolean storeDown = new AtomicBoolean();
    private final AtomicInteger workflowsCreated = new AtomicInteger();

    private WorkflowGate<Object> gate;
    private UsherFilter filter;
    private ContainerHarness container;

    @AfterEach
    void tearDown() throws Exception {
        hold.countDown();
        if (container != null) {
            container.close();
        }
        if (filter != null) {
            filter.destroy();
        }
        if (gate != null) {
            gate.close();
        }
        for (AutoCloseable c : toClose) {
            c.close();
        }
    }

    /** One run at a time, {@code maxQueued} may wait; an optional rate limit. */
    private Duration maxWait = Duration.ofMinutes(5);

    @SafeVarargs
    private void start(int maxQueued, RateLimiter limiter, UnaryOperator<UsherFilter.Builder>... custom) throws Exception {
        SessionManager sessions = SessionManager.builder(new ForwardingSessionStore(new InMemorySessionStore()) {
            @Override
            public Optional<Session> load(String id) {
                if (storeDown.get()) {
                    throw new StoreUnavailableException("session store down (test)", null);
                }
                return super.load(id);
            }

            @Override
            public boolean insert(Session session) {
                if (storeDown.get()) {
                    throw new StoreUnavailableException("session store down (test)", null);
                }
                return super.insert(session);
            }
        }).build();
        AdmissionQueue queue = AdmissionQueue.builder(1).maxQueued(maxQueued).maxWait(maxWait)
                .notificationPeriod(Duration.ofMillis(20)).initialRunDuration(Duration.ofSeconds(4)).build();
        WorkflowCache<String, Object> workflows = WorkflowCache.<String, Object>builder(id -> {
            workflowsCreated.incrementAndGet();
            return new Object();
        }).maximumSize(100).build();
        WorkflowGate.Builder<Object> builder = WorkflowGate.builder(sessions, queue, workflows);
        if (limiter != null) {
            builder.rateLimiter(limiter);
        }
        gate = builder.build();
        UsherFilter.Builder filterBuilder = UsherFilter.builder(gate).keepAliveInterval(Duration.ofMillis(50));
        for (UnaryOperator<UsherFilter.Builder> c : custom) {
            filterBuilder = c.apply(filterBuilder);
        }
        filter = filterBuilder.build();
        container = startContainer(filter, new WorkServlet());
    }

    /** The container the tests run on: Tomcat here, another in a subclass. */
    ContainerHarness startContainer(Filter filter, HttpServlet servlet) throws Exception {
        return new TomcatHarness(filter, servlet);
    }

    /** The host's handler: what each path does once admitted. */
    private final class WorkServlet extends HttpServlet {
        @Override
        protected void service(HttpServletRequest req, HttpServletResponse res) throws IOException {
            UsherRequest<Object> run = UsherRequest.of(req);
            assertThat(run.workflow()).isSameAs(req.getAttribute(UsherRequest.WORKFLOW_ATTRIBUTE));
            switch (req.getPathInfo()) {
                case "/login" -> {
                    Session renamed = run.login("alice");
                    res.getWriter().write(renamed.id());
                }
                case "/hold" -> {
                    holding.incrementAndGet();
                    try {
                        hold.await(PATIENCE.toSeconds(), TimeUnit.SECONDS);
                    } catch (InterruptedException e) {
                        Thread.currentThread().interrupt();
                    }
                    res.getWriter().write("held " + run.session().id());
                }
                case "/fail" -> throw new IllegalStateException("the handler failed (test)");
                case "/async" -> asyncRuns.add(req.startAsync());
                case "/async-timeout" -> {
                    // Set before the dispatch returns: Jetty applies a timeout set later only to the next cycle.
                    AsyncContext async = req.startAsync();
                    async.setTimeout(100);
                    asyncRuns.add(async);
                }
                default -> {
                    if (run.streamFormat().isPresent()) {
                        res.getOutputStream().write(run.streamFormat().get() == StreamFormat.NDJSON
                                ? "{\"type\":\"done\"}\n".getBytes(StandardCharsets.UTF_8)
                                : "event: done\ndata: {}\n\n".getBytes(StandardCharsets.UTF_8));
                    } else {
                        res.getWriter().write("ran " + run.session().id());
                    }
                }
            }
        }
    }

    private HttpResponse<String> get(String path, String... headers) throws Exception {
        HttpRequest.Builder b = HttpRequest.newBuilder(URI.create(container.url(path))).timeout(PATIENCE);
        for (int i = 0; i < headers.length; i += 2) {
            b.header(headers[i], headers[i + 1]);
        }
        return http.send(b.build(), HttpResponse.BodyHandlers.ofString());
    }

    private CompletableFuture<HttpResponse<String>> getAsync(String path) {
        return http.sendAsync(HttpRequest.newBuilder(URI.create(container.url(path))).timeout(PATIENCE).build(),
                HttpResponse.BodyHandlers.ofString());
    }

    private static String cookieValue(HttpResponse<?> response) {
        String setCookie = response.headers().firstValue("Set-Cookie").orElseThrow();
        return setCookie.substring(setCookie.indexOf('=') + 1, setCookie.indexOf(';'));
    }

    private static void await(String what, BooleanSupplier condition) throws InterruptedException {
        long deadline = System.nanoTime() + PATIENCE.toNanos();
        while (!condition.getAsBoolean()) {
            if (System.nanoTime() > deadline) {
                throw new AssertionError("timed out waiting until " + what);
            }
            Thread.sleep(10);
        }
    }

    /** The one holder is in its handler, holding the only permit. */
    private CompletableFuture<HttpResponse<String>> occupyTheOnlySlot() throws InterruptedException {
        CompletableFuture<HttpResponse<String>> holder = getAsync("/work/hold");
        await("the holder runs", () -> holding.get() == 1);
        return holder;
    }

    private void assertNothingHeld() throws InterruptedException {
        await("every run is released", () -> filter.inFlight() == 0 && gate.queue().stats().running() == 0
                && gate.queue().stats().queued() == 0 && gate.workflows().stats().leased() == 0);
    }

    @Test
    void newSessionGetsAHardenedCookieAndTheSameSessionComesBack() throws Exception {
        start(10, null);
        HttpResponse<String> first = get("/work/run");
        assertThat(first.statusCode()).isEqualTo(200);
        String setCookie = first.headers().firstValue("Set-Cookie").orElseThrow();
        assertThat(setCookie).startsWith("USHER_SESSION=").contains("HttpOnly").contains("SameSite=Lax")
                .contains("Path=/").doesNotContain("Secure").doesNotContain("Max-Age");
        String id = cookieValue(first);
        assertThat(first.body()).isEqualTo("ran " + id);

        HttpResponse<String> again = get("/work/run", "Cookie", "USHER_SESSION=" + id);
        assertThat(again.body()).isEqualTo("ran " + id);
        assertThat(again.headers().firstValue("Set-Cookie")).isEmpty();

        HttpResponse<String> forged = get("/work/run", "Cookie", "USHER_SESSION=not-a-session");
        assertThat(cookieValue(forged)).isNotEqualTo("not-a-session").isNotEqualTo(id);
        assertNothingHeld();
    }

    @Test
    void loginRotatesTheIdAndTheOldIdIsDead() throws Exception {
        start(10, null);
        String before = cookieValue(get("/work/run"));
        HttpResponse<String> login = get("/work/login", "Cookie", "USHER_SESSION=" + before);
        String after = cookieValue(login);
        assertThat(after).isNotEqualTo(before).isEqualTo(login.body());
        assertThat(gate.sessions().find(before)).isEmpty();
        assertThat(gate.sessions().find(after)).hasValueSatisfying(s -> assertThat(s.owner()).isEqualTo("alice"));
        assertThat(get("/work/run", "Cookie", "USHER_SESSION=" + after).body()).isEqualTo("ran " + after);
        assertNothingHeld();
    }

    @Test
    void hostPrefixedCookieIsAlwaysSecure() throws Exception {
        start(10, null);
        filter.destroy();
        container.close();
        filter = UsherFilter.builder(gate).cookie(SessionCookie.named("__Host-usher")).build();
        container = startContainer(filter, new WorkServlet());
        String setCookie = get("/work/run").headers().firstValue("Set-Cookie").orElseThrow();
        assertThat(setCookie).startsWith("__Host-usher=").contains("Secure").contains("Path=/").doesNotContain("Domain");
    }

    @Test
    void secureRequestGetsASecureCookie() throws Exception {
        start(10, null);
        container.close(); // which destroyed the filter: a new one for the secure connector
        filter = UsherFilter.builder(gate).build();
        // Tomcat's connector can report plain HTTP as secure (as behind a TLS-terminating proxy) on every run
        container = new TomcatHarness(filter, new WorkServlet(), true);
        String setCookie = get("/work/run").headers().firstValue("Set-Cookie").orElseThrow();
        assertThat(setCookie).startsWith("USHER_SESSION=").contains("Secure").contains("HttpOnly").contains("SameSite=Lax");
    }

    private static String setCookie(HttpResponse<?> response) {
        return response.headers().firstValue("Set-Cookie").orElseThrow();
    }

    @Test
    void behindATrustedProxyThatSaysHttpsTheCookieIsSecure() throws Exception {
        start(10, null, b -> b.trustedProxies(TrustedProxies.parse("127.0.0.1, ::1")));
        HttpResponse<String> https = get("/work/run", "X-Forwarded-For", "203.0.113.7", "X-Forwarded-Proto", "https");
        assertThat(https.body()).as("the connection itself is plain HTTP").startsWith("ran ");
        assertThat(setCookie(https)).startsWith("USHER_SESSION=").contains("Secure").contains("HttpOnly").contains("SameSite=Lax");
        assertThat(setCookie(get("/work/run", "X-Forwarded-For", "203.0.113.7", "X-Forwarded-Proto", "http")))
                .as("the proxy says the client used plain HTTP").doesNotContain("Secure");
        assertThat(setCookie(get("/work/run", "X-Forwarded-For", "203.0.113.7")))
                .as("no scheme forwarded: the connection's").doesNotContain("Secure");
        // The rotated cookie of a login is written by the same cookie, so it is Secure too.
        String before = cookieValue(https);
        HttpResponse<String> login = get("/work/login", "Cookie", "USHER_SESSION=" + before,
                "X-Forwarded-For", "203.0.113.7", "X-Forwarded-Proto", "https");
        assertThat(setCookie(login)).startsWith("USHER_SESSION=" + login.body()).contains("Secure");
        assertThat(filter.cookie().trustedProxies().ranges()).hasSize(2);
        assertNothingHeld();
    }

    @Test
    void behindATrustedProxyThatSaysHttpsInForwardedTheHostPrefixedCookieWorks() throws Exception {
        start(10, null, b -> b.cookie(SessionCookie.named("__Host-usher"))
                .trustedProxies(TrustedProxies.parse("127.0.0.1, ::1").usingForwardedHeader()));
        HttpResponse<String> first = get("/work/run", "Forwarded", "for=203.0.113.7;proto=https");
        assertThat(setCookie(first)).startsWith("__Host-usher=").contains("Secure").contains("Path=/").doesNotContain("Domain");
        String id = setCookie(first).substring("__Host-usher=".length(), setCookie(first).indexOf(';'));
        HttpResponse<String> again = get("/work/run", "Cookie", "__Host-usher=" + id, "Forwarded", "for=203.0.113.7;proto=https");
        assertThat(again.body()).isEqualTo("ran " + id);
        assertThat(again.headers().firstValue("Set-Cookie")).as("the session came back").isEmpty();
        assertNothingHeld();
    }

    @Test
    void anUntrustedPeerSayingHttpsGetsNoSecureCookie() throws Exception {
        start(10, null, b -> b.trustedProxies(TrustedProxies.parse("10.0.0.0/8")));
        assertThat(setCookie(get("/work/run", "X-Forwarded-For", "203.0.113.7", "X-Forwarded-Proto", "https")))
                .as("127.0.0.1 is no trusted proxy: its headers are the client's own").doesNotContain("Secure");
        assertThat(setCookie(get("/work/run", "Forwarded", "for=203.0.113.7;proto=https"))).doesNotContain("Secure");
        assertNothingHeld();
    }

    @Test
    void withoutTrustedProxiesForwardedHttpsIsIgnored() throws Exception {
        start(10, null);
        assertThat(setCookie(get("/work/run", "X-Forwarded-For", "203.0.113.7", "X-Forwarded-Proto", "https")))
                .doesNotContain("Secure");
    }

    @Test
    void behindATrustedProxyEachForwardedClientIsLimitedOnItsOwn() throws Exception {
        start(10, RateLimiter.builder().name("test").limit(Limit.of("burst", 1, Duration.ofMinutes(1))).build(),
                b -> b.trustedProxies(TrustedProxies.parse("127.0.0.1, ::1")));
        assertThat(get("/work/run", "X-Forwarded-For", "203.0.113.7").statusCode()).isEqualTo(200);
        assertThat(get("/work/run", "X-Forwarded-For", "203.0.113.7").statusCode()).isEqualTo(429);
        assertThat(get("/work/run", "X-Forwarded-For", "198.51.100.9").statusCode()).as("another client").isEqualTo(200);
        assertThat(get("/work/run", "X-Forwarded-For", "198.51.100.9, 203.0.113.7").statusCode())
                .as("the right-most untrusted address counts, not a spoofed left-most one").isEqualTo(429);
    }

    @Test
    void forwardedHeadersFromAnUntrustedPeerAreIgnored() throws Exception {
        start(10, RateLimiter.builder().name("test").limit(Limit.of("burst", 1, Duration.ofMinutes(1))).build(),
                b -> b.trustedProxies(TrustedProxies.parse("10.0.0.0/8")));
        assertThat(get("/work/run", "X-Forwarded-For", "203.0.113.7").statusCode()).isEqualTo(200);
        assertThat(get("/work/run", "X-Forwarded-For", "198.51.100.9").statusCode())
                .as("the socket's address counts: the peer is no trusted proxy").isEqualTo(429);
    }

    @Test
    void rateLimitedRequestGets429WithStandardHeaders() throws Exception {
        start(10, RateLimiter.builder().name("test").limit(Limit.of("burst", 2, Duration.ofMinutes(1))).build());
        assertThat(get("/work/run").statusCode()).isEqualTo(200);
        HttpResponse<String> second = get("/work/run");
        assertThat(second.statusCode()).isEqualTo(200);
        HttpResponse<String> third = get("/work/run");
        assertThat(third.statusCode()).isEqualTo(429);
        assertThat(third.headers().firstValue("RateLimit-Policy")).hasValue("\"burst\";q=2;w=60");
        assertThat(third.headers().firstValue("RateLimit")).hasValueSatisfying(v -> assertThat(v).startsWith("\"burst\";r=0;t="));
        long retryAfter = Long.parseLong(third.headers().firstValue("Retry-After").orElseThrow());
        assertThat(retryAfter).isBetween(1L, 60L);
        assertThat(third.headers().firstValue("Content-Type")).hasValueSatisfying(v -> assertThat(v).startsWith("application/json"));
        assertThat(third.body()).contains("\"error\":\"rate_limited\"").contains("\"retryAfterSeconds\":" + retryAfter);
        assertThat(third.headers().firstValue("Set-Cookie")).isEmpty();
        assertThat(gate.queue().stats().admitted()).isEqualTo(2);
    }

    @Test
    void fullQueueGets503WithRetryAfter() throws Exception {
        start(0, null);
        CompletableFuture<HttpResponse<String>> holder = occupyTheOnlySlot();
        HttpResponse<String> refused = get("/work/run");
        assertThat(refused.statusCode()).isEqualTo(503);
        assertThat(refused.headers().firstValue("Retry-After")).hasValueSatisfying(v -> assertThat(Long.parseLong(v)).isPositive());
        assertThat(refused.body()).contains("\"error\":\"queue_full\"");
        HttpResponse<String> streamed = get("/work/run", "Accept", "application/x-ndjson");
        assertThat(streamed.statusCode()).as("refused before any event, so a plain 503").isEqualTo(503);
        assertThat(streamed.headers().firstValue("Retry-After")).isPresent();
        assertThat(streamed.body()).contains("\"error\":\"queue_full\"");
        hold.countDown();
        assertThat(holder.get(30, TimeUnit.SECONDS).statusCode()).isEqualTo(200);
        assertNothingHeld();
    }

    @Test
    void unavailableStoreGets503AndNothingIsHeld() throws Exception {
        start(10, null);
        storeDown.set(true);
        HttpResponse<String> refused = get("/work/run");
        assertThat(refused.statusCode()).isEqualTo(503);
        assertThat(refused.headers().firstValue("Retry-After")).hasValue("5");
        assertThat(refused.body()).contains("\"error\":\"store_unavailable\"");
        HttpResponse<String> streamed = get("/work/run", "Accept", "application/x-ndjson");
        assertThat(streamed.statusCode()).isEqualTo(503);
        storeDown.set(false);
        assertThat(get("/work/run").statusCode()).isEqualTo(200);
        assertNothingHeld();
    }

    @Test
    void streamedWaitSendsPositionsThenAdmitsInNdjson() throws Exception {
        start(10, null);
        CompletableFuture<HttpResponse<String>> holder = occupyTheOnlySlot();
        HttpResponse<Stream<String>> streamed = http.send(HttpRequest.newBuilder(URI.create(container.url("/work/run")))
                .header("Accept", "application/x-ndjson").timeout(PATIENCE).build(), HttpResponse.BodyHandlers.ofLines());
        assertThat(streamed.statusCode()).isEqualTo(200);
        assertThat(streamed.headers().firstValue("Content-Type")).hasValueSatisfying(v -> assertThat(v).startsWith("application/x-ndjson"));
        assertThat(streamed.headers().firstValue("Set-Cookie")).isPresent();
        var lines = streamed.body().iterator();
        // The estimate (4 s assumed per run) counts the holder's elapsed run time, so it is at most 4 s.
        assertThat(lines.next()).matches("\\{\"type\":\"queued\",\"position\":1,\"estimatedWaitSeconds\":[1-4],\"estimatedWaitMillis\":\\d{1,4}}");
        String next = lines.next();
        assertThat(next).isEqualTo("{\"type\":\"keepalive\"}"); // the holder still runs; the client is pinged
        hold.countDown();
        List<String> rest = new ArrayList<>();
        lines.forEachRemaining(rest::add);
        List<String> events = rest.stream().filter(l -> !l.equals("{\"type\":\"keepalive\"}")).toList();
        assertThat(events).hasSize(2);
        assertThat(events.get(0)).startsWith("{\"type\":\"admitted\",\"waitedMillis\":");
        assertThat(events.get(1)).isEqualTo("{\"type\":\"done\"}");
        assertThat(holder.get(30, TimeUnit.SECONDS).statusCode()).isEqualTo(200);
        assertNothingHeld();
        assertThat(gate.queue().stats().admitted()).isEqualTo(2);
    }

    @Test
    void theFiltersThreadsComeFromTheHostsFactoryAndEndWithTheFilter() throws Exception {
        HostThreads host = new HostThreads("host-servlet");
        start(10, null, b -> b.threadFactory(host));
        CompletableFuture<HttpResponse<String>> holder = occupyTheOnlySlot();
        CompletableFuture<HttpResponse<String>> streamed = http.sendAsync(HttpRequest.newBuilder(URI.create(container.url("/work/run")))
                .header("Accept", "text/event-stream").timeout(PATIENCE).build(), HttpResponse.BodyHandlers.ofString());
        await("the streamed request is queued", () -> gate.queue().stats().queued() == 1);
        // The wait runs on a waiting thread and is kept alive by the timer: both the filter's, made by the host.
        await("the filter made its threads", () -> host.threads().size() >= 2);
        hold.countDown();
        assertThat(streamed.get(30, TimeUnit.SECONDS).body()).contains("event: admitted");
        holder.get(30, TimeUnit.SECONDS);
        assertNothingHeld();
        container.close();
        container = null;
        filter.destroy();
        filter = null;
        assertThat(host.allEnded(PATIENCE)).as("destroy() ended the host's threads").isTrue();
    }

    @Test
    void streamedWaitSpeaksServerSentEvents() throws Exception {
        start(10, null);
        CompletableFuture<HttpResponse<String>> holder = occupyTheOnlySlot();
        CompletableFuture<HttpResponse<String>> streamed = http.sendAsync(HttpRequest.newBuilder(URI.create(container.url("/work/run")))
                .header("Accept", "text/event-stream").timeout(PATIENCE).build(), HttpResponse.BodyHandlers.ofString());
        await("the streamed request is queued", () -> gate.queue().stats().queued() == 1);
        hold.countDown();
        HttpResponse<String> response = streamed.get(30, TimeUnit.SECONDS);
        assertThat(response.headers().firstValue("Content-Type")).hasValueSatisfying(v -> assertThat(v).startsWith("text/event-stream"));
        String body = response.body().replace(": keepalive\n\n", "");
        assertThat(body).startsWith("event: queued\ndata: {\"type\":\"queued\",\"position\":1,");
        assertThat(body).contains("event: admitted\ndata: {\"type\":\"admitted\",").endsWith("event: done\ndata: {}\n\n");
        holder.get(30, TimeUnit.SECONDS);
        assertNothingHeld();
    }

    @Test
    void streamedWaitThatTimesOutEndsWithARejectedEvent() throws Exception {
        maxWait = Duration.ofSeconds(2);
        start(10, null);
        CompletableFuture<HttpResponse<String>> holder = occupyTheOnlySlot();
        HttpResponse<String> streamed = get("/work/run", "Accept", "application/x-ndjson");
        if (streamed.statusCode() == 503) {
            // a machine so loaded that the wait ended before its first event: then it is a plain refusal
            assertThat(streamed.body()).contains("\"error\":\"timed_out\"");
        } else {
            assertThat(streamed.statusCode()).isEqualTo(200);
            List<String> events = streamed.body().lines().filter(l -> !l.equals("{\"type\":\"keepalive\"}")).toList();
            assertThat(events.get(0)).startsWith("{\"type\":\"queued\",\"position\":1,");
            assertThat(events.get(events.size() - 1)).isEqualTo(
                    "{\"type\":\"rejected\",\"reason\":\"timed_out\",\"message\":\"The wait in the queue passed its limit.\"}");
        }
        assertThat(streamed.body()).doesNotContain("admitted").doesNotContain("done");
        assertThat(gate.queue().stats().timedOut()).isEqualTo(1);
        hold.countDown();
        assertThat(holder.get(30, TimeUnit.SECONDS).statusCode()).isEqualTo(200);
        assertNothingHeld();
    }

    @Test
    void clientThatLeavesWhileQueuedLosesItsTicketAndNoPermitLeaks() throws Exception {
        start(10, null);
        CompletableFuture<HttpResponse<String>> holder = occupyTheOnlySlot();
        try (Socket socket = new Socket("127.0.0.1", container.port())) {
            OutputStream out = socket.getOutputStream();
            out.write(("GET /work/run HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: application/x-ndjson\r\n\r\n")
                    .getBytes(StandardCharsets.US_ASCII));
            out.flush();
            BufferedReader in = new BufferedReader(new InputStreamReader(socket.getInputStream(), StandardCharsets.UTF_8));
            String line;
            do {
                line = in.readLine();
            } while (line != null && !line.contains("\"type\":\"queued\""));
            assertThat(line).contains("\"position\":1");
        } // the client leaves mid-wait
        await("the ticket of the client that left is withdrawn",
                () -> gate.queue().stats().queued() == 0 && gate.queue().stats().cancelled() == 1);
        hold.countDown();
        assertThat(holder.get(30, TimeUnit.SECONDS).statusCode()).isEqualTo(200);
        assertNothingHeld();
        assertThat(gate.queue().stats().admitted()).isEqualTo(1);
        assertThat(get("/work/run").statusCode()).isEqualTo(200); // the slot is free for the next one
    }

    @Test
    void clientThatLeavesDuringItsRunStillHasItsRunReleased() throws Exception {
        start(10, null);
        try (Socket socket = new Socket("127.0.0.1", container.port())) {
            socket.getOutputStream().write("GET /work/hold HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
            socket.getOutputStream().flush();
            await("the run started", () -> holding.get() == 1);
        } // the client leaves while its handler runs
        assertThat(filter.inFlight()).isEqualTo(1);
        hold.countDown(); // the handler finishes, writing to a connection nobody reads
        assertNothingHeld();
        assertThat(get("/work/run").statusCode()).isEqualTo(200);
    }

    @Test
    void handlerExceptionStillReleasesTheRun() throws Exception {
        start(10, null);
        HttpResponse<String> failed = get("/work/fail");
        assertThat(failed.statusCode()).isEqualTo(500);
        assertNothingHeld();
        assertThat(get("/work/run").statusCode()).isEqualTo(200);
        assertNothingHeld();
    }

    @Test
    void asyncHandlerKeepsTheRunUntilItsResponseCompletes() throws Exception {
        start(10, null);
        CompletableFuture<HttpResponse<String>> pending = getAsync("/work/async");
        AsyncContext async = asyncRuns.poll(30, TimeUnit.SECONDS);
        assertThat(async).isNotNull();
        assertThat(filter.inFlight()).isEqualTo(1);
        assertThat(gate.queue().stats().running()).isEqualTo(1);
        async.getResponse().getWriter().write("finished later");
        async.complete();
        assertThat(pending.get(30, TimeUnit.SECONDS).body()).isEqualTo("finished later");
        assertNothingHeld();
    }

    @Test
    void asyncHandlerThatTimesOutIsReleased() throws Exception {
        start(10, null);
        CompletableFuture<HttpResponse<String>> pending = getAsync("/work/async-timeout");
        assertThat(asyncRuns.poll(30, TimeUnit.SECONDS)).as("the handler went async").isNotNull();
        assertThat(pending.get(30, TimeUnit.SECONDS).statusCode()).isEqualTo(500);
        assertNothingHeld();
    }

    @Test
    void everyRunIsReleasedExactlyOnceUnderConcurrentLoad() throws Exception {
        start(1_000, null);
        List<CompletableFuture<HttpResponse<String>>> all = new ArrayList<>();
        for (int i = 0; i < 40; i++) {
            all.add(getAsync(i % 3 == 0 ? "/work/fail" : "/work/run"));
        }
        for (CompletableFuture<HttpResponse<String>> f : all) {
            assertThat(f.get(60, TimeUnit.SECONDS).statusCode()).isIn(200, 500);
        }
        assertNothingHeld();
        assertThat(gate.queue().stats().admitted()).isEqualTo(40);
        // inFlight is decremented only by the first release of a run: 0 after 40 admissions means each
        // of them was released, and none twice (a second release would have taken it below zero)
        assertThat(filter.inFlight()).isZero();
        assertThat(workflowsCreated.get()).isEqualTo(40); // every request was a new session
    }
}
