package dev.usher.gate.admission;

import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.function.Supplier;

/**
 * The future of a ticket's permit. Only the queue completes it. Cancelling it, or completing it
 * exceptionally from outside (as {@code orTimeout} does), withdraws the ticket through the queue, which
 * decides under its lock whether withdrawal or admission won; the future then reflects that winner, so a
 * permit granted at the same moment is delivered rather than lost.
 */
final class PermitFuture extends CompletableFuture<Permit> {
    private final TicketImpl ticket;

    PermitFuture(TicketImpl ticket) {
        this.ticket = ticket;
    }

    void admitted(Permit permit) {
        super.complete(permit);
    }

    void failed(Throwable cause) {
        super.completeExceptionally(cause);
    }

    /** Cancels the ticket if it is still queued; returns whether this future is now cancelled. */
    @Override
    public boolean cancel(boolean mayInterruptIfRunning) {
        ticket.cancel();
        return isCancelled();
    }

    /**
     * Withdraws the ticket, as timed out for a {@link TimeoutException} and as cancelled otherwise; returns
     * false when the ticket was no longer queued.
     */
    @Override
    public boolean completeExceptionally(Throwable ex) {
        Ticket.State outcome = ex instanceof TimeoutException ? Ticket.State.TIMED_OUT : Ticket.State.CANCELLED;
        return ticket.queue.withdraw(ticket, outcome, ex);
    }

    @Override
    public boolean complete(Permit value) {
        throw unsupported();
    }

    @Override
    public CompletableFuture<Permit> completeAsync(Supplier<? extends Permit> supplier, Executor executor) {
        throw unsupported();
    }

    @Override
    public CompletableFuture<Permit> completeAsync(Supplier<? extends Permit> supplier) {
        throw unsupported();
    }

    @Override
    public CompletableFuture<Permit> completeOnTimeout(Permit value, long timeout, TimeUnit unit) {
        throw unsupported();
    }

    @Override
    public void obtrudeValue(Permit value) {
        throw unsupported();
    }

    @Override
    public void obtrudeException(Throwable ex) {
        throw unsupported();
    }

    private static UnsupportedOperationException unsupported() {
        return new UnsupportedOperationException("a ticket's permit future is completed only by its AdmissionQueue");
    }
}
