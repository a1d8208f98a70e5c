package dev.usher.gate.admission;

import dev.usher.gate.admission.KeyState.Slot;

/**
 * Checks every structural invariant of a {@link DefaultAdmissionQueue} under its lock, throwing
 * {@link AssertionError} on the first broken one. The tests call it after every step.
 */
final class AdmissionInvariants {
    private AdmissionInvariants() {
    }

    static void check(DefaultAdmissionQueue queue) {
        queue.lock.lock();
        try {
            FairOrder order = queue.order;
            EnterOrder enterOrder = queue.enterOrder;
            int maxRunning = queue.maxRunning;
            int maxRunningPerKey = order.maxRunningPerKey;
            int running = queue.running;
            check(running >= 0 && running <= maxRunning, "running " + running + " within 0.." + maxRunning);
            int keyRunning = 0;
            int keyCount = 0;
            int inAdmissible = 0;
            for (KeyState ks : order.keys.values()) {
                check(ks.running >= 0 && ks.running <= maxRunningPerKey,
                        "key running " + ks.running + " within 0.." + maxRunningPerKey);
                check(ks.count > 0 || ks.running > 0, "idle key dropped");
                check(ks.inAdmissible == (ks.head != null && ks.running < maxRunningPerKey), "admissible flag");
                check(!ks.inAdmissible || order.admissible.contains(ks.firstSlot()),
                        "the key's first slot is admissible");
                int n = 0;
                for (TicketImpl t = ks.head; t != null; t = t.nextInKey) {
                    check(t.state == Ticket.State.QUEUED, "only queued tickets in a key's list");
                    check(t.nextInKey == null || t.seq < t.nextInKey.seq, "FIFO within a key");
                    Slot slot = ks.slotOf(t);
                    check(ks.ticketIn(slot) == t, "a ticket's slot leads back to it");
                    check(t.nextInKey == null || FairOrder.TAG_ORDER.compare(slot, ks.slotOf(t.nextInKey)) < 0,
                            "a key's slots in FIFO order");
                    check(order.waiting.rank(slot) < order.waiting.size()
                            && order.waiting.select(order.waiting.rank(slot)) == slot, "every slot in the tree");
                    n++;
                }
                check(n == ks.count, "key count " + ks.count + " matches its list " + n);
                keyRunning += ks.running;
                keyCount += ks.count;
                inAdmissible += ks.inAdmissible ? 1 : 0;
            }
            int queued = enterOrder.queued;
            check(keyRunning == running, "sum of key running " + keyRunning + " == running " + running);
            check(queue.estimator.runningByStart.size() == running,
                    "running permits by start " + queue.estimator.runningByStart.size() + " == running");
            check(keyCount == queued && order.waiting.size() == queued, "queued " + queued + " == keys " + keyCount
                    + " == tree " + order.waiting.size());
            check(order.admissible.size() == inAdmissible, "admissible set matches flags");
            check(running == maxRunning || order.admissible.isEmpty(), "no admissible waiter while a slot is free");
            int entered = 0;
            int withListener = 0;
            for (TicketImpl t = enterOrder.oldest; t != null; t = t.nextEntered) {
                check(t.nextEntered == null || t.seq < t.nextEntered.seq, "enter order");
                entered++;
                withListener += t.listener != null ? 1 : 0;
            }
            check(entered == queued, "enter-order list holds every queued ticket");
            check(withListener == enterOrder.queuedWithListener, "count of queued tickets with a listener");
        } finally {
            queue.lock.unlock();
        }
    }

    private static void check(boolean condition, String what) {
        if (!condition) {
            throw new AssertionError("invariant broken: " + what);
        }
    }
}
