package dev.usher.gate.admission;

import java.time.Duration;
import java.util.Iterator;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.LongAdder;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The uncontended path of a {@link DefaultAdmissionQueue}: while nobody waits, {@code enter} admits and
 * {@code close} gives the slot back without the queue's lock, without a future and without waking the
 * queue's thread. The ticket is born admitted; a listener hears ADMITTED on the caller's thread.
 *
 * <h2>The word</h2>
 * One atomic long holds the permits out (bits 0-31), the fast calls in flight (bits 32-61) and STOPPED
 * (bit 62). A fast call adds itself to "in flight" (and, to enter, one permit) in one {@code getAndAdd} and
 * looks at what was there before: when STOPPED is set, or no slot was free, it takes its addition back and
 * the caller goes to the lock. Otherwise it does its few steps on the key (count the key's permit with a
 * compare-and-set below the per-key limit, push or pop the permit on the key's stack, feed the run
 * duration to the estimator's atomic average) and leaves "in flight" with a second {@code getAndAdd}.
 * Nothing in between blocks, waits for another thread or calls the host's code.
 *
 * <h2>Stopping and restarting</h2>
 * Taking the queue's lock ({@link QueueLock}) sets STOPPED and waits until no fast call is in flight (a
 * few dozen nanoseconds; it yields if one was preempted). Until the lock is released no fast call can start
 * or be half done, so the holder sees the permits out, each key's count and every permit exact and still:
 * the fair order, the invariant checks and the estimates work on the same state whichever path made it.
 * When the fast path was running until then, the holder takes its state over: the permits each key holds go
 * into the estimator's tree (for the estimates), the zero waits of tickets admitted at once go into the
 * admitted count and the wait histogram, and idle keys are forgotten, as the lock path forgets them. The
 * last release restarts the fast path when nobody waits and the queue is open: the tree's permits go back
 * to their keys' stacks, and STOPPED is cleared together with the lock holder's change to the permits out,
 * in one {@code getAndAdd}. While someone waits, STOPPED stays set and every call takes the lock, as before.
 * A take-over costs O(keys known + permits out); it happens when contention begins (or stats are read),
 * never per uncontended call.
 *
 * <h2>Why a fast admission is fair</h2>
 * It happens only when the lock path would admit at once too (a free slot, nobody waiting, the key below
 * its limit), and it leaves the state the lock path would: the key's running count, and a new key order
 * when the key comes back from idle (an idle key is forgotten and comes back as a new key). So once
 * contention begins, round robin treats a key that got its slots on the fast path exactly as one that got
 * them under the lock.
 *
 * <h2>Idle keys</h2>
 * A key whose last permit closes on the fast path stays in the map, idle, so the next call for it needs no
 * allocation; a take-over forgets idle keys. While the map holds more than {@value #IDLE_KEYS_KEPT} keys,
 * the closing call removes the idle key itself; it first marks the state removed (a compare-and-set from 0)
 * so that a racing fast call never counts a permit on a state that left the map.
 *
 * <h2>Rejected</h2>
 * Logging fast operations for the fair order to replay later (the first attempt) made every lock holder
 * replay and reconcile, and still cost an allocation per call; a lock-free path that only counts and leaves
 * the lock holder to guess which counts are final cannot give exact positions or estimates.
 */
final class FastPath {
    private static final Logger log = LoggerFactory.getLogger(FastPath.class);
    private static final long PERMIT = 1L;
    private static final long PERMITS = 0xFFFF_FFFFL;
    private static final long IN_FLIGHT = 1L << 32;
    private static final long IN_FLIGHT_BITS = ((1L << 30) - 1) << 32;
    private static final long STOPPED = 1L << 62;
    private static final int SPINS_BEFORE_YIELD = 64;
    static final int IDLE_KEYS_KEPT = 4_096;

    private final DefaultAdmissionQueue queue;
    private final FairOrder order;
    private final WaitEstimator estimator;
    private final int maxRunning;
    private final int maxRunningPerKey;
    private final AtomicLong word = new AtomicLong();
    private final LongAdder admittedAtOnce = new LongAdder();
    private int permitsAtStop; // guarded by the queue's lock

    FastPath(DefaultAdmissionQueue queue, FairOrder order, WaitEstimator estimator, int maxRunning) {
        this.queue = queue;
        this.order = order;
        this.estimator = estimator;
        this.maxRunning = maxRunning;
        this.maxRunningPerKey = order.maxRunningPerKey;
    }

    /** Whether the lock decides everything now: someone waits, a lock holder works, or the queue closed. */
    boolean stopped() {
        return (word.get() & STOPPED) != 0;
    }

    /** Admits a ticket at once without the lock, or returns null when the lock must decide. */
    TicketImpl tryEnter(String key, Consumer<TicketUpdate> listener) {
        long before = word.getAndAdd(IN_FLIGHT + PERMIT);
        if ((before & STOPPED) != 0 || (before & PERMITS) >= maxRunning) {
            word.getAndAdd(-(IN_FLIGHT + PERMIT));
            return null;
        }
        TicketImpl ticket = null;
        try {
            long now = queue.now();
            KeyState ks = acquireKey(key);
            if (ks != null) {
                boolean comesBack = ks.running == KeyState.COMING_BACK; // only this call can have set it
                order.admitAtOnce(ks, comesBack);
                if (comesBack) {
                    ks.cameBack();
                }
                ticket = new TicketImpl(queue, ks, now, listener);
                ks.pushFast(ticket.permit);
                admittedAtOnce.increment();
            }
        } finally {
            word.getAndAdd(ticket == null ? -(IN_FLIGHT + PERMIT) : -IN_FLIGHT);
        }
        if (ticket != null && listener != null) {
            tellAdmitted(ticket); // after the window: the host's code never runs inside it
        }
        return ticket;
    }

    /** A listener of a ticket born admitted hears it on the caller's thread, before {@code enter} returns. */
    private void tellAdmitted(TicketImpl t) {
        try {
            t.listener.accept(new TicketUpdate(TicketUpdate.Kind.ADMITTED, t.key(), 0, Optional.of(Duration.ZERO)));
        } catch (RuntimeException e) {
            log.warn("a ticket listener of AdmissionQueue '{}' threw; ignored", queue.name(), e);
        }
    }

    /**
     * Counts a permit on the key's state, made if absent; an idle one comes back as a new key (see
     * {@link KeyState#COMING_BACK}). Null when the lock must decide: the key is at its limit (the ticket
     * must wait) or another call is bringing it back.
     */
    private KeyState acquireKey(String key) {
        Map<String, KeyState> keys = order.keys;
        KeyState ks = keys.get(key);
        while (true) {
            if (ks == null) {
                KeyState made = KeyState.comingBack(key, order.slotsPerKey());
                ks = keys.putIfAbsent(key, made);
                if (ks == null) {
                    return made;
                }
            }
            if (ks.tryAcquire(maxRunningPerKey)) {
                return ks;
            }
            if (ks.running != KeyState.REMOVED) {
                return null;
            }
            keys.remove(key, ks); // a closing call is taking it out: help, then make a new one
            ks = keys.get(key);
        }
    }

    /** Gives a permit's slot back without the lock; false when the lock must do it. */
    boolean tryRelease(PermitImpl permit) {
        long before = word.getAndAdd(IN_FLIGHT - PERMIT);
        if ((before & STOPPED) != 0) {
            // While stopped no fast admission can take the slot that was briefly counted free.
            word.getAndAdd(PERMIT - IN_FLIGHT);
            return false;
        }
        try {
            KeyState ks = permit.ticket.keyState;
            permit.released = true;
            ks.popFast(permit);
            if (ks.releaseOne() == 0 && order.keys.size() > IDLE_KEYS_KEPT && ks.markRemoved()) {
                order.keys.remove(ks.key, ks);
            }
            estimator.runEnded(queue.now() - permit.admittedAt);
        } finally {
            word.getAndAdd(-IN_FLIGHT);
        }
        return true;
    }

    /** Stops fast calls and waits for those in flight; takes their state over. The caller holds the lock. */
    void stop() {
        long w = word.get();
        boolean wasRunning = (w & STOPPED) == 0;
        if (wasRunning) {
            w = word.getAndAdd(STOPPED) + STOPPED; // only lock holders change STOPPED
        }
        for (int spins = 0; (w & IN_FLIGHT_BITS) != 0; spins++) {
            if (spins < SPINS_BEFORE_YIELD) {
                Thread.onSpinWait();
            } else {
                Thread.yield(); // a fast call was preempted in its window
            }
            w = word.get();
        }
        permitsAtStop = (int) (w & PERMITS);
        queue.running = permitsAtStop;
        if (wasRunning) {
            takeOver();
        }
    }

    private void takeOver() {
        queue.admittedAtOnce(admittedAtOnce.sumThenReset());
        for (Iterator<KeyState> it = order.keys.values().iterator(); it.hasNext(); ) {
            KeyState ks = it.next();
            for (PermitImpl p = ks.takeFast(); p != null; p = KeyState.firstHeld(p.below)) {
                estimator.track(p);
            }
            if (ks.running == 0 && ks.count == 0) {
                it.remove();
            }
        }
    }

    /** On the last release of the lock: restarts the fast path when nobody waits and the queue is open. */
    void restartIfNobodyWaits() {
        long permitsAdded = queue.running - permitsAtStop;
        if (queue.enterOrder.queued == 0 && !queue.closed) {
            RankedTree<PermitImpl> running = estimator.runningByStart;
            for (PermitImpl p = running.first(); p != null; p = running.higher(p)) {
                p.ticket.keyState.giveFast(p);
            }
            running.clear();
            word.getAndAdd(permitsAdded - STOPPED);
        } else if (permitsAdded != 0) {
            word.getAndAdd(permitsAdded);
        }
        permitsAtStop = queue.running;
    }
}
