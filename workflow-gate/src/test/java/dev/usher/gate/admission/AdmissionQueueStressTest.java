package dev.usher.gate.admission;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Queue;
import java.util.concurrent.CancellationException;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.Phaser;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;

/**
 * 100,000 random operations on 8 threads against a queue with its real thread, timeouts and listeners,
 * while a checker thread verifies the invariants throughout: never more than maxRunning permits out, nor
 * maxRunningPerKey per key, and the queue's own structure consistent. At the end nothing runs, nothing
 * waits, every admitted permit was closed once, every ticket ended exactly once, and every listener heard
 * exactly one final update, last.
 */
class AdmissionQueueStressTest {
    private static final int THREADS = 8;
    private static final int OPS_PER_THREAD = 12_500;
    private static final int MAX_RUNNING = 4;
    private static final int PER_KEY = 2;

    private final AtomicInteger held = new AtomicInteger();
    private final Map<String, AtomicInteger> heldPerKey = new ConcurrentHashMap<>();
    private final AtomicLong runs = new AtomicLong();
    private final AtomicReference<Throwable> failure = new AtomicReference<>();
    private final Phaser pendingFutureRuns = new Phaser(1);

    @Test
    void randomOperationsOnManyThreadsKeepEveryInvariant() throws Exception {
        DefaultAdmissionQueue queue = (DefaultAdmissionQueue) AdmissionQueue.builder(MAX_RUNNING)
                .maxRunningPerKey(PER_KEY).maxQueued(16).maxWait(Duration.ofMillis(20))
                .notificationPeriod(Duration.ofMillis(1)).name("stress").build();
        AtomicLong entered = new AtomicLong();
        AtomicLong rejected = new AtomicLong();
        Queue<Ticket> tickets = new ConcurrentLinkedQueue<>();
        Map<Ticket, Queue<TicketUpdate>> heardBy = new ConcurrentHashMap<>();

        AtomicInteger checks = new AtomicInteger();
        CountDownLatch workersDone = new CountDownLatch(THREADS);
        Thread checker = new Thread(() -> {
            while (workersDone.getCount() > 0) {
                try {
                    AdmissionInvariants.check(queue);
                    assertThat(queue.stats().running()).isLessThanOrEqualTo(MAX_RUNNING);
                    checks.incrementAndGet();
                } catch (Throwable t) {
                    failure.compareAndSet(null, t);
                    return;
                }
            }
        }, "invariant-checker");
        checker.start();

        List<Thread> workers = new ArrayList<>();
        for (int w = 0; w < THREADS; w++) {
            Thread worker = new Thread(() -> {
                ThreadLocalRandom random = ThreadLocalRandom.current();
                try {
                    for (int op = 0; op < OPS_PER_THREAD && failure.get() == null; op++) {
                        String key = "user" + (random.nextInt(4) == 0 ? 0 : random.nextInt(12));
                        Queue<TicketUpdate> updates = random.nextInt(8) == 0 ? new ConcurrentLinkedQueue<>() : null;
                        Ticket ticket;
                        try {
                            ticket = updates == null ? queue.enter(key) : queue.enter(key, updates::add);
                        } catch (QueueFullException full) {
                            rejected.incrementAndGet();
                            continue;
                        }
                        entered.incrementAndGet();
                        tickets.add(ticket);
                        if (updates != null) {
                            heardBy.put(ticket, updates);
                        }
                        operate(ticket, random);
                    }
                } catch (Throwable t) {
                    failure.compareAndSet(null, t);
                } finally {
                    workersDone.countDown();
                }
            }, "stress-worker-" + w);
            workers.add(worker);
            worker.start();
        }
        for (Thread worker : workers) {
            worker.join();
        }
        checker.join();
        // Every ticket ends: admitted, cancelled or timed out (maxWait bounds the wait).
        for (Ticket t : tickets) {
            t.permit().handle((p, e) -> null).get(1, TimeUnit.MINUTES);
        }
        pendingFutureRuns.arriveAndAwaitAdvance();
        if (failure.get() != null) {
            throw new AssertionError("failed during the run", failure.get());
        }
        AdmissionInvariants.check(queue);
        AdmissionStats stats = queue.stats();
        queue.close();

        assertThat(checks.get()).isPositive();
        assertThat(held.get()).isZero();
        assertThat(stats.running()).as("nothing running").isZero();
        assertThat(stats.queued()).as("nothing queued").isZero();
        assertThat(stats.rejected()).isEqualTo(rejected.get());
        assertThat(stats.admitted() + stats.cancelled() + stats.timedOut()).as("every ticket ended once")
                .isEqualTo(entered.get());
        assertThat(stats.admitted()).as("every admitted permit ran and was returned").isEqualTo(runs.get());
        assertThat(entered.get() + rejected.get()).isEqualTo((long) THREADS * OPS_PER_THREAD);
        for (Map.Entry<Ticket, Queue<TicketUpdate>> e : heardBy.entrySet()) {
            List<TicketUpdate.Kind> kinds = e.getValue().stream().map(TicketUpdate::kind).toList();
            TicketUpdate.Kind last = kinds.get(kinds.size() - 1);
            assertThat(kinds.stream().filter(k -> k == TicketUpdate.Kind.ADMITTED || k == TicketUpdate.Kind.CANCELLED
                    || k == TicketUpdate.Kind.TIMED_OUT).count()).as("one final update: %s", kinds).isEqualTo(1);
            assertThat(last.name()).isEqualTo(e.getKey().state().name());
            assertThat(kinds.subList(1, kinds.size())).doesNotContain(TicketUpdate.Kind.QUEUED);
        }
    }

