package dev.usher.gate.admission;

import java.time.Duration;
import java.util.Optional;
import java.util.concurrent.CancellationException;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeoutException;

/**
 * One {@link AdmissionQueue#enter} call: queued, then admitted, cancelled or timed out, exactly one of
 * the three.
 *
 * <p>Thread-safe. {@link #position()} and {@link #estimatedWait()} take the queue's short internal lock
 * (O(log n)); {@link #await(Duration)} blocks the caller by parking, never by {@code synchronized}, so it
 * suits virtual threads. Whoever receives the {@link Permit} owns it and must close it.
 */
public interface Ticket {

    /** Where the ticket is in its life. */
    enum State {
        QUEUED,
        ADMITTED,
        CANCELLED,
        TIMED_OUT
    }

    /** The key given to {@code enter}. */
    String key();

    /** The current state. */
    State state();

    /**
     * 1 = next to run, 2 = one ticket ahead, and so on: the rank of this ticket in the queue's
     * {@link Ordering} for the current state of the queue. 0 once the ticket is no longer queued. With
     * {@code maxRunningPerKey}, a ticket whose own key is at its limit keeps its place but is passed over
     * until a run of its key ends, so its position counts only the tickets ahead of it.
     */
    int position();

    /**
     * The estimated time until admission, from the moving average A of recent run durations, counting how
     * long the runs in progress have already run: the slots free up at {@code max(0, A - elapsed)} for each
     * running permit (the oldest first) and at once for a free slot, and each slot then turns over every A;
     * position p gets slot {@code (p - 1) mod maxRunning} after {@code (p - 1) div maxRunning} turns. It
     * shrinks as time passes, so a client may count it down between updates. Before any run has finished A
     * is the builder's {@code initialRunDuration}, and when that is not set this is empty. Zero once
     * admitted; empty once cancelled or timed out.
     */
    Optional<Duration> estimatedWait();

    /**
     * Completes with the permit at admission; completes exceptionally with {@link CancellationException}
     * when cancelled and with {@link TimeoutException} when timed out. Dependent stages given without an
     * executor run in the thread that admitted the ticket (the one that closed the previous permit): use the
     * {@code *Async} forms for real work.
     *
     * <p>Cancelling this future ({@code cancel}) cancels the ticket; completing it exceptionally (for example
     * through {@code orTimeout}) withdraws the ticket as timed out (for a {@link TimeoutException}) or
     * cancelled. Either only succeeds while the ticket is queued: if admission won the race the future
     * completes with the permit, which then belongs to its dependents. Completing it with a value from
     * outside is not supported.
     */
    CompletableFuture<Permit> permit();

    /**
     * Waits until admitted and returns the permit; the caller owns it.
     *
     * <p>When {@code timeout} passes first, the ticket leaves the queue (counted as timed out) and this
     * throws {@link TimeoutException}, unless admission happened at the same moment, in which case the
     * permit is returned. When interrupted, the ticket is cancelled, a permit granted in the meantime is
     * closed, and {@link InterruptedException} is thrown: no path leaks a permit.
     *
     * @throws TimeoutException if not admitted in time, or if the ticket had already timed out
     * @throws CancellationException if the ticket was cancelled
     */
    Permit await(Duration timeout) throws InterruptedException, TimeoutException;

    /**
     * Leaves the queue. Returns true if the ticket was queued and is now cancelled; false if it was already
     * admitted (the permit is, or is about to be, in {@link #permit()}, and whoever takes it closes it),
     * cancelled or timed out. Does nothing to a permit already granted.
     */
    boolean cancel();
}
