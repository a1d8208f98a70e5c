package dev.usher.gate.admission;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.usher.session.FakeTicker;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CancellationException;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.junit.jupiter.api.Test;

class AdmissionQueueTest {
    private final FakeTicker ticker = new FakeTicker();

    private DefaultAdmissionQueue manual(AdmissionQueue.Builder builder) {
        return (DefaultAdmissionQueue) builder.ticker(ticker).manualMaintenance().build();
    }

    @Test
    void admitsAtOnceWhileSlotsAreFreeThenQueuesWithExactPositions() {
        try (DefaultAdmissionQueue queue = manual(AdmissionQueue.builder(2))) {
            Ticket a = queue.enter("a");
            Ticket b = queue.enter("b");
            Ticket c = queue.enter("c");
            Ticket d = queue.enter("d");
            assertThat(a.state()).isEqualTo(Ticket.State.ADMITTED);
            assertThat(a.permit()).isCompleted();
            assertThat(a.position()).isZero();
            assertThat(b.state()).isEqualTo(Ticket.State.ADMITTED);
            assertThat(c.state()).isEqualTo(Ticket.State.QUEUED);
            assertThat(c.position()).isEqualTo(1);
            assertThat(d.position()).isEqualTo(2);
            assertThat(queue.stats().running()).isEqualTo(2);
            assertThat(queue.stats().queued()).isEqualTo(2);

            a.permit().join().close();
            assertThat(c.state()).isEqualTo(Ticket.State.ADMITTED);
            assertThat(c.permit().join().key()).isEqualTo("c");
            assertThat(d.position()).isEqualTo(1);
            AdmissionInvariants.check(queue);
        }
    }

    @Test
    void permitCloseIsIdempotent() {
        try (DefaultAdmissionQueue queue = manual(AdmissionQueue.builder(1))) {
            Permit first = queue.enter("a").permit().join();
            Ticket second = queue.enter("a");
            Ticket third = queue.enter("b");
            first.close();
            first.close();
            first.close();
            // One slot came back, so exactly one ticket was admitted: "b", whose key had no turn this round.
            assertThat(third.state()).isEqualTo(Ticket.State.ADMITTED);
            assertThat(second.state()).isEqualTo(Ticket.State.QUEUED);
            assertThat(queue.stats().running()).isEqualTo(1);
            AdmissionInvariants.check(queue);
        }
    }

    @Test
    void rejectsWhenMaxQueuedTicketsWaitWithARetryHint() {
        try (DefaultAdmissionQueue queue = manual(AdmissionQueue.builder(1).maxQueued(1).name("chat"))) {
            Permit running = queue.enter("a").permit().join();
            queue.enter("b");
            assertThatThrownBy(() -> queue.enter("c"))
                    .isInstanceOfSatisfying(QueueFullException.class, e -> {
                        assertThat(e.maxQueued()).isEqualTo(1);
                        assertThat(e.retryAfter()).isEmpty();
                        assertThat(e).hasMessageContaining("'chat'").hasMessageContaining("maxQueued is 1");
                    });
            ticker.advance(Duration.ofSeconds(8));
            running.close(); // b runs, so one place is free
            queue.enter("c");
            assertThatThrownBy(() -> queue.enter("d"))
                    .isInstanceOfSatisfying(QueueFullException.class,
                            e -> assertThat(e.retryAfter()).contains(Duration.ofSeconds(8)));
            assertThat(queue.stats().rejected()).isEqualTo(2);
            assertThat(queue.stats().queued()).isEqualTo(1);
        }
    }

    @Test
    void maxQueuedZeroAdmitsAtOnceOrRejects() {
        try (DefaultAdmissionQueue queue = manual(AdmissionQueue.builder(1).maxQueued(0))) {
            Permit permit = queue.enter("a").permit().join();
            assertThatThrownBy(() -> queue.enter("b")).isInstanceOf(QueueFullException.class);
            permit.close();
            assertThat(queue.enter("b").state()).isEqualTo(Ticket.State.ADMITTED);
        }
    }

