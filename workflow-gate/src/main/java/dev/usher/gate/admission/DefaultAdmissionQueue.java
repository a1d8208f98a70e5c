package dev.usher.gate.admission;

import dev.usher.gate.admission.KeyState.Slot;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.TreeSet;
import java.util.concurrent.CancellationException;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.locks.ReentrantLock;
import java.util.function.Consumer;
import java.util.function.LongSupplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The {@link AdmissionQueue}.
 *
 * <h2>Locking</h2>
 * One {@link ReentrantLock} guards all queue state. It is held only for in-memory work of O(log n) in
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
 * tickets are also kept in a doubly linked list in enter order, and expiry only ever looks at its head.
 */
final class DefaultAdmissionQueue implements AdmissionQueue {
    private static final Logger log = LoggerFactory.getLogger(DefaultAdmissionQueue.class);
    static final int MAX_KEY_LENGTH = 256;
    private static final int FLUSH_BATCH = 256;

    private static final Comparator<Slot> TAG_ORDER = Comparator
            .comparingLong((Slot slot) -> slot.round)
            .thenComparingLong(slot -> slot.keyOrder);

    private final String name;
    private final int maxRunning;
    private final int maxQueued;
    private final int maxRunningPerKey;
    private final Ordering ordering;
    private final long maxWaitNanos; // 0: no limit
    private final long periodNanos;
    private final double smoothing;
    private final long initialRunNanos; // 0: none
    private final LongSupplier ticker;
    private final ScheduledThreadPoolExecutor thread; // null with manual maintenance
    private volatile Thread queueThread;
    private final AtomicBoolean drainScheduled = new AtomicBoolean();

    private final ReentrantLock lock = new ReentrantLock();
    // ---- guarded by lock ----
    private final RankedTree<Slot> waiting = new RankedTree<>(TAG_ORDER);
    private final TreeSet<Slot> admissible = new TreeSet<>(TAG_ORDER);
    // Running permits, oldest first: the k-th is expected to free its slot k-th (see estimateNanos).
    private final RankedTree<PermitImpl> runningByStart = new RankedTree<>(
            Comparator.comparingLong((PermitImpl p) -> p.admittedAt).thenComparingLong(p -> p.ticket.seq));
    private final Map<String, KeyState> keys = new HashMap<>();
    private TicketImpl oldest;
    private TicketImpl newest;
    private int queued;
    private int queuedWithListener;
    private int running;
    private long seq;
    private long keyOrders;
    private long curRound;
    private long curOrder;
    private double averageRunNanos = Double.NaN;
    private long admitted;
    private long rejected;
    private long timedOut;
    private long cancelled;
    private final WaitHistogram waits = new WaitHistogram();
    private final WaitHistogram estimateAbsErrors = new WaitHistogram();
    private final WaitHistogram estimateRelativeErrorsPpm = new WaitHistogram(); // |error| / wait, in millionths
    private long estimatesCompared;
    private double estimateAbsErrorSum;
    private double estimateErrorSum;
    private ArrayDeque<Notification> notifications = new ArrayDeque<>();
    private boolean expiryArmed;
    private boolean closed;

