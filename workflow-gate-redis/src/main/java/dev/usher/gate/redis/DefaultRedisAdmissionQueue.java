package dev.usher.gate.redis;

import dev.usher.gate.admission.AdmissionQueue;
import dev.usher.gate.admission.AdmissionStats;
import dev.usher.gate.admission.QueueFullException;
import dev.usher.gate.admission.Ticket;
import dev.usher.gate.admission.TicketUpdate;
import dev.usher.gate.background.BackgroundThreads;
import java.security.SecureRandom;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.concurrent.CancellationException;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.ReentrantLock;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The {@link RedisAdmissionQueue}: this instance's side of the shared queue.
 *
 * <h2>Where state lives</h2>
 * Redis holds the truth: the line (a sorted set of fair-order tags, so a position is one ZRANK), the
 * permits, the per-key counts and the instances' leases ({@code queue.lua}, called through
 * {@link QueueProtocol}). This class keeps only this instance's view: its queued tickets by id (to route
 * wake-ups and refresh positions), and the releases and withdrawals it could not deliver while Redis was
 * unreachable, retried by its background thread. No lock is held across a Redis call; a ticket's local state
 * changes by compare-and-set, following whatever Redis answered first.
 *
 * <h2>Threads</h2>
 * {@code usher-redis-queue-<name>} renews the lease (every third of the lease time), retries pending
 * releases, refreshes positions (every notification period, one call per {@value #BATCH} waiters), withdraws
 * departed clients in batches and times tickets out; {@code -listeners} calls listeners one at a time;
 * {@code -sub} holds the pub/sub subscription to this instance's channel; {@code -io-N} run calls with a hard
 * time bound ({@link RedisCalls}).
 *
 * <h2>Leases</h2>
 * One lease per instance covers all its permits and waiters, so renewal is one call whatever their number.
 * When it runs out (the process died or stalled), the next script anyone runs reaps them, at most 64 per
 * call. An instance that finds its own lease gone takes a new instance id, fails its waiters with
 * {@link AdmissionUnavailableException}, and closing its old permits is a no-op: a slot is never released
 * twice.
 *
 * <h2>Why this class is long</h2>
 * The separable jobs have their own classes: the scripts and their replies ({@link QueueProtocol}), bounded
 * calls and the circuit ({@link RedisCalls}), the subscription ({@link Subscriber}), a waiter's state
 * ({@link RedisTicket}), what is owed to Redis after an outage ({@link PendingDeliveries}) and the wait
 * statistics ({@link LocalWaits}). What stays here is one job: routing this instance's tickets between
 * Redis's answers, the timer thread and the listeners. Enter, withdraw, wake-up, refresh, departure and
 * lease loss all read and change the same map of waiting tickets under the same rules (compare-and-set on
 * the ticket, Redis decides first), and splitting them would spread those rules over several classes.
 */
final class DefaultRedisAdmissionQueue implements RedisAdmissionQueue {
    private static final Logger log = LoggerFactory.getLogger(DefaultRedisAdmissionQueue.class);
    static final int MAX_KEY_LENGTH = 256;
    private static final int BATCH = 256;
    private static final SecureRandom RANDOM = new SecureRandom();

    private final String name;
    private final int maxRunning;
    private final int maxQueued;
    private final long maxWaitNanos;
    private final AdmissionQueue fallback; // null: none
    private final QueueProtocol redis;
    private final Subscriber subscriber;
    private final ScheduledThreadPoolExecutor timer;
    private final ExecutorService listeners;
    private final ConcurrentHashMap<String, RedisTicket> waiting = new ConcurrentHashMap<>();
    private final PendingDeliveries pending = new PendingDeliveries();
    private final ConcurrentLinkedQueue<RedisTicket> departed = new ConcurrentLinkedQueue<>();
    private final AtomicBoolean departuresScheduled = new AtomicBoolean();
    private final AtomicLong seq = new AtomicLong();
    private final AtomicLong leasesLost = new AtomicLong();
    private final AtomicLong fallbackEnters = new AtomicLong();
    private final ReentrantLock restartLock = new ReentrantLock();
    private final LocalWaits waits = new LocalWaits();
    private volatile boolean closed;
    private volatile AdmissionStats lastStats = new AdmissionStats(0, 0, 0, 0, 0, 0, Duration.ZERO, Duration.ZERO,
            Duration.ZERO, 0, Duration.ZERO, Duration.ZERO);

    DefaultRedisAdmissionQueue(RedisAdmissionQueue.Builder b) {
        this.name = b.name;
        this.maxRunning = b.maxRunning;
        this.maxQueued = b.maxQueued;
        this.maxWaitNanos = b.maxWait == null ? 0 : saturatedNanos(b.maxWait);
        this.fallback = b.fallback;
        String prefix = "usher:q:{" + b.name + "}:";
        this.redis = new QueueProtocol(new RedisCalls(b.redis, name, prefix + "m", b.commandTimeout, b.probeInterval,
                b.threadFactory), prefix, b, newInstanceId());
        this.timer = BackgroundThreads.scheduler(BackgroundThreads.orDaemon(b.threadFactory, "usher-redis-queue-" + name));
        timer.setExecuteExistingDelayedTasksAfterShutdownPolicy(false);
        timer.setContinueExistingPeriodicTasksAfterShutdownPolicy(false);
        this.listeners = BackgroundThreads.serial(
                BackgroundThreads.orDaemon(b.threadFactory, "usher-redis-queue-" + name + "-listeners"));
        try {
            redis.registerProbe();
        } catch (AdmissionUnavailableException e) {
            log.warn("RedisAdmissionQueue '{}': Redis unreachable at start; retrying in the background", name);
        }
        this.subscriber = new Subscriber(b.redis, this, b.probeInterval,
                BackgroundThreads.orDaemon(b.threadFactory, "usher-redis-queue-" + name + "-sub"));
        subscriber.start(redis.channel(redis.instance()), b.commandTimeout);
        long renewNanos = Math.max(1, b.leaseTime.toNanos() / 3);
        long periodNanos = b.notificationPeriod.toNanos();
        timer.scheduleWithFixedDelay(this::heartbeat, renewNanos, renewNanos, TimeUnit.NANOSECONDS);
        timer.scheduleWithFixedDelay(this::refreshAll, periodNanos, periodNanos, TimeUnit.NANOSECONDS);
    }

    private static String newInstanceId() {
        StringBuilder sb = new StringBuilder(12);
        for (int i = 0; i < 12; i++) {
            sb.append(Character.forDigit(RANDOM.nextInt(36), 36));
        }
        return sb.toString();
    }

    @Override
    public String name() {
        return name;
    }

    // ------------------------------------------------------------------------------------------ enter

    @Override
    public Ticket enter(String key) {
        return enter(key, null);
    }

    @Override
    public Ticket enter(String key, Consumer<TicketUpdate> listener) {
        Objects.requireNonNull(key, "key");
        if (key.isEmpty() || key.length() > MAX_KEY_LENGTH) {
            // The key may be a session id: its length, never its text, goes into the message.
            throw new IllegalArgumentException("key must be 1 to " + MAX_KEY_LENGTH + " characters but was "
                    + key.length() + " characters");
        }
        try {
            return enterShared(key, listener);
        } catch (AdmissionUnavailableException e) {
            if (fallback == null || closed) {
                throw e;
            }
            fallbackEnters.incrementAndGet();
            return fallback.enter(key, listener);
        }
    }

    private Ticket enterShared(String key, Consumer<TicketUpdate> listener) {
        for (int attempt = 0; ; attempt++) {
            if (closed) {
                throw new IllegalStateException("RedisAdmissionQueue '" + name + "' is closed");
            }
            String inst = redis.instance();
            RedisTicket ticket = new RedisTicket(this, inst + "." + Long.toString(seq.incrementAndGet(), 36), key, listener);
            // In the map before the call: a wake-up may arrive before the reply.
            waiting.put(ticket.id, ticket);
            QueueProtocol.Entered entered;
            try {
                entered = redis.enter(key, ticket.id);
            } catch (AdmissionUnavailableException e) {
                waiting.remove(ticket.id);
                pending.withdrawLater(ticket.id); // the script may have run: undo it once Redis answers
                throw e;
            } catch (RuntimeException e) {
                waiting.remove(ticket.id);
                throw e;
            }
            switch (entered.kind()) {
                case ADMITTED:
                    ticket.admitted(entered.value(), 0);
                    return ticket;
                case QUEUED:
                    int position = (int) entered.value();
                    ticket.estimateAtEnterMs = entered.estimateMs();
                    ticket.told(position, entered.estimateMs());
                    ticket.confirmed = true;
                    if (ticket.state() == Ticket.State.QUEUED) {
                        notify(ticket, TicketUpdate.Kind.QUEUED, position, entered.estimateMs());
                        armTimeout(ticket);
                    }
                    return ticket;
                case FULL:
                    waiting.remove(ticket.id);
                    long avg = entered.value();
                    Optional<Duration> retryAfter = avg < 0 ? Optional.empty()
                            : Optional.of(Duration.ofMillis(Math.max(1, avg / maxRunning)));
                    throw new QueueFullException("AdmissionQueue '" + name + "' is full: maxQueued " + maxQueued
                            + " tickets already wait across the cluster"
                            + retryAfter.map(d -> "; retry after about " + d).orElse(""), maxQueued, retryAfter);
                default: // DEAD: this instance's lease ran out; start over once
                    waiting.remove(ticket.id);
                    if (attempt > 0) {
                        throw new AdmissionUnavailableException("RedisAdmissionQueue '" + name
                                + "' could not renew this instance's lease", Duration.ofSeconds(1), null);
                    }
                    leaseLost(inst);
            }
        }
    }

    private void armTimeout(RedisTicket ticket) {
        if (maxWaitNanos == 0) {
            return;
        }
        try {
            ticket.timeout = timer.schedule(() -> {
                try {
                    withdraw(ticket, Ticket.State.TIMED_OUT);
                } catch (RuntimeException e) {
                    log.debug("RedisAdmissionQueue '{}': timeout withdrawal failed", name, e);
                }
            }, maxWaitNanos, TimeUnit.NANOSECONDS);
        } catch (RejectedExecutionException closing) {
            // close() withdraws every ticket itself
        }
    }

    // ------------------------------------------------------------------------- withdraw and release

    /** Withdraws a queued ticket through Redis; false when it was no longer queued (e.g. admission won). */
    boolean withdraw(RedisTicket ticket, Ticket.State outcome) {
        if (ticket.state() != Ticket.State.QUEUED) {
            return false;
        }
        QueueProtocol.Withdrawal w;
        try {
            w = redis.cancel(ticket.id, outcome == Ticket.State.TIMED_OUT, false);
        } catch (AdmissionUnavailableException | IllegalStateException e) {
            return leaveLocally(ticket, outcome);
        }
        return settle(ticket, w, outcome);
    }

    /** Withdraws many tickets in one call (departed clients, close). */
    private void withdrawBatch(List<RedisTicket> batch, Ticket.State outcome) {
        List<QueueProtocol.Withdrawal> results;
        try {
            results = redis.leave(batch.stream().map(t -> t.id).toList(), outcome == Ticket.State.TIMED_OUT);
        } catch (AdmissionUnavailableException | IllegalStateException e) {
            batch.forEach(t -> leaveLocally(t, outcome));
            return;
        }
        for (int i = 0; i < batch.size(); i++) {
            settle(batch.get(i), results.get(i), outcome);
        }
    }

    /** Redis answered: the ticket left, or had been admitted first (then its permit is delivered). */
    private boolean settle(RedisTicket ticket, QueueProtocol.Withdrawal w, Ticket.State outcome) {
        if (w.result() == QueueProtocol.Withdrawal.Result.ADMITTED) {
            ticket.admitted(w.fence(), w.waitedMs());
            return false;
        }
        return ticket.withdrawn(outcome, cause(outcome));
    }

    /** Redis is away: leave now locally; Redis is told (and a permit granted meanwhile returned) later. */
    private boolean leaveLocally(RedisTicket ticket, Ticket.State outcome) {
        if (ticket.withdrawn(outcome, cause(outcome))) {
            pending.withdrawLater(ticket.id);
            return true;
        }
        return false;
    }

    private Throwable cause(Ticket.State outcome) {
        return outcome == Ticket.State.TIMED_OUT
                ? new TimeoutException("ticket waited longer than maxWait " + Duration.ofNanos(maxWaitNanos)
                        + " in AdmissionQueue '" + name + "'")
                : new CancellationException("ticket was cancelled");
    }

    /** A permit's close: one round trip; retried in the background when Redis cannot be reached. */
    void release(String permitId) {
        try {
            redis.close(permitId, false);
        } catch (AdmissionUnavailableException | IllegalStateException e) {
            pending.releaseLater(permitId);
        }
    }

    void forget(RedisTicket ticket) {
        waiting.remove(ticket.id, ticket);
    }

    void recordAdmission(RedisTicket ticket, long waitedMs) {
        waits.record(waitedMs, ticket.estimateAtEnterMs);
    }

    // ------------------------------------------------------------------------------ background work

    /** Renews the lease (the probe of the circuit too), then delivers what failed while Redis was away. */
    private void heartbeat() {
        if (closed) {
            return;
        }
        String inst = redis.instance();
        try {
            if (!redis.heartbeatProbe()) {
                leaseLost(inst);
            }
        } catch (AdmissionUnavailableException e) {
            log.debug("RedisAdmissionQueue '{}': lease renewal failed: {}", name, e.getMessage());
            return;
        } catch (RuntimeException e) {
            log.warn("RedisAdmissionQueue '{}': lease renewal failed", name, e);
            return;
        }
        retryPending();
    }

    private void retryPending() {
        try {
            pending.deliver(redis);
        } catch (RuntimeException e) {
            log.debug("RedisAdmissionQueue '{}': pending releases wait for Redis: {}", name, e.getMessage());
        }
    }

    /**
     * Redis reaped this instance (it stalled past its lease, or Redis lost its data): its waiters are gone from
     * the line and its permits were given back. Start over under a new id.
     */
    private void leaseLost(String lostInstance) {
        restartLock.lock();
        try {
            if (!redis.instance().equals(lostInstance)) {
                return; // another thread already started over
            }
            leasesLost.incrementAndGet();
            log.warn("RedisAdmissionQueue '{}': this instance's lease ran out; its waiters left the line, "
                    + "its permits were given back (fencing tokens tell later writers apart)", name);
            redis.instance(newInstanceId());
            try {
                redis.registerProbe();
            } catch (RuntimeException e) {
                log.debug("RedisAdmissionQueue '{}': registration failed: {}", name, e.getMessage());
            }
            subscriber.switchTo(redis.channel(redis.instance()));
        } finally {
            restartLock.unlock();
        }
        for (RedisTicket t : new ArrayList<>(waiting.values())) {
            if (t.id.startsWith(lostInstance + ".")) {
                t.withdrawn(Ticket.State.CANCELLED, new AdmissionUnavailableException("RedisAdmissionQueue '"
                        + name + "': this instance lost its lease; the ticket left the line", Duration.ofSeconds(1), null));
            }
        }
    }

    /** A wake-up from the instance's channel: "ticketId fence waitedMs". */
    void onMessage(String message) {
        String[] parts = message.split(" ");
        if (parts.length != 3) {
            return;
        }
        RedisTicket t = waiting.get(parts[0]);
        if (t != null) {
            t.admitted(Long.parseLong(parts[1]), Long.parseLong(parts[2]));
        }
    }

    /** The subscription was (re)made: messages may have been missed meanwhile. */
    void onSubscribed() {
        try {
            timer.execute(this::refreshAll);
        } catch (RejectedExecutionException closing) {
            // nothing to refresh
        }
    }

    /**
     * Every notification period: one positions call per {@value #BATCH} local waiters; every waiting listener
     * is told its position even when unchanged (a departed client is found when the host writes to it), and
     * admissions whose message was missed are picked up.
     */
    private void refreshAll() {
        if (closed || waiting.isEmpty()) {
            return;
        }
        List<RedisTicket> all = new ArrayList<>(waiting.values());
        for (int from = 0; from < all.size(); from += BATCH) {
            List<RedisTicket> batch = new ArrayList<>();
            for (RedisTicket t : all.subList(from, Math.min(all.size(), from + BATCH))) {
                if (t.confirmed && t.state() == Ticket.State.QUEUED) {
                    batch.add(t);
                }
            }
            if (batch.isEmpty()) {
                continue;
            }
            try {
                applyPositions(batch, true);
            } catch (RuntimeException e) {
                log.debug("RedisAdmissionQueue '{}': position refresh failed: {}", name, e.getMessage());
                return;
            }
        }
    }

    /** One round trip for the ticket's exact position; the last known one while Redis is unreachable. */
    int refreshOne(RedisTicket ticket) {
        if (!ticket.confirmed) {
            return ticket.lastPosition;
        }
        try {
            applyPositions(List.of(ticket), false);
        } catch (AdmissionUnavailableException e) {
            return ticket.lastPosition;
        }
        return ticket.state() == Ticket.State.QUEUED ? ticket.lastPosition : 0;
    }

    private void applyPositions(List<RedisTicket> batch, boolean tick) {
        List<QueueProtocol.Standing> standings = redis.positions(batch.stream().map(t -> t.id).toList());
        for (int i = 0; i < batch.size(); i++) {
            RedisTicket t = batch.get(i);
            QueueProtocol.Standing s = standings.get(i);
            switch (s.state()) {
                case QUEUED:
                    t.told((int) s.first(), s.second());
                    if (tick && t.state() == Ticket.State.QUEUED) {
                        notify(t, TicketUpdate.Kind.POSITION_CHANGED, (int) s.first(), s.second());
                    }
                    break;
                case ADMITTED:
                    t.admitted(s.first(), s.second());
                    break;
                default:
                    // Not in Redis: a withdrawal whose reply is still on its way (it settles the local
                    // state), or this instance was reaped, which the heartbeat finds and handles for all.
                    break;
            }
        }
    }

    /** Queues a listener call; a listener that throws on a position update has lost its client: it leaves. */
    void notify(RedisTicket t, TicketUpdate.Kind kind, int position, long estimateMs) {
        if (t.listener == null) {
            return;
        }
        TicketUpdate update = new TicketUpdate(kind, t.key(), position, toDuration(estimateMs));
        try {
            listeners.execute(() -> {
                try {
                    t.listener.accept(update);
                } catch (RuntimeException e) {
                    if (kind == TicketUpdate.Kind.QUEUED || kind == TicketUpdate.Kind.POSITION_CHANGED) {
                        departed(t);
                    } else if (kind == TicketUpdate.Kind.ADMITTED) {
                        log.warn("a ticket listener of RedisAdmissionQueue '{}' threw on admission; ignored", name, e);
                    } else {
                        log.debug("a ticket listener of RedisAdmissionQueue '{}' threw on {}; ignored", name, kind);
                    }
                }
            });
        } catch (RejectedExecutionException closing) {
            // the queue is closed; its last updates are dropped
        }
    }

    /**
     * The host could not reach the waiting client: the ticket leaves the line, in one batch with the others
     * that left meanwhile (10,000 departures are 40 calls, not 10,000).
     */
    private void departed(RedisTicket t) {
        departed.add(t);
        if (departuresScheduled.compareAndSet(false, true)) {
            try {
                timer.execute(this::withdrawDeparted);
            } catch (RejectedExecutionException closing) {
                departuresScheduled.set(false);
            }
        }
    }

    private void withdrawDeparted() {
        departuresScheduled.set(false);
        while (!departed.isEmpty()) {
            List<RedisTicket> batch = new ArrayList<>();
            for (RedisTicket t; batch.size() < BATCH && (t = departed.poll()) != null; ) {
                if (t.state() == Ticket.State.QUEUED) {
                    batch.add(t);
                }
            }
            if (!batch.isEmpty()) {
                withdrawBatch(batch, Ticket.State.CANCELLED);
            }
        }
    }

    // ------------------------------------------------------------------------------- stats and close

    @Override
    public AdmissionStats stats() {
        try {
            QueueProtocol.Figures f = redis.figures();
            LocalWaits.Snapshot w = waits.snapshot();
            AdmissionStats s = new AdmissionStats(f.running(), f.queued(), f.admitted(), f.rejected(), f.timedOut(),
                    f.cancelled(), w.p50(), w.p95(), w.p99(), w.compared(), w.meanAbsoluteError(), w.meanError());
            lastStats = s;
            return s;
        } catch (AdmissionUnavailableException e) {
            return lastStats;
        }
    }

    /** Whether the last call reached Redis. */
    boolean available() {
        return redis.available();
    }

    long leasesLost() {
        return leasesLost.get();
    }

    long fallbackEnters() {
        return fallbackEnters.get();
    }

    int localWaiting() {
        return waiting.size();
    }

    @Override
    public void close() {
        if (closed) {
            return;
        }
        closed = true;
        List<RedisTicket> left = new ArrayList<>(waiting.values());
        for (int from = 0; from < left.size(); from += BATCH) {
            withdrawBatch(left.subList(from, Math.min(left.size(), from + BATCH)), Ticket.State.CANCELLED);
        }
        retryPending();
        timer.shutdownNow();
        subscriber.stop();
        listeners.shutdown();
        try {
            if (!listeners.awaitTermination(10, TimeUnit.SECONDS)) {
                log.warn("RedisAdmissionQueue '{}': a listener still runs 10 s after close()", name);
            }
            timer.awaitTermination(10, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        redis.shutdown();
    }

    // ---------------------------------------------------------------------------------------- helpers

    static Optional<Duration> toDuration(long ms) {
        return ms < 0 ? Optional.empty() : Optional.of(Duration.ofMillis(ms));
    }

    static long saturatedNanos(Duration d) {
        try {
            return d.toNanos();
        } catch (ArithmeticException tooLong) {
            return Long.MAX_VALUE;
        }
    }
}
