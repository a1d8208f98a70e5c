package dev.usher.gate.admission;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.usher.session.FakeTicker;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Random;
import java.util.Set;
import java.util.concurrent.TimeoutException;
import java.util.stream.Stream;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Drives the queue and a deliberately naive reference model (lists, linear scans, a full sort for every
 * position) through the same random scenarios, and after every step compares each ticket's state,
 * position and estimate, the running counts per key and the queue's structural invariants. Independently of
 * the model it checks that positions predict the admission order, and the newcomer bound of fair-by-key.
 */
class AdmissionQueueModelTest {

    static Stream<Arguments> configurations() {
        List<Arguments> all = new ArrayList<>();
        for (Ordering ordering : Ordering.values()) {
            for (int[] limits : new int[][] {{1, 1}, {3, 3}, {3, 1}, {4, 2}}) {
                for (boolean maxWait : new boolean[] {false, true}) {
                    all.add(Arguments.of(ordering, limits[0], limits[1], maxWait));
                }
            }
        }
        return all.stream();
    }

    @ParameterizedTest(name = "{0} maxRunning={1} perKey={2} maxWait={3}")
    @MethodSource("configurations")
    void positionsMatchTheReferenceModelAfterEveryStep(Ordering ordering, int maxRunning, int perKey, boolean maxWait) {
        for (int scenario = 0; scenario < 12; scenario++) {
            long seed = 1_000L * scenario + maxRunning * 10L + perKey + (maxWait ? 5 : 0) + ordering.ordinal() * 100_000L;
            try {
                runScenario(new Random(seed), ordering, maxRunning, perKey, maxWait);
            } catch (AssertionError e) {
                throw new AssertionError("scenario with seed " + seed + " failed: " + e.getMessage(), e);
            }
        }
    }

