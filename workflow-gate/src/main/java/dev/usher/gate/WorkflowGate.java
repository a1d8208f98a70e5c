package dev.usher.gate;

import dev.usher.gate.admission.AdmissionQueue;
import dev.usher.gate.admission.Permit;
import dev.usher.gate.admission.QueueFullException;
import dev.usher.gate.admission.Ticket;
import dev.usher.gate.cache.Lease;
import dev.usher.gate.cache.WorkflowCache;
import dev.usher.gate.ratelimit.Decision;
import dev.usher.gate.ratelimit.RateLimiter;
import dev.usher.gate.workspace.Workspace;
import dev.usher.gate.workspace.WorkspaceAllocator;
import dev.usher.session.Durations;
import dev.usher.session.Session;
import dev.usher.session.SessionManager;
import dev.usher.session.SessionStoreException;
import dev.usher.session.StoreUnavailableException;
import java.time.Duration;
import java.security.SecureRandom;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ThreadFactory;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;

/**
 * The one call a host makes per workflow request: rate limit, session, admission queue, workspace and
 * workflow lease, in that order, with everything acquired released exactly once and nothing created for a
 * request that is turned away.
 *
 * <pre>{@code
 * switch (gate.enter(new GateRequest(cookieId, clientIp, projectName), (session, pos, eta) -> send(queued(pos, eta)))) {
 *     case GateOutcome.RateLimited<Agent> r -> respond429(r.decision());
 *     case GateOutcome.Rejected<Agent> r    -> respond503(r.retryAfter());
 *     case GateOutcome.Unavailable<Agent> u -> respond503(Optional.of(u.retryAfter()));
 *     case GateOutcome.Admitted<Agent> run  -> { try (run) { run.workflow().answer(prompt, this::send); } }
 * }
 * }</pre>
 *
 * <p>Thread-safe; one per application. {@link #enter} blocks while the request waits in the queue (it
 * parks, so it suits virtual threads) and tells the {@link QueueObserver} on the caller's own thread,
 * so a slow client never stalls the queue. While a request waits, the observer also hears from the gate
 * at least once per {@linkplain Builder#keepAliveInterval keep-alive interval} even when nothing changed
 * (a "still waiting" tick with the current position and estimate): a host that writes it to the client
 * finds out that the client left when the write fails, and the request leaves the line then, instead of
 * waiting there unseen until the line moves. The gate owns the components it is built with and
 * {@link #close()} closes them all. It also wires session ends for the host: when a session is deleted,
 * expires or is evicted, its workflow is invalidated (closed once its last lease closes) and its
 * workspace is released after that close; when a session's id changes, the workflow cached under the
 * old id is invalidated the same way (the workspace moves with the session).
 *
 * <p>Layout: this class runs the steps in order and owns the components; {@link AdmissionWait} waits for
 * admission and ticks the observer, {@link SessionOnDemand} creates a new session only when needed,
 * {@link Refusals} turns denials and outages into outcomes, and {@link SessionEndings} cleans up after
 * sessions that end.
 *
 * @param <W> the workflow type
 */
public final class WorkflowGate<W> implements AutoCloseable {
    static final Duration DEFAULT_KEEP_ALIVE = Duration.ofSeconds(3);

    private final String name;
    private final SessionManager sessions;
    private final AdmissionQueue queue;
    private final WorkflowCache<String, W> workflows;
    private final RateLimiter rateLimiter;
    private final RateLimiter creationLimiter;
    private final WorkspaceAllocator workspaces;
    private final AtomicLong newRequests = new AtomicLong();
    private final String gateId = Long.toHexString(new SecureRandom().nextLong());
    private final SessionEndings<W> endings;
    private final long keepAliveNanos;
    private final AtomicBoolean closed = new AtomicBoolean();
    // Written once per bound registry, read on every request: copy-on-write keeps reads lock-free.
    private final List<GateRecorder> recorders = new CopyOnWriteArrayList<>();