    @Test
    void fifoOrderingAdmitsInArrivalOrderAcrossKeys() {
        try (DefaultAdmissionQueue queue = manual(AdmissionQueue.builder(1).ordering(Ordering.FIFO))) {
            Permit blocker = queue.enter("x").permit().join();
            List<Ticket> tickets = new ArrayList<>();
            for (String key : new String[] {"a", "a", "a", "b", "c", "a"}) {
                tickets.add(queue.enter(key));
            }
            for (int i = 0; i < tickets.size(); i++) {
                assertThat(tickets.get(i).position()).isEqualTo(i + 1);
            }
            assertThat(drainOrder(queue, blocker, tickets)).containsExactlyElementsOf(tickets);
        }
    }

    @Test
    void fairByKeyIsRoundRobinAcrossKeysAndFifoWithinAKey() {
        try (DefaultAdmissionQueue queue = manual(AdmissionQueue.builder(1))) {
            Permit blocker = queue.enter("x").permit().join();
            Ticket a1 = queue.enter("a");
            Ticket a2 = queue.enter("a");
            Ticket a3 = queue.enter("a");
            Ticket b1 = queue.enter("b");
            Ticket b2 = queue.enter("b");
            Ticket c1 = queue.enter("c");
            List<Ticket> expected = List.of(a1, b1, c1, a2, b2, a3);
            for (int i = 0; i < expected.size(); i++) {
                assertThat(expected.get(i).position()).isEqualTo(i + 1);
            }
            assertThat(drainOrder(queue, blocker, List.of(a1, a2, a3, b1, b2, c1))).containsExactlyElementsOf(expected);
        }
    }

    @Test
    void aNewcomerWaitsForAtMostOneAdmissionPerOtherKey() {
        try (DefaultAdmissionQueue queue = manual(AdmissionQueue.builder(1))) {
            Permit blocker = queue.enter("x").permit().join();
            List<Ticket> tickets = new ArrayList<>();
            for (int i = 0; i < 50; i++) {
                tickets.add(queue.enter("hog"));
            }
            for (int k = 0; k < 5; k++) {
                tickets.add(queue.enter("user" + k));
                tickets.add(queue.enter("user" + k));
            }
            // A few admissions first, so the newcomer arrives in the middle of a round.
            List<Ticket> admitted = new ArrayList<>();
            Permit current = blocker;
            for (int i = 0; i < 3; i++) {
                current = closeAndTakeNext(current, tickets, admitted);
            }
            Ticket newcomer = queue.enter("newcomer");
            tickets.add(newcomer);
            int admittedBefore = admitted.size();
            while (newcomer.state() == Ticket.State.QUEUED) {
                current = closeAndTakeNext(current, tickets, admitted);
            }
            List<String> keysAhead = admitted.subList(admittedBefore, admitted.size() - 1).stream()
                    .map(Ticket::key).toList();
            assertThat(keysAhead).doesNotHaveDuplicates().doesNotContain("newcomer");
            assertThat(keysAhead.size()).isLessThanOrEqualTo(6); // hog and five users, one admission each at most
            // The hog got its first admission before the newcomer came, and nothing more since.
            assertThat(admitted.subList(0, admittedBefore)).extracting(Ticket::key).contains("hog");
            current.close();
            AdmissionInvariants.check(queue);
        }
    }

    @Test
    void aKeyKeepsItsTurnWhenOneOfItsWaitersLeaves() {
        // Each way of leaving the line without a permit; the key's next waiter takes the leaver's turn.
        List<java.util.function.Consumer<Ticket>> leaves = List.of(
                Ticket::cancel,
                t -> t.permit().cancel(true),
                t -> t.permit().completeExceptionally(new TimeoutException("host gave up")),
                t -> t.permit().completeExceptionally(new java.io.UncheckedIOException(
                        "client went away", new java.io.IOException("connection reset"))));
        for (java.util.function.Consumer<Ticket> leave : leaves) {
            try (DefaultAdmissionQueue queue = manual(AdmissionQueue.builder(1))) {
                Permit x = queue.enter("x").permit().join();
                Ticket a1 = queue.enter("A");
                Ticket a2 = queue.enter("A");
                Ticket a3 = queue.enter("A");
                Ticket b1 = queue.enter("B");
                Ticket b2 = queue.enter("B");
                leave.accept(b1);
                assertThat(b1.state()).isIn(Ticket.State.CANCELLED, Ticket.State.TIMED_OUT);
                assertThat(List.of(a1, b2, a2, a3)).extracting(Ticket::position).containsExactly(1, 2, 3, 4);
                AdmissionInvariants.check(queue);

                List<Ticket> order = new ArrayList<>();
                Permit current = x;
                for (int i = 0; i < 4; i++) {
                    current = closeAndTakeNext(current, List.of(a1, a2, a3, b2), order);
                    AdmissionInvariants.check(queue);
                }
                current.close();
                assertThat(order).containsExactly(a1, b2, a2, a3);
            }
        }
    }

