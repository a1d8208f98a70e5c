package dev.usher.servlet;

import dev.usher.gate.http.TrustedProxies;
import java.net.InetAddress;
import java.net.UnknownHostException;
import java.util.Collections;
import dev.usher.gate.GateOutcome;
import dev.usher.gate.GateRequest;
import dev.usher.gate.QueueObserver;
import dev.usher.gate.WorkflowGate;
import dev.usher.gate.background.BackgroundThreads;
import dev.usher.gate.ratelimit.RateLimitHeaders;
import dev.usher.session.Durations;
import dev.usher.session.Session;
import dev.usher.session.StoreUnavailableException;
import jakarta.servlet.AsyncContext;
import jakarta.servlet.DispatcherType;
import jakarta.servlet.Filter;
import jakarta.servlet.FilterChain;
import jakarta.servlet.ServletException;
import jakarta.servlet.ServletRequest;
import jakarta.servlet.ServletResponse;
import jakarta.servlet.http.HttpServletRequest;
import jakarta.servlet.http.HttpServletResponse;
import java.io.IOException;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ThreadFactory;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Function;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A Servlet filter that puts a {@link WorkflowGate} in front of a host's workflow endpoints: it resolves
 * the session from a cookie, applies the rate limit (429 with {@code RateLimit}, {@code RateLimit-Policy}
 * and {@code Retry-After}), waits in the admission queue (503 with {@code Retry-After} when it is full, the
 * wait times out or a store is unavailable), and hands the admitted request on with an {@link UsherRequest}.
 * The run is released exactly once when the response completes: after the handler returns, or, for an
 * async handler, when its async cycle completes, fails or times out; also when the handler throws.
 *
 * <pre>{@code
 * UsherFilter filter = UsherFilter.builder(gate).cookie(SessionCookie.named("__Host-usher")).build();
 * servletContext.addFilter("usher", filter)
 *         .addMappingForUrlPatterns(EnumSet.of(DispatcherType.REQUEST, DispatcherType.ASYNC), false, "/api/workflow/*");
 * }</pre>
 *
 * <p><b>Streaming the wait.</b> A request whose {@code Accept} names {@code application/x-ndjson} or
 * {@code text/event-stream} waits asynchronously (the container's thread is freed) and receives its
 * position as events ({@code queued}, {@code position}, then {@code admitted}), with a keep-alive every
 * {@link Builder#keepAliveInterval}; a write that fails means the client left, and its ticket is withdrawn
 * at once, so no slot is kept for nobody. After admission the request is dispatched again (map the filter
 * for {@link DispatcherType#ASYNC} too) and the handler writes the rest of the stream. Other requests wait
 * on the container's thread.
 *
 * <p>Thread-safe; one per gate. The filter does not own the gate; {@link #destroy()} stops the filter's own
 * threads (a keep-alive timer and, unless the host gave its own, the threads that wait for streamed
 * requests, named {@code usher-servlet-*}) and withdraws the waits still queued.
 *
 * <p>Length: a little over 400 lines, most of it the nested {@link Builder}'s documented settings; the
 * streamed wait ({@code QueuedWait}), the release ({@code Admission}) and the error bodies
 * ({@code ErrorResponses}) live in classes of their own.
 */
public final class UsherFilter implements Filter {
    private static final Logger log = LoggerFactory.getLogger(UsherFilter.class);
    private static final String WAIT_ATTRIBUTE = UsherFilter.class.getName() + ".wait";

    private final WorkflowGate<?> gate;
    private final SessionCookie cookie;
    private final Function<HttpServletRequest, String> clientAddress;
    private final Function<HttpServletRequest, String> rateKey;
    private final Function<HttpServletRequest, String> workspaceName;
    private final Duration keepAliveInterval;
    private final Duration unavailableRetryAfter;
    private final ExecutorService waiters;
    private final boolean ownsWaiters;
    private final ScheduledExecutorService keepAlive;
    private final AtomicInteger inFlight = new AtomicInteger();
    private final AtomicBoolean admitting = new AtomicBoolean(true);

    private UsherFilter(Builder b) {
        this.gate = b.gate;
        // The proxies that name the client also say whether the client used HTTPS: one setting for both.
        this.cookie = b.proxies != null ? b.cookie.behind(b.proxies) : b.cookie;
        this.clientAddress = b.clientAddress;
        this.rateKey = b.rateKey != null ? b.rateKey : clientAddress;
        this.workspaceName = b.workspaceName;
        this.keepAliveInterval = b.keepAliveInterval;
        this.unavailableRetryAfter = b.unavailableRetryAfter;
        this.ownsWaiters = b.waiters == null;
        this.waiters = ownsWaiters
                ? Executors.newCachedThreadPool(BackgroundThreads.orDaemon(b.threadFactory, "usher-servlet-wait"))
                : b.waiters;
        this.keepAlive = BackgroundThreads.scheduler(BackgroundThreads.orDaemon(b.threadFactory, "usher-servlet-keepalive"));
    }

    /** Starts a builder for a filter in front of {@code gate}. */
    public static Builder builder(WorkflowGate<?> gate) {
        return new Builder(gate);
    }

    /** The session cookie, for the host's own endpoints (login, logout) that are not behind the filter. */
    public SessionCookie cookie() {
        return cookie;
    }

    /** Requests admitted and not yet released. */
    public int inFlight() {
        return inFlight.get();
    }

    /** False once {@link #stopAdmitting()} was called (for readiness probes). */
    public boolean admitting() {
        return admitting.get();
    }

    /**
     * Stops admitting: from now on every new request gets 503 with {@code Retry-After}, while the runs in
     * flight go on. For graceful shutdown; not reversible.
     */
    public void stopAdmitting() {
        admitting.set(false);
    }

    @Override
    public void doFilter(ServletRequest req, ServletResponse res, FilterChain chain) throws IOException, ServletException {
        if (!(req instanceof HttpServletRequest request) || !(res instanceof HttpServletResponse response)) {
            chain.doFilter(req, res);
            return;
        }
        if (request.getDispatcherType() == DispatcherType.ASYNC && request.getAttribute(WAIT_ATTRIBUTE) instanceof QueuedWait wait) {
            request.removeAttribute(WAIT_ATTRIBUTE);
            runAdmitted(wait.admission(), wait.format(), request, response, chain);
            return;
        }
        if (request.getDispatcherType() != DispatcherType.REQUEST || request.getAttribute(UsherRequest.ATTRIBUTE) != null) {
            chain.doFilter(request, response); // forwards, includes, error pages and later dispatches of a run
            return;
        }
        if (!admitting.get()) {
            ErrorResponses.unavailable(response, "shutting_down", "The server is shutting down.", unavailableRetryAfter);
            return;
        }
        Optional<StreamFormat> format = StreamFormat.requestedBy(request);
        if (format.isPresent() && request.isAsyncSupported()) {
            startStreamedWait(request, response, format.get());
            return;
        }
        GateOutcome<?> outcome;
        try {
            outcome = gate.enter(gateRequest(request), QueueObserver.ignoring());
        } catch (StoreUnavailableException e) {
            log.warn("a store is unavailable: {}", e.getMessage());
            ErrorResponses.unavailable(response, "store_unavailable", "A store is unavailable; try again shortly.", unavailableRetryAfter);
            return;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            ErrorResponses.unavailable(response, "interrupted", "The server is shutting down.", unavailableRetryAfter);
            return;
        }
        Optional<String> sent = cookie.read(request);
        if (outcome instanceof GateOutcome.Admitted<?> admitted) {
            Admission<?> admission = admission(admitted);
            try {
                setCookieIfNew(request, response, sent, admitted.session());
            } catch (RuntimeException e) {
                admission.release();
                throw e;
            }
            runAdmitted(admission, null, request, response, chain);
        } else {
            sendRefusal(outcome, request, response, sent);
        }
    }

    GateRequest gateRequest(HttpServletRequest request) {
        String key = rateKey.apply(request);
        if (key == null || key.isEmpty()) {
            key = "unknown";
        }
        return new GateRequest(cookie.read(request).orElse(null), key, workspaceName.apply(request),
                clientAddress.apply(request));
    }

    <W> Admission<W> admission(GateOutcome.Admitted<W> admitted) {
        inFlight.incrementAndGet();
        return new Admission<>(admitted, inFlight::decrementAndGet);
    }

    /** Runs the chain for an admitted request and releases the run when the response completes. */
    private void runAdmitted(Admission<?> admission, StreamFormat format, HttpServletRequest request,
                             HttpServletResponse response, FilterChain chain) throws IOException, ServletException {
        new UsherRequest<>(admission, gate.sessions(), cookie, request, response, format).bind();
        try {
            chain.doFilter(request, response);
        } finally {
            if (request.isAsyncStarted()) {
                request.getAsyncContext().addListener(admission);
            } else {
                admission.release();
            }
        }
    }

    private void startStreamedWait(HttpServletRequest request, HttpServletResponse response, StreamFormat format)
            throws IOException {
        AsyncContext async = request.startAsync(request, response);
        async.setTimeout(0); // the queue's maxWait bounds the wait, and the keep-alive finds clients that left
        QueuedWait wait = new QueuedWait(this, async, request, response, format);
        async.addListener(wait);
        try {
            waiters.execute(wait);
        } catch (RuntimeException e) { // the executor is shut down or saturated
            ErrorResponses.unavailable(response, "shutting_down", "The server is shutting down.", unavailableRetryAfter);
            async.complete();
        }
    }

    // ---- responses, used by QueuedWait too ---------------------------------------------------------

    static String waitAttribute() {
        return WAIT_ATTRIBUTE;
    }

    ScheduledExecutorService keepAliveTimer() {
        return keepAlive;
    }

    Duration keepAliveInterval() {
        return keepAliveInterval;
    }

    WorkflowGate<?> gate() {
        return gate;
    }

    Duration unavailableRetryAfter() {
        return unavailableRetryAfter;
    }

    void setCookieIfNew(HttpServletRequest request, HttpServletResponse response, Optional<String> sent, Session session) {
        if (!sent.equals(Optional.of(session.id()))) {
            cookie.write(request, response, session.id());
        }
    }

    /**
     * 429 for a rate-limited request, 503 for a rejected one or when a store is unavailable; the response must
     * not be committed.
     */
    void sendRefusal(GateOutcome<?> outcome, HttpServletRequest request, HttpServletResponse response,
                     Optional<String> sent) throws IOException {
        if (outcome instanceof GateOutcome.RateLimited<?> limited) {
            Map<String, String> headers = RateLimitHeaders.of(gate.rateLimiter().orElseThrow(), limited.decision());
            headers.forEach(response::setHeader);
            Map<String, Object> body = new LinkedHashMap<>();
            body.put("error", "rate_limited");
            body.put("message", "Too many requests.");
            body.put("retryAfterSeconds", Long.parseLong(headers.get(RateLimitHeaders.RETRY_AFTER)));
            ErrorResponses.json(response, 429, body);
        } else if (outcome instanceof GateOutcome.Unavailable<?> unavailable) {
            // The gate's own answer to a store that is down (its circuit is open): nothing was created or held.
            log.warn("a store is unavailable: {}", unavailable.message());
            ErrorResponses.unavailable(response, "store_unavailable", "A store is unavailable; try again shortly.", unavailableRetryAfter);
        } else if (outcome instanceof GateOutcome.Rejected<?> rejected) {
            rejected.session().ifPresent(session -> setCookieIfNew(request, response, sent, session));
            ErrorResponses.unavailable(response, rejected.reason().name().toLowerCase(java.util.Locale.ROOT),
                    ErrorResponses.message(rejected.reason()), rejected.retryAfter().orElse(unavailableRetryAfter));
        }
    }

    @Override
    public void destroy() {
        stopAdmitting();
        keepAlive.shutdownNow();
        if (ownsWaiters) {
            waiters.shutdownNow(); // interrupts the waits still queued: their tickets are withdrawn
            try {
                if (!waiters.awaitTermination(10, TimeUnit.SECONDS)) {
                    log.warn("streamed waits still running 10 s after destroy()");
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
    }

    /**
     * Configures an {@link UsherFilter}. Each method validates its argument at once. Not thread-safe; build
     * once.
     */
    public static final class Builder {
        private final WorkflowGate<?> gate;
        private SessionCookie cookie = SessionCookie.named(SessionCookie.DEFAULT_NAME);
        private Function<HttpServletRequest, String> clientAddress = HttpServletRequest::getRemoteAddr;
        private Function<HttpServletRequest, String> rateKey;
        private Function<HttpServletRequest, String> workspaceName = request -> null;
        private Duration keepAliveInterval = Duration.ofSeconds(15);
        private Duration unavailableRetryAfter = Duration.ofSeconds(5);
        private ExecutorService waiters;
        private ThreadFactory threadFactory;
        private TrustedProxies proxies;

        private Builder(WorkflowGate<?> gate) {
            this.gate = Objects.requireNonNull(gate, "gate");
        }

        /** The session cookie (default {@code USHER_SESSION}). */
        public Builder cookie(SessionCookie cookie) {
            this.cookie = Objects.requireNonNull(cookie, "cookie");
            return this;
        }

        /**
         * Where the client's address comes from (default {@link HttpServletRequest#getRemoteAddr()}). Behind
         * a reverse proxy, give a resolver that trusts {@code X-Forwarded-For} only from known proxies.
         */
        public Builder clientAddress(Function<HttpServletRequest, String> resolver) {
            this.clientAddress = Objects.requireNonNull(resolver, "clientAddress");
            return this;
        }

        /**
         * Behind reverse proxies: the client address is read from {@code X-Forwarded-For} (or {@code Forwarded},
         * as {@code proxies} says) only when the request comes from one of {@code proxies}, taking the right-most
         * address that is not a proxy; from anyone else the socket's address counts. Replaces
         * {@link #clientAddress}. The session cookie is then also {@code Secure} when such a proxy says the
         * client used HTTPS ({@code X-Forwarded-Proto: https}, or {@code proto=https} in {@code Forwarded}),
         * although the request from the proxy is plain HTTP: see {@link SessionCookie#behind}.
         */
        public Builder trustedProxies(TrustedProxies proxies) {
            Objects.requireNonNull(proxies, "proxies");
            this.proxies = proxies;
            this.clientAddress = request -> {
                String peer = request.getRemoteAddr();
                try {
                    // getRemoteAddr() is an IP literal, so this parses it and never asks DNS.
                    InetAddress address = InetAddress.getByName(peer);
                    return proxies.clientAddress(address, name -> Collections.list(request.getHeaders(name)))
                            .getHostAddress();
                } catch (UnknownHostException e) {
                    return peer;
                }
            };
            return this;
        }

        /** Who is rate-limited (default: the {@linkplain #clientAddress client address}). */
        public Builder rateKey(Function<HttpServletRequest, String> rateKey) {
            this.rateKey = Objects.requireNonNull(rateKey, "rateKey");
            return this;
        }

        /** The suggested workspace name for a session that has none yet (default: none, i.e. generated). */
        public Builder workspaceName(Function<HttpServletRequest, String> workspaceName) {
            this.workspaceName = Objects.requireNonNull(workspaceName, "workspaceName");
            return this;
        }

        /**
         * How often a streamed wait writes a keep-alive (at least 10 ms; default 15 s): the longest a client
         * that left keeps its ticket, and short enough for proxies that cut idle connections.
         */
        public Builder keepAliveInterval(Duration interval) {
            this.keepAliveInterval = Durations.requireAtLeast("keepAliveInterval", interval, Duration.ofMillis(10));
            return this;
        }

        /**
         * The {@code Retry-After} sent when a store is unavailable, the server is shutting down, or the queue
         * gives no hint (at least 1 s; default 5 s).
         */
        public Builder unavailableRetryAfter(Duration retryAfter) {
            this.unavailableRetryAfter = Durations.requireAtLeast("unavailableRetryAfter", retryAfter,
                    Duration.ofSeconds(1));
            return this;
        }

        /**
         * The threads that wait in the queue for streamed requests, one per waiting request (default: a
         * cached pool of daemon threads the filter owns; at most the queue's {@code maxQueued} plus
         * {@code maxRunning} wait at once). On Java 21, pass {@code Executors.newVirtualThreadPerTaskExecutor()};
         * the host then owns and shuts it down.
         */
        public Builder waitExecutor(ExecutorService executor) {
            this.waiters = Objects.requireNonNull(executor, "waitExecutor");
            return this;
        }

        /**
         * Where the filter's own threads come from: the keep-alive timer of streamed waits and, without a
         * {@link #waitExecutor}, the waiting threads. Default: platform daemon threads named
         * {@code usher-servlet-keepalive} and {@code usher-servlet-wait}. The host then owns what the
         * factory does; {@link UsherFilter#destroy()} stops the threads either way.
         */
        public Builder threadFactory(ThreadFactory factory) {
            this.threadFactory = Objects.requireNonNull(factory, "threadFactory");
            return this;
        }

        public UsherFilter build() {
            return new UsherFilter(this);
        }
    }
}