    private WorkflowGate(Builder<W> b) {
        this.name = b.name;
        this.keepAliveNanos = b.keepAliveInterval.toNanos();
        this.sessions = b.sessions;
        this.queue = b.queue;
        this.workflows = b.workflows;
        this.rateLimiter = b.rateLimiter;
        this.creationLimiter = b.creationLimiter;
        this.workspaces = b.workspaces;
        this.endings = new SessionEndings<>(workflows, workspaces, b.threadFactory);
        sessions.addListener(endings);
    }

    /**
     * Starts a builder. The workspace allocator, if any, should be built with
     * {@code releaseWhenSessionEnds(false)}: the gate releases workspaces itself, after the workflow closed.
     */
    public static <W> Builder<W> builder(SessionManager sessions, AdmissionQueue queue, WorkflowCache<String, W> workflows) {
        return new Builder<>(sessions, queue, workflows);
    }

    /**
     * Runs one request through the gate, waiting in the queue if needed. Nothing is created for a request
     * that is turned away: the session (when the request has no live one) is created only once the request
     * is queued or admitted, and the workspace only once it is admitted, so a 429 or a full queue leaves no
     * session row and no directory behind.
     *
     * <ol>
     *   <li>the {@linkplain Builder#rateLimiter rate limit} on {@link GateRequest#rateKey()};</li>
     *   <li>the live session of {@link GateRequest#sessionId()}, touched; without one, the
     *       {@linkplain Builder#sessionCreationLimiter session creation limit} on the client address;</li>
     *   <li>the admission queue; a new session is created when the request is first queued or admitted;</li>
     *   <li>on admission: the workspace, then a lease on the session's workflow.</li>
     * </ol>
     *
     * @return {@link GateOutcome.RateLimited}, {@link GateOutcome.Rejected}, {@link GateOutcome.Unavailable}
     *     (a store is down), or {@link GateOutcome.Admitted}, which the caller must close
     * @throws InterruptedException if the caller is interrupted while queued; the ticket is withdrawn
     * @throws RuntimeException     whatever the observer, the session store, the workspace or the workflow
     *                              loader threw; nothing acquired stays held
     */
    public GateOutcome<W> enter(GateRequest request, QueueObserver observer) throws InterruptedException {
        checkOpen();
        Objects.requireNonNull(request, "request");
        Objects.requireNonNull(observer, "observer");
        if (rateLimiter != null) {
            Decision decision = rateLimiter.tryAcquire(request.rateKey());
            if (!decision.allowed()) {
                return Refusals.refusal(decision);
            }
        }
        String sessionId = request.sessionId();
        Session live = null;
        if (sessionId != null) {
            try {
                live = sessions.touch(sessionId).orElse(null);
            } catch (StoreUnavailableException e) {
                return unavailable(e);
            } catch (SessionStoreException e) {
                storeFailed();
                throw e;
            }
        }
        if (live == null && creationLimiter != null) {
            Decision decision = creationLimiter.tryAcquire(request.creationKey());
            if (!decision.allowed()) {
                return Refusals.refusal(decision);
            }
        }
        SessionOnDemand session = new SessionOnDemand(sessions, live);
        // A request without a session waits under a key of its own that no session id can equal (':' is
        // not in the id alphabet), so it is as separate from everyone else as a new session would be; the
        // gate's random prefix keeps it unique in a queue that several instances share.
        String queueKey = live != null ? live.id() : "new:" + gateId + ":" + newRequests.incrementAndGet();

        AdmissionWait wait = new AdmissionWait();
        Ticket ticket;
        try {
            ticket = queue.enter(queueKey, wait);
        } catch (QueueFullException e) {
            return new GateOutcome.Rejected<>(Optional.ofNullable(live), GateOutcome.Rejected.Reason.QUEUE_FULL,
                    e.retryAfter());
        }
        Optional<Duration> estimateAtEnter = Optional.empty();
        if (!recorders.isEmpty() && ticket.state() == Ticket.State.QUEUED) {
            int position = ticket.position();
            estimateAtEnter = ticket.estimatedWait();
            if (position > 0) {
                for (GateRecorder r : recorders) {
                    r.queued(position);
                }
            }
        }
        Permit permit = wait.await(ticket, session, observer, keepAliveNanos);
        if (permit == null) {
            GateOutcome.Rejected.Reason reason = ticket.state() == Ticket.State.TIMED_OUT
                    ? GateOutcome.Rejected.Reason.TIMED_OUT : GateOutcome.Rejected.Reason.CANCELLED;
            return new GateOutcome.Rejected<>(session.existing(), reason, Optional.empty());
        }
        Session admitted;
        Workspace workspace = null;
        Lease<W> lease;
        try {
            admitted = session.get();
            if (workspaces != null) {
                boolean mapped = admitted.attributes().containsKey(WorkspaceAllocator.NAME_ATTRIBUTE);
                workspace = workspaces.workspaceFor(admitted, request.workspaceName());
                if (!mapped) {
                    // The first allocation recorded the mapping in the session: hand the host the current value.
                    admitted = sessions.find(admitted.id()).orElse(admitted);
                }
            }
            lease = workflows.acquire(admitted.id());
        } catch (StoreUnavailableException e) {
            permit.close();
            return unavailable(e);
        } catch (RuntimeException | Error e) {
            permit.close();
            if (e instanceof SessionStoreException) {
                storeFailed();
            }
            throw e;
        }
        if (recorders.isEmpty()) {
            return new GateOutcome.Admitted<>(admitted, workspace, lease, permit, null);
        }
        Duration waited = permit.waited();
        for (GateRecorder r : recorders) {
            r.admitted(waited, estimateAtEnter);
        }
        long admittedAt = System.nanoTime();
        return new GateOutcome.Admitted<>(admitted, workspace, lease, permit, () -> {
            Duration ran = Duration.ofNanos(System.nanoTime() - admittedAt);
            for (GateRecorder r : recorders) {
                r.finished(ran);
            }
        });
    }

