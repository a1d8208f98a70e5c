package dev.usher.gate;

import dev.usher.gate.admission.AdmissionQueue;
import dev.usher.gate.admission.Permit;
import dev.usher.gate.admission.Ticket;
import dev.usher.gate.admission.TicketUpdate;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.time.Duration;
import java.util.Optional;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.locks.LockSupport;
import java.util.function.Consumer;

/**
 * One request's wait for admission: the listener its ticket was entered with, and the loop that relays the
 * ticket's updates to the {@link QueueObserver} on the request's own thread until admission, ticking the
 * observer when it has heard nothing for a keep-alive interval.
 *
 * <p>Each waiter's next tick is drawn at random between half an interval and a whole one after the last
 * call, so waiters that queued together do not tick together: with n waiters the gate makes between n and
 * 2n observer calls per interval, spread over it, each costing two O(log n) reads of the queue. Ticking on
 * the waiter's own thread (not the queue's) keeps a slow write away from everybody else, and needs nothing
 * from the queue, so any {@link AdmissionQueue} gets it.
 *
 * <p>A request admitted at once (the common case) reads no clock, draws no random number and never parks:
 * the ADMITTED the queue tells it (on the request's own thread, inside {@code enter}) only sets a flag, and
 * any update the queue may still send it afterwards lands in a queue nobody reads and wakes nobody. The
 * listener side ({@link #accept}) runs on the queue's thread, or on the request's for an admission at once;
 * everything else on the request's.
 */
final class AdmissionWait implements Consumer<TicketUpdate> {
    private static final VarHandle UPDATES;

    static {
        try {
            UPDATES = MethodHandles.lookup().findVarHandle(AdmissionWait.class, "updates", ConcurrentLinkedQueue.class);
        } catch (ReflectiveOperationException e) {
            throw new ExceptionInInitializerError(e);
        }
    }

    /** Created by whichever side needs it first: a request admitted at once never reads it. */
    private volatile ConcurrentLinkedQueue<TicketUpdate> updates;
    /** The request's thread while it is parked waiting for an update; null otherwise. */
    private volatile Thread parked;
    /**
     * The queue said ADMITTED and the waiter has not yet looked: the ticket's state says so already (a
     * queue changes the state before it tells the listener), so a waiter that sees the flag re-reads it.
     */
    private volatile boolean admitted;

    private ConcurrentLinkedQueue<TicketUpdate> updates() {
        ConcurrentLinkedQueue<TicketUpdate> queue = updates;
        if (queue == null) {
            queue = new ConcurrentLinkedQueue<>();
            if (!UPDATES.compareAndSet(this, null, queue)) {
                queue = updates;
            }
        }
        return queue;
    }

    @Override
    public void accept(TicketUpdate update) {
        if (update.kind() == TicketUpdate.Kind.ADMITTED) {
            // Nothing to relay, only a waiter to wake: a flag, so that a request admitted at once (told on
            // its own thread, inside enter) makes no update queue.
            admitted = true;
        } else {
            updates().add(update);
        }
        Thread waiter = parked;
        if (waiter != null) {
            LockSupport.unpark(waiter);
        }
    }

    /**
     * Waits for the ticket's outcome. Returns the permit, or null when the ticket ended without one (timed
     * out, cancelled, queue closed). On an interrupt or a throwing observer the ticket is withdrawn (and a
     * permit that won the race given back) before the exception leaves.
     */
    Permit await(Ticket ticket, SessionOnDemand session, QueueObserver observer, long keepAliveNanos)
            throws InterruptedException {
        try {
            long nextTick = 0;
            boolean ticking = false;
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
                if (!ticking) {
                    nextTick = System.nanoTime() + nextKeepAlive(keepAliveNanos);
                    ticking = true;
                }
                long untilTick = nextTick - System.nanoTime();
                TicketUpdate update = untilTick > 0 ? poll(untilTick) : null;
                if (update != null) {
                    if ((update.kind() == TicketUpdate.Kind.QUEUED || update.kind() == TicketUpdate.Kind.POSITION_CHANGED)
                            && ticket.state() == Ticket.State.QUEUED) {
                        observer.queued(session.get(), update.position(), update.estimatedWait());
                        nextTick = System.nanoTime() + nextKeepAlive(keepAliveNanos);
                    }
                    continue;
                }
                if (System.nanoTime() - nextTick >= 0) {
                    int position = ticket.position();
                    Optional<Duration> estimate = ticket.estimatedWait();
                    if (position > 0) {
                        observer.queued(session.get(), position, estimate);
                    }
                    nextTick = System.nanoTime() + nextKeepAlive(keepAliveNanos);
                }
            }
        } catch (InterruptedException | RuntimeException | Error e) {
            abandon(ticket);
            throw e;
        }
    }

    /** The next update, waiting up to {@code nanos} for one; null if none came. */
    private TicketUpdate poll(long nanos) throws InterruptedException {
        ConcurrentLinkedQueue<TicketUpdate> updates = updates();
        TicketUpdate update = updates.poll();
        if (update != null) {
            return update;
        }
        long deadline = System.nanoTime() + nanos;
        parked = Thread.currentThread();
        try {
            while (true) {
                // Re-read after publishing this thread: an update (or ADMITTED) given before that is seen here,
                // one given after it unparks us.
                update = updates.poll();
                if (update != null) {
                    return update;
                }
                if (admitted) {
                    admitted = false; // once: the caller re-reads the ticket's state
                    return null;
                }
                if (Thread.interrupted()) {
                    throw new InterruptedException();
                }
                long left = deadline - System.nanoTime();
                if (left <= 0) {
                    return null;
                }
                LockSupport.parkNanos(this, left);
            }
        } finally {
            parked = null;
        }
    }

    private static long nextKeepAlive(long keepAliveNanos) {
        return ThreadLocalRandom.current().nextLong(keepAliveNanos / 2, keepAliveNanos + 1);
    }

    /** Leaves the queue; if admission won the race, the permit goes straight back. */
    static void abandon(Ticket ticket) {
        if (!ticket.cancel() && ticket.state() == Ticket.State.ADMITTED) {
            ticket.permit().thenAccept(Permit::close);
        }
    }
}
