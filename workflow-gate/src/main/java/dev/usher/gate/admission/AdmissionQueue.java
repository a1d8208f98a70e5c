package dev.usher.gate.admission;

import dev.usher.session.Durations;
import java.time.Duration;
import java.util.Objects;
import java.util.concurrent.ThreadFactory;
import java.util.function.Consumer;
import java.util.function.LongSupplier;

/**
 * Caps how many expensive runs (LLM agent runs, builds, renders) execute at once and makes the rest wait
 * in a fair order, telling each waiter its position and estimated wait.
 *
 * <pre>{@code
 * AdmissionQueue queue = AdmissionQueue.builder(4).maxQueued(200).maxWait(Duration.ofMinutes(2)).build();
 * Ticket ticket = queue.enter(userId, update -> stream.send(update));
 * try (Permit permit = ticket.await(Duration.ofMinutes(2))) {
 *     runWorkflow();
 * }
 * }</pre>
 *
 * <p>Thread-safe; share one per kind of run. Whoever builds it owns it and closes it. {@code enter} never
 * blocks (it returns a ticket or throws); {@link Ticket#await} is the one blocking call. While a slot is
 * free and nobody waits, {@code enter} and {@link Permit#close()} take no lock and wake no other thread: the
 * ticket is born admitted. Otherwise {@code enter}, admission and {@code position()} cost O(log n) in the
 * number of waiters and hold the queue's one internal lock only for in-memory work; listeners and future
 * completions run after it is released. Listeners run on the queue's own thread
 * ({@code usher-admission-<name>}), one at a time, so they must be quick; the one exception is the
 * {@code ADMITTED} of a ticket admitted at once, which its listener hears on the caller's thread before
 * {@code enter} returns. {@link #close()} stops that thread and cancels every queued ticket; permits already
 * out stay valid until closed.
 */
public interface AdmissionQueue extends AutoCloseable {

    /** A builder for a queue that lets at most {@code maxRunning} (at least 1) permits out at once. */
    static Builder builder(int maxRunning) {
        return new Builder(maxRunning);
    }

    /**
     * Enters the queue without a listener. Returns at once with a ticket, already admitted when a slot was
     * free.
     *
     * @throws QueueFullException when the ticket would have to wait and {@code maxQueued} tickets already do
     * @throws IllegalArgumentException when the key is empty or longer than 256 characters
     * @throws IllegalStateException when the queue is closed
     */
    Ticket enter(String key);

    /**
     * Enters the queue; {@code listener} is told {@link TicketUpdate.Kind#QUEUED} (unless admitted at
     * once), then position changes at most once per notification period, then exactly one of admitted,
     * cancelled or timed out. It runs on the queue's thread, except when the ticket is admitted at once: then
     * it hears {@link TicketUpdate.Kind#ADMITTED} on the calling thread, before this returns. An exception it
     * throws is logged and ignored.
     *
     * @throws QueueFullException when the ticket would have to wait and {@code maxQueued} tickets already do
     * @throws IllegalArgumentException when the key is empty or longer than 256 characters
     * @throws IllegalStateException when the queue is closed
     */
    Ticket enter(String key, Consumer<TicketUpdate> listener);

    /** A snapshot of the queue's state and counters. */
    AdmissionStats stats();

    /** The queue's name, as given to {@link Builder#name(String)}: in messages, its thread and metric tags. */
    String name();

    /** Cancels every queued ticket and stops the queue's thread; idempotent. Permits out stay valid. */
    @Override
    void close();

    /**
     * Configures an {@link AdmissionQueue}. Each method validates its argument at once and throws
     * {@link IllegalArgumentException} naming the value and the limit. Not thread-safe; build once.
     */
    final class Builder {
        private static final Duration ONE_MILLI = Duration.ofMillis(1);

        final int maxRunning;
        int maxQueued = 10_000;
        Duration maxWait;
        int maxRunningPerKey;
        Ordering ordering = Ordering.FAIR_BY_KEY;
        Duration notificationPeriod = Duration.ofSeconds(1);
        Duration initialRunDuration;
        double smoothing = 0.2;
        LongSupplier ticker = System::nanoTime;
        String name = "admission";
        ThreadFactory threadFactory;
        boolean manualMaintenance;