    private GateOutcome<W> unavailable(StoreUnavailableException e) {
        storeFailed();
        return Refusals.unavailable(e);
    }

    private void storeFailed() {
        for (GateRecorder r : recorders) {
            r.storeFailed();
        }
    }

    /** The gate's name, as given to {@link Builder#name(String)}: the {@code gate} tag of its metrics. */
    public String name() {
        return name;
    }

    /** The session manager the gate was built with. */
    public SessionManager sessions() {
        return sessions;
    }

    /** Registers a recorder told of every wait, run and store failure from now on (metrics). */
    void addRecorder(GateRecorder recorder) {
        recorders.add(Objects.requireNonNull(recorder, "recorder"));
    }

    /** The admission queue the gate was built with. */
    public AdmissionQueue queue() {
        return queue;
    }

    /** The workflow cache the gate was built with. */
    public WorkflowCache<String, W> workflows() {
        return workflows;
    }

    /** The rate limiter, if the gate has one. */
    public Optional<RateLimiter> rateLimiter() {
        return Optional.ofNullable(rateLimiter);
    }

    /** The session creation limiter, if the gate has one. */
    public Optional<RateLimiter> sessionCreationLimiter() {
        return Optional.ofNullable(creationLimiter);
    }

    /** The workspace allocator, if the gate has one. */
    public Optional<WorkspaceAllocator> workspaces() {
        return Optional.ofNullable(workspaces);
    }

    /**
     * Closes the queue (waiters are rejected), the workflow cache (waits, up to its bound, for runs in
     * progress), the workspace allocator, the rate limiter and the session manager, in that order. Idempotent.
     */
    @Override
    public void close() {
        if (!closed.compareAndSet(false, true)) {
            return;
        }
        endings.stop();
        sessions.removeListener(endings);
        queue.close();
        workflows.close();
        endings.finishReleases();
        if (rateLimiter != null) {
            rateLimiter.close();
        }
        sessions.close();
    }

    private void checkOpen() {
        if (closed.get()) {
            throw new IllegalStateException("WorkflowGate '" + name + "' is closed");
        }
    }

