package dev.usher.gate.admission;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;

/**
 * A live key of a {@link DefaultAdmissionQueue}: one with waiters or running permits. It holds its queued
 * tickets in enter order and, under FAIR_BY_KEY, the key's slots in the admission order; the i-th oldest
 * waiter holds the i-th slot, so a waiter's slot follows from its rank among the key's waiters. A slot is
 * only ever taken from either end: the first when the key's oldest waiter is admitted, the last when any
 * waiter leaves without a permit (the key keeps its earlier turns). Under FIFO each ticket owns its slot.
 * Guarded by the queue's lock, except what the {@link FastPath} touches while nobody waits (see there):
 * {@code running}, changed by compare-and-set; the stack of the key's fast permits; and, when {@code running}
 * goes from 0 to 1 on the fast path, {@code order} and {@code lastAdmittedRound} (the key comes back as a
 * new key, exactly as if it had been forgotten and created again).
 */
final class KeyState {
    private static final VarHandle RUNNING;
    private static final VarHandle LAST_ADMITTED_ROUND;
    private static final VarHandle FAST_TOP;
    /** {@code running} of a state the fast path removed from the map: never counted up again. */
    static final int REMOVED = -1;
    /**
     * {@code running} while a fast admission brings the key back from idle (its first permit): other fast
     * calls for the key leave it to the lock, which waits until the key has its new order.
     */
    static final int COMING_BACK = -2;

    static {
        try {
            MethodHandles.Lookup lookup = MethodHandles.lookup();
            RUNNING = lookup.findVarHandle(KeyState.class, "running", int.class);
            LAST_ADMITTED_ROUND = lookup.findVarHandle(KeyState.class, "lastAdmittedRound", long.class);
            FAST_TOP = lookup.findVarHandle(KeyState.class, "fastTop", PermitImpl.class);
        } catch (ReflectiveOperationException e) {
            throw new ExceptionInInitializerError(e);
        }
    }

    final String key;
    long order;
    TicketImpl head;
    TicketImpl tail;
    int count;
    volatile int running;
    long lastAdmittedRound = -1; // raised by compare-and-set on the fast path
    boolean inAdmissible;
    // While the fast path runs: the key's permits, newest first, linked by PermitImpl.below; released ones
    // are unlinked lazily. Under the lock (fast path stopped) it is empty: the estimator holds the permits.
    private volatile PermitImpl fastTop;
    // FAIR_BY_KEY only (null under FIFO, and until the first waiter): the key's slots as a ring indexed by a
    // running ordinal (first..end-1 are held), and its waiters by arrival. Most keys (a session's one tab) have
    // one waiter, whose slot is the first: the tree is made only while the key has two or more, so a lone
    // waiter costs no tree, and its admission walks none.
    private final boolean slotsPerKey;
    private RankedTree<TicketImpl> byArrival;
    private Slot[] ring;
    private long first;
    private long end;

    KeyState(String key, long order, boolean slotsPerKey) {
        this.key = key;
        this.order = order;
        this.slotsPerKey = slotsPerKey;
    }

    /** A key made live by the fast path, coming back with its first permit (see {@link #COMING_BACK}). */
    static KeyState comingBack(String key, boolean slotsPerKey) {
        KeyState ks = new KeyState(key, 0, slotsPerKey);
        ks.running = COMING_BACK;
        return ks;
    }

    /**
     * Counts one more permit unless the key is at {@code limit}: from idle to {@link #COMING_BACK}, which
     * the caller ends with {@link #cameBack()}. False at the limit, or while the state is removed or coming
     * back.
     */
    boolean tryAcquire(int limit) {
        while (true) {
            int r = running;
            if (r < 0 || r >= limit) {
                return false;
            }
            if (RUNNING.compareAndSet(this, r, r == 0 ? COMING_BACK : r + 1)) {
                return true;
            }
        }
    }

    /** The key has its new order: it counts its first permit. Only its own fast admission calls this. */
    void cameBack() {
        RUNNING.setRelease(this, 1); // publishes the key's new order to the next call that counts on it
    }

    /** The last admitted round, read without the lock (another fast admission may be raising it). */
    long lastAdmittedRoundNow() {
        return (long) LAST_ADMITTED_ROUND.getAcquire(this);
    }

    void raiseLastAdmittedRound(long round) {
        while (true) {
            long last = (long) LAST_ADMITTED_ROUND.getAcquire(this);
            if (last >= round || LAST_ADMITTED_ROUND.compareAndSet(this, last, round)) {
                return;
            }
        }
    }

    /** Counts one permit less; returns the new count. */
    int releaseOne() {
        return (int) RUNNING.getAndAdd(this, -1) - 1;
    }

    /** Marks an idle state removed so no racing fast call counts on it; false if one just did. */
    boolean markRemoved() {
        return RUNNING.compareAndSet(this, 0, REMOVED);
    }