    @Test
    void aKeyKeepsItsTurnWhenItsWaiterTimesOut() {
        try (DefaultAdmissionQueue queue = manual(AdmissionQueue.builder(1).maxWait(Duration.ofSeconds(10)))) {
            Permit x = queue.enter("x").permit().join();
            ticker.advance(Duration.ofSeconds(1));
            Ticket b1 = queue.enter("B");
            ticker.advance(Duration.ofSeconds(5));
            Ticket a1 = queue.enter("A");
            Ticket a2 = queue.enter("A");
            Ticket b2 = queue.enter("B");
            Ticket a3 = queue.enter("A");
            ticker.advance(Duration.ofSeconds(5)); // b1 waited 10 s, the others 5 s
            queue.maintain();
            assertThat(b1.state()).isEqualTo(Ticket.State.TIMED_OUT);
            // B appeared before A, so B's remaining waiter keeps B's place in the first round.
            assertThat(List.of(b2, a1, a2, a3)).extracting(Ticket::position).containsExactly(1, 2, 3, 4);
            List<Ticket> order = new ArrayList<>();
            Permit current = x;
            for (int i = 0; i < 4; i++) {
                current = closeAndTakeNext(current, List.of(a1, a2, a3, b2), order);
            }
            current.close();
            assertThat(order).containsExactly(b2, a1, a2, a3);
            AdmissionInvariants.check(queue);
        }
    }

    private static Permit closeAndTakeNext(Permit current, List<Ticket> tickets, List<Ticket> admitted) {
        current.close();
        Ticket next = tickets.stream().filter(t -> t.state() == Ticket.State.ADMITTED && !admitted.contains(t))
                .findFirst().orElseThrow();
        admitted.add(next);
        return next.permit().join();
    }

    @Test
    void tenThousandWaitersHaveExactPositionsAsTheQueueDrains() {
        int keys = 100;
        int perKey = 100;
        try (DefaultAdmissionQueue queue = manual(AdmissionQueue.builder(1).maxQueued(keys * perKey))) {
            Permit blocker = queue.enter("x").permit().join();
            Ticket[][] tickets = new Ticket[keys][perKey];
            for (int i = 0; i < perKey; i++) {
                for (int k = 0; k < keys; k++) {
                    tickets[k][i] = queue.enter("key" + k);
                }
            }
            // Round robin: the i-th waiter of the k-th key runs after i full rounds and k keys of its round.
            for (int k = 0; k < keys; k++) {
                for (int i = 0; i < perKey; i++) {
                    assertThat(tickets[k][i].position()).isEqualTo(i * keys + k + 1);
                }
            }
            blocker.close();
            for (int admitted = 1; admitted < 5_000; admitted++) {
                Ticket running = tickets[(admitted - 1) % keys][(admitted - 1) / keys];
                running.permit().join().close();
            }
            for (int k = 0; k < keys; k++) {
                for (int i = 50; i < perKey; i++) {
                    assertThat(tickets[k][i].position()).isEqualTo(i * keys + k + 1 - 5_000);
                }
            }
            assertThat(tickets[99][49].state()).isEqualTo(Ticket.State.ADMITTED);
            assertThat(queue.stats().queued()).isEqualTo(5_000);
            AdmissionInvariants.check(queue);
        }
    }

    @Test
    void maxRunningPerKeyPassesOverAKeyAtItsLimit() {
        try (DefaultAdmissionQueue queue = manual(AdmissionQueue.builder(3).maxRunningPerKey(1))) {
            Ticket a1 = queue.enter("a");
            Ticket a2 = queue.enter("a");
            Ticket b1 = queue.enter("b");
            assertThat(a1.state()).isEqualTo(Ticket.State.ADMITTED);
            assertThat(a2.state()).isEqualTo(Ticket.State.QUEUED);
            assertThat(b1.state()).isEqualTo(Ticket.State.ADMITTED);
            assertThat(queue.stats().running()).isEqualTo(2); // a slot is free, but only for other keys
            assertThat(a2.position()).isEqualTo(1);
            a1.permit().join().close();
            assertThat(a2.state()).isEqualTo(Ticket.State.ADMITTED);
            AdmissionInvariants.check(queue);
        }
    }

