package dev.usher.gate.cache;

import com.github.benmanes.caffeine.cache.Cache;
import com.github.benmanes.caffeine.cache.Caffeine;
import com.github.benmanes.caffeine.cache.Expiry;
import com.github.benmanes.caffeine.cache.RemovalCause;
import com.github.benmanes.caffeine.cache.Scheduler;
import com.github.benmanes.caffeine.cache.Ticker;
import com.github.benmanes.caffeine.cache.Weigher;
import dev.usher.gate.background.BackgroundThreads;
import java.time.Duration;
import java.util.concurrent.Executor;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledThreadPoolExecutor;
import java.util.concurrent.ThreadFactory;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;

/**
 * The eviction and expiry policy: a Caffeine cache holding one {@link Ticket} for each entry that has gone idle
 * since it was created or last evicted, and the maintenance thread that runs Caffeine's clean-ups, its expiry
 * timer and this class's own bound check. The size/weight bound, Window TinyLFU and expiry all apply to the
 * tickets; what an eviction means for the entry is decided by the cache ({@link Evictions}), on the
 * maintenance thread.
 *
 * <p><b>The bound without traffic.</b> Caffeine evicts during its maintenance, which runs after writes; when
 * a burst ends while that maintenance is behind (a drain that found the eviction lock taken, or one that
 * stopped after a bounded amount of work), nothing runs it again until the next cache activity, and idle
 * values beyond the bound stay open. So this class counts the weight of its tickets itself (1 each under
 * {@code maximumSize}) and, whenever a put finds that count above the bound, arms one clean-up
 * {@value #BOUND_CHECK_MILLIS} ms later on the maintenance thread, which re-arms itself while the count stays
 * above. While the cache is within its bound nothing is armed (a Caffeine {@code Scheduler} would not help:
 * it only paces expiry, never size eviction).
 *
 * <p>Every task handed to the maintenance thread is counted ({@link #backgroundTasks()}): a cache hit must add
 * none, and a test checks that it does not.
 */
final class IdleTickets<K, V> {
    static final long BOUND_CHECK_MILLIS = 100;

    /** What the cache does when Caffeine evicted or expired a ticket (never for the cache's own removals). */
    interface Evictions<K, V> {
        void onEvicted(K key, Ticket<K, V> ticket, RemovalCause cause);
    }

    private final long bound;
    private final Weigher<? super K, ? super V> weigher; // null under maximumSize: every value weighs 1
    private final Evictions<K, V> evictions;
    private final ScheduledThreadPoolExecutor maintenance;
    private final AtomicLong backgroundTasks = new AtomicLong();
    /** Weight of the tickets put and not yet reported removed by the listener. */
    private final AtomicLong weight = new AtomicLong();
    private final AtomicBoolean boundCheckArmed = new AtomicBoolean();
    private final Cache<K, Ticket<K, V>> tickets;

    IdleTickets(WorkflowCache.Builder<K, V> b, long maximumAgeNanos, ThreadFactory threads, Evictions<K, V> evictions) {
        this.bound = b.maximumWeight >= 0 ? b.maximumWeight : b.maximumSize;
        this.weigher = b.maximumWeight >= 0 ? b.weigher : null;
        this.evictions = evictions;
        this.maintenance = BackgroundThreads.scheduler(threads);

        Executor counted = task -> {
            backgroundTasks.incrementAndGet();
            maintenance.execute(task);
        };
        Caffeine<Object, Object> base = Caffeine.newBuilder().ticker(b.ticker::getAsLong).executor(counted);
        boolean expires = b.expireAfterAccess != null || b.expireAfterWrite != null;
        if (expires) {
            // Prompt expiry with no traffic: Caffeine schedules its next clean-up on our thread.
            Scheduler scheduler = Scheduler.forScheduledExecutorService(maintenance);
            base.scheduler((executor, command, delay, unit) -> {
                backgroundTasks.incrementAndGet();
                return scheduler.schedule(executor, command, delay, unit);
            });
        }
        if (b.maximumWeight >= 0) {
            base.maximumWeight(b.maximumWeight);
        } else {
            base.maximumSize(b.maximumSize);
        }
        Caffeine<K, Ticket<K, V>> caffeine = base.removalListener(
                (K key, Ticket<K, V> ticket, RemovalCause cause) -> onRemoval(key, ticket, cause));
        if (b.maximumWeight >= 0) {
            caffeine = caffeine.weigher((K key, Ticket<K, V> ticket) -> ticket.weight);
        }
        if (expires) {
            caffeine = caffeine.expireAfter(new TicketExpiry<K, V>(maximumAgeNanos));
        }
        this.tickets = caffeine.build();
    }