    private void operate(Ticket ticket, ThreadLocalRandom random) throws Exception {
        switch (random.nextInt(6)) {
            case 0 -> { // await with a short timeout, then run
                try {
                    run(ticket.await(Duration.ofNanos(random.nextInt(300_000))), false);
                } catch (TimeoutException e) {
                    expect(ticket.state() == Ticket.State.TIMED_OUT, "a timed-out await leaves the ticket timed out");
                }
            }
            case 1 -> { // a run that throws, inside try-with-resources
                try {
                    run(ticket.await(Duration.ofMinutes(1)), true);
                } catch (IllegalStateException expected) {
                    // the workflow failed; the permit was closed by try-with-resources
                } catch (TimeoutException maxWaitPassed) {
                    expect(ticket.state() == Ticket.State.TIMED_OUT, "maxWait times the ticket out");
                }
            }
            case 2 -> { // cancel at once; if admission won, the permit is ours to run and close
                if (!ticket.cancel() && ticket.state() == Ticket.State.ADMITTED) {
                    run(ticket.permit().join(), false);
                }
            }
            case 3 -> { // future form, sometimes cancelled through the future
                pendingFutureRuns.register();
                ticket.permit().whenComplete((permit, error) -> {
                    try {
                        if (permit != null) {
                            run(permit, false);
                        }
                    } finally {
                        pendingFutureRuns.arriveAndDeregister();
                    }
                });
                if (random.nextBoolean()) {
                    ticket.permit().cancel(true);
                }
            }
            case 4 -> { // future form with orTimeout
                pendingFutureRuns.register();
                ticket.permit().orTimeout(random.nextInt(1_000), TimeUnit.MICROSECONDS).whenComplete((permit, error) -> {
                    try {
                        if (permit != null) {
                            run(permit, false);
                        } else if (!(error instanceof TimeoutException || error instanceof CancellationException)) {
                            failure.compareAndSet(null, error);
                        }
                    } finally {
                        pendingFutureRuns.arriveAndDeregister();
                    }
                });
            }
            default -> { // wait as long as maxWait allows
                try {
                    run(ticket.await(Duration.ofMinutes(1)), false);
                } catch (TimeoutException maxWaitPassed) {
                    expect(ticket.state() == Ticket.State.TIMED_OUT, "maxWait times the ticket out");
                }
            }
        }
    }

    /** Counts the permit as held while the "workflow" runs: the counts can only under-report the queue's. */
    private void run(Permit permit, boolean fail) {
        try (permit) {
            AtomicInteger perKey = heldPerKey.computeIfAbsent(permit.key(), k -> new AtomicInteger());
            int now = held.incrementAndGet();
            int nowForKey = perKey.incrementAndGet();
            try {
                expect(now <= MAX_RUNNING, "at most " + MAX_RUNNING + " permits out, saw " + now);
                expect(nowForKey <= PER_KEY, "at most " + PER_KEY + " per key, saw " + nowForKey);
                for (int i = ThreadLocalRandom.current().nextInt(200); i > 0; i--) {
                    Thread.onSpinWait();
                }
                if (fail) {
                    throw new IllegalStateException("the workflow failed");
                }
            } finally {
                perKey.decrementAndGet();
                held.decrementAndGet();
                runs.incrementAndGet();
            }
        }
    }

    private void expect(boolean condition, String what) {
        if (!condition) {
            AssertionError error = new AssertionError(what);
            failure.compareAndSet(null, error);
            throw error;
        }
    }
}