    private void runScenario(Random random, Ordering ordering, int maxRunning, int perKey, boolean withMaxWait) {
        FakeTicker ticker = new FakeTicker();
        int maxQueued = 40;
        long maxWaitNanos = withMaxWait ? Duration.ofSeconds(20).toNanos() : 0;
        AdmissionQueue.Builder builder = AdmissionQueue.builder(maxRunning).maxRunningPerKey(perKey)
                .ordering(ordering).maxQueued(maxQueued).estimateSmoothing(0.3).ticker(ticker).manualMaintenance();
        if (withMaxWait) {
            builder.maxWait(Duration.ofNanos(maxWaitNanos));
        }
        Model model = new Model(ordering, maxRunning, perKey, maxQueued, maxWaitNanos, 0.3);
        List<Ticket> tickets = new ArrayList<>();
        // For the newcomer bound: ticket id -> keys admitted since that newcomer was queued.
        Map<Integer, List<String>> newcomers = new HashMap<>();
        try (DefaultAdmissionQueue queue = (DefaultAdmissionQueue) builder.build()) {
            int keyCount = 2 + random.nextInt(8);
            for (int step = 0; step < 250; step++) {
                int op = random.nextInt(100);
                if (op < 45) {
                    // Skewed keys: key0 is a heavy user.
                    String key = "key" + (random.nextInt(3) == 0 ? 0 : random.nextInt(keyCount));
                    boolean newcomer = !model.live.containsKey(key);
                    int id = tickets.size();
                    String outcome = model.enter(id, key, ticker.getAsLong());
                    if (outcome.equals("rejected")) {
                        assertThatThrownBy(() -> queue.enter(key)).isInstanceOf(QueueFullException.class);
                        continue;
                    }
                    tickets.add(queue.enter(key));
                    if (newcomer && outcome.equals("queued")) {
                        newcomers.put(id, new ArrayList<>());
                    }
                } else if (op < 60) {
                    List<Model.Waiter> waiting = model.waiting;
                    if (!waiting.isEmpty()) {
                        // Every way a queued ticket leaves without a permit: cancelled by the host, timed
                        // out by the caller's own wait, or its client went away (the host completes the
                        // future exceptionally when a write to the client fails).
                        Model.Waiter w = waiting.get(random.nextInt(waiting.size()));
                        Ticket t = tickets.get(w.id);
                        switch (random.nextInt(5)) {
                            case 0 -> {
                                model.withdraw(w, Ticket.State.CANCELLED);
                                assertThat(t.cancel()).isTrue();
                            }
                            case 1 -> {
                                model.withdraw(w, Ticket.State.CANCELLED);
                                assertThat(t.permit().cancel(true)).isTrue();
                            }
                            case 2 -> {
                                model.withdraw(w, Ticket.State.TIMED_OUT);
                                assertThatThrownBy(() -> t.await(Duration.ofNanos(1)))
                                        .isInstanceOf(TimeoutException.class);
                            }
                            case 3 -> {
                                model.withdraw(w, Ticket.State.TIMED_OUT);
                                assertThat(t.permit().completeExceptionally(new TimeoutException("host gave up")))
                                        .isTrue();
                            }
                            default -> {
                                model.withdraw(w, Ticket.State.CANCELLED);
                                assertThat(t.permit().completeExceptionally(
                                        new UncheckedIOException("client went away", new IOException("reset"))))
                                        .isTrue();
                            }
                        }
                    }
                } else if (op < 90) {
                    List<Integer> running = new ArrayList<>(model.runningIds.keySet());
                    if (!running.isEmpty()) {
                        int id = running.get(random.nextInt(running.size()));
                        ticker.advance(Duration.ofMillis(random.nextInt(5_000)));
                        model.release(id, ticker.getAsLong());
                        tickets.get(id).permit().join().close();
                    }
                } else {
                    ticker.advance(Duration.ofMillis(random.nextInt(15_000)));
                    model.expire(ticker.getAsLong());
                    queue.maintain();
                }
                for (int id : model.drainAdmittedNow()) {
                    String key = tickets.get(id).key();
                    for (Map.Entry<Integer, List<String>> n : newcomers.entrySet()) {
                        if (n.getKey() != id && model.states.get(n.getKey()) == Ticket.State.QUEUED) {
                            n.getValue().add(key);
                        }
                    }
                }
                compare(queue, model, tickets);
            }
            if (ordering == Ordering.FAIR_BY_KEY && perKey == maxRunning) {
                for (Map.Entry<Integer, List<String>> n : newcomers.entrySet()) {
                    if (model.states.get(n.getKey()) == Ticket.State.ADMITTED) {
                        assertThat(n.getValue()).as("keys admitted ahead of a newcomer").doesNotHaveDuplicates();
                    }
                }
            }
            if (perKey == maxRunning) {
                positionsPredictTheAdmissionOrder(queue, tickets, model.runningIds.keySet());
            }
        }
    }

    private static void compare(DefaultAdmissionQueue queue, Model model, List<Ticket> tickets) {
        AdmissionInvariants.check(queue);
        List<Model.Waiter> order = model.inOrder();
        Map<Integer, Integer> positions = new HashMap<>();
        for (int i = 0; i < order.size(); i++) {
            positions.put(order.get(i).id, i + 1);
        }
        // Plain comparisons first: AssertJ only builds its message when something differs.
        for (int id = 0; id < tickets.size(); id++) {
            Ticket t = tickets.get(id);
            int expected = positions.getOrDefault(id, 0);
            Ticket.State state = t.state();
            if (state != model.states.get(id) || (state == Ticket.State.QUEUED && (t.position() != expected
                    || !t.estimatedWait().equals(model.estimate(expected))))) {
                assertThat(t.state()).as("state of ticket %d", id).isEqualTo(model.states.get(id));
                assertThat(t.position()).as("position of ticket %d", id).isEqualTo(expected);
                assertThat(t.estimatedWait()).as("estimate of ticket %d", id).isEqualTo(model.estimate(expected));
            }
        }
        AdmissionStats stats = queue.stats();
        assertThat(stats.running()).isEqualTo(model.runningIds.size());
        assertThat(stats.queued()).isEqualTo(model.waiting.size());
    }