    @Test
    void cancelFreesTheQueuedPlaceOnce() {
        try (DefaultAdmissionQueue queue = manual(AdmissionQueue.builder(1))) {
            Permit blocker = queue.enter("x").permit().join();
            Ticket a = queue.enter("a");
            Ticket b = queue.enter("b");
            assertThat(a.cancel()).isTrue();
            assertThat(a.cancel()).isFalse();
            assertThat(a.state()).isEqualTo(Ticket.State.CANCELLED);
            assertThat(a.position()).isZero();
            assertThat(a.estimatedWait()).isEmpty();
            assertThat(a.permit()).isCancelled();
            assertThat(b.position()).isEqualTo(1);
            blocker.close();
            assertThat(b.state()).isEqualTo(Ticket.State.ADMITTED);
            assertThat(b.cancel()).isFalse(); // admitted: the permit stays with its holder
            assertThat(queue.stats().cancelled()).isEqualTo(1);
            assertThat(queue.stats().queued()).isZero();
            AdmissionInvariants.check(queue);
        }
    }

    @Test
    void futureCancelAndOrTimeoutWithdrawTheTicket() {
        try (DefaultAdmissionQueue queue = manual(AdmissionQueue.builder(1))) {
            Permit blocker = queue.enter("x").permit().join();
            Ticket a = queue.enter("a");
            Ticket b = queue.enter("b");
            assertThat(a.permit().cancel(true)).isTrue();
            assertThat(a.state()).isEqualTo(Ticket.State.CANCELLED);

            CompletableFuture<Permit> timed = b.permit().orTimeout(1, TimeUnit.MILLISECONDS);
            assertThatThrownBy(timed::join).hasCauseInstanceOf(TimeoutException.class);
            assertThat(b.state()).isEqualTo(Ticket.State.TIMED_OUT);
            assertThat(queue.stats().timedOut()).isEqualTo(1);
            assertThat(queue.stats().cancelled()).isEqualTo(1);
            assertThatThrownBy(() -> b.permit().complete(blocker)).isInstanceOf(UnsupportedOperationException.class);
            assertThatThrownBy(() -> b.permit().obtrudeValue(blocker)).isInstanceOf(UnsupportedOperationException.class);
            AdmissionInvariants.check(queue);
        }
    }

    @Test
    void awaitReturnsThePermitOrTimesOutAndLeavesTheQueue() throws Exception {
        try (DefaultAdmissionQueue queue = manual(AdmissionQueue.builder(1))) {
            Permit blocker = queue.enter("x").permit().join();
            Ticket a = queue.enter("a");
            assertThatThrownBy(() -> a.await(Duration.ofMillis(1))).isInstanceOf(TimeoutException.class);
            assertThat(a.state()).isEqualTo(Ticket.State.TIMED_OUT);
            assertThat(queue.stats().timedOut()).isEqualTo(1);

            Ticket b = queue.enter("b");
            Thread releaser = new Thread(blocker::close);
            releaser.start();
            try (Permit permit = b.await(Duration.ofMinutes(1))) {
                assertThat(permit.key()).isEqualTo("b");
            }
            releaser.join();
            assertThat(queue.stats().running()).isZero();

            Ticket c = queue.enter("c");
            assertThat(c.await(Duration.ofMillis(1))).isSameAs(c.permit().join()); // already admitted
            c.permit().join().close();

            Permit again = queue.enter("y").permit().join();
            Ticket d = queue.enter("d");
            d.cancel();
            assertThatThrownBy(() -> d.await(Duration.ofMinutes(1))).isInstanceOf(CancellationException.class);
            again.close();
            AdmissionInvariants.check(queue);
        }
    }