    /** Adds a permit to the key's fast permits, unlinking released ones on top. */
    void pushFast(PermitImpl p) {
        while (true) {
            PermitImpl top = fastTop;
            p.below = firstHeld(top);
            if (FAST_TOP.compareAndSet(this, top, p)) {
                return;
            }
        }
    }

    /** Unlinks a released permit if it is on top (otherwise a later push or pop does). */
    void popFast(PermitImpl p) {
        if (fastTop == p) {
            FAST_TOP.compareAndSet(this, p, firstHeld(p.below));
        }
    }

    /** The key's fast permits still held, for the estimator; empties the stack. Caller holds the lock. */
    PermitImpl takeFast() {
        PermitImpl top = fastTop;
        fastTop = null;
        return firstHeld(top);
    }

    /** Puts a permit admitted under the lock on the stack as the fast path restarts. Caller holds the lock. */
    void giveFast(PermitImpl p) {
        p.below = fastTop;
        fastTop = p;
    }

    static PermitImpl firstHeld(PermitImpl p) {
        while (p != null && p.released) {
            p = p.below;
        }
        return p;
    }

    /** The round of the key's newest slot, or of its last admission when nothing is queued. */
    long lastRound() {
        if (count == 0) {
            return lastAdmittedRound;
        }
        return !slotsPerKey ? tail.ownSlot.round : ring[index(end - 1)].round;
    }

    /** The key's first slot (its oldest waiter's), or null when nothing is queued. */
    Slot firstSlot() {
        if (head == null) {
            return null;
        }
        return !slotsPerKey ? head.ownSlot : ring[index(first)];
    }

    Slot slotOf(TicketImpl t) {
        if (!slotsPerKey) {
            return t.ownSlot;
        }
        return ring[index(t == head ? first : first + byArrival.rank(t))];
    }

    TicketImpl ticketIn(Slot slot) {
        if (!slotsPerKey) {
            return slot.owner;
        }
        return slot.ordinal == first ? head : byArrival.select((int) (slot.ordinal - first));
    }

    void append(TicketImpl t, Slot slot) {
        t.prevInKey = tail;
        if (tail == null) {
            head = t;
        } else {
            tail.nextInKey = t;
        }
        tail = t;
        count++;
        if (!slotsPerKey) {
            t.ownSlot = slot;
            slot.owner = t;
            return;
        }
        if (ring == null) {
            ring = new Slot[2];
        }
        if (byArrival != null) {
            byArrival.add(t);
        } else if (count > 1) { // the second waiter: from now on ranks need the tree
            byArrival = new RankedTree<>(waiter -> waiter.seq, waiter -> 0);
            for (TicketImpl w = head; w != null; w = w.nextInKey) {
                byArrival.add(w);
            }
        }
        if (end - first == ring.length) {
            Slot[] bigger = new Slot[ring.length * 2];
            for (long o = first; o < end; o++) {
                bigger[(int) (o & (bigger.length - 1))] = ring[index(o)];
            }
            ring = bigger;
        }
        slot.ordinal = end;
        ring[index(end)] = slot;
        end++;
    }

    /**
     * Takes a queued ticket out and returns the slot the key gives up: an admitted ticket (always the
     * oldest) uses the first slot, any other leaving ticket frees the last one under FAIR_BY_KEY.
     */
    Slot unlink(TicketImpl t, boolean admitted) {
        if (t.prevInKey == null) {
            head = t.nextInKey;
        } else {
            t.prevInKey.nextInKey = t.nextInKey;
        }
        if (t.nextInKey == null) {
            tail = t.prevInKey;
        } else {
            t.nextInKey.prevInKey = t.prevInKey;
        }
        t.prevInKey = null;
        t.nextInKey = null;
        count--;
        if (!slotsPerKey) {
            Slot own = t.ownSlot;
            t.ownSlot = null;
            own.owner = null;
            return own;
        }
        if (byArrival != null) {
            byArrival.remove(t);
            if (count == 0) {
                byArrival = null;
            }
        }
        Slot freed;
        if (admitted) {
            freed = ring[index(first)];
            ring[index(first)] = null;
            first++;
        } else {
            end--;
            freed = ring[index(end)];
            ring[index(end)] = null;
        }
        return freed;
    }

    private int index(long ordinal) {
        return (int) (ordinal & (ring.length - 1));
    }

    /** A place in the admission order: {@code (round, keyOrder)}, unique among queued slots. */
    static final class Slot {
        final KeyState key;
        final long round;
        final long keyOrder;
        long ordinal; // FAIR_BY_KEY: where it sits in its key's ring
        TicketImpl owner; // FIFO: the ticket that owns it

        Slot(KeyState key, long round, long keyOrder) {
            this.key = key;
            this.round = round;
            this.keyOrder = keyOrder;
        }
    }
}
