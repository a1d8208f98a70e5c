package dev.usher.gate.redis;

import java.util.concurrent.ConcurrentLinkedQueue;

/**
 * What this instance owes Redis but could not tell it while Redis was unreachable: withdrawals of tickets
 * that left locally (and enters whose reply was lost, which may have queued), and releases of permits that
 * were closed. Delivered, oldest first, by the queue's background thread once a lease renewal reaches Redis
 * again, and once more on close. Thread-safe without locks: any thread adds, one thread delivers.
 *
 * <p>An id leaves only after Redis answered for it, so one whose call failed is tried again next time.
 */
final class PendingDeliveries {
    private final ConcurrentLinkedQueue<String> withdrawals = new ConcurrentLinkedQueue<>();
    private final ConcurrentLinkedQueue<String> releases = new ConcurrentLinkedQueue<>();

    /** The ticket left (or may have entered) while Redis was away: take it out of the line later. */
    void withdrawLater(String ticketId) {
        withdrawals.add(ticketId);
    }

    /** The permit was closed while Redis was away: give its slot back later. */
    void releaseLater(String permitId) {
        releases.add(permitId);
    }

    /**
     * Tells Redis everything owed, withdrawals first (a withdrawn ticket that Redis had admitted meanwhile
     * has its permit released at once). Stops at the first failure, keeping what is left for next time.
     *
     * @throws RuntimeException what the failing call threw
     */
    void deliver(QueueProtocol redis) {
        for (String id; (id = withdrawals.peek()) != null; ) {
            if (redis.cancel(id, false, true).result() == QueueProtocol.Withdrawal.Result.ADMITTED) {
                redis.close(id, true);
            }
            withdrawals.remove(id);
        }
        for (String id; (id = releases.peek()) != null; ) {
            redis.close(id, true);
            releases.remove(id);
        }
    }
}
