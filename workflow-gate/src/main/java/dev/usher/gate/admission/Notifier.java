package dev.usher.gate.admission;

import dev.usher.gate.admission.KeyState.Slot;
import java.util.ArrayDeque;
import java.util.concurrent.Executor;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Tells a {@link DefaultAdmissionQueue}'s listeners what happened to their tickets. Updates are recorded
 * under the queue's lock, in lock order, so each ticket's updates stay in order; they are delivered on the
 * queue's own thread (or in close/maintain), never under the lock. Once per period it also refreshes the
 * positions and estimates of listening tickets.
 */
final class Notifier {
    private static final Logger log = LoggerFactory.getLogger(Notifier.class);

    private final DefaultAdmissionQueue queue;
    private final Executor thread; // null with manual maintenance
    private final long periodNanos;
    private final AtomicBoolean drainScheduled = new AtomicBoolean();
    // Guarded by the queue's lock.
    private ArrayDeque<Notification> notifications = new ArrayDeque<>();
    // Whether notifications may hold something: read without the lock so that nothing to deliver wakes no
    // thread and takes no lock.
    private volatile boolean pending;

    private record Notification(Consumer<TicketUpdate> listener, TicketUpdate update) {
    }

    Notifier(DefaultAdmissionQueue queue, Executor thread, long periodNanos) {
        this.queue = queue;
        this.thread = thread;
        this.periodNanos = periodNanos;
    }

    /** Records an update for the ticket's listener, if it has one. Caller holds the lock. */
    void record(TicketImpl t, TicketUpdate.Kind kind, int position, long estimateNanos) {
        if (t.listener != null) {
            notifications.add(new Notification(t.listener,
                    new TicketUpdate(kind, t.key(), position, WaitEstimator.toDuration(estimateNanos))));
            pending = true;
        }
    }

    /** Has the queue's thread deliver what was recorded; at most one delivery is scheduled at a time. */
    void signal() {
        if (thread != null && pending && drainScheduled.compareAndSet(false, true)) {
            try {
                thread.execute(this::deliver);
            } catch (RejectedExecutionException shuttingDown) {
                drainScheduled.set(false); // close() delivers what is left
            }
        }
    }

    /** Calls listeners with everything recorded so far; runs on the queue's thread (or in close/maintain). */
    void deliver() {
        drainScheduled.set(false);
        if (!pending) {
            return;
        }
        ArrayDeque<Notification> batch;
        queue.lock.lock();
        try {
            pending = false;
            if (notifications.isEmpty()) {
                return;
            }
            batch = notifications;
            notifications = new ArrayDeque<>();
        } finally {
            queue.lock.unlock();
        }
        for (Notification n : batch) {
            try {
                n.listener.accept(n.update);
            } catch (RuntimeException e) {
                log.warn("a ticket listener of AdmissionQueue '{}' threw; ignored", queue.name(), e);
            }
        }
    }

    /**
     * Sends POSITION_CHANGED to every listening ticket whose position or estimate differs from what it was
     * last told, if it was last told at least one period ago. Runs once per period on the queue's thread, so
     * the cost is O(n log n) per period whatever the traffic; tickets are visited in tag order, in batches
     * under the lock, and consecutive tickets in that order have consecutive positions.
     */
    void refreshPositions() {
        if (!queue.fastPath.stopped()) {
            return; // nobody waits: nothing to refresh, and taking the lock would stop the fast path
        }
        FairOrder order = queue.order;
        Slot last = null;
        while (true) {
            queue.lock.lock();
            try {
                if (queue.closed || queue.enterOrder.queuedWithListener == 0) {
                    break;
                }
                long now = queue.now();
                Slot slot = last == null ? order.first() : order.higher(last);
                if (slot == null) {
                    break;
                }
                int position = order.position(slot);
                for (int i = 0; i < DefaultAdmissionQueue.FLUSH_BATCH && slot != null; i++, position++) {
                    TicketImpl t = slot.key.ticketIn(slot);
                    if (t.listener != null && now - t.lastNotifiedAt >= periodNanos) {
                        long estimate = queue.estimator.estimateNanos(position, now);
                        if (position != t.lastPosition || estimateMovedOff(t, estimate, now)) {
                            t.notified(now, position, estimate);
                            record(t, TicketUpdate.Kind.POSITION_CHANGED, position, estimate);
                        }
                    }
                    last = slot;
                    slot = order.higher(slot);
                }
            } finally {
                queue.lock.unlock();
            }
            deliver();
        }
        deliver();
    }

    /**
     * Whether a new estimate differs from what the listener's last one has counted down to by now by more
     * than a period or a tenth of the estimate: a listener (a page) counts down between updates, so an
     * estimate that only moved with the clock is not news, and sending it would wake every listener every
     * period.
     */
    private boolean estimateMovedOff(TicketImpl t, long estimate, long now) {
        if ((estimate < 0) != (t.lastEstimate < 0)) {
            return true;
        }
        if (estimate < 0) {
            return false;
        }
        long countedDown = Math.max(0, t.lastEstimate - (now - t.lastNotifiedAt));
        return Math.abs(estimate - countedDown) > Math.max(periodNanos, estimate / 10);
    }
}
