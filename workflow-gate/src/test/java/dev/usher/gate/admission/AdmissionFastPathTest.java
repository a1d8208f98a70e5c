package dev.usher.gate.admission;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Queue;
import java.util.Set;
import java.util.concurrent.CancellationException;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
import java.util.concurrent.locks.LockSupport;
import org.junit.jupiter.api.Test;

/**
 * The fast path (a ticket born admitted while nobody waits, a permit given back without the lock) against
 * the locked path it falls back to: both mixed at random around the capacity boundary on many threads, and
 * round robin after contention begins, which must treat slots taken on the fast path as any others.
 */
class AdmissionFastPathTest {
    private static final int THREADS = 6;
    private static final int OPS_PER_THREAD = 6_000;
    private static final int MAX_RUNNING = 3;
    private static final int PER_KEY = 2;

    @Test
    void fastAndLockedPathsMixedOnManyThreadsKeepEveryInvariant() throws Exception {
        DefaultAdmissionQueue queue = (DefaultAdmissionQueue) AdmissionQueue.builder(MAX_RUNNING)
                .maxRunningPerKey(PER_KEY).maxQueued(8).notificationPeriod(Duration.ofMillis(1)).name("fast-mix").build();
        AtomicInteger held = new AtomicInteger();
        Map<String, AtomicInteger> heldPerKey = new ConcurrentHashMap<>();
        AtomicInteger maxHeld = new AtomicInteger();
        AtomicLong runs = new AtomicLong();
        AtomicLong bornAdmitted = new AtomicLong();
        AtomicLong waited = new AtomicLong();
        AtomicLong entered = new AtomicLong();
        AtomicReference<Throwable> failure = new AtomicReference<>();
        Queue<Ticket> tickets = new ConcurrentLinkedQueue<>();
        CountDownLatch workersDone = new CountDownLatch(THREADS);

        // Checks under the lock now and then, so the fast path keeps stopping and restarting while it works.
        Thread checker = new Thread(() -> {
            while (workersDone.getCount() > 0 && failure.get() == null) {
                try {
                    AdmissionInvariants.check(queue);
                    LockSupport.parkNanos(ThreadLocalRandom.current().nextInt(200_000));
                } catch (Throwable t) {
                    failure.compareAndSet(null, t);
                }
            }
        }, "fast-mix-checker");
        checker.start();

        List<Thread> workers = new ArrayList<>();
        for (int w = 0; w < THREADS; w++) {
            Thread worker = new Thread(() -> {
                ThreadLocalRandom random = ThreadLocalRandom.current();
                try {
                    for (int op = 0; op < OPS_PER_THREAD && failure.get() == null; op++) {
                        String key = "k" + random.nextInt(5);
                        Ticket ticket;
                        try {
                            ticket = queue.enter(key);
                        } catch (QueueFullException full) {
                            continue;
                        }
                        entered.incrementAndGet();
                        tickets.add(ticket);
                        if (((TicketImpl) ticket).seq == 0) {
                            bornAdmitted.incrementAndGet();
                        } else if (ticket.state() == Ticket.State.QUEUED) {
                            waited.incrementAndGet();
                            int position = ticket.position();
                            if (position < 0 || position > 8) {
                                throw new AssertionError("position " + position + " outside 0..maxQueued");
                            }
                        }
                        Permit permit = null;
                        switch (random.nextInt(4)) {
                            case 0 -> { // cancel at once: if admission won, the permit is ours
                                if (!ticket.cancel() && ticket.state() == Ticket.State.ADMITTED) {
                                    permit = ticket.permit().join();
                                }
                            }
                            case 1 -> { // a short await; a timed-out ticket has left the queue
                                try {
                                    permit = ticket.await(Duration.ofNanos(random.nextInt(100_000)));
                                } catch (TimeoutException e) {
                                    if (ticket.state() != Ticket.State.TIMED_OUT) {
                                        throw new AssertionError("a timed-out await left the ticket " + ticket.state());
                                    }
                                }
                            }
                            default -> permit = ticket.await(Duration.ofMinutes(2));
                        }
                        if (permit != null) {
                            try (Permit p = permit) {
                                AtomicInteger perKey = heldPerKey.computeIfAbsent(p.key(), k -> new AtomicInteger());
                                int now = held.incrementAndGet();
                                int nowForKey = perKey.incrementAndGet();
                                maxHeld.accumulateAndGet(now, Math::max);
                                try {
                                    if (now > MAX_RUNNING || nowForKey > PER_KEY) {
                                        throw new AssertionError(now + " permits out, " + nowForKey + " for one key");
                                    }
                                    for (int i = random.nextInt(100); i > 0; i--) {
                                        Thread.onSpinWait();
                                    }
                                } finally {
                                    perKey.decrementAndGet();
                                    held.decrementAndGet();
                                    runs.incrementAndGet();
                                }
                            }
                            permit.close(); // a second close does nothing
                        }
                    }
                } catch (Throwable t) {
                    failure.compareAndSet(null, t);
                } finally {
                    workersDone.countDown();
                }
            }, "fast-mix-" + w);
            workers.add(worker);
            worker.start();
        }
        for (Thread worker : workers) {
            worker.join();
        }
        checker.join();
        if (failure.get() != null) {
            throw new AssertionError("failed during the run", failure.get());
        }
        // No waiter stranded: every ticket ended (all of them were awaited, cancelled or timed out above).
        for (Ticket t : tickets) {
            assertThat(t.permit().handle((p, e) -> t.state()).get(1, TimeUnit.MINUTES)).isNotEqualTo(Ticket.State.QUEUED);
        }
        AdmissionInvariants.check(queue);
        AdmissionStats stats = queue.stats();
        assertThat(bornAdmitted.get()).as("tickets born admitted on the fast path").isPositive();
        assertThat(waited.get()).as("tickets that had to wait").isPositive();
        assertThat(maxHeld.get()).isLessThanOrEqualTo(MAX_RUNNING);
        assertThat(held.get()).isZero();
        assertThat(stats.running()).as("every permit returned").isZero();
        assertThat(stats.queued()).as("no waiter left").isZero();
        assertThat(stats.admitted()).as("every admitted permit ran and was returned").isEqualTo(runs.get());
        assertThat(stats.admitted() + stats.cancelled() + stats.timedOut()).isEqualTo(entered.get());

        // After all that, positions are still exactly 1..n and predict the admission order.
        List<Permit> running = new ArrayList<>();
        for (int i = 0; i < MAX_RUNNING; i++) {
            running.add(queue.enter("filler" + i).await(Duration.ofMinutes(1)));
        }
        // One waiter per key (the five keys used above and three new ones), so no key's own limit holds one
        // back and the positions must give the admission order exactly.
        List<Ticket> waiting = new ArrayList<>();
        for (int i = 0; i < 8; i++) {
            waiting.add(queue.enter("k" + i));
        }
        Map<Integer, Ticket> byPosition = new ConcurrentHashMap<>();
        for (Ticket t : waiting) {
            assertThat(byPosition.put(t.position(), t)).isNull();
        }
        assertThat(byPosition.keySet()).containsExactlyInAnyOrder(1, 2, 3, 4, 5, 6, 7, 8);
        for (int position = 1; position <= 8; position++) {
            running.remove(0).close();
            Ticket next = byPosition.get(position);
            assertThat(next.state()).as("position %d is admitted next", position).isEqualTo(Ticket.State.ADMITTED);
            running.add(next.permit().join());
            AdmissionInvariants.check(queue);
        }
        running.forEach(Permit::close);
        assertThat(queue.stats().running()).isZero();
        queue.close();
    }