    /** Builds a {@link WorkflowGate}; the rate limiter and the workspace allocator are optional. */
    public static final class Builder<W> {
        private final SessionManager sessions;
        private final AdmissionQueue queue;
        private final WorkflowCache<String, W> workflows;
        private String name = "gate";
        private RateLimiter rateLimiter;
        private RateLimiter creationLimiter;
        private WorkspaceAllocator workspaces;
        private Duration keepAliveInterval = DEFAULT_KEEP_ALIVE;
        private ThreadFactory threadFactory;

        private Builder(SessionManager sessions, AdmissionQueue queue, WorkflowCache<String, W> workflows) {
            this.sessions = Objects.requireNonNull(sessions, "sessions");
            this.queue = Objects.requireNonNull(queue, "queue");
            this.workflows = Objects.requireNonNull(workflows, "workflows");
        }

        /**
         * A name for the {@code gate} tag of the gate's metrics, so that several gates can share one meter
         * registry: 1 to 64 letters, digits, '-' or '_'. Default "gate".
         */
        public Builder<W> name(String name) {
            Objects.requireNonNull(name, "name");
            if (!name.matches("[A-Za-z0-9_-]{1,64}")) {
                throw new IllegalArgumentException(
                        "name must be 1 to 64 letters, digits, '-' or '_' but was '" + name + "'");
            }
            this.name = name;
            return this;
        }

        /** Limits requests per {@link GateRequest#rateKey()} before anything else happens (default: none). */
        public Builder<W> rateLimiter(RateLimiter rateLimiter) {
            this.rateLimiter = Objects.requireNonNull(rateLimiter, "rateLimiter");
            return this;
        }

        /**
         * Limits how many sessions one client may have created, keyed by {@link GateRequest#clientAddress()}
         * (or the rate key when the host gives no address): a request without a live session that this
         * limiter denies gets {@link GateOutcome.RateLimited} and creates nothing. Without it, a client that
         * drops its cookie gets a new session (a store row, later a workspace) on every admitted request,
         * limited only by the rate limit. Default: none. Give it limits in sessions per window, e.g.
         * {@code RateLimiter.builder().name("new-sessions").limit(Limit.of("new-sessions", 20, Duration.ofHours(1)))};
         * its {@code maximumKeys} bounds the memory the addresses take.
         */
        public Builder<W> sessionCreationLimiter(RateLimiter creationLimiter) {
            this.creationLimiter = Objects.requireNonNull(creationLimiter, "creationLimiter");
            return this;
        }

        /** Gives each session a workspace directory (default: none). */
        public Builder<W> workspaces(WorkspaceAllocator workspaces) {
            this.workspaces = Objects.requireNonNull(workspaces, "workspaces");
            return this;
        }

        /**
         * The longest a waiting request goes without a call to its {@link QueueObserver} (at least 10 ms):
         * when the queue has told it nothing for this long, the gate calls the observer with the current
         * position and estimate anyway, at a random moment between half this interval and all of it. A
         * host that writes each call to the client learns that the client left when a write fails, and the
         * request leaves the line then. Default 3 s.
         */
        public Builder<W> keepAliveInterval(Duration interval) {
            this.keepAliveInterval = Durations.requireAtLeast("keepAliveInterval", interval, Duration.ofMillis(10));
            return this;
        }

        /**
         * Where the gate's one thread of its own (workspace releases after sessions end, with
         * {@link #workspaces}) comes from. Default: a platform daemon thread named
         * {@code usher-gate-workspace-release}. Pass the host's factory for virtual threads, its naming or
         * MDC; the host then owns what the factory does. The components keep their own settings.
         */
        public Builder<W> threadFactory(ThreadFactory factory) {
            this.threadFactory = Objects.requireNonNull(factory, "threadFactory");
            return this;
        }

        /** Builds the gate; it owns the components from now on. */
        public WorkflowGate<W> build() {
            return new WorkflowGate<>(this);
        }
    }
}
