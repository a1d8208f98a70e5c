package dev.usher.gate.redis;

import dev.usher.gate.admission.Permit;
import dev.usher.gate.admission.Ticket;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.function.Supplier;

/**
 * The future of a ticket's permit, with the local queue's contract: cancelling it or completing it
 * exceptionally withdraws the ticket through Redis, which decides whether withdrawal or admission won.
 */
final class TicketFuture extends CompletableFuture<Permit> {
    private final RedisTicket ticket;

    TicketFuture(RedisTicket ticket) {
        this.ticket = ticket;
    }

    void admitted(Permit permit) {
        super.complete(permit);
    }

    void failed(Throwable cause) {
        super.completeExceptionally(cause);
    }

    @Override
    public boolean cancel(boolean mayInterruptIfRunning) {
        ticket.cancel();
        return isCancelled();
    }

    @Override
    public boolean completeExceptionally(Throwable ex) {
        return ticket.queue.withdraw(ticket, ex instanceof TimeoutException ? Ticket.State.TIMED_OUT : Ticket.State.CANCELLED);
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
        return new UnsupportedOperationException("a ticket's permit future is completed only by its queue");
    }
}