    @Test
    void slotsTakenOnTheFastPathCountInRoundRobinAsAnyOthers() {
        try (DefaultAdmissionQueue queue = (DefaultAdmissionQueue) AdmissionQueue.builder(3).manualMaintenance().build()) {
            Ticket a1 = queue.enter("a");
            Ticket a2 = queue.enter("a");
            assertThat(((TicketImpl) a1).seq).as("born admitted on the fast path").isZero();
            assertThat(((TicketImpl) a2).seq).isZero();
            Permit x = queue.enter("x").permit().join(); // the last slot
            Ticket b = queue.enter("b");
            Ticket a3 = queue.enter("a");
            // "a" already had its turns this round: the newcomer "b" goes first although "a" waits as long.
            assertThat(b.position()).isEqualTo(1);
            assertThat(a3.position()).isEqualTo(2);
            x.close();
            assertThat(b.state()).isEqualTo(Ticket.State.ADMITTED);
            assertThat(a3.state()).isEqualTo(Ticket.State.QUEUED);
            a1.permit().join().close();
            assertThat(a3.state()).isEqualTo(Ticket.State.ADMITTED);
            AdmissionInvariants.check(queue);
            for (Ticket t : List.of(a2, b, a3)) {
                t.permit().join().close();
            }
            assertThat(queue.stats().running()).isZero();
            assertThat(queue.stats().admitted()).isEqualTo(5);
        }
    }