    /** Gives {@code entry} a fresh ticket allowing {@code idleNanos} of idle time; call inside slots.compute(key). */
    void put(K key, CacheEntry<K, V> entry, long idleNanos) {
        Ticket<K, V> ticket = new Ticket<>(entry, weigher == null ? 1 : weigher.weigh(key, entry.value), idleNanos);
        entry.ticket = ticket;
        if (weight.addAndGet(ticket.weight) > bound) {
            armBoundCheck();
        }
        tickets.put(key, ticket);
    }

    /** Takes {@code entry}'s ticket out, if it has one; call inside slots.compute(key). */
    void remove(K key, CacheEntry<K, V> entry) {
        Ticket<K, V> ticket = entry.ticket;
        if (ticket != null) {
            entry.ticket = null;
            tickets.asMap().remove(key, ticket);
        }
    }

    private void onRemoval(K key, Ticket<K, V> ticket, RemovalCause cause) {
        weight.addAndGet(-ticket.weight);
        // EXPLICIT and REPLACED removals are the cache's own, made inside slots.compute.
        if (cause.wasEvicted()) {
            evictions.onEvicted(key, ticket, cause);
        }
    }

    /** Arms one clean-up on the maintenance thread unless one is armed already. */
    private void armBoundCheck() {
        if (boundCheckArmed.compareAndSet(false, true)) {
            try {
                backgroundTasks.incrementAndGet();
                maintenance.schedule(this::restoreBound, BOUND_CHECK_MILLIS, TimeUnit.MILLISECONDS);
            } catch (RejectedExecutionException closing) {
                boundCheckArmed.set(false);
            }
        }
    }

    private void restoreBound() {
        // Disarmed first: a ticket put from here on arms a new check itself.
        boundCheckArmed.set(false);
        tickets.cleanUp();
        // The removal notifications of this clean-up run on this thread after it, so the count may still
        // read high once: the next check then finds it settled and does not re-arm.
        if (weight.get() > bound) {
            armBoundCheck();
        }
    }

    /** Tickets whose entry has no lease: a walk, since a hit keeps no count of its own. */
    long idleCount() {
        long n = 0;
        for (Ticket<K, V> ticket : tickets.asMap().values()) {
            if (ticket.entry.leases() == 0) {
                n++;
            }
        }
        return n;
    }

    /** Tasks handed to the maintenance thread so far (Caffeine's drains and timers, bound checks). */
    long backgroundTasks() {
        return backgroundTasks.get();
    }

    /** Runs Caffeine's pending maintenance now and waits for the removal notifications it queued (tests). */
    void cleanUp() throws InterruptedException, ExecutionException {
        // A notification may put a ticket back (an early expiry), which a further round then bounds.
        for (int round = 0; round < 10; round++) {
            tickets.cleanUp();
            maintenance.submit(() -> { }).get();
            if (weight.get() <= bound) {
                break;
            }
        }
    }

    /** Stops the maintenance thread; a clean-up in flight is harmless but waited for, up to {@code timeout}. */
    void close(Duration timeout, String cacheName) {
        maintenance.shutdownNow();
        BackgroundThreads.shutdownAndAwait(maintenance, true, timeout, "workflow cache " + cacheName + " maintenance");
    }

    /** One stay of an entry among the idle ones; identity matters (the cache compares it with entry.ticket). */
    static final class Ticket<K, V> {
        final CacheEntry<K, V> entry;
        final int weight;
        /** The idle time this ticket allows, from its put. */
        final long idleNanos;

        Ticket(CacheEntry<K, V> entry, int weight, long idleNanos) {
            this.entry = entry;
            this.weight = weight;
            this.idleNanos = idleNanos;
        }
    }

    /** The ticket's idle time from its put, capped by what is left of the entry's maximum age. */
    private static final class TicketExpiry<K, V> implements Expiry<K, Ticket<K, V>> {
        private final long maximumAgeNanos;

        TicketExpiry(long maximumAgeNanos) {
            this.maximumAgeNanos = maximumAgeNanos;
        }

        @Override
        public long expireAfterCreate(K key, Ticket<K, V> ticket, long now) {
            long ageLeft = maximumAgeNanos == Long.MAX_VALUE
                    ? Long.MAX_VALUE
                    : ticket.entry.createdAt + maximumAgeNanos - now;
            return Math.max(0, Math.min(ticket.idleNanos, ageLeft));
        }

        @Override
        public long expireAfterUpdate(K key, Ticket<K, V> ticket, long now, long currentDuration) {
            return expireAfterCreate(key, ticket, now); // every put brings a new ticket
        }

        @Override
        public long expireAfterRead(K key, Ticket<K, V> ticket, long now, long currentDuration) {
            return currentDuration;
        }
    }
}
