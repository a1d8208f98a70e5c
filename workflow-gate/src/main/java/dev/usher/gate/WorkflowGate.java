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
import dev.usher.session.StoreUnavailableException;
import java.time.Duration;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The one call a host makes per workflow request: rate limit, session, workspace, admission queue and
 * workflow lease, in that order, with everything acquired released exactly once.
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
    /** Retry hint for a store that is down and gave none. */
    private static final Duration DEFAULT_RETRY_AFTER = Duration.ofSeconds(1);

    private final SessionManager sessions;
    private final AdmissionQueue queue;
    private final WorkflowCache<String, W> workflows;
    private final RateLimiter rateLimiter;
    private final WorkspaceAllocator workspaces;
    private final ExecutorService releaser;
    private final SessionListener endings;
    private final AtomicBoolean closed = new AtomicBoolean();

    private WorkflowGate(Builder<W> b) {
        this.sessions = b.sessions;
        this.queue = b.queue;
        this.workflows = b.workflows;
        this.rateLimiter = b.rateLimiter;
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
     * Runs one request through the gate, waiting in the queue if needed.
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
                if (decision.degraded() && decision.limits().isEmpty()) {
                    // FAIL_CLOSED: denied because the limiter's store is down, not because of this client.
                    return new GateOutcome.Unavailable<>(decision.retryAfter(), "rate limiter's shared store is down");
                }
                return new GateOutcome.RateLimited<>(decision);
            }
        }
        Session session;
        Workspace workspace = null;
        try {
            session = resolveSession(request.sessionId());
            if (workspaces != null) {
                boolean mapped = session.attributes().containsKey(WorkspaceAllocator.NAME_ATTRIBUTE);
                workspace = workspaces.workspaceFor(session, request.workspaceName());
                if (!mapped) {
                    // The first allocation recorded the mapping in the session: hand the host the current value.
                    session = sessions.find(session.id()).orElse(session);
                }
            }
        } catch (StoreUnavailableException e) {
            return new GateOutcome.Unavailable<>(e.retryAfter().orElse(DEFAULT_RETRY_AFTER), e.getMessage());
        }

        LinkedBlockingQueue<TicketUpdate> updates = new LinkedBlockingQueue<>();
        Ticket ticket;
        try {
            ticket = queue.enter(session.id(), updates::add);
        } catch (QueueFullException e) {
            return new GateOutcome.Rejected<>(session, GateOutcome.Rejected.Reason.QUEUE_FULL, e.retryAfter());
        }
        Permit permit = awaitPermit(ticket, session, updates, observer);
        if (permit == null) {
            GateOutcome.Rejected.Reason reason = ticket.state() == Ticket.State.TIMED_OUT
                    ? GateOutcome.Rejected.Reason.TIMED_OUT : GateOutcome.Rejected.Reason.CANCELLED;
            return new GateOutcome.Rejected<>(session, reason, Optional.empty());
        }
        Lease<W> lease;
        try {
            lease = workflows.acquire(session.id());
        } catch (RuntimeException | Error e) {
            permit.close();
            throw e;
        }
        return new GateOutcome.Admitted<>(session, workspace, lease, permit);
    }

    private Session resolveSession(String sessionId) {
        if (sessionId != null) {
            Optional<Session> live = sessions.touch(sessionId);
            if (live.isPresent()) {
                return live.get();
            }
        }
        return sessions.create(null, Map.of());
    }

    /**
     * Relays the ticket's updates to the observer on this thread until admission. Returns the permit, or
     * null when the ticket ended without one (timed out, cancelled, queue closed).
     */
    private Permit awaitPermit(Ticket ticket, Session session, LinkedBlockingQueue<TicketUpdate> updates,
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
                    observer.queued(session, update.position(), update.estimatedWait());
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
        if (rateLimiter != null) {
            rateLimiter.close();
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
