package dev.usher.gate;

import dev.usher.gate.admission.AdmissionQueue;
import dev.usher.gate.admission.Permit;
import dev.usher.gate.admission.QueueFullException;
import dev.usher.gate.admission.Ticket;
import dev.usher.gate.admission.TicketUpdate;
import dev.usher.gate.cache.Lease;
import dev.usher.gate.cache.WorkflowCache;
import dev.usher.gate.ratelimit.Decision;
import dev.usher.gate.ratelimit.RateLimiter;
import dev.usher.gate.workspace.Workspace;
import dev.usher.gate.workspace.WorkspaceAllocator;
import dev.usher.session.EndReason;
import dev.usher.session.Session;
import dev.usher.session.SessionListener;
import dev.usher.session.SessionManager;
import java.security.SecureRandom;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The one call a host makes per workflow request: rate limit, session, admission queue, workspace and
 * workflow lease, in that order, with everything acquired released exactly once and nothing created for a
 * request that is turned away.
 *
 * <pre>{@code
 * switch (gate.enter(new GateRequest(cookieId, clientIp, projectName), (session, pos, eta) -> send(queued(pos, eta)))) {
 *     case GateOutcome.RateLimited<Agent> r -> respond429(r.decision());
 *     case GateOutcome.Rejected<Agent> r    -> respond503(r.retryAfter());
 *     case GateOutcome.Admitted<Agent> run  -> { try (run) { run.workflow().answer(prompt, this::send); } }
 * }
 * }</pre>
 *
 * <p>Thread-safe; one per application. {@link #enter} blocks while the request waits in the queue (it
 * parks, so it suits virtual threads) and tells the {@link QueueObserver} on the caller's own thread,
 * so a slow client never stalls the queue. The gate owns the components it is built with and
 * {@link #close()} closes them all. It also wires session ends for the host: when a session is deleted,
 * expires or is evicted, its workflow is invalidated (closed once its last lease closes) and its
 * workspace is released after that close; when a session's id changes, the workflow cached under the
 * old id is invalidated the same way (the workspace moves with the session).
 *
 * @param <W> the workflow type
 */
public final class WorkflowGate<W> implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(WorkflowGate.class);

    private final SessionManager sessions;
    private final AdmissionQueue queue;
    private final WorkflowCache<String, W> workflows;
    private final RateLimiter rateLimiter;
    private final RateLimiter creationLimiter;
    private final WorkspaceAllocator workspaces;
    private final AtomicLong newRequests = new AtomicLong();
    private final String gateId = Long.toHexString(new SecureRandom().nextLong());
    private final ExecutorService releaser;
    private final SessionListener endings;
    private final AtomicBoolean closed = new AtomicBoolean();

    private WorkflowGate(Builder<W> b) {
        this.sessions = b.sessions;
        this.queue = b.queue;
        this.workflows = b.workflows;
        this.rateLimiter = b.rateLimiter;
        this.creationLimiter = b.creationLimiter;
        this.workspaces = b.workspaces;
        // Releasing a workspace deletes a directory tree: keep it off the cache's closer thread.
        this.releaser = workspaces == null ? null : Executors.newSingleThreadExecutor(r -> {
            Thread t = new Thread(r, "usher-gate-workspace-release");
            t.setDaemon(true);
            return t;
        });
        this.endings = new SessionListener() {
            @Override
            public void ended(Session session, EndReason reason) {
                workflows.invalidate(session.id()).whenComplete((ignored, error) -> releaseWorkspace(session));
            }

            @Override
            public void idChanged(String oldId, Session renamed) {
                workflows.invalidate(oldId);
            }
        };
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
     * @return {@link GateOutcome.RateLimited}, {@link GateOutcome.Rejected}, or {@link GateOutcome.Admitted},
     *     which the caller must close
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
                return new GateOutcome.RateLimited<>(decision);
            }
        }
        Session live = request.sessionId() == null ? null : sessions.touch(request.sessionId()).orElse(null);
        if (live == null && creationLimiter != null) {
            Decision decision = creationLimiter.tryAcquire(request.creationKey());
            if (!decision.allowed()) {
                return new GateOutcome.RateLimited<>(decision);
            }
        }
        SessionOnDemand session = new SessionOnDemand(live);
        // A request without a session waits under a key of its own that no session id can equal (':' is
        // not in the id alphabet), so it is as separate from everyone else as a new session would be; the
        // gate's random prefix keeps it unique in a queue that several instances share.
        String queueKey = live != null ? live.id() : "new:" + gateId + ":" + newRequests.incrementAndGet();

        LinkedBlockingQueue<TicketUpdate> updates = new LinkedBlockingQueue<>();
        Ticket ticket;
        try {
            ticket = queue.enter(queueKey, updates::add);
        } catch (QueueFullException e) {
            return new GateOutcome.Rejected<>(Optional.ofNullable(live), GateOutcome.Rejected.Reason.QUEUE_FULL,
                    e.retryAfter());
        }
        Permit permit = awaitPermit(ticket, session, updates, observer);
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
        } catch (RuntimeException | Error e) {
            permit.close();
            throw e;
        }
        return new GateOutcome.Admitted<>(admitted, workspace, lease, permit);
    }

    /** The request's session: the live one it came with, or one created on first need. Caller's thread only. */
    private final class SessionOnDemand {
        private Session session;

        SessionOnDemand(Session live) {
            this.session = live;
        }

        Session get() {
            if (session == null) {
                session = sessions.create(null, Map.of());
            }
            return session;
        }

        Optional<Session> existing() {
            return Optional.ofNullable(session);
        }
    }

    /**
     * Relays the ticket's updates to the observer on this thread until admission. Returns the permit, or
     * null when the ticket ended without one (timed out, cancelled, queue closed).
     */
    private Permit awaitPermit(Ticket ticket, SessionOnDemand session, LinkedBlockingQueue<TicketUpdate> updates,
                               QueueObserver observer) throws InterruptedException {
        try {
            while (true) {
                switch (ticket.state()) {
                    case ADMITTED:
                        return ticket.permit().join();
                    case CANCELLED:
                    case TIMED_OUT:
                        return null;
                    case QUEUED:
                        break;
                }
                TicketUpdate update = updates.poll(1, TimeUnit.SECONDS);
                if (update != null && (update.kind() == TicketUpdate.Kind.QUEUED
                        || update.kind() == TicketUpdate.Kind.POSITION_CHANGED)
                        && ticket.state() == Ticket.State.QUEUED) {
                    observer.queued(session.get(), update.position(), update.estimatedWait());
                }
            }
        } catch (InterruptedException | RuntimeException | Error e) {
            abandon(ticket);
            throw e;
        }
    }

    /** Leaves the queue; if admission won the race, the permit goes straight back. */
    private static void abandon(Ticket ticket) {
        if (!ticket.cancel() && ticket.state() == Ticket.State.ADMITTED) {
            ticket.permit().thenAccept(Permit::close);
        }
    }

    private void releaseWorkspace(Session session) {
        if (workspaces == null || closed.get()) {
            return;
        }
        releaser.execute(() -> {
            try {
                workspaces.release(session);
            } catch (RuntimeException e) {
                // The allocator's orphan sweep finds what could not be released now.
                log.warn("releasing the workspace of {} failed: {}", session, e.toString());
            }
        });
    }

    public SessionManager sessions() {
        return sessions;
    }

    public AdmissionQueue queue() {
        return queue;
    }

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
     * progress), the workspace allocator and the session manager, in that order. Idempotent.
     */
    @Override
    public void close() {
        if (!closed.compareAndSet(false, true)) {
            return;
        }
        sessions.removeListener(endings);
        queue.close();
        workflows.close();
        if (releaser != null) {
            releaser.shutdown();
            try {
                if (!releaser.awaitTermination(30, TimeUnit.SECONDS)) {
                    log.warn("workspace releases still running after 30 s");
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            workspaces.close();
        }
        sessions.close();
    }

    private void checkOpen() {
        if (closed.get()) {
            throw new IllegalStateException("WorkflowGate is closed");
        }
    }

    /** Builds a {@link WorkflowGate}; the rate limiter and the workspace allocator are optional. */
    public static final class Builder<W> {
        private final SessionManager sessions;
        private final AdmissionQueue queue;
        private final WorkflowCache<String, W> workflows;
        private RateLimiter rateLimiter;
        private RateLimiter creationLimiter;
        private WorkspaceAllocator workspaces;

        private Builder(SessionManager sessions, AdmissionQueue queue, WorkflowCache<String, W> workflows) {
            this.sessions = Objects.requireNonNull(sessions, "sessions");
            this.queue = Objects.requireNonNull(queue, "queue");
            this.workflows = Objects.requireNonNull(workflows, "workflows");
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

        public WorkflowGate<W> build() {
            return new WorkflowGate<>(this);
        }
    }
}
