package dev.usher.gate.admission;

import static org.assertj.core.api.Assertions.assertThat;

import dev.usher.session.FakeTicker;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.BrokenBarrierException;
import java.util.concurrent.Callable;
import java.util.concurrent.CancellationException;
import java.util.concurrent.CyclicBarrier;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * Admission and withdrawal (cancel, await timeout, maxWait expiry, interrupt) started at the same moment
 * from two threads, many times: exactly one wins, and the place or the permit is handed back exactly once.
 * The outcome counts are not asserted (they depend on scheduling); the accounting after every round is.
 */
class AdmissionRaceTest {
    private static final int ROUNDS = 2_000;
    private final ExecutorService pool = Executors.newFixedThreadPool(2);

    @AfterEach
    void stopPool() {
        pool.shutdownNow();
    }

    @Test
    void cancelRacingAdmission() throws Exception {
        try (DefaultAdmissionQueue queue = (DefaultAdmissionQueue) AdmissionQueue.builder(1).manualMaintenance().build()) {
            for (int i = 0; i < ROUNDS; i++) {
                Permit holder = queue.enter("holder").permit().join();
                Ticket ticket = queue.enter("waiter");
                List<Object> results = race(() -> {
                    holder.close();
                    return null;
                }, () -> ThreadLocalRandom.current().nextBoolean() ? ticket.cancel() : ticket.permit().cancel(true));
                boolean cancelled = (Boolean) results.get(1);
                if (cancelled) {
                    assertThat(ticket.state()).isEqualTo(Ticket.State.CANCELLED);
                    assertThat(ticket.permit()).isCancelled();
                    assertThat(queue.stats().running()).isZero();
                } else {
                    assertThat(ticket.state()).isEqualTo(Ticket.State.ADMITTED);
                    assertThat(queue.stats().running()).isEqualTo(1);
                    ticket.permit().join().close();
                }
                assertSettled(queue);
            }
            AdmissionStats stats = queue.stats();
            assertThat(stats.admitted() + stats.cancelled()).isEqualTo(2L * ROUNDS);
        }
    }

    @Test
    void awaitTimeoutRacingAdmission() throws Exception {
        try (DefaultAdmissionQueue queue = (DefaultAdmissionQueue) AdmissionQueue.builder(1).manualMaintenance().build()) {
            for (int i = 0; i < ROUNDS; i++) {
                Permit holder = queue.enter("holder").permit().join();
                Ticket ticket = queue.enter("waiter");
                List<Object> results = race(() -> {
                    holder.close();
                    return null;
                }, () -> {
                    try {
                        return ticket.await(Duration.ofNanos(ThreadLocalRandom.current().nextInt(50_000)));
                    } catch (TimeoutException e) {
                        return e;
                    }
                });
                if (results.get(1) instanceof Permit permit) {
                    assertThat(ticket.state()).isEqualTo(Ticket.State.ADMITTED);
                    permit.close();
                } else {
                    assertThat(results.get(1)).isInstanceOf(TimeoutException.class);
                    assertThat(ticket.state()).isEqualTo(Ticket.State.TIMED_OUT);
                }
                assertSettled(queue);
            }
            AdmissionStats stats = queue.stats();
            assertThat(stats.admitted() + stats.timedOut()).isEqualTo(2L * ROUNDS);
        }
    }

    @Test
    void maxWaitExpiryRacingAdmission() throws Exception {
        FakeTicker ticker = new FakeTicker();
        try (DefaultAdmissionQueue queue = (DefaultAdmissionQueue) AdmissionQueue.builder(1)
                .maxWait(Duration.ofSeconds(1)).ticker(ticker).manualMaintenance().build()) {
            for (int i = 0; i < ROUNDS; i++) {
                Permit holder = queue.enter("holder").permit().join();
                Ticket ticket = queue.enter("waiter");
                ticker.advance(Duration.ofSeconds(1)); // overdue: the next maintain() expires it, unless admitted first
                race(() -> {
                    holder.close();
                    return null;
                }, () -> {
                    queue.maintain();
                    return null;
                });
                if (ticket.state() == Ticket.State.ADMITTED) {
                    ticket.permit().join().close();
                } else {
                    assertThat(ticket.state()).isEqualTo(Ticket.State.TIMED_OUT);
                    assertThat(ticket.permit()).isCompletedExceptionally();
                }
                assertSettled(queue);
            }
            AdmissionStats stats = queue.stats();
            assertThat(stats.admitted() + stats.timedOut()).isEqualTo(2L * ROUNDS);
        }
    }

    @Test
    void interruptRacingAdmissionNeverLeaksThePermit() throws Exception {
        try (DefaultAdmissionQueue queue = (DefaultAdmissionQueue) AdmissionQueue.builder(1).manualMaintenance().build()) {
            for (int i = 0; i < ROUNDS / 4; i++) {
                Permit holder = queue.enter("holder").permit().join();
                Ticket ticket = queue.enter("waiter");
                AtomicReference<Object> outcome = new AtomicReference<>();
                CyclicBarrier start = new CyclicBarrier(2);
                Thread waiter = new Thread(() -> {
                    try {
                        start.await();
                        outcome.set(ticket.await(Duration.ofMinutes(5)));
                    } catch (InterruptedException | BrokenBarrierException | TimeoutException e) {
                        outcome.set(e);
                    }
                });
                waiter.start();
                start.await();
                Future<?> closer = pool.submit(holder::close);
                waiter.interrupt();
                closer.get();
                waiter.join();
                if (outcome.get() instanceof Permit permit) {
                    permit.close();
                } else if (ticket.state() == Ticket.State.ADMITTED) {
                    // Interrupted after admission: await itself must have handed the permit back.
                    assertThat(outcome.get()).isInstanceOf(InterruptedException.class);
                } else {
                    assertThat(ticket.state()).isEqualTo(Ticket.State.CANCELLED);
                }
                assertSettled(queue);
            }
        }
    }

    private static void assertSettled(DefaultAdmissionQueue queue) {
        AdmissionInvariants.check(queue);
        assertThat(queue.stats().running()).as("every permit returned").isZero();
        assertThat(queue.stats().queued()).as("every place freed").isZero();
    }

    /** Runs both at once (released together by a barrier) and returns their results. */
    private List<Object> race(Callable<Object> a, Callable<Object> b) throws Exception {
        CyclicBarrier barrier = new CyclicBarrier(2);
        List<Future<Object>> futures = new ArrayList<>();
        for (Callable<Object> task : List.of(a, b)) {
            futures.add(pool.submit(() -> {
                barrier.await();
                return task.call();
            }));
        }
        List<Object> results = new ArrayList<>();
        for (Future<Object> f : futures) {
            try {
                results.add(f.get());
            } catch (java.util.concurrent.ExecutionException e) {
                if (e.getCause() instanceof CancellationException c) {
                    results.add(c);
                } else {
                    throw e;
                }
            }
        }
        return results;
    }
}
