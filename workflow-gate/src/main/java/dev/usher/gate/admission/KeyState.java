package dev.usher.gate.admission;

import java.util.Comparator;

/**
 * A live key of a {@link DefaultAdmissionQueue}: one with waiters or running permits. It holds its queued
 * tickets in enter order and, under FAIR_BY_KEY, the key's slots in the admission order; the i-th oldest
 * waiter holds the i-th slot, so a waiter's slot follows from its rank among the key's waiters. A slot is
 * only ever taken from either end: the first when the key's oldest waiter is admitted, the last when any
 * waiter leaves without a permit (the key keeps its earlier turns). Under FIFO each ticket owns its slot.
 * Guarded by the queue's lock.
 */
final class KeyState {
    private static final Comparator<TicketImpl> ARRIVAL =
            Comparator.comparingLong(t -> t.seq);

    final String key;
    final long order;
    TicketImpl head;
    TicketImpl tail;
    int count;
    int running;
    long lastAdmittedRound = -1;
    boolean inAdmissible;
    // FAIR_BY_KEY only (null under FIFO): the key's waiters by arrival, and its slots as a ring indexed
    // by a running ordinal (first..end-1 are held).
    private final RankedTree<TicketImpl> byArrival;
    private Slot[] ring;
    private long first;
    private long end;

    KeyState(String key, long order, boolean slotsPerKey) {
        this.key = key;
        this.order = order;
        this.byArrival = slotsPerKey ? new RankedTree<>(ARRIVAL) : null;
        this.ring = slotsPerKey ? new Slot[2] : null;
    }

    /** The round of the key's newest slot, or of its last admission when nothing is queued. */
    long lastRound() {
        if (count == 0) {
            return lastAdmittedRound;
        }
        return byArrival == null ? tail.ownSlot.round : ring[index(end - 1)].round;
    }

    /** The key's first slot (its oldest waiter's), or null when nothing is queued. */
    Slot firstSlot() {
        if (head == null) {
            return null;
        }
        return byArrival == null ? head.ownSlot : ring[index(first)];
    }

    Slot slotOf(TicketImpl t) {
        return byArrival == null ? t.ownSlot : ring[index(first + byArrival.rank(t))];
    }

    TicketImpl ticketIn(Slot slot) {
        return byArrival == null ? slot.owner : byArrival.select((int) (slot.ordinal - first));
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
        if (byArrival == null) {
            t.ownSlot = slot;
            slot.owner = t;
            return;
        }
        byArrival.add(t);
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
        if (byArrival == null) {
            Slot own = t.ownSlot;
            t.ownSlot = null;
            own.owner = null;
            return own;
        }
        byArrival.remove(t);
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