        private Builder(int maxRunning) {
            if (maxRunning < 1) {
                throw new IllegalArgumentException("maxRunning must be at least 1 but was " + maxRunning);
            }
            this.maxRunning = maxRunning;
            this.maxRunningPerKey = maxRunning;
        }

        /** How many tickets may wait (at least 0; 0 = admit at once or reject). Default 10,000. */
        public Builder maxQueued(int maxQueued) {
            if (maxQueued < 0) {
                throw new IllegalArgumentException("maxQueued must be at least 0 but was " + maxQueued);
            }
            this.maxQueued = maxQueued;
            return this;
        }

        /** How long a ticket may wait before it times out (at least 1 ms). Default: no limit. */
        public Builder maxWait(Duration maxWait) {
            this.maxWait = Durations.requireAtLeast("maxWait", maxWait, ONE_MILLI);
            return this;
        }

        /**
         * How many permits one key may hold at once (1 to {@code maxRunning}), e.g. 1 for one run per
         * session. Default: {@code maxRunning}, i.e. no per-key limit.
         */
        public Builder maxRunningPerKey(int maxRunningPerKey) {
            if (maxRunningPerKey < 1 || maxRunningPerKey > maxRunning) {
                throw new IllegalArgumentException("maxRunningPerKey must be between 1 and maxRunning "
                        + maxRunning + " but was " + maxRunningPerKey);
            }
            this.maxRunningPerKey = maxRunningPerKey;
            return this;
        }

        /** The admission order. Default {@link Ordering#FAIR_BY_KEY}. */
        public Builder ordering(Ordering ordering) {
            this.ordering = Objects.requireNonNull(ordering, "ordering");
            return this;
        }

        /**
         * The least time between two position updates sent to one ticket's listener (at least 1 ms).
         * Default 1 s.
         */
        public Builder notificationPeriod(Duration period) {
            this.notificationPeriod = Durations.requireAtLeast("notificationPeriod", period, ONE_MILLI);
            return this;
        }

        /**
         * The run duration assumed before any run has finished (at least 1 ms). Default: none, so estimates
         * are empty until the first run finishes.
         */
        public Builder initialRunDuration(Duration duration) {
            this.initialRunDuration = Durations.requireAtLeast("initialRunDuration", duration, ONE_MILLI);
            return this;
        }

        /**
         * The weight of the newest run duration in the moving average, in (0, 1]. Default 0.2 (roughly the
         * last ten runs matter).
         */
        public Builder estimateSmoothing(double weight) {
            if (!(weight > 0 && weight <= 1)) {
                throw new IllegalArgumentException("estimateSmoothing must be in (0, 1] but was " + weight);
            }
            this.smoothing = weight;
            return this;
        }

        /** The source of nanosecond time, for tests. Default {@link System#nanoTime()}. */
        public Builder ticker(LongSupplier nanoTicker) {
            this.ticker = Objects.requireNonNull(nanoTicker, "nanoTicker");
            return this;
        }

        /**
         * A name for messages, the queue's thread and the {@code queue} tag of its metrics: 1 to 64 letters, digits, '-' or '_'. Default
         * "admission".
         */
        public Builder name(String name) {
            Objects.requireNonNull(name, "name");
            if (!name.matches("[A-Za-z0-9_-]{1,64}")) {
                throw new IllegalArgumentException(
                        "name must be 1 to 64 letters, digits, '-' or '_' but was '" + name + "'");
            }
            this.name = name;
            return this;
        }

        /**
         * Where the queue's one thread (timeouts, position updates, listener calls) comes from. Default: a
         * platform daemon thread named {@code usher-admission-<name>}. Pass the host's factory for virtual
         * threads, its naming or MDC; the host then owns what the factory does. {@link AdmissionQueue#close()}
         * stops the thread either way.
         */
        public Builder threadFactory(ThreadFactory factory) {
            this.threadFactory = Objects.requireNonNull(factory, "threadFactory");
            return this;
        }

        /**
         * For tests in this package: no thread is started; timeouts, coalesced updates and listener calls
         * happen only when the test calls {@code maintain()}.
         */
        Builder manualMaintenance() {
            this.manualMaintenance = true;
            return this;
        }

        /** Builds the queue and starts its thread. */
        public AdmissionQueue build() {
            return new DefaultAdmissionQueue(this);
        }
    }
}
