package dev.usher.gate.admission;

import dev.usher.gate.admission.KeyState.Slot;
import java.util.Comparator;
import java.util.Map;
import java.util.TreeSet;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicReference;

/**
 * The admission order of a {@link DefaultAdmissionQueue}: every queued ticket's tag, the live keys and, for
 * each key below its per-key limit, its first slot in the admissible set. How tags are given and why they
 * never change while queued is in {@link DefaultAdmissionQueue}'s class comment. Every method costs
 * O(log n) in the number of waiters. Not thread-safe: guarded by the queue's lock; the caller holds it. The
 * {@link FastPath} reads and adds keys and admits without it while nobody waits ({@link #admitAtOnce}),
 * hence the concurrent map and the one atomic {@link Cursor}; under the lock the fast path is stopped, so
 * both are as still as the rest.
 */
final class FairOrder {
    /** By round, then key order: a plain class rather than composed lambdas, which would cost a call per key. */
    static final Comparator<Slot> TAG_ORDER = new TagOrder();

    private final Ordering ordering;
    final int maxRunningPerKey;
    // Package-private for the invariant checker in the tests; never modified outside this class.
    final RankedTree<Slot> waiting = new RankedTree<>(slot -> slot.round, slot -> slot.keyOrder); // TAG_ORDER
    final TreeSet<Slot> admissible = new TreeSet<>(TAG_ORDER);
    final Map<String, KeyState> keys = new ConcurrentHashMap<>();
    private final AtomicReference<Cursor> cursor = new AtomicReference<>(new Cursor(0, 0, 0));

    /**
     * "Now", the largest tag admitted so far {@code (round, order)}, and the last key order given: one value,
     * so that a fast admission moves "now" and, for a key that comes back, takes its key order in one step.
     */
    record Cursor(long round, long order, long keyOrders) {
    }

    private static final class TagOrder implements Comparator<Slot> {
        @Override
        public int compare(Slot a, Slot b) {
            return a.round != b.round ? Long.compare(a.round, b.round) : Long.compare(a.keyOrder, b.keyOrder);
        }
    }

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
            ks = new KeyState(key, nextKeyOrder(), slotsPerKey());
            keys.put(key, ks);
        }
        return ks;
    }

    /** The order of a key that appears now: after every key that appeared before. Caller holds the lock. */
    private long nextKeyOrder() {
        Cursor c = cursor.get();
        cursor.set(new Cursor(c.round, c.order, c.keyOrders + 1));
        return c.keyOrders + 1;
    }

    /**
     * The fast path's admission of a ticket of {@code ks} while nobody waits, without the lock: what
     * {@link #enqueue} and {@link #admitNext} do for a ticket admitted at once, i.e. the key's next tag becomes
     * "now" and the key's last admitted round. A key that {@code comesBack} from idle (or is new) first gets
     * the newest key order, as {@link #liveKey} gives it. One compare-and-set on the cursor orders concurrent
     * fast admissions; a key's own fields are only read by another fast admission of the same key after
     * "now" already covers this one's tag, which gives it the same round (see the class comment of
     * FastPath).
     */
    void admitAtOnce(KeyState ks, boolean comesBack) {
        if (ordering == Ordering.FIFO) {
            return; // FIFO tags are enter sequences: nothing of the cursor or the key is used
        }
        while (true) {
            Cursor c = cursor.get();
            long keyOrder;
            long round;
            long keyOrders = c.keyOrders;
            if (comesBack) {
                keyOrder = ++keyOrders;
                round = c.round;
            } else {
                keyOrder = ks.order;
                round = Math.max(c.round, ks.lastAdmittedRoundNow() + 1);
                if (round == c.round && keyOrder <= c.order) {
                    round++;
                }
            }
            // The tag is always after "now": a new key order is the newest, and a known key's tag moves on.
            if (cursor.compareAndSet(c, new Cursor(round, keyOrder, keyOrders))) {
                if (comesBack) {
                    ks.order = keyOrder;
                    ks.lastAdmittedRound = round;
                } else {
                    ks.raiseLastAdmittedRound(round);
                }
                return;
            }
        }
    }

    boolean slotsPerKey() {
        return ordering == Ordering.FAIR_BY_KEY;
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
        Cursor now = cursor.get();
        long round = Math.max(now.round, ks.lastRound() + 1);
        if (round == now.round && ks.order <= now.order) {
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
        ks.raiseLastAdmittedRound(slot.round);
        Cursor now = cursor.get();
        if (slot.round > now.round || (slot.round == now.round && slot.keyOrder > now.order)) {
            cursor.set(new Cursor(slot.round, slot.keyOrder, now.keyOrders));
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
