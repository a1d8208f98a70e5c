package dev.usher.gate.redis;

import dev.usher.gate.admission.Permit;
import dev.usher.gate.admission.Ticket;
import dev.usher.gate.admission.TicketUpdate;
import java.time.Duration;
import java.util.Objects;
import java.util.Optional;
import java.util.concurrent.CancellationException;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Consumer;

/**
 * A ticket of this instance. Redis decides every outcome (admitted, withdrawn); the local state follows the
 * first answer that reaches it, through a compare-and-set from QUEUED, so two paths reporting the same
 * admission (pub/sub and the refresh) yield one permit.
 */
final class RedisTicket implements Ticket {
    final DefaultRedisAdmissionQueue queue;
    final String id;
    private final String key;
    final Consumer<TicketUpdate> listener;
    final TicketFuture future = new TicketFuture(this);
    private final AtomicReference<State> state = new AtomicReference<>(State.QUEUED);
    private final AtomicReference<RedisPermit> permit = new AtomicReference<>();
    volatile int lastPosition;
    volatile long lastEstimateMs = -1;
    volatile ScheduledFuture<?> timeout;
    /** Set once the enter reply said "queued": before that, Redis may not know the ticket yet. */
    volatile boolean confirmed;
    volatile long estimateAtEnterMs = -1;

    RedisTicket(DefaultRedisAdmissionQueue queue, String id, String key, Consumer<TicketUpdate> listener) {
        this.queue = queue;
        this.id = id;
        this.key = key;
        this.listener = listener;
    }

    /** Redis admitted this ticket; true when this call made the local state ADMITTED. */
    boolean admitted(long fence, long waitedMs) {
        if (state.get() != State.QUEUED) {
            return false;
        }
        RedisPermit p = new RedisPermit(queue, id, key, fence, Duration.ofMillis(Math.max(0, waitedMs)));
        // One permit object per ticket, whichever path (reply, message, refresh) reports the admission first;
        // set before the state, so whoever sees ADMITTED sees it.
        if (!permit.compareAndSet(null, p) || !state.compareAndSet(State.QUEUED, State.ADMITTED)) {
            return false;
        }
        cancelTimeout();
        queue.forget(this);
        queue.recordAdmission(this, Math.max(0, waitedMs));
        queue.notify(this, TicketUpdate.Kind.ADMITTED, 0, 0);
        future.admitted(p);
        return true;
    }

    /** The ticket left the line (Redis said so, or a withdrawal will be retried); true if this call moved it. */
    boolean withdrawn(State outcome, Throwable cause) {
        if (!state.compareAndSet(State.QUEUED, outcome)) {
            return false;
        }
        cancelTimeout();
        queue.forget(this);
        queue.notify(this, outcome == State.TIMED_OUT ? TicketUpdate.Kind.TIMED_OUT : TicketUpdate.Kind.CANCELLED, 0, -1);
        future.failed(cause);
        return true;
    }

    private void cancelTimeout() {
        ScheduledFuture<?> t = timeout;
        if (t != null) {
            t.cancel(false);
        }
    }

    void told(int position, long estimateMs) {
        lastPosition = position;
        lastEstimateMs = estimateMs;
    }

    @Override
    public String key() {
        return key;
    }

    @Override
    public State state() {
        return state.get();
    }

    @Override
    public int position() {
        return state.get() == State.QUEUED ? queue.refreshOne(this) : 0;
    }

    @Override
    public Optional<Duration> estimatedWait() {
        switch (state.get()) {
            case QUEUED:
                queue.refreshOne(this);
                return state.get() == State.ADMITTED ? Optional.of(Duration.ZERO) : DefaultRedisAdmissionQueue.toDuration(lastEstimateMs);
            case ADMITTED:
                return Optional.of(Duration.ZERO);
            default:
                return Optional.empty();
        }
    }

    @Override
    public CompletableFuture<Permit> permit() {
        return future;
    }

    @Override
    public Permit await(Duration timeout) throws InterruptedException, TimeoutException {
        Objects.requireNonNull(timeout, "timeout");
        try {
            return future.get(DefaultRedisAdmissionQueue.saturatedNanos(timeout), TimeUnit.NANOSECONDS);
        } catch (TimeoutException e) {
            if (queue.withdraw(this, State.TIMED_OUT)) {
                throw new TimeoutException("ticket not admitted within " + timeout);
            }
            return outcomeAfterLostRace();
        } catch (InterruptedException e) {
            if (!queue.withdraw(this, State.CANCELLED) && state.get() == State.ADMITTED) {
                permit.get().close();
            }
            throw e;
        } catch (ExecutionException e) {
            if (e.getCause() instanceof TimeoutException maxWaitExpired) {
                throw maxWaitExpired;
            }
            if (e.getCause() instanceof RuntimeException re && !(re instanceof CancellationException)) {
                throw re;
            }
            return outcomeAfterLostRace();
        } catch (CancellationException e) {
            return outcomeAfterLostRace();
        }
    }

    private Permit outcomeAfterLostRace() throws TimeoutException {
        switch (state.get()) {
            case ADMITTED:
                return permit.get();
            case TIMED_OUT:
                throw new TimeoutException("ticket timed out");
            default:
                throw new CancellationException("ticket was cancelled");
        }
    }

    @Override
    public boolean cancel() {
        return queue.withdraw(this, State.CANCELLED);
    }

    @Override
    public String toString() {
        return "Ticket[" + state.get() + "]";
    }
}
