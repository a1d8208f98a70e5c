package dev.usher.gate.admission;

import dev.usher.gate.admission.KeyState.Slot;
import dev.usher.session.Durations;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.time.Duration;
import java.util.Objects;
import java.util.Optional;
import java.util.concurrent.CancellationException;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.function.Consumer;

/**
 * The {@link Ticket} of a {@link DefaultAdmissionQueue}. Its links and notification bookkeeping are guarded
 * by the queue's lock; {@code state} and {@code permit} are volatile so {@link #state()} needs no lock, and
 * the permit is always published before the state that announces it. A ticket that had to take the lock
 * gets its future at once; one born admitted on the {@link FastPath} gets it, already completed, only if
 * someone asks.
 */
final class TicketImpl implements Ticket {
    private static final VarHandle FUTURE;

    static {
        try {
            FUTURE = MethodHandles.lookup().findVarHandle(TicketImpl.class, "future", PermitFuture.class);
        } catch (ReflectiveOperationException e) {
            throw new ExceptionInInitializerError(e);
        }
    }

    final DefaultAdmissionQueue queue;
    final KeyState keyState;
    final long seq;
    final long enteredAt;
    final Consumer<TicketUpdate> listener;
    private volatile PermitFuture future;
    // Slot and links: guarded by the queue's lock.
    Slot ownSlot; // FIFO only: see KeyState
    TicketImpl prevInKey;
    TicketImpl nextInKey;
    TicketImpl prevEntered;
    TicketImpl nextEntered;
    // The next ticket admitted by the same lock holder, until its future is completed after the unlock.
    TicketImpl nextAdmitted;
    long estimateAtEnter = -1;
    long lastNotifiedAt;
    int lastPosition;
    long lastEstimate;
    // Written under the lock (or before the ticket is returned); volatile so state() needs no lock. The permit
    // is written before the state that announces it, and read only after that state.
    volatile State state;
    PermitImpl permit;

    TicketImpl(DefaultAdmissionQueue queue, KeyState keyState, long seq, long enteredAt,
            Consumer<TicketUpdate> listener) {
        this.queue = queue;
        this.keyState = keyState;
        this.seq = seq;
        this.enteredAt = enteredAt;
        this.listener = listener;
        this.future = new PermitFuture(this);
        this.state = State.QUEUED;
    }

    /** A ticket born admitted by the fast path: no sequence, no future until asked for. */
    TicketImpl(DefaultAdmissionQueue queue, KeyState keyState, long now, Consumer<TicketUpdate> listener) {
        this.queue = queue;
        this.keyState = keyState;
        this.seq = 0;
        this.enteredAt = now;
        this.listener = listener;
        this.permit = new PermitImpl(this, now, 0);
        this.state = State.ADMITTED;
    }

    /** The permit's future, made (already completed) on first use for a ticket born admitted. */
    PermitFuture future() {
        PermitFuture f = future;
        if (f == null && state == State.ADMITTED) { // only a ticket born admitted has none
            PermitFuture made = new PermitFuture(this);
            made.admitted(permit);
            f = (PermitFuture) FUTURE.compareAndExchange(this, null, made);
            if (f == null) {
                f = made;
            }
        }
        return f;
    }

    void notified(long now, int position, long estimate) {
        lastNotifiedAt = now;
        lastPosition = position;
        lastEstimate = estimate;
    }

    @Override
    public String key() {
        return keyState.key;
    }

    @Override
    public State state() {
        return state;
    }

    @Override
    public int position() {
        return queue.positionOf(this);
    }

    @Override
    public Optional<Duration> estimatedWait() {
        return queue.estimateOf(this);
    }

    @Override
    public CompletableFuture<Permit> permit() {
        return future();
    }

    @Override
    public Permit await(Duration timeout) throws InterruptedException, TimeoutException {
        Objects.requireNonNull(timeout, "timeout");
        if (state == State.ADMITTED) {
            return permit;
        }
        try {
            // CompletableFuture.get parks with LockSupport: no monitor, so virtual threads unmount.
            return future().get(DefaultAdmissionQueue.saturatedNanos(timeout), TimeUnit.NANOSECONDS);
        } catch (TimeoutException e) {
            String message = "ticket not admitted within " + Durations.format(timeout);
            if (queue.withdraw(this, State.TIMED_OUT, new TimeoutException(message))) {
                throw new TimeoutException(message);
            }
            return outcomeAfterLostRace();
        } catch (InterruptedException e) {
            if (!queue.withdraw(this, State.CANCELLED, new CancellationException("interrupted while waiting"))
                    && state == State.ADMITTED) {
                // Admitted at the same moment: nobody will take this permit, so hand it back.
                permit.close();
            }
            throw e;
        } catch (ExecutionException e) {
            if (e.getCause() instanceof TimeoutException maxWaitExpired) {
                throw maxWaitExpired;
            }
            return outcomeAfterLostRace();
        }
    }

    /** The state is final here; the permit field was set under the lock before the state changed. */
    private Permit outcomeAfterLostRace() throws TimeoutException {
        switch (state) {
            case ADMITTED:
                return permit;
            case TIMED_OUT:
                throw new TimeoutException("ticket timed out");
            default:
                throw new CancellationException("ticket was cancelled");
        }
    }

    @Override
    public boolean cancel() {
        return queue.withdraw(this, State.CANCELLED, new CancellationException("ticket was cancelled"));
    }

    @Override
    public String toString() {
        return "Ticket[" + state + "]";
    }
}
