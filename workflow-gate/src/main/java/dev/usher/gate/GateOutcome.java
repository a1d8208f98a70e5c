package dev.usher.gate;

import dev.usher.gate.admission.Permit;
import dev.usher.gate.cache.Lease;
import dev.usher.gate.ratelimit.Decision;
import dev.usher.gate.workspace.Workspace;
import dev.usher.session.Session;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.time.Duration;
import java.util.Objects;
import java.util.Optional;

/**
 * How {@link WorkflowGate#enter} ended: the host maps each kind to its response (429, 503, or the run).
 * {@link Rejected} and {@link Unavailable} are both 503 with {@code Retry-After}.
 *
 * @param <W> the workflow type
 */
public sealed interface GateOutcome<W> {

    /**
     * The rate limit, or the session creation limit for a request without a live session, denied the
     * request; nothing was created. Send 429 with {@code RateLimitHeaders.of(limits, decision())}, the limits
     * being those of the limiter that decided ({@link Decision#limits()} names them).
     */
    record RateLimited<W>(Decision decision) implements GateOutcome<W> {
        public RateLimited {
            Objects.requireNonNull(decision, "decision");
        }
    }

    /**
     * The request did not get a run: the queue was full, the wait passed the queue's {@code maxWait}, or the
     * queue was closed. Send 503 with {@code Retry-After}.
     *
     * @param session    the caller's session: the live one it came with, or one created while it was queued;
     *                   empty when it came without one and was turned away at once (nothing was created)
     * @param reason     why
     * @param retryAfter a hint for when to try again, when one is known
     */
    record Rejected<W>(Optional<Session> session, Reason reason, Optional<Duration> retryAfter) implements GateOutcome<W> {
        public Rejected {
            Objects.requireNonNull(session, "session");
            Objects.requireNonNull(reason, "reason");
            Objects.requireNonNull(retryAfter, "retryAfter");
        }

        /** Why a request was rejected. */
        public enum Reason {
            QUEUE_FULL,
            TIMED_OUT,
            CANCELLED
        }
    }

    /**
     * A store the gate needs is down: the session store, or the rate limiter's shared store under
     * {@code FAIL_CLOSED}. Nothing was queued. Send 503 with {@code Retry-After: retryAfter}; while the
     * store stays down, each such request is answered at once (the store's circuit is open), not after a
     * timeout.
     *
     * @param retryAfter when trying again may succeed (how often the store is probed, or the limiter's
     *     store-down retry hint)
     * @param message    what is down, for the log (not for the client: it may name hosts)
     */
    record Unavailable<W>(Duration retryAfter, String message) implements GateOutcome<W> {
        public Unavailable {
            Objects.requireNonNull(retryAfter, "retryAfter");
            Objects.requireNonNull(message, "message");
        }
    }

    /**
     * The run may start: the session, its workspace and a lease on its workflow, with a queue permit held.
     * Close it when the run ends, whatever happens (try-with-resources): that returns the lease and then the
     * permit, exactly once. Thread-safe; {@link #close()} is idempotent.
     */
    final class Admitted<W> implements GateOutcome<W>, AutoCloseable {
        private final Session session;
        private final Workspace workspace;
        private final Lease<W> lease;
        private final Permit permit;
        private final Runnable whenClosed;
        private static final VarHandle CLOSED;

        static {
            try {
                CLOSED = MethodHandles.lookup().findVarHandle(Admitted.class, "closed", boolean.class);
            } catch (ReflectiveOperationException e) {
                throw new ExceptionInInitializerError(e);
            }
        }

        // One fewer object per request than an AtomicBoolean; set once, through CLOSED.
        private volatile boolean closed;

        /** {@code whenClosed} (nullable) runs once, after the lease and the permit were given back. */
        Admitted(Session session, Workspace workspace, Lease<W> lease, Permit permit, Runnable whenClosed) {
            this.session = session;
            this.workspace = workspace;
            this.lease = lease;
            this.permit = permit;
            this.whenClosed = whenClosed;
        }

        /** The caller's session (it may be new). */
        public Session session() {
            return session;
        }

        /** The session's workspace; empty when the gate has no {@code WorkspaceAllocator}. */
        public Optional<Workspace> workspace() {
            return Optional.ofNullable(workspace);
        }

        /** The session's workflow, leased: it is not closed while this outcome is open. */
        public W workflow() {
            return lease.value();
        }

        /** How long the request waited in the queue. */
        public Duration waited() {
            return permit.waited();
        }

        @Override
        public void close() {
            if (CLOSED.compareAndSet(this, false, true)) {
                try {
                    lease.close();
                } finally {
                    permit.close();
                    if (whenClosed != null) {
                        whenClosed.run();
                    }
                }
            }
        }
    }
}