    @Test
    void maxWaitTimesOutTheOldestTickets() {
        try (DefaultAdmissionQueue queue = manual(AdmissionQueue.builder(1).maxWait(Duration.ofSeconds(10)))) {
            Permit blocker = queue.enter("x").permit().join();
            Ticket a = queue.enter("a");
            ticker.advance(Duration.ofSeconds(5));
            Ticket b = queue.enter("b");
            ticker.advance(Duration.ofSeconds(5));
            queue.maintain();
            assertThat(a.state()).isEqualTo(Ticket.State.TIMED_OUT);
            assertThatThrownBy(() -> a.permit().join()).isInstanceOf(CompletionException.class)
                    .hasCauseInstanceOf(TimeoutException.class)
                    .hasMessageContaining("maxWait 10s");
            assertThatThrownBy(() -> a.await(Duration.ofSeconds(1))).isInstanceOf(TimeoutException.class);
            assertThat(b.state()).isEqualTo(Ticket.State.QUEUED);
            assertThat(b.position()).isEqualTo(1);
            blocker.close();
            assertThat(b.state()).isEqualTo(Ticket.State.ADMITTED);
            assertThat(queue.stats().timedOut()).isEqualTo(1);
        }
    }

    @Test
    void maxWaitIsEnforcedByTheQueuesOwnThread() throws Exception {
        try (AdmissionQueue queue = AdmissionQueue.builder(1).maxWait(Duration.ofMillis(20)).build()) {
            Permit blocker = queue.enter("x").permit().join();
            for (int i = 0; i < 3; i++) {
                Ticket ticket = queue.enter("a");
                // Waits for the outcome, whatever it is; the queue's timer is what ends it.
                Throwable outcome = ticket.permit().handle((p, e) -> e).get(1, TimeUnit.MINUTES);
                assertThat(outcome).isInstanceOf(TimeoutException.class);
                assertThat(ticket.state()).isEqualTo(Ticket.State.TIMED_OUT);
            }
            assertThat(queue.stats().timedOut()).isEqualTo(3);
            blocker.close();
        }
    }

    @Test
    void aBacklogOfOverdueTicketsTimesOutCompletelyAndTellsListeners() {
        try (DefaultAdmissionQueue queue = manual(AdmissionQueue.builder(1).maxWait(Duration.ofSeconds(1)))) {
            Permit blocker = queue.enter("x").permit().join();
            List<TicketUpdate> updates = new ArrayList<>();
            List<Ticket> tickets = new ArrayList<>();
            for (int i = 0; i < 1_000; i++) { // several of the queue's internal batches
                tickets.add(queue.enter("k" + (i % 7), updates::add));
            }
            ticker.advance(Duration.ofSeconds(1));
            Ticket fresh = queue.enter("late");
            queue.maintain();
            assertThat(tickets).allMatch(t -> t.state() == Ticket.State.TIMED_OUT);
            assertThat(fresh.state()).isEqualTo(Ticket.State.QUEUED);
            assertThat(fresh.position()).isEqualTo(1);
            assertThat(updates).filteredOn(u -> u.kind() == TicketUpdate.Kind.TIMED_OUT).hasSize(1_000)
                    .allMatch(u -> u.position() == 0 && u.estimatedWait().isEmpty());
            assertThat(queue.stats().timedOut()).isEqualTo(1_000);
            blocker.close();
            assertThat(fresh.state()).isEqualTo(Ticket.State.ADMITTED);
            AdmissionInvariants.check(queue);
        }
    }

    @Test
    void estimatesUseTheMovingAverageOfRunDurations() {
        try (DefaultAdmissionQueue queue = manual(AdmissionQueue.builder(2).estimateSmoothing(0.5))) {
            Permit p1 = queue.enter("a").permit().join();
            Permit p2 = queue.enter("b").permit().join();
            Ticket c = queue.enter("c");
            Ticket d = queue.enter("d");
            Ticket e = queue.enter("e");
            // Before any run has finished, and without initialRunDuration, there is no estimate.
            assertThat(c.estimatedWait()).isEmpty();

            ticker.advance(Duration.ofSeconds(10));
            p1.close(); // c admitted; average 10 s
            assertThat(c.estimatedWait()).contains(Duration.ZERO);
            assertThat(d.position()).isEqualTo(1);
            // Running: b for 10 s (due now: 10 - 10), c for 0 s (due in 10 s).
            assertThat(d.estimatedWait()).contains(Duration.ZERO); // b's slot
            assertThat(e.estimatedWait()).contains(Duration.ofSeconds(10)); // c's slot
            Ticket f = queue.enter("f");
            assertThat(f.estimatedWait()).contains(Duration.ofSeconds(10)); // b's slot after one more run

            ticker.advance(Duration.ofSeconds(10));
            p2.close(); // ran 20 s: average 10 + 0.5 * (20 - 10) = 15 s; d admitted
            // Running: c for 10 s (due in 15 - 10), d for 0 s (due in 15).
            assertThat(e.estimatedWait()).contains(Duration.ofSeconds(5));
            assertThat(f.estimatedWait()).contains(Duration.ofSeconds(15));

            AdmissionStats stats = queue.stats();
            assertThat(stats.admitted()).isEqualTo(4);
            // c and d had no estimate when they entered, so nothing is compared yet.
            assertThat(stats.estimatesCompared()).isZero();
            // waits: a 0, b 0, c 10 s, d 20 s
            assertThat(stats.waitP50()).isEqualTo(Duration.ZERO);
            assertThat(stats.waitP99().toNanos()).isBetween(Duration.ofSeconds(20).toNanos(),
                    Duration.ofSeconds(20).toNanos() * 17 / 16);
        }
    }

