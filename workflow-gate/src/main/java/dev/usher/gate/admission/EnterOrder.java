package dev.usher.gate.admission;

import dev.usher.session.Durations;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * The queued tickets of a {@link DefaultAdmissionQueue} in enter order, and their expiry. Every deadline
 * is enter time + maxWait, so deadlines follow enter order: a doubly linked list through the tickets gives
 * O(1) append and removal, and expiry only ever looks at its head, one timer at a time at the oldest
 * ticket's deadline. The list and counts are guarded by the queue's lock; {@link #expireOverdue()} takes
 * it itself, in batches.
 */
final class EnterOrder {
    private final DefaultAdmissionQueue queue;
    private final long maxWaitNanos; // 0: no limit
    private final ScheduledExecutorService thread; // null with manual maintenance
    // ---- guarded by the queue's lock ----
    TicketImpl oldest;
    private TicketImpl newest;
    int queued;
    int queuedWithListener;
    private boolean expiryArmed;

    EnterOrder(DefaultAdmissionQueue queue, long maxWaitNanos, ScheduledExecutorService thread) {
        this.queue = queue;
        this.maxWaitNanos = maxWaitNanos;
        this.thread = thread;
    }

    void append(TicketImpl t) {
        t.prevEntered = newest;
        if (newest == null) {
            oldest = t;
        } else {
            newest.nextEntered = t;
        }
        newest = t;
        queued++;
        if (t.listener != null) {
            queuedWithListener++;
        }
    }

    void remove(TicketImpl t) {
        if (t.prevEntered == null) {
            oldest = t.nextEntered;
        } else {
            t.prevEntered.nextEntered = t.nextEntered;
        }
        if (t.nextEntered == null) {
            newest = t.prevEntered;
        } else {
            t.nextEntered.prevEntered = t.prevEntered;
        }
        t.prevEntered = null;
        t.nextEntered = null;
        queued--;
        if (t.listener != null) {
            queuedWithListener--;
        }
    }

    /**
     * Times out the tickets past maxWait, the oldest ones. Works in batches so a backlog of overdue tickets
     * never holds the lock for long; fails their futures after each batch, outside the lock.
     */
    void expireOverdue() {
        if (maxWaitNanos == 0) {
            return;
        }
        List<TicketImpl> expired = new ArrayList<>();
        do {
            expired.clear();
            queue.lock.lock();
            try {
                expiryArmed = false;
                long now = queue.now();
                while (oldest != null && now - oldest.enteredAt >= maxWaitNanos
                        && expired.size() < DefaultAdmissionQueue.FLUSH_BATCH) {
                    TicketImpl t = oldest;
                    queue.withdrawLocked(t, Ticket.State.TIMED_OUT);
                    expired.add(t);
                }
                if (expired.size() < DefaultAdmissionQueue.FLUSH_BATCH) {
                    armExpiry(now); // otherwise the next batch runs at once and arms afterwards
                }
            } finally {
                queue.lock.unlock();
            }
            for (TicketImpl t : expired) {
                t.future().failed(new TimeoutException("ticket waited longer than maxWait "
                        + Durations.format(Duration.ofNanos(maxWaitNanos)) + " in AdmissionQueue '"
                        + queue.name() + "'"));
            }
        } while (expired.size() == DefaultAdmissionQueue.FLUSH_BATCH);
    }

    /** Schedules the next expiry check at the oldest ticket's deadline. Caller holds the lock. */
    void armExpiry(long now) {
        if (thread == null || maxWaitNanos == 0 || expiryArmed || oldest == null || queue.closed) {
            return;
        }
        long delay = Math.max(0, oldest.enteredAt + maxWaitNanos - now);
        try {
            // An O(log n) insert into the executor's own in-memory queue; it never calls back into us.
            thread.schedule(queue::expireAndNotify, delay, TimeUnit.NANOSECONDS);
            expiryArmed = true;
        } catch (RejectedExecutionException shuttingDown) {
            // close() is stopping the thread and will cancel every queued ticket itself.
        }
    }
}