    /** With no arrivals and one run ending at a time, tickets are admitted exactly in position order. */
    private static void positionsPredictTheAdmissionOrder(DefaultAdmissionQueue queue, List<Ticket> tickets,
            Set<Integer> runningIds) {
        Map<Integer, Ticket> byPosition = new HashMap<>();
        for (Ticket t : tickets) {
            if (t.state() == Ticket.State.QUEUED) {
                assertThat(byPosition.put(t.position(), t)).isNull();
            }
        }
        List<Permit> running = new ArrayList<>();
        for (int id : runningIds) {
            running.add(tickets.get(id).permit().join());
        }
        Set<Permit> closed = new HashSet<>();
        for (int position = 1; position <= byPosition.size(); position++) {
            Permit next = running.stream().filter(p -> !closed.contains(p)).findFirst().orElseThrow();
            next.close();
            closed.add(next);
            Ticket expected = byPosition.get(position);
            assertThat(expected.state()).as("ticket at position %d is admitted next", position)
                    .isEqualTo(Ticket.State.ADMITTED);
            running.add(expected.permit().join());
            for (Ticket other : byPosition.values()) {
                if (other.state() == Ticket.State.QUEUED) {
                    assertThat(other.position()).isEqualTo(byPosition.entrySet().stream()
                            .filter(e -> e.getValue() == other).findFirst().orElseThrow().getKey() - position);
                }
            }
        }
        running.forEach(Permit::close);
        assertThat(queue.stats().running()).isZero();
        assertThat(queue.stats().queued()).isZero();
    }

    /**
     * The ordering, stated as plainly as possible. Every waiter gets a tag (round, keyOrder, seq) when it
     * enters: FIFO uses (0, seq, seq). FAIR_BY_KEY: a key that has no waiters and no running permits gets a
     * new keyOrder (a counter) and the current round; otherwise the round after the key's last queued or
     * admitted round, one more if that is the current round and the key's order is not after the last
     * admitted one. Admission takes the smallest tag among keys below the per-key limit; the position is
     * the index in the list of waiters sorted by tag. Round robin keeps a key's turn when one of its
     * waiters leaves without a permit: under FAIR_BY_KEY each younger waiter of that key takes the tag of
     * the one before it (FIFO: the leaver's tag just goes).
     */
    static final class Model {
        static final class Waiter {
            int id;
            String key;
            long round;
            long keyOrder;
            long seq;
            long enteredAt;
        }

        static final class KeyRecord {
            long order;
            long lastAdmittedRound = -1;
        }

        final Ordering ordering;
        final int maxRunning;
        final int perKey;
        final int maxQueued;
        final long maxWaitNanos;
        final double smoothing;
        final List<Waiter> waiting = new ArrayList<>();
        final Map<Integer, String> runningIds = new HashMap<>();
        final Map<Integer, Long> admittedAt = new HashMap<>();
        final Map<String, KeyRecord> live = new HashMap<>();
        final Map<Integer, Ticket.State> states = new HashMap<>();
        final List<Integer> admittedNow = new ArrayList<>();
        long seq;
        long keyOrders;
        long curRound;
        long curOrder;
        double average = Double.NaN;
        long now;

        Model(Ordering ordering, int maxRunning, int perKey, int maxQueued, long maxWaitNanos, double smoothing) {
            this.ordering = ordering;
            this.maxRunning = maxRunning;
            this.perKey = perKey;
            this.maxQueued = maxQueued;
            this.maxWaitNanos = maxWaitNanos;
            this.smoothing = smoothing;
        }

        long running(String key) {
            return runningIds.values().stream().filter(key::equals).count();
        }

        List<Waiter> inOrder() {
            List<Waiter> sorted = new ArrayList<>(waiting);
            sorted.sort(Comparator.comparingLong((Waiter w) -> w.round).thenComparingLong(w -> w.keyOrder)
                    .thenComparingLong(w -> w.seq));
            return sorted;
        }

        Optional<Waiter> nextAdmissible() {
            return inOrder().stream().filter(w -> running(w.key) < perKey).findFirst();
        }