    @Test
    void aTicketBornAdmittedWakesNoThreadAndItsListenerHearsAdmittedOnTheCallersThread() throws Exception {
        try (DefaultAdmissionQueue queue = (DefaultAdmissionQueue) AdmissionQueue.builder(2).name("quiet")
                .notificationPeriod(Duration.ofHours(1)).build()) {
            List<String> heard = new CopyOnWriteArrayList<>();
            for (int i = 0; i < 10_000; i++) {
                Ticket t = queue.enter("user" + (i % 50), update -> heard.add(update.kind() + " on "
                        + Thread.currentThread().getName()));
                t.await(Duration.ofMinutes(1)).close();
            }
            assertThat(new HashSet<>(heard)).containsExactly("ADMITTED on " + Thread.currentThread().getName());
            assertThat(heard).hasSize(10_000);
            assertThat(queue.queueThreadTasksRun()).as("tasks the queue's thread ran").isZero();
            AdmissionStats stats = queue.stats();
            assertThat(stats.admitted()).isEqualTo(10_000);
            assertThat(stats.running()).isZero();
            assertThat(stats.waitP99()).isEqualTo(Duration.ZERO);
        }
    }

    @Test
    void aKeyThatComesBackFromIdleOnTheFastPathIsANewKey() {
        try (DefaultAdmissionQueue queue = (DefaultAdmissionQueue) AdmissionQueue.builder(2).manualMaintenance().build()) {
            // "a" appears first, then goes idle and comes back after "b" appeared: it is now the newer key.
            queue.enter("a").permit().join().close();
            Permit b = queue.enter("b").permit().join();
            Permit a = queue.enter("a").permit().join();
            Ticket bWaits = queue.enter("b");
            Ticket aWaits = queue.enter("a");
            Set<Integer> positions = Set.of(bWaits.position(), aWaits.position());
            assertThat(positions).containsExactlyInAnyOrder(1, 2);
            assertThat(bWaits.position()).as("b's key is older in this round").isEqualTo(1);
            a.close();
            assertThat(bWaits.state()).isEqualTo(Ticket.State.ADMITTED);
            b.close();
            assertThat(aWaits.state()).isEqualTo(Ticket.State.ADMITTED);
            AdmissionInvariants.check(queue);
        }
    }

    @Test
    void aPermitFutureAskedForLaterIsAlreadyCompletedAndCannotBeWithdrawn() throws Exception {
        try (DefaultAdmissionQueue queue = (DefaultAdmissionQueue) AdmissionQueue.builder(1).manualMaintenance().build()) {
            Ticket t = queue.enter("a");
            assertThat(t.permit()).isCompleted();
            assertThat(t.permit()).isSameAs(t.permit());
            assertThat(t.cancel()).isFalse();
            assertThat(t.permit().cancel(true)).isFalse();
            assertThat(t.permit().completeExceptionally(new CancellationException())).isFalse();
            assertThat(t.position()).isZero();
            assertThat(t.estimatedWait()).contains(Duration.ZERO);
            Permit p = t.await(Duration.ofSeconds(1));
            assertThat(p).isSameAs(t.permit().get());
            p.close();
            p.close();
            assertThat(queue.stats().running()).isZero();
        }
    }

    @Test
    void idleKeysBeyondTheKeptNumberLeaveTheMapWhileOtherThreadsComeBackOnThem() throws Exception {
        int keys = FastPath.IDLE_KEYS_KEPT + 2_000;
        try (DefaultAdmissionQueue queue = (DefaultAdmissionQueue) AdmissionQueue.builder(4).maxRunningPerKey(1)
                .manualMaintenance().build()) {
            AtomicReference<Throwable> failure = new AtomicReference<>();
            AtomicLong admitted = new AtomicLong();
            List<Thread> threads = new ArrayList<>();
            for (int w = 0; w < 3; w++) {
                int offset = w * 7;
                Thread t = new Thread(() -> {
                    try {
                        for (int i = 0; i < 4 * keys; i++) {
                            // The threads walk the same keys a few apart, so they meet on keys coming back.
                            Ticket ticket = queue.enter("user-" + ((i + offset) % keys));
                            try (Permit p = ticket.await(Duration.ofMinutes(1))) {
                                admitted.incrementAndGet();
                            }
                        }
                    } catch (Throwable e) {
                        failure.compareAndSet(null, e);
                    }
                });
                threads.add(t);
                t.start();
            }
            for (Thread t : threads) {
                t.join();
            }
            if (failure.get() != null) {
                throw new AssertionError(failure.get());
            }
            assertThat(queue.order.keys.size()).as("idle keys kept").isLessThanOrEqualTo(FastPath.IDLE_KEYS_KEPT + 4);
            AdmissionInvariants.check(queue);
            AdmissionStats stats = queue.stats();
            assertThat(stats.running()).isZero();
            assertThat(stats.queued()).isZero();
            assertThat(stats.admitted()).isEqualTo(admitted.get());
            assertThat(queue.order.keys).as("idle keys are forgotten once the lock takes over").isEmpty();
        }
    }
}