    @Test
    void initialRunDurationGivesEstimatesBeforeAnyRunAndErrorsAreMeasured() {
        try (DefaultAdmissionQueue queue = manual(AdmissionQueue.builder(1).initialRunDuration(Duration.ofSeconds(30)))) {
            Permit p1 = queue.enter("a").permit().join();
            Ticket b = queue.enter("b");
            Ticket c = queue.enter("c");
            assertThat(b.estimatedWait()).contains(Duration.ofSeconds(30));
            assertThat(c.estimatedWait()).contains(Duration.ofSeconds(60));
            ticker.advance(Duration.ofSeconds(20));
            p1.close(); // b waited 20 s against 30 s estimated: error -10 s
            AdmissionStats stats = queue.stats();
            assertThat(stats.estimatesCompared()).isEqualTo(1);
            assertThat(stats.estimateMeanError()).isEqualTo(Duration.ofSeconds(-10));
            assertThat(stats.estimateMeanAbsoluteError()).isEqualTo(Duration.ofSeconds(10));
            assertThat(c.estimatedWait()).contains(Duration.ofSeconds(20)); // the average is now the measured run
            // Percentiles of the error: |20 - 30| = 10 s, which is half the wait.
            assertThat(stats.estimateErrorP50().toNanos()).isBetween(Duration.ofSeconds(10).toNanos(),
                    Duration.ofSeconds(10).toNanos() * 17 / 16);
            assertThat(stats.estimateRelativeErrorP50()).isBetween(0.5, 0.5 * 17 / 16);
        }
    }

    @Test
    void anEstimateThatOnlyCountsDownIsNotSentAgainButOneThatMovesOffIs() {
        List<TicketUpdate> heard = new ArrayList<>();
        try (DefaultAdmissionQueue queue = manual(AdmissionQueue.builder(2).maxRunningPerKey(1)
                .initialRunDuration(Duration.ofSeconds(10)).notificationPeriod(Duration.ofSeconds(1)))) {
            Permit a = queue.enter("a").permit().join();
            Permit z = queue.enter("z").permit().join();
            Ticket b = queue.enter("a", heard::add); // held back behind its own key's run
            queue.maintain();
            assertThat(heard).containsExactly(new TicketUpdate(TicketUpdate.Kind.QUEUED, "a", 1,
                    java.util.Optional.of(Duration.ofSeconds(10))));
            for (int i = 0; i < 5; i++) {
                ticker.advance(Duration.ofSeconds(1));
                queue.maintain(); // 9, 8, ... s: what the listener counts down to by itself
            }
            assertThat(heard).hasSize(1);
            // A slot frees early (b stays held back, still first): the estimate moves off the countdown.
            z.close();
            ticker.advance(Duration.ofSeconds(1));
            queue.maintain();
            assertThat(heard).hasSize(2).last().isEqualTo(new TicketUpdate(TicketUpdate.Kind.POSITION_CHANGED, "a", 1,
                    java.util.Optional.of(Duration.ZERO)));
            assertThat(b.state()).isEqualTo(Ticket.State.QUEUED);
            a.close();
            assertThat(b.state()).isEqualTo(Ticket.State.ADMITTED);
            AdmissionInvariants.check(queue);
        }
    }