    DefaultAdmissionQueue(AdmissionQueue.Builder b) {
        this.name = b.name;
        this.maxRunning = b.maxRunning;
        this.maxQueued = b.maxQueued;
        this.maxRunningPerKey = b.maxRunningPerKey;
        this.ordering = b.ordering;
        this.maxWaitNanos = b.maxWait == null ? 0 : saturatedNanos(b.maxWait);
        this.periodNanos = saturatedNanos(b.notificationPeriod);
        this.smoothing = b.smoothing;
        this.initialRunNanos = b.initialRunDuration == null ? 0 : saturatedNanos(b.initialRunDuration);
        this.ticker = b.ticker;
        if (b.manualMaintenance) {
            this.thread = null;
        } else {
            this.thread = new ScheduledThreadPoolExecutor(1, r -> {
                Thread t = new Thread(r, "usher-admission-" + name);
                t.setDaemon(true);
                queueThread = t;
                return t;
            });
            thread.setRemoveOnCancelPolicy(true);
            thread.setExecuteExistingDelayedTasksAfterShutdownPolicy(false);
            thread.setContinueExistingPeriodicTasksAfterShutdownPolicy(false);
            thread.scheduleWithFixedDelay(this::refreshPositions, periodNanos, periodNanos, TimeUnit.NANOSECONDS);
        }
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
        List<TicketImpl> admittedNow = new ArrayList<>(1);
        TicketImpl ticket;
        lock.lock();
        try {
            if (closed) {
                throw new IllegalStateException("AdmissionQueue '" + name + "' is closed");
            }
            long now = ticker.getAsLong();
            KeyState ks = keys.get(key);
            boolean immediate = running < maxRunning && admissible.isEmpty()
                    && (ks == null || (ks.count == 0 && ks.running < maxRunningPerKey));
            if (!immediate && queued >= maxQueued) {
                rejected++;
                Optional<Duration> retryAfter = averageRunNanos()
                        .map(avg -> Duration.ofNanos(Math.max(1, (long) (avg / maxRunning))));
                throw new QueueFullException("AdmissionQueue '" + name + "' is full: " + queued
                        + " tickets wait, maxQueued is " + maxQueued
                        + retryAfter.map(d -> "; retry after about " + d).orElse(""), maxQueued, retryAfter);
            }
            if (ks == null) {
                ks = new KeyState(key, ++keyOrders, ordering == Ordering.FAIR_BY_KEY);
                keys.put(key, ks);
            }
            ticket = new TicketImpl(this, ks, ++seq, now, listener);
            Slot slot = newSlot(ticket, ks);
            ks.append(ticket, slot);
            appendToEnterOrder(ticket);
            waiting.add(slot);
            queued++;
            if (listener != null) {
                queuedWithListener++;
            }
            makeAdmissibleIfPossible(ks);
            if (!immediate) {
                int position = waiting.rank(slot) + 1;
                ticket.estimateAtEnter = estimateNanos(position, now);
                ticket.notified(now, position, ticket.estimateAtEnter);
                notify(ticket, TicketUpdate.Kind.QUEUED, position, ticket.estimateAtEnter);
            }
            admitWhilePossible(now, admittedNow);
            armExpiry(now);
        } finally {
            lock.unlock();
        }
        afterUnlock(admittedNow);
        return ticket;
    }

    /** See the class comment: FIFO uses arrival order, FAIR_BY_KEY (round, keyOrder). Caller holds the lock. */
    private Slot newSlot(TicketImpl t, KeyState ks) {
        if (ordering == Ordering.FIFO) {
            return new Slot(ks, 0, t.seq);
        }
        long round = Math.max(curRound, ks.lastRound() + 1);
        if (round == curRound && ks.order <= curOrder) {
            // This key's slot in the current round has passed (or was just used): next round.
            round++;
        }
        return new Slot(ks, round, ks.order);
    }

    // -------------------------------------------------------------------------------------- admission

    /** Admits the smallest admissible tags while slots are free. Caller holds the lock. */
    private void admitWhilePossible(long now, List<TicketImpl> admittedNow) {
        while (running < maxRunning && !admissible.isEmpty()) {
            Slot slot = admissible.pollFirst();
            KeyState ks = slot.key;
            TicketImpl t = ks.head;
            ks.inAdmissible = false;
            removeQueued(t, true);
            long waited = now - t.enteredAt;
            // The permit is published before the state, so whoever sees ADMITTED also sees the permit.
            t.permit = new PermitImpl(t, now, Math.max(0, waited));
            t.state = Ticket.State.ADMITTED;
            running++;
            runningByStart.add(t.permit);
            ks.running++;
            ks.lastAdmittedRound = Math.max(ks.lastAdmittedRound, slot.round);
            if (slot.round > curRound || (slot.round == curRound && slot.keyOrder > curOrder)) {
                curRound = slot.round;
                curOrder = slot.keyOrder;
            }
            admitted++;
            waits.record(waited);
            if (t.estimateAtEnter >= 0) {
                long error = waited - t.estimateAtEnter;
                estimatesCompared++;
                estimateErrorSum += error;
                estimateAbsErrorSum += Math.abs(error);
                estimateAbsErrors.record(Math.abs(error));
                if (waited > 0) {
                    estimateRelativeErrorsPpm.record((long) Math.min(Long.MAX_VALUE, Math.abs(error) * 1e6 / waited));
                }
            }
            makeAdmissibleIfPossible(ks);
            notify(t, TicketUpdate.Kind.ADMITTED, 0, 0);
            admittedNow.add(t);
        }
    }