        String enter(int id, String key, long at) {
            now = at;
            boolean keyWaits = waiting.stream().anyMatch(w -> w.key.equals(key));
            boolean immediate = runningIds.size() < maxRunning && nextAdmissible().isEmpty() && !keyWaits
                    && running(key) < perKey;
            if (!immediate && waiting.size() >= maxQueued) {
                return "rejected";
            }
            KeyRecord record = live.computeIfAbsent(key, k -> {
                KeyRecord r = new KeyRecord();
                r.order = ++keyOrders;
                return r;
            });
            Waiter w = new Waiter();
            w.id = id;
            w.key = key;
            w.seq = ++seq;
            w.enteredAt = at;
            if (ordering == Ordering.FIFO) {
                w.round = 0;
                w.keyOrder = w.seq;
            } else {
                long last = record.lastAdmittedRound;
                for (Waiter other : waiting) {
                    if (other.key.equals(key)) {
                        last = other.round; // the key's newest waiter is the last in enter order
                    }
                }
                long round = Math.max(curRound, last + 1);
                if (round == curRound && record.order <= curOrder) {
                    round++;
                }
                w.round = round;
                w.keyOrder = record.order;
            }
            waiting.add(w);
            states.put(id, Ticket.State.QUEUED);
            admitAll();
            return immediate ? "admitted" : "queued";
        }

        void admitAll() {
            while (runningIds.size() < maxRunning) {
                Optional<Waiter> next = nextAdmissible();
                if (next.isEmpty()) {
                    return;
                }
                Waiter w = next.get();
                waiting.remove(w);
                runningIds.put(w.id, w.key);
                admittedAt.put(w.id, now);
                states.put(w.id, Ticket.State.ADMITTED);
                admittedNow.add(w.id);
                KeyRecord record = live.get(w.key);
                record.lastAdmittedRound = Math.max(record.lastAdmittedRound, w.round);
                if (w.round > curRound || (w.round == curRound && w.keyOrder > curOrder)) {
                    curRound = w.round;
                    curOrder = w.keyOrder;
                }
            }
        }

        void withdraw(Waiter w, Ticket.State outcome) {
            if (ordering == Ordering.FAIR_BY_KEY) {
                List<Waiter> sameKey = waiting.stream().filter(o -> o.key.equals(w.key))
                        .sorted(Comparator.comparingLong(o -> o.seq)).toList();
                for (int i = sameKey.size() - 1; i > sameKey.indexOf(w); i--) {
                    sameKey.get(i).round = sameKey.get(i - 1).round;
                }
            }
            waiting.remove(w);
            states.put(w.id, outcome);
            dropIfIdle(w.key);
            admitAll();
        }

        void release(int id, long at) {
            now = at;
            String key = runningIds.remove(id);
            long ran = at - admittedAt.remove(id);
            average = Double.isNaN(average) ? ran : average + smoothing * (ran - average);
            admitAll();
            dropIfIdle(key);
        }

        void expire(long at) {
            now = at;
            if (maxWaitNanos == 0) {
                return;
            }
            for (Waiter w : new ArrayList<>(waiting)) {
                if (at - w.enteredAt >= maxWaitNanos) {
                    withdraw(w, Ticket.State.TIMED_OUT);
                }
            }
        }

        void dropIfIdle(String key) {
            if (running(key) == 0 && waiting.stream().noneMatch(w -> w.key.equals(key))) {
                live.remove(key);
            }
        }

        /**
         * Every run takes the average, counting what the runs in progress have run: list when each slot frees
         * (now for a free slot, average - elapsed for a running one, never below now), sorted; position p
         * waits for the ((p - 1) mod maxRunning)-th of those plus (p - 1) div maxRunning whole runs.
         */
        Optional<Duration> estimate(int position) {
            if (Double.isNaN(average)) {
                return Optional.empty();
            }
            List<Double> slotFree = new ArrayList<>();
            for (int i = runningIds.size(); i < maxRunning; i++) {
                slotFree.add(0.0);
            }
            for (int id : runningIds.keySet()) {
                slotFree.add(Math.max(0, average - (now - admittedAt.get(id))));
            }
            slotFree.sort(null);
            double first = slotFree.get((position - 1) % maxRunning);
            long turns = (position - 1) / maxRunning;
            return Optional.of(Duration.ofNanos((long) Math.min(Long.MAX_VALUE, first + turns * average)));
        }

        List<Integer> drainAdmittedNow() {
            List<Integer> copy = List.copyOf(admittedNow);
            admittedNow.clear();
            return copy;
        }
    }

}