    @Test
    void theEstimateCountsHowLongTheRunsAheadHaveAlreadyRun() {
        try (DefaultAdmissionQueue queue = manual(AdmissionQueue.builder(1).initialRunDuration(Duration.ofSeconds(10)))) {
            Permit a = queue.enter("a").permit().join();
            ticker.advance(Duration.ofSeconds(8));
            Ticket b = queue.enter("b");
            Ticket c = queue.enter("c");
            // a has run 8 of its expected 10 s: b waits about 2 s, not a whole run.
            assertThat(b.estimatedWait()).contains(Duration.ofSeconds(2));
            assertThat(c.estimatedWait()).contains(Duration.ofSeconds(12));
            ticker.advance(Duration.ofSeconds(1));
            assertThat(b.estimatedWait()).contains(Duration.ofSeconds(1)); // it counts down with the clock
            ticker.advance(Duration.ofSeconds(5));
            assertThat(b.estimatedWait()).contains(Duration.ZERO); // a is overdue: any moment now
            ticker.advance(Duration.ofSeconds(2));
            a.close(); // ran 16 s; b waited 8 s against 2 s estimated
            AdmissionStats stats = queue.stats();
            assertThat(stats.estimatesCompared()).isEqualTo(1);
            assertThat(stats.estimateRelativeErrorP50()).isBetween(0.75, 0.75 * 17 / 16);
            AdmissionInvariants.check(queue);
        }
    }

    @Test
    void positionUpdatesAreCoalescedToOnePerTicketPerPeriodPlusAdmission() {
        Map<String, List<TicketUpdate>> updates = new HashMap<>();
        try (DefaultAdmissionQueue queue = manual(AdmissionQueue.builder(1)
                .notificationPeriod(Duration.ofSeconds(1)).initialRunDuration(Duration.ofSeconds(2)))) {
            Permit blocker = queue.enter("x").permit().join();
            List<Ticket> tickets = new ArrayList<>();
            for (int i = 0; i < 6; i++) {
                String key = "k" + i;
                List<TicketUpdate> list = new ArrayList<>();
                updates.put(key, list);
                tickets.add(queue.enter(key, list::add));
            }
            queue.maintain();
            assertThat(updates.get("k3")).containsExactly(
                    new TicketUpdate(TicketUpdate.Kind.QUEUED, "k3", 4, java.util.Optional.of(Duration.ofSeconds(8))));

            // Three admissions within the same period: positions change three times, listeners hear none yet.
            blocker.close();
            tickets.get(0).permit().join().close();
            tickets.get(1).permit().join().close();
            queue.maintain();
            queue.maintain();
            assertThat(updates.get("k3")).hasSize(1);
            assertThat(updates.get("k0")).extracting(TicketUpdate::kind)
                    .containsExactly(TicketUpdate.Kind.QUEUED, TicketUpdate.Kind.ADMITTED);

            ticker.advance(Duration.ofSeconds(1));
            queue.maintain();
            queue.maintain();
            assertThat(updates.get("k3")).hasSize(2);
            assertThat(updates.get("k3").get(1).kind()).isEqualTo(TicketUpdate.Kind.POSITION_CHANGED);
            assertThat(updates.get("k3").get(1).position()).isEqualTo(1);
            assertThat(updates.get("k5").get(1).position()).isEqualTo(3);

            // A second change within the same period waits for the next period.
            tickets.get(2).permit().join().close(); // ran 1 s: average 0 + 0.2 * 1 s = 0.2 s
            queue.maintain();
            assertThat(updates.get("k3")).extracting(TicketUpdate::kind).containsExactly(TicketUpdate.Kind.QUEUED,
                    TicketUpdate.Kind.POSITION_CHANGED, TicketUpdate.Kind.ADMITTED);
            assertThat(updates.get("k4")).hasSize(2);
            ticker.advance(Duration.ofSeconds(1));
            queue.maintain();
            // k3 has run 1 s against an average of 0.2 s: it is overdue, so k4 is due any moment.
            assertThat(updates.get("k4")).hasSize(3).last().isEqualTo(new TicketUpdate(
                    TicketUpdate.Kind.POSITION_CHANGED, "k4", 1, java.util.Optional.of(Duration.ZERO)));

            // A period with no change sends nothing.
            ticker.advance(Duration.ofSeconds(1));
            queue.maintain();
            assertThat(updates.get("k4")).hasSize(3);
        }
        // close() cancels the rest and tells their listeners.
        assertThat(updates.get("k5")).last().extracting(TicketUpdate::kind).isEqualTo(TicketUpdate.Kind.CANCELLED);
    }

