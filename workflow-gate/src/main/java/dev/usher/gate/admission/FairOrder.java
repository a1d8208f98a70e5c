package dev.usher.gate.admission;

import dev.usher.gate.admission.KeyState.Slot;
import java.util.Comparator;
import java.util.HashMap;
import java.util.Map;
import java.util.TreeSet;

/**
 * The admission order of a {@link DefaultAdmissionQueue}: every queued ticket's tag, the live keys and, for
 * each key below its per-key limit, its first slot in the admissible set. How tags are given and why they
 * never change while queued is in {@link DefaultAdmissionQueue}'s class comment. Every method costs
 * O(log n) in the number of waiters. Not thread-safe: guarded by the queue's lock; the caller holds it.
 */
final class FairOrder {
    static final Comparator<Slot> TAG_ORDER = Comparator
            .comparingLong((Slot slot) -> slot.round)
            .thenComparingLong(slot -> slot.keyOrder);

    private final Ordering ordering;
    final int maxRunningPerKey;
    // Package-private for the invariant checker in the tests; never modified outside this class.
    final RankedTree<Slot> waiting = new RankedTree<>(TAG_ORDER);
    final TreeSet<Slot> admissible = new TreeSet<>(TAG_ORDER);
    final Map<String, KeyState> keys = new HashMap<>();
    private long keyOrders;
    private long curRound;
    private long curOrder;

    FairOrder(Ordering ordering, int maxRunningPerKey) {
        this.ordering = ordering;
        this.maxRunningPerKey = maxRunningPerKey;
    }

    /** The live key, or null. */
    KeyState key(String key) {
        return keys.get(key);
    }

    /** The live key, made live (with the newest key order) if it was not. */
    KeyState liveKey(String key) {
        KeyState ks = keys.get(key);
        if (ks == null) {
            ks = new KeyState(key, ++keyOrders, ordering == Ordering.FAIR_BY_KEY);
            keys.put(key, ks);
        }
        return ks;
    }

    /** Whether a ticket of {@code ks} (null: a new key) would be admitted at once if a slot were free. */
    boolean nextIfFree(KeyState ks) {
        return admissible.isEmpty() && (ks == null || (ks.count == 0 && ks.running < maxRunningPerKey));
    }

    boolean hasAdmissible() {
        return !admissible.isEmpty();
    }

    int size() {
        return waiting.size();
    }

    /** Gives a ticket its key's next slot; returns the slot. */
    Slot enqueue(TicketImpl t) {
        KeyState ks = t.keyState;
        Slot slot = newSlot(t, ks);
        ks.append(t, slot);
        waiting.add(slot);
        makeAdmissibleIfPossible(ks);
        return slot;
    }

    /** See the class comment of the queue: FIFO uses arrival order, FAIR_BY_KEY (round, keyOrder). */
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

    /** 1 + the number of queued slots before the ticket's. */
    int position(TicketImpl t) {
        return waiting.rank(t.keyState.slotOf(t)) + 1;
    }

    int position(Slot slot) {
        return waiting.rank(slot) + 1;
    }

    Slot first() {
        return waiting.first();
    }

    Slot higher(Slot slot) {
        return waiting.higher(slot);
    }

    /**
     * Takes the ticket with the smallest admissible tag out of the order and counts it as running for its
     * key; "now" moves to its tag. Only call when {@link #hasAdmissible()}.
     */
    TicketImpl admitNext() {
        Slot slot = admissible.pollFirst();
        KeyState ks = slot.key;
        TicketImpl t = ks.head;
        ks.inAdmissible = false;
        waiting.remove(ks.unlink(t, true));
        ks.running++;
        ks.lastAdmittedRound = Math.max(ks.lastAdmittedRound, slot.round);
        if (slot.round > curRound || (slot.round == curRound && slot.keyOrder > curOrder)) {
            curRound = slot.round;
            curOrder = slot.keyOrder;
        }
        makeAdmissibleIfPossible(ks);
        return t;
    }

    /** Takes a queued ticket out without a permit: its key gives up its last slot (FAIR_BY_KEY). */
    void withdraw(TicketImpl t) {
        KeyState ks = t.keyState;
        Slot first = ks.firstSlot();
        waiting.remove(ks.unlink(t, false));
        if (ks.inAdmissible && (ks.head == null || ks.firstSlot() != first)) {
            // The key's first slot went with the ticket (FIFO, or its last waiter left): its successor's
            // slot, if any, becomes the key's candidate below.
            admissible.remove(first);
            ks.inAdmissible = false;
        }
        // A withdrawn head was admissible only while every slot was taken, so its successor cannot be
        // admitted now either; it just becomes the key's candidate.
        makeAdmissibleIfPossible(ks);
        dropIfIdle(ks);
    }

    /** A run of {@code ks} ended: its first waiter may become admissible. */
    void released(KeyState ks) {
        ks.running--;
        makeAdmissibleIfPossible(ks);
    }

    /** Forgets a key with nothing queued and nothing running: it comes back as a new key. */
    void dropIfIdle(KeyState ks) {
        if (ks.count == 0 && ks.running == 0) {
            keys.remove(ks.key);
        }
    }

    private void makeAdmissibleIfPossible(KeyState ks) {
        if (!ks.inAdmissible && ks.head != null && ks.running < maxRunningPerKey) {
            admissible.add(ks.firstSlot());
            ks.inAdmissible = true;
        }
    }
}