    private void makeAdmissibleIfPossible(KeyState ks) {
        if (!ks.inAdmissible && ks.head != null && ks.running < maxRunningPerKey) {
            admissible.add(ks.firstSlot());
            ks.inAdmissible = true;
        }
    }

    /**
     * Takes a queued ticket out of every structure but {@code admissible}, with the slot its key gives up
     * (see the class comment). Caller holds the lock.
     */
    private void removeQueued(TicketImpl t, boolean admitted) {
        waiting.remove(t.keyState.unlink(t, admitted));
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

    private void appendToEnterOrder(TicketImpl t) {
        t.prevEntered = newest;
        if (newest == null) {
            oldest = t;
        } else {
            newest.nextEntered = t;
        }
        newest = t;
    }

    private void dropKeyIfIdle(KeyState ks) {
        if (ks.count == 0 && ks.running == 0) {
            keys.remove(ks.key);
        }
    }

    void release(PermitImpl permit) {
        List<TicketImpl> admittedNow = new ArrayList<>(2);
        lock.lock();
        try {
            long now = ticker.getAsLong();
            KeyState ks = permit.ticket.keyState;
            running--;
            runningByStart.remove(permit);
            ks.running--;
            long ran = Math.max(0, now - permit.admittedAt);
            averageRunNanos = Double.isNaN(averageRunNanos) ? ran : averageRunNanos + smoothing * (ran - averageRunNanos);
            makeAdmissibleIfPossible(ks);
            admitWhilePossible(now, admittedNow);
            dropKeyIfIdle(ks);
        } finally {
            lock.unlock();
        }
        afterUnlock(admittedNow);
    }

    // ----------------------------------------------------------------------------- cancel and timeout

    /**
     * Moves a queued ticket to {@code outcome} and fails its future with {@code cause}. Returns false, and
     * changes nothing, if the ticket is no longer queued: the state change happens once, under the lock, so
     * admission and withdrawal cannot both win.
     */
    boolean withdraw(TicketImpl t, Ticket.State outcome, Throwable cause) {
        lock.lock();
        try {
            if (t.state != Ticket.State.QUEUED) {
                return false;
            }
            withdrawLocked(t, outcome);
        } finally {
            lock.unlock();
        }
        t.future.failed(cause);
        signalNotifier();
        return true;
    }

    private void withdrawLocked(TicketImpl t, Ticket.State outcome) {
        KeyState ks = t.keyState;
        Slot first = ks.firstSlot();
        removeQueued(t, false);
        if (ks.inAdmissible && (ks.head == null || ks.firstSlot() != first)) {
            // The key's first slot went with the ticket (FIFO, or its last waiter left): its successor's
            // slot, if any, becomes the key's candidate below.
            admissible.remove(first);
            ks.inAdmissible = false;
        }
        t.state = outcome;
        if (outcome == Ticket.State.TIMED_OUT) {
            timedOut++;
            notify(t, TicketUpdate.Kind.TIMED_OUT, 0, -1);
        } else {
            cancelled++;
            notify(t, TicketUpdate.Kind.CANCELLED, 0, -1);
        }
        // A withdrawn head was admissible only while every slot was taken, so its successor cannot be
        // admitted now either; it just becomes the key's candidate.
        makeAdmissibleIfPossible(ks);
        dropKeyIfIdle(ks);
    }

    /**
     * Times out the tickets past maxWait; they are the oldest ones (see the class comment). Works in
     * batches so a backlog of overdue tickets never holds the lock for long.
     */
    private void expireOverdue() {
        if (maxWaitNanos == 0) {
            return;
        }
        List<TicketImpl> expired = new ArrayList<>();
        do {
            expired.clear();
            lock.lock();
            try {
                expiryArmed = false;
                long now = ticker.getAsLong();
                while (oldest != null && now - oldest.enteredAt >= maxWaitNanos && expired.size() < FLUSH_BATCH) {
                    TicketImpl t = oldest;
                    withdrawLocked(t, Ticket.State.TIMED_OUT);
                    expired.add(t);
                }
                if (expired.size() < FLUSH_BATCH) {
                    armExpiry(now); // otherwise the next batch runs at once and arms afterwards
                }
            } finally {
                lock.unlock();
            }
            for (TicketImpl t : expired) {
                t.future.failed(new TimeoutException("ticket waited longer than maxWait "
                        + Duration.ofNanos(maxWaitNanos) + " in AdmissionQueue '" + name + "'"));
            }
        } while (expired.size() == FLUSH_BATCH);
    }

    /** Schedules the next expiry check at the oldest ticket's deadline. Caller holds the lock. */
    private void armExpiry(long now) {
        if (thread == null || maxWaitNanos == 0 || expiryArmed || oldest == null || closed) {
            return;
        }
        long delay = Math.max(0, oldest.enteredAt + maxWaitNanos - now);
        try {
            // An O(log n) insert into the executor's own in-memory queue; it never calls back into us.
            thread.schedule(this::expireAndNotify, delay, TimeUnit.NANOSECONDS);
            expiryArmed = true;
        } catch (RejectedExecutionException shuttingDown) {
            // close() is stopping the thread and will cancel every queued ticket itself.
        }
    }

    private void expireAndNotify() {
        expireOverdue();
        deliverNotifications();
    }

    // ---------------------------------------------------------------------------------- notifications

    private record Notification(Consumer<TicketUpdate> listener, TicketUpdate update) {
    }

    /** Records an update for the ticket's listener, in lock order, so each ticket's updates stay in order. */
    private void notify(TicketImpl t, TicketUpdate.Kind kind, int position, long estimateNanos) {
        if (t.listener != null) {
            notifications.add(new Notification(t.listener,
                    new TicketUpdate(kind, t.key(), position, toDuration(estimateNanos))));
        }
    }

    private void signalNotifier() {
        if (thread != null && drainScheduled.compareAndSet(false, true)) {
            try {
                thread.execute(this::deliverNotifications);
            } catch (RejectedExecutionException shuttingDown) {
                drainScheduled.set(false); // close() delivers what is left
            }
        }
    }

    /** Calls listeners with everything recorded so far; runs on the queue's thread (or in close/maintain). */
    private void deliverNotifications() {
        drainScheduled.set(false);
        ArrayDeque<Notification> batch;
        lock.lock();
        try {
            if (notifications.isEmpty()) {
                return;
            }
            batch = notifications;
            notifications = new ArrayDeque<>();
        } finally {
            lock.unlock();
        }
        for (Notification n : batch) {
            try {
                n.listener.accept(n.update);
            } catch (RuntimeException e) {
                log.warn("a ticket listener of AdmissionQueue '{}' threw; ignored", name, e);
            }
        }
    }

    /**
     * Sends POSITION_CHANGED to every listening ticket whose position or estimate differs from what it was
     * last told, if it was last told at least one period ago. Runs once per period on the queue's thread, so
     * the cost is O(n log n) per period whatever the traffic; tickets are visited in tag order, in batches
     * under the lock, and consecutive tickets in that order have consecutive positions.
     */
    private void refreshPositions() {
        Slot last = null;
        while (true) {
            lock.lock();
            try {
                if (closed || queuedWithListener == 0) {
                    break;
                }
                long now = ticker.getAsLong();
                Slot slot = last == null ? waiting.first() : waiting.higher(last);
                if (slot == null) {
                    break;
                }
                int position = waiting.rank(slot) + 1;
                for (int i = 0; i < FLUSH_BATCH && slot != null; i++, position++) {
                    TicketImpl t = slot.key.ticketIn(slot);
                    if (t.listener != null && now - t.lastNotifiedAt >= periodNanos) {
                        long estimate = estimateNanos(position, now);
                        if (position != t.lastPosition || estimateMovedOff(t, estimate, now)) {
                            t.notified(now, position, estimate);
                            notify(t, TicketUpdate.Kind.POSITION_CHANGED, position, estimate);
                        }
                    }
                    last = slot;
                    slot = waiting.higher(slot);
                }
            } finally {
                lock.unlock();
            }
            deliverNotifications();
        }
        deliverNotifications();
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

    /**
     * For tests with manual maintenance: runs what the queue's thread would, now, in the caller: timeouts,
     * the periodic position refresh and listener calls.
     */
    void maintain() {
        expireOverdue();
        refreshPositions();
        deliverNotifications();
    }

    private void afterUnlock(List<TicketImpl> admittedNow) {
        for (TicketImpl t : admittedNow) {
            t.future.admitted(t.permit);
        }
        signalNotifier();
    }

    // -------------------------------------------------------------------------------------- estimates

    private Optional<Double> averageRunNanos() {
        if (!Double.isNaN(averageRunNanos)) {
            return Optional.of(averageRunNanos);
        }
        return initialRunNanos > 0 ? Optional.of((double) initialRunNanos) : Optional.empty();
    }

    /**
     * The wait of the ticket at {@code position}, in nanos; -1 when there is no estimate. Caller holds the
     * lock. Every run is assumed to take the moving average A, counting what runs in progress have already
     * run: the slots free up at {@code max(0, A - elapsed)} for each running permit (oldest first) and at 0
     * for a slot free now, and each slot then turns over every A. Position p takes slot
     * {@code (p - 1) mod maxRunning} after {@code (p - 1) div maxRunning} turns. Counting the elapsed time
     * is what keeps the estimate honest for the first waiters behind runs that started long ago; a slot is
     * found by one O(log maxRunning) select.
     */
    private long estimateNanos(int position, long now) {
        Optional<Double> average = averageRunNanos();
        if (average.isEmpty()) {
            return -1;
        }
        double avg = average.get();
        int slot = (position - 1) % maxRunning;
        long turns = (position - 1) / maxRunning;
        int free = maxRunning - running;
        double first = 0;
        if (slot >= free) {
            PermitImpl p = runningByStart.select(slot - free);
            first = Math.max(0, avg - (now - p.admittedAt));
        }
        return (long) Math.min(Long.MAX_VALUE, first + turns * avg);
    }

    private static Optional<Duration> toDuration(long nanos) {
        return nanos < 0 ? Optional.empty() : Optional.of(Duration.ofNanos(nanos));
    }

    int positionOf(TicketImpl t) {
        lock.lock();
        try {
            return t.state == Ticket.State.QUEUED ? waiting.rank(t.keyState.slotOf(t)) + 1 : 0;
        } finally {
            lock.unlock();
        }
    }

    Optional<Duration> estimateOf(TicketImpl t) {
        lock.lock();
        try {
            switch (t.state) {
                case QUEUED:
                    return toDuration(estimateNanos(waiting.rank(t.keyState.slotOf(t)) + 1, ticker.getAsLong()));
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
            long n = Math.max(1, estimatesCompared);
            return new AdmissionStats(running, queued, admitted, rejected, timedOut, cancelled,
                    waits.percentile(0.50), waits.percentile(0.95), waits.percentile(0.99), estimatesCompared,
                    Duration.ofNanos((long) (estimateAbsErrorSum / n)), Duration.ofNanos((long) (estimateErrorSum / n)),
                    estimateAbsErrors.percentile(0.50), estimateAbsErrors.percentile(0.95),
                    estimateRelativeErrorsPpm.percentile(0.50).toNanos() / 1e6,
                    estimateRelativeErrorsPpm.percentile(0.95).toNanos() / 1e6);
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
            while (oldest != null) {
                TicketImpl t = oldest;
                withdrawLocked(t, Ticket.State.CANCELLED);
                withdrawn.add(t);
            }
        } finally {
            lock.unlock();
        }
        for (TicketImpl t : withdrawn) {
            t.future.failed(new CancellationException("AdmissionQueue '" + name + "' was closed"));
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
        deliverNotifications();
    }

    /** For tests: checks every structural invariant, throwing {@link AssertionError} on the first broken one. */
    void checkInvariants() {
        lock.lock();
        try {
            check(running >= 0 && running <= maxRunning, "running " + running + " within 0.." + maxRunning);
            int keyRunning = 0;
            int keyCount = 0;
            int inAdmissible = 0;
            for (KeyState ks : keys.values()) {
                check(ks.running >= 0 && ks.running <= maxRunningPerKey,
                        "key running " + ks.running + " within 0.." + maxRunningPerKey);
                check(ks.count > 0 || ks.running > 0, "idle key dropped");
                check(ks.inAdmissible == (ks.head != null && ks.running < maxRunningPerKey), "admissible flag");
                check(!ks.inAdmissible || admissible.contains(ks.firstSlot()), "the key's first slot is admissible");
                int n = 0;
                for (TicketImpl t = ks.head; t != null; t = t.nextInKey) {
                    check(t.state == Ticket.State.QUEUED, "only queued tickets in a key's list");
                    check(t.nextInKey == null || t.seq < t.nextInKey.seq, "FIFO within a key");
                    Slot slot = ks.slotOf(t);
                    check(ks.ticketIn(slot) == t, "a ticket's slot leads back to it");
                    check(t.nextInKey == null || TAG_ORDER.compare(slot, ks.slotOf(t.nextInKey)) < 0,
                            "a key's slots in FIFO order");
                    check(waiting.rank(slot) < waiting.size() && waiting.select(waiting.rank(slot)) == slot,
                            "every slot in the tree");
                    n++;
                }
                check(n == ks.count, "key count " + ks.count + " matches its list " + n);
                keyRunning += ks.running;
                keyCount += ks.count;
                inAdmissible += ks.inAdmissible ? 1 : 0;
            }
            check(keyRunning == running, "sum of key running " + keyRunning + " == running " + running);
            check(runningByStart.size() == running, "running permits by start " + runningByStart.size() + " == running");
            check(keyCount == queued && waiting.size() == queued, "queued " + queued + " == keys " + keyCount
                    + " == tree " + waiting.size());
            check(admissible.size() == inAdmissible, "admissible set matches flags");
            check(running == maxRunning || admissible.isEmpty(), "no admissible waiter while a slot is free");
            int entered = 0;
            int withListener = 0;
            for (TicketImpl t = oldest; t != null; t = t.nextEntered) {
                check(t.nextEntered == null || t.seq < t.nextEntered.seq, "enter order");
                entered++;
                withListener += t.listener != null ? 1 : 0;
            }
            check(entered == queued, "enter-order list holds every queued ticket");
            check(withListener == queuedWithListener, "count of queued tickets with a listener");
        } finally {
            lock.unlock();
        }
    }

    private static void check(boolean condition, String what) {
        if (!condition) {
            throw new AssertionError("invariant broken: " + what);
        }
    }

    private static long saturatedNanos(Duration d) {
        try {
            return d.toNanos();
        } catch (ArithmeticException tooLong) {
            return Long.MAX_VALUE;
        }
    }

    // ------------------------------------------------------------------------------------ inner types

    static final class TicketImpl implements Ticket {
        final DefaultAdmissionQueue queue;
        final KeyState keyState;
        final long seq;
        final long enteredAt;
        final Consumer<TicketUpdate> listener;
        final PermitFuture future = new PermitFuture(this);
        // Slot and links: guarded by the queue's lock.
        Slot ownSlot; // FIFO only: see KeyState
        TicketImpl prevInKey;
        TicketImpl nextInKey;
        TicketImpl prevEntered;
        TicketImpl nextEntered;
        long estimateAtEnter = -1;
        long lastNotifiedAt;
        int lastPosition;
        long lastEstimate;
        // Written under the lock; volatile so state() needs no lock.
        volatile State state = State.QUEUED;
        volatile PermitImpl permit;

        TicketImpl(DefaultAdmissionQueue queue, KeyState keyState, long seq, long enteredAt,
                Consumer<TicketUpdate> listener) {
            this.queue = queue;
            this.keyState = keyState;
            this.seq = seq;
            this.enteredAt = enteredAt;
            this.listener = listener;
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
            return future;
        }

        @Override
        public Permit await(Duration timeout) throws InterruptedException, TimeoutException {
            Objects.requireNonNull(timeout, "timeout");
            try {
                // CompletableFuture.get parks with LockSupport: no monitor, so virtual threads unmount.
                return future.get(saturatedNanos(timeout), TimeUnit.NANOSECONDS);
            } catch (TimeoutException e) {
                if (queue.withdraw(this, State.TIMED_OUT,
                        new TimeoutException("ticket not admitted within " + timeout))) {
                    throw new TimeoutException("ticket not admitted within " + timeout);
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

    static final class PermitImpl implements Permit {
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
}