    @Test
    void listenersRunOnTheQueuesOwnThreadWhichCloseStops() throws Exception {
        AdmissionQueue queue = AdmissionQueue.builder(1).name("chat-runs").build();
        Permit blocker = queue.enter("x").permit().join();
        List<String> seen = new CopyOnWriteArrayList<>();
        CompletableFuture<Void> admittedSeen = new CompletableFuture<>();
        Ticket ticket = queue.enter("a", update -> {
            seen.add(update.kind() + " on " + Thread.currentThread().getName());
            if (update.kind() == TicketUpdate.Kind.ADMITTED) {
                admittedSeen.complete(null);
            }
            throw new IllegalStateException("a failing listener must not break the queue");
        });
        blocker.close();
        admittedSeen.get(1, TimeUnit.MINUTES);
        assertThat(seen).containsExactly("QUEUED on usher-admission-chat-runs", "ADMITTED on usher-admission-chat-runs");
        ticket.permit().join().close();
        Thread worker = Thread.getAllStackTraces().keySet().stream()
                .filter(t -> t.getName().equals("usher-admission-chat-runs")).findFirst().orElseThrow();
        queue.close();
        worker.join(TimeUnit.MINUTES.toMillis(1));
        assertThat(worker.isAlive()).isFalse();
        assertThatThrownBy(() -> queue.enter("b")).isInstanceOf(IllegalStateException.class).hasMessageContaining("closed");
    }

    @Test
    void closeCancelsQueuedTicketsAndLeavesPermitsValid() {
        DefaultAdmissionQueue queue = manual(AdmissionQueue.builder(1));
        Permit permit = queue.enter("a").permit().join();
        Ticket waiting = queue.enter("b");
        queue.close();
        queue.close();
        assertThat(waiting.state()).isEqualTo(Ticket.State.CANCELLED);
        assertThat(waiting.permit()).isCancelled();
        permit.close();
        assertThat(queue.stats().running()).isZero();
        assertThat(queue.stats().queued()).isZero();
        AdmissionInvariants.check(queue);
    }

    @Test
    void builderAndEnterRejectBadValuesNamingTheLimit() {
        assertThatThrownBy(() -> AdmissionQueue.builder(0)).hasMessage("maxRunning must be at least 1 but was 0");
        AdmissionQueue.Builder b = AdmissionQueue.builder(4);
        assertThatThrownBy(() -> b.maxQueued(-1)).hasMessage("maxQueued must be at least 0 but was -1");
        assertThatThrownBy(() -> b.maxRunningPerKey(5))
                .hasMessage("maxRunningPerKey must be between 1 and maxRunning 4 but was 5");
        assertThatThrownBy(() -> b.maxWait(Duration.ZERO)).hasMessage("maxWait must be at least 1ms but was 0s");
        assertThatThrownBy(() -> b.notificationPeriod(Duration.ofNanos(5)))
                .hasMessage("notificationPeriod must be at least 1ms but was 5ns");
        assertThatThrownBy(() -> b.estimateSmoothing(0)).hasMessage("estimateSmoothing must be in (0, 1] but was 0.0");
        assertThatThrownBy(() -> b.name("bad name")).hasMessageContaining("'bad name'");
        try (DefaultAdmissionQueue queue = manual(AdmissionQueue.builder(1))) {
            assertThatThrownBy(() -> queue.enter("")).isInstanceOf(IllegalArgumentException.class)
                    .hasMessage("key must be 1 to 256 characters but was 0 characters");
            assertThatThrownBy(() -> queue.enter("k".repeat(257))).hasMessageContaining("but was 257 characters");
            assertThat(queue.stats().queued()).isZero();
        }
    }

    /** Releases one permit at a time, starting with {@code blocker}, and returns the tickets in admission order. */
    private static List<Ticket> drainOrder(DefaultAdmissionQueue queue, Permit blocker, List<Ticket> tickets) {
        List<Ticket> order = new ArrayList<>();
        Permit current = blocker;
        while (order.size() < tickets.size()) {
            current.close();
            Ticket next = tickets.stream().filter(t -> t.state() == Ticket.State.ADMITTED && !order.contains(t))
                    .findFirst().orElseThrow();
            order.add(next);
            current = next.permit().join();
            AdmissionInvariants.check(queue);
        }
        current.close();
        return order;
    }
}
