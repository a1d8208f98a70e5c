package dev.usher.gate.admission;

import dev.usher.gate.admission.KeyState.Slot;
import dev.usher.gate.background.BackgroundThreads;
import dev.usher.session.Durations;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.concurrent.CancellationException;
import java.util.concurrent.ScheduledThreadPoolExecutor;
import java.util.concurrent.ThreadFactory;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import java.util.function.LongSupplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The {@link AdmissionQueue}: the entry points (enter, release, withdraw, close) and the one lock. The
 * work is split by job, every part guarded by this class's lock:
 * <ul>
 *   <li>{@link FairOrder}: the tags, the admissible set and the live keys ({@link KeyState}): who is next
 *       and each waiter's position;</li>
 *   <li>{@link EnterOrder}: the queued tickets in enter order, and their expiry at maxWait;</li>
 *   <li>{@link Notifier}: listener updates, delivered on the queue's thread, and the periodic position
 *       refresh;</li>
 *   <li>{@link WaitEstimator}: the moving average of run durations, the running permits by start time and
 *       the wait and estimate-error statistics;</li>
 *   <li>{@link TicketImpl}, {@link PermitImpl} and {@link PermitFuture}: what a caller holds;</li>
 *   <li>{@link FastPath}: while nobody waits, enter and close without the lock (below).</li>
 * </ul>
 *
 * <h2>Locking</h2>
 * One {@link java.util.concurrent.locks.ReentrantLock ReentrantLock}, a {@link QueueLock}, guards all queue
 * state. While a slot is free and nobody waits, {@code enter} and {@code close} do not take it: the
 * {@link FastPath} admits a ticket born admitted (no future unless asked for, no queue-thread wake, a
 * listener hears ADMITTED on the caller's thread) and gives a slot back with a few atomic steps. Taking the
 * lock stops the fast path and waits for its calls in flight, so everything below holds for the lock
 * holder exactly as if every call had taken the lock; the lock stays the only way in once anyone waits,
 * and the fast path restarts when the last waiter leaves. It is held only for in-memory work of O(log n) in
 * the number of waiters (tree inserts, removals and ranks, hash-map and linked-list updates, appending to
 * the event list), plus the periodic position refresh, which takes it in batches of {@value #FLUSH_BATCH}
 * tickets so no single hold grows with the queue. Nothing slow ever runs under it: futures are completed
 * after it is released, in the thread that caused the admission or the withdrawal, and listeners are
 * called on the queue's own thread. A {@code ReentrantLock} rather than {@code synchronized} keeps virtual
 * threads unpinned.
 *
 * <h2>Order and positions</h2>
 * Every queued ticket holds a {@link Slot}, a place in the admission order with a tag
 * {@code (round, keyOrder)}. Admission takes the smallest tag whose key is below its per-key limit; a
 * ticket's position is 1 + the number of queued slots with a smaller tag. Because tags never change while
 * queued, one order-statistic tree ({@link RankedTree}) over all slots answers {@code position()} in
 * O(log n), and a second sorted set holding only each admissible key's first slot answers "who is next" in
 * O(log n). Scanning the waiters, or recomputing ranks on every admission, is never needed.
 * <ul>
 *   <li>FIFO: round is 0 and keyOrder is the enter sequence, so the tag order is the arrival order. Each
 *       ticket owns its slot, and a ticket that leaves takes its slot with it.</li>
 *   <li>FAIR_BY_KEY: each live key (one with waiters or running permits) gets a keyOrder from a counter
 *       when it appears, and its waiters get consecutive rounds. Within a round keys are served by
 *       keyOrder, i.e. in the order they appeared: round robin. "Now" is the largest tag admitted so far,
 *       {@code (curRound, curOrder)}. A new key joins the current round: its tag
 *       {@code (curRound, newest keyOrder)} sorts after every other key's tag of this round, and (without
 *       per-key limits, see below) every queued tag is larger than "now", so the tags ahead of it are in
 *       the current round, at most one per key: a newcomer waits for at most one admission per other key.
 *       A live key's next waiter gets the round after the key's last tag, moved one round further if that
 *       slot has already passed, so it never jumps ahead of "now" and a key gets at most one admission per
 *       round. An idle key (nothing queued, nothing running) is forgotten and comes back as a new key; that
 *       is fair too, because its last run's slot went to someone else when that run ended.
 *       <br>The slots belong to the key, not to its tickets: the key's i-th oldest waiter holds the key's
 *       i-th slot ({@link KeyState}). When a queued ticket leaves (cancel, timeout, a client that went
 *       away), the key gives up its <em>last</em> slot, so every younger waiter of the key moves up into
 *       the slot of the one before it and the key keeps its turn in the current round: X runs, A queues
 *       a1 a2 a3, B queues b1 b2, b1 leaves: b2 takes b1's place and the order is a1 b2 a2 a3. Moving the
 *       key's waiters costs nothing, since a waiter's slot is found from its rank among its key's waiters
 *       (a small per-key {@link RankedTree}), O(log n) like everything else.</li>
 * </ul>
 * Why tags rather than a round-robin cursor: with a cursor, a waiter's rank is
 * {@code sum over keys of min(count, i)} plus the number of keys between the cursor and its own key that
 * have more than {@code i} waiters ({@code i} = its index within its key). The first term is one Fenwick
 * query over counts, but the second is a two-dimensional dominance count (ring position x count) that
 * changes with every admission; fixed tags turn the whole rank into one order-statistic query.
 *
 * <p>A ticket held back by its own key's per-key limit keeps its tag, so while "now" moves on it can fall
 * behind it; it is admitted as soon as its key goes below the limit and its tag is the smallest admissible
 * one. Such a key does not lose the turns it missed, which is why the newcomer bound is stated without
 * maxRunningPerKey: with it, a newcomer may also wait for a held-back key to catch up. Re-tagging a
 * held-back key's waiters instead would cost O(waiters of that key) per release.
 *
 * <h2>Timeouts</h2>
 * Every ticket's deadline is its enter time + maxWait, so deadlines follow enter order: the queued
 * tickets are also kept in a doubly linked list in enter order ({@link EnterOrder}), and expiry only ever
 * looks at its head.
 *
 * <h2>Rejected alternatives</h2>
 * One lock per part (order, enter order, estimator) was rejected: an admission changes all of them at
 * once, and a waiter's position must be read consistently with the running count, so several locks would
 * only add a lock order to get wrong. Striping by key was rejected for the same reason: the order is
 * global across keys. (The file is a little over 400 lines because of this comment; the code is the entry
 * points only.)
 */
final class DefaultAdmissionQueue implements AdmissionQueue {
    private static final Logger log = LoggerFactory.getLogger(DefaultAdmissionQueue.class);
    static final int MAX_KEY_LENGTH = 256;
    static final int FLUSH_BATCH = 256;

    private final String name;
    final int maxRunning;
    private final int maxQueued;
    private final LongSupplier ticker;
    private final ScheduledThreadPoolExecutor thread; // null with manual maintenance
    private volatile Thread queueThread;

    final QueueLock lock = new QueueLock();
    final FastPath fastPath;
    // ---- guarded by lock ----
    final FairOrder order;
    final EnterOrder enterOrder;
    final WaitEstimator estimator;
    private final Notifier notifier;
    int running; // exact while the lock is held; the fast path's word holds it otherwise
    private long seq;
    private long admitted;
    private long rejected;
    private long timedOut;
    private long cancelled;
    boolean closed;

    DefaultAdmissionQueue(AdmissionQueue.Builder b) {
        this.name = b.name;
        this.maxRunning = b.maxRunning;
        this.maxQueued = b.maxQueued;
        this.ticker = b.ticker;
        long periodNanos = saturatedNanos(b.notificationPeriod);
        if (b.manualMaintenance) {
            this.thread = null;
        } else {
            ThreadFactory threads = BackgroundThreads.orDaemon(b.threadFactory, "usher-admission-" + name);
            this.thread = new ScheduledThreadPoolExecutor(1, r -> {
                Thread t = threads.newThread(r);
                queueThread = t;
                return t;
            });
            thread.setRemoveOnCancelPolicy(true);
            thread.setExecuteExistingDelayedTasksAfterShutdownPolicy(false);
            thread.setContinueExistingPeriodicTasksAfterShutdownPolicy(false);
        }
        this.order = new FairOrder(b.ordering, b.maxRunningPerKey);
        this.enterOrder = new EnterOrder(this, b.maxWait == null ? 0 : saturatedNanos(b.maxWait), thread);
        this.estimator = new WaitEstimator(maxRunning, b.smoothing,
                b.initialRunDuration == null ? 0 : saturatedNanos(b.initialRunDuration));
        this.notifier = new Notifier(this, thread, periodNanos);
        this.fastPath = new FastPath(this, order, estimator, maxRunning);
        lock.stops(fastPath);
        if (thread != null) {
            thread.scheduleWithFixedDelay(notifier::refreshPositions, periodNanos, periodNanos, TimeUnit.NANOSECONDS);
        }
    }

    long now() {
        return ticker.getAsLong();
    }

    // ------------------------------------------------------------------------------------------ enter

    @Override
    public Ticket enter(String key) {
        return enter(key, null);
    }

    @Override
    public Ticket enter(String key, Consumer<TicketUpdate> listener) {
        Objects.requireNonNull(key, "key");
        if (key.isEmpty() || key.length() > MAX_KEY_LENGTH) {
            // The key may be a session id: its length, never its text, goes into the message.
            throw new IllegalArgumentException("key must be 1 to " + MAX_KEY_LENGTH + " characters but was "
                    + key.length() + " characters");
        }
        TicketImpl ticket = fastPath.tryEnter(key, listener);
        if (ticket != null) {
            return ticket;
        }
        TicketImpl admittedNow = null;
        lock.lock();
        try {
            if (closed) {
                throw new IllegalStateException("AdmissionQueue '" + name + "' is closed");
            }
            long now = ticker.getAsLong();
            boolean immediate = running < maxRunning && order.nextIfFree(order.key(key));
            if (!immediate && enterOrder.queued >= maxQueued) {
                rejected++;
                Optional<Duration> retryAfter = estimator.retryAfter();
                throw new QueueFullException("AdmissionQueue '" + name + "' is full: " + enterOrder.queued
                        + " tickets wait, maxQueued is " + maxQueued
                        + retryAfter.map(d -> "; retry after about " + Durations.format(d)).orElse(""), maxQueued, retryAfter);
            }
            ticket = new TicketImpl(this, order.liveKey(key), ++seq, now, listener);
            Slot slot = order.enqueue(ticket);
            enterOrder.append(ticket);
            if (!immediate) {
                int position = order.position(slot);
                ticket.estimateAtEnter = estimator.estimateNanos(position, now);
                ticket.notified(now, position, ticket.estimateAtEnter);
                notifier.record(ticket, TicketUpdate.Kind.QUEUED, position, ticket.estimateAtEnter);
            }
            admittedNow = admitWhilePossible(now);
            enterOrder.armExpiry(now);
        } finally {
            lock.unlock();
        }
        afterUnlock(admittedNow);
        return ticket;
    }

    /** Counts the tickets the fast path admitted at once, each with a wait of zero. Caller holds the lock. */
    void admittedAtOnce(long n) {
        admitted += n;
        estimator.admittedAtOnce(n);
    }

    // -------------------------------------------------------------------------------------- admission

    /**
     * Admits the smallest admissible tags while slots are free; returns the first of them, chained by
     * {@link TicketImpl#nextAdmitted} (a chain, not a list, so that an admission allocates no list), or null.
     * Caller holds the lock.
     */
    private TicketImpl admitWhilePossible(long now) {
        TicketImpl first = null;
        TicketImpl last = null;
        while (running < maxRunning && order.hasAdmissible()) {
            TicketImpl t = order.admitNext();
            enterOrder.remove(t);
            long waited = Math.max(0, now - t.enteredAt);
            // The permit is published before the state, so whoever sees ADMITTED also sees the permit.
            t.permit = new PermitImpl(t, now, waited);
            t.state = Ticket.State.ADMITTED;
            running++;
            admitted++;
            estimator.started(t.permit, waited, t.estimateAtEnter);
            notifier.record(t, TicketUpdate.Kind.ADMITTED, 0, 0);
            if (first == null) {
                first = t;
            } else {
                last.nextAdmitted = t;
            }
            last = t;
        }
        return first;
    }

    void release(PermitImpl permit) {
        TicketImpl admittedNow;
        lock.lock();
        try {
            long now = ticker.getAsLong();
            KeyState ks = permit.ticket.keyState;
            running--;
            estimator.ended(permit, now);
            order.released(ks);
            admittedNow = admitWhilePossible(now);
            order.dropIfIdle(ks);
        } finally {
            lock.unlock();
        }
        afterUnlock(admittedNow);
    }

    /** Completes the futures of the tickets admitted under the lock (a chain from {@code admittedNow}). */
    private void afterUnlock(TicketImpl admittedNow) {
        for (TicketImpl t = admittedNow; t != null; ) {
            TicketImpl next = t.nextAdmitted;
            t.nextAdmitted = null;
            t.future().admitted(t.permit);
            t = next;
        }
        notifier.signal();
    }

    // ----------------------------------------------------------------------------- cancel and timeout

    /**
     * Moves a queued ticket to {@code outcome} and fails its future with {@code cause}. Returns false, and
     * changes nothing, if the ticket is no longer queued: the state change happens once, under the lock, so
     * admission and withdrawal cannot both win.
     */
    boolean withdraw(TicketImpl t, Ticket.State outcome, Throwable cause) {
        if (t.state != Ticket.State.QUEUED) {
            return false; // final states never change: no need to stop the fast path to see it
        }
        lock.lock();
        try {
            if (t.state != Ticket.State.QUEUED) {
                return false;
            }
            withdrawLocked(t, outcome);
        } finally {
            lock.unlock();
        }
        t.future().failed(cause);
        notifier.signal();
        return true;
    }

    /** Takes a queued ticket out of every structure as {@code outcome}. Caller holds the lock. */
    void withdrawLocked(TicketImpl t, Ticket.State outcome) {
        enterOrder.remove(t);
        order.withdraw(t);
        t.state = outcome;
        if (outcome == Ticket.State.TIMED_OUT) {
            timedOut++;
            notifier.record(t, TicketUpdate.Kind.TIMED_OUT, 0, -1);
        } else {
            cancelled++;
            notifier.record(t, TicketUpdate.Kind.CANCELLED, 0, -1);
        }
    }

    void expireAndNotify() {
        enterOrder.expireOverdue();
        notifier.deliver();
    }

    /**
     * For tests with manual maintenance: runs what the queue's thread would, now, in the caller: timeouts,
     * the periodic position refresh and listener calls.
     */
    void maintain() {
        enterOrder.expireOverdue();
        notifier.refreshPositions();
        notifier.deliver();
    }

    // -------------------------------------------------------------------------------------- positions

    /** For tests: how many tasks the queue's thread has run (each run of a periodic task counts). */
    long queueThreadTasksRun() {
        return thread == null ? 0 : thread.getCompletedTaskCount();
    }

    int positionOf(TicketImpl t) {
        if (t.state != Ticket.State.QUEUED) {
            return 0;
        }
        lock.lock();
        try {
            return t.state == Ticket.State.QUEUED ? order.position(t) : 0;
        } finally {
            lock.unlock();
        }
    }

    Optional<Duration> estimateOf(TicketImpl t) {
        Ticket.State state = t.state;
        if (state != Ticket.State.QUEUED) {
            return state == Ticket.State.ADMITTED ? Optional.of(Duration.ZERO) : Optional.empty();
        }
        lock.lock();
        try {
            switch (t.state) {
                case QUEUED:
                    return WaitEstimator.toDuration(estimator.estimateNanos(order.position(t), ticker.getAsLong()));
                case ADMITTED:
                    return Optional.of(Duration.ZERO);
                default:
                    return Optional.empty();
            }
        } finally {
            lock.unlock();
        }
    }

    // ------------------------------------------------------------------------------- stats and close

    @Override
    public String name() {
        return name;
    }

    @Override
    public AdmissionStats stats() {
        lock.lock();
        try {
            return estimator.stats(running, enterOrder.queued, admitted, rejected, timedOut, cancelled);
        } finally {
            lock.unlock();
        }
    }

    @Override
    public void close() {
        List<TicketImpl> withdrawn = new ArrayList<>();
        lock.lock();
        try {
            if (closed) {
                return;
            }
            closed = true;
            // One hold for all: close() happens once, and nothing may enter or be admitted meanwhile.
            while (enterOrder.oldest != null) {
                TicketImpl t = enterOrder.oldest;
                withdrawLocked(t, Ticket.State.CANCELLED);
                withdrawn.add(t);
            }
        } finally {
            lock.unlock();
        }
        for (TicketImpl t : withdrawn) {
            t.future().failed(new CancellationException("AdmissionQueue '" + name + "' was closed"));
        }
        if (thread != null) {
            thread.shutdown();
            if (Thread.currentThread() == queueThread) {
                return; // close() called from a listener: the thread ends when the listener returns
            }
            try {
                if (!thread.awaitTermination(10, TimeUnit.SECONDS)) {
                    log.warn("AdmissionQueue '{}': a listener still runs 10 s after close()", name);
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
        notifier.deliver();
    }

    static long saturatedNanos(Duration d) {
        try {
            return d.toNanos();
        } catch (ArithmeticException tooLong) {
            return Long.MAX_VALUE;
        }
    }
}
