package dev.usher.gate.admission;

import java.time.Duration;
import java.util.concurrent.atomic.AtomicBoolean;

/** The {@link Permit} of a {@link DefaultAdmissionQueue}: only the first {@link #close()} releases the slot. */
final class PermitImpl implements Permit {
    final TicketImpl ticket;
    final long admittedAt;
    private final long waitedNanos;
    private final AtomicBoolean closed = new AtomicBoolean();

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
        if (closed.compareAndSet(false, true)) {
            ticket.queue.release(this);
        }
    }

    @Override
    public String toString() {
        return "Permit[" + (closed.get() ? "closed" : "open") + "]";
    }
}
