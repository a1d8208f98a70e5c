package dev.usher.gate.admission;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.time.Duration;

/**
 * The {@link Permit} of a {@link DefaultAdmissionQueue}: only the first {@link #close()} releases the slot,
 * without the lock while the queue's {@link FastPath} runs, under it otherwise.
 */
final class PermitImpl implements Permit {
    private static final VarHandle CLOSED;

    static {
        try {
            CLOSED = MethodHandles.lookup().findVarHandle(PermitImpl.class, "closed", boolean.class);
        } catch (ReflectiveOperationException e) {
            throw new ExceptionInInitializerError(e);
        }
    }

    final TicketImpl ticket;
    final long admittedAt;
    private final long waitedNanos;
    private volatile boolean closed;
    // The slot is given back: set by the fast path inside its window (closed is set before, outside it). A
    // plain field: the lock holder reads it after the window's end on the fast path's word, which publishes
    // it; another fast call may see it late, which only leaves a released permit on a key's stack longer.
    boolean released;
    // The next older permit of the same key on its fast stack (see KeyState).
    PermitImpl below;
    // A tie-break among permits with the same start in the estimator's tree; given under the lock.
    long treeId;

    PermitImpl(TicketImpl ticket, long admittedAt, long waitedNanos) {
        this.ticket = ticket;
        this.admittedAt = admittedAt;
        this.waitedNanos = waitedNanos;
    }

    @Override
    public String key() {
        return ticket.key();
    }

    @Override
    public Duration waited() {
        return Duration.ofNanos(waitedNanos);
    }

    @Override
    public void close() {
        if (!closed && CLOSED.compareAndSet(this, false, true)) {
            DefaultAdmissionQueue queue = ticket.queue;
            if (!queue.fastPath.tryRelease(this)) {
                queue.release(this);
            }
        }
    }

    @Override
    public String toString() {
        return "Permit[" + (closed ? "closed" : "open") + "]";
    }
}
