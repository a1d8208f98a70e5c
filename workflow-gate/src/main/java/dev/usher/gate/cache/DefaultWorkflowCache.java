package dev.usher.gate.cache;

import dev.usher.session.SessionIds;
import com.github.benmanes.caffeine.cache.Cache;
import com.github.benmanes.caffeine.cache.Caffeine;
import com.github.benmanes.caffeine.cache.Expiry;
import com.github.benmanes.caffeine.cache.RemovalCause;
import com.github.benmanes.caffeine.cache.Scheduler;
import com.github.benmanes.caffeine.cache.Ticker;
import com.github.benmanes.caffeine.cache.Weigher;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledThreadPoolExecutor;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.LongAdder;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The {@link WorkflowCache} implementation.
 *
 * <p><b>Design.</b> Two structures, with one owner of the truth:
 * <ul>
 *   <li>{@code slots}, a {@link ConcurrentHashMap} from key to the live {@link Entry} (leased or idle) or
 *       to the {@link Loading} creation in progress. Every state change of a key happens inside
 *       {@code slots.compute(key, ...)}: that is the per-key lock (a hash-bin lock, never a global one),
 *       and it is never held while the loader or a closer runs.</li>
 *   <li>{@code idle}, a Caffeine cache holding an {@link IdleTicket} for each entry with no open lease.
 *       The size/weight bound, Window TinyLFU and expiry all apply to it alone.</li>
 * </ul>
 * An entry moves into {@code idle} when its last lease closes and out of it on the first acquire, both
 * inside the key's {@code compute}. Caffeine's removal listener (run later, on the maintenance thread)
 * retires an entry only if that same ticket is still its current one, again inside {@code compute}: if
 * the entry was leased in between, the ticket no longer matches and nothing happens. A fresh ticket per
 * idle period makes a late notification about an earlier idle period harmless.
 *
 * <p><b>Rejected alternatives.</b> (1) One Caffeine cache of all entries with weight 0 while leased: a
 * zero weight only exempts an entry from the size bound, expiry still removes it. (2) Pinning through
 * {@code Policy} (variable expiry set to "forever" plus weight 0 while leased): pinning and unpinning are
 * separate operations from the lease counting, so a lease taken between Caffeine's expiry decision and
 * the removal listener would still see its value closed, and the pin has to be reset under the same race
 * on release; leased entries would also still take part in TinyLFU's admission decisions. Keeping leased
 * entries out of Caffeine makes "never evicted while leased" hold by construction.
 *
 * <p><b>The bound without traffic.</b> Caffeine evicts during its maintenance, which runs after writes;
 * when a burst ends while that maintenance is behind (a drain that found the eviction lock taken, or one
 * that stopped after a bounded amount of work), nothing runs it again until the next cache activity, and
 * idle values beyond the bound stay open. So the cache counts the weight of its idle tickets itself (1 each
 * under {@code maximumSize}) and, whenever a value going idle finds that count above the bound, arms one
 * clean-up {@value #BOUND_CHECK_MILLIS} ms later on the maintenance thread, which re-arms itself while the
 * count stays above. The bound is back within well under a second of the last request, and while the cache
 * is within its bound no request arms anything (a Caffeine {@code Scheduler} would not help: it only paces
 * expiry, never size eviction).
 *
 * <p><b>Lock order.</b> {@code slots} bin lock, then Caffeine's internal locks (through {@code idle.put} /
 * {@code remove}). Caffeine never calls back into {@code slots} while holding its locks: the removal
 * listener runs on the maintenance executor, and the expiry and weigher functions are pure.
 */
final class DefaultWorkflowCache<K, V> implements WorkflowCache<K, V> {
    private static final Logger log = LoggerFactory.getLogger(DefaultWorkflowCache.class);
    private static final AtomicLong INSTANCES = new AtomicLong();
    static final long BOUND_CHECK_MILLIS = 100;

    private final WorkflowLoader<K, V> loader;
    private final ValueCloser<? super V> closer;
    private final String name;
    private final Ticker ticker;
    private final long maximumAgeNanos;
    private final Duration closeTimeout;
    private final String threadNamePrefix;
    private final long bound;
    private final Weigher<? super K, ? super V> weigher; // null under maximumSize: every value weighs 1
    /** Weight of the tickets put into {@code idle} and not yet reported removed by its listener. */
    private final AtomicLong idleWeight = new AtomicLong();
    private final AtomicBoolean boundCheckArmed = new AtomicBoolean();

    private final ConcurrentHashMap<K, Slot> slots = new ConcurrentHashMap<>();
    private final Cache<K, IdleTicket<K, V>> idle;
    private final ScheduledThreadPoolExecutor maintenance;
    private final ThreadPoolExecutor closerThread;

    private final AtomicBoolean closed = new AtomicBoolean();
    private final AtomicLong openLeases = new AtomicLong();
    private final CompletableFuture<Void> drained = new CompletableFuture<>();

    private final LongAdder hits = new LongAdder();
    private final LongAdder misses = new LongAdder();
    private final LongAdder creations = new LongAdder();
    private final LongAdder creationNanos = new LongAdder();
    private final LongAdder creationFailures = new LongAdder();
    private final LongAdder evictedBySize = new LongAdder();
    private final LongAdder expired = new LongAdder();
    private final LongAdder invalidated = new LongAdder();
    private final LongAdder closes = new LongAdder();
    private final LongAdder closeFailures = new LongAdder();

    DefaultWorkflowCache(WorkflowCacheBuilder<K, V> b) {
        this.loader = b.loader;
        this.closer = b.closer;
        this.name = b.name;
        this.ticker = b.ticker;
        this.maximumAgeNanos = b.expireAfterWrite == null ? Long.MAX_VALUE : b.expireAfterWrite.toNanos();
        this.closeTimeout = b.closeTimeout;
        this.threadNamePrefix = "usher-workflow-cache-" + INSTANCES.incrementAndGet() + "-";
        this.bound = b.maximumWeight >= 0 ? b.maximumWeight : b.maximumSize;
        this.weigher = b.maximumWeight >= 0 ? b.weigher : null;

        maintenance = new ScheduledThreadPoolExecutor(1, daemon(threadNamePrefix + "maintenance"));
        maintenance.setRemoveOnCancelPolicy(true);
        // Values may take long to close (GPU memory, remote sessions): one thread of their own keeps that
        // off both the callers and the expiry/maintenance thread.
        closerThread = new ThreadPoolExecutor(1, 1, 0, TimeUnit.MILLISECONDS, new LinkedBlockingQueue<>(),
                daemon(threadNamePrefix + "closer"));

        Caffeine<Object, Object> base = Caffeine.newBuilder().ticker(ticker).executor(maintenance);
        boolean expires = b.expireAfterAccess != null || b.expireAfterWrite != null;
        if (expires) {
            // Prompt expiry with no traffic: Caffeine schedules its next clean-up on our thread.
            base.scheduler(Scheduler.forScheduledExecutorService(maintenance));
        }
        if (b.maximumWeight >= 0) {
            base.maximumWeight(b.maximumWeight);
        } else {
            base.maximumSize(b.maximumSize);
        }
        Caffeine<K, IdleTicket<K, V>> caffeine = base.removalListener(
                (K key, IdleTicket<K, V> ticket, RemovalCause cause) -> onIdleRemoval(key, ticket, cause));
        if (b.maximumWeight >= 0) {
            caffeine = caffeine.weigher((K key, IdleTicket<K, V> ticket) -> ticket.weight);
        }
        if (expires) {
            long idleNanos = b.expireAfterAccess == null ? Long.MAX_VALUE : b.expireAfterAccess.toNanos();
            caffeine = caffeine.expireAfter(new IdleExpiry<K, V>(idleNanos, maximumAgeNanos));
        }
        this.idle = caffeine.build();
    }

    @Override
    public Lease<V> acquire(K key) {
        if (key == null) {
            throw new NullPointerException("key");
        }
        boolean missed = false;
        while (true) {
            Loading mine = new Loading();
            Slot slot = slots.compute(key, (k, current) -> {
                if (closed.get()) {
                    throw new CacheClosedException("workflow cache is closed; cannot acquire " + describe(k));
                }
                if (current == null) {
                    return mine;
                }
                if (current instanceof Entry<?, ?> found) {
                    @SuppressWarnings("unchecked")
                    Entry<K, V> entry = (Entry<K, V>) found;
                    if (entry.leases++ == 0) {
                        leaveIdle(k, entry);
                    }
                    openLeases.incrementAndGet();
                }
                return current;
            });
            if (slot == mine) {
                misses.increment();
                return load(key, mine);
            }
            if (slot instanceof Entry<?, ?> found) {
                (missed ? misses : hits).increment();
                @SuppressWarnings("unchecked")
                Entry<K, V> entry = (Entry<K, V>) found;
                return new DefaultLease(entry);
            }
            missed = true;
            awaitCreation(key, (Loading) slot);
        }
    }

    private Lease<V> load(K key, Loading mine) {
        long start = ticker.read();
        V value = null;
        Throwable failure = null;
        try {
            value = loader.load(key);
            if (value == null) {
                failure = new NullPointerException("the loader returned null for " + describe(key));
            }
        } catch (Throwable t) {
            failure = t;
        }
        long now = ticker.read();
        creationNanos.add(now - start);
        if (failure != null) {
            creationFailures.increment();
            slots.remove(key, mine);
            // Every waiter of this attempt sees the same cause; the slot is gone, so nothing is cached.
            mine.done.completeExceptionally(failure);
            mine.valueClosed.complete(null); // there is no value to wait for
            if (failure instanceof Error error) {
                throw error;
            }
            throw new WorkflowLoadException("creating the value for " + describe(key) + " failed", failure);
        }
        creations.increment();
        Entry<K, V> entry = new Entry<>(key, value, now);
        entry.valueClosed.whenComplete((ignored, e) -> mine.valueClosed.complete(null));
        entry.leases = 1;
        openLeases.incrementAndGet();
        slots.compute(key, (k, current) -> {
            if (current == mine && !mine.invalidated && !closed.get()) {
                return entry;
            }
            // Invalidated or closed while it was being created: the creator still gets its value, which
            // is closed when this lease closes; the next acquire creates a fresh one.
            entry.retired = true;
            return current == mine ? null : current;
        });
        mine.done.complete(null);
        return new DefaultLease(entry);
    }

    private void awaitCreation(K key, Loading loading) {
        try {
            loading.done.get();
        } catch (ExecutionException e) {
            throw new WorkflowLoadException("creating the value for " + describe(key) + " failed", e.getCause());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new WorkflowLoadException("interrupted while waiting for the value of " + describe(key), e);
        }
    }

    /** Takes an idle entry out of the Caffeine cache; call inside slots.compute(key). */
    private void leaveIdle(K key, Entry<K, V> entry) {
        if (entry.ticket != null) {
            idle.asMap().remove(key, entry.ticket);
            entry.ticket = null;
        }
    }

    private void release(Entry<K, V> entry) {
        boolean[] close = {false};
        slots.compute(entry.key, (k, current) -> {
            if (--entry.leases > 0) {
                return current;
            }
            if (entry.retired) {
                close[0] = true;
                return current;
            }
            // Not retired means it is still the key's current entry.
            boolean aged = ticker.read() - entry.createdAt >= maximumAgeNanos;
            if (aged || closed.get()) {
                if (aged) {
                    expired.increment();
                }
                entry.retired = true;
                close[0] = true;
                return null;
            }
            entry.ticket = new IdleTicket<>(entry, weigher == null ? 1 : weigher.weigh(k, entry.value));
            if (idleWeight.addAndGet(entry.ticket.weight) > bound) {
                armBoundCheck();
            }
            idle.put(k, entry.ticket);
            return entry;
        });
        if (openLeases.decrementAndGet() == 0 && closed.get()) {
            drained.complete(null);
        }
        if (close[0]) {
            scheduleClose(entry);
        }
    }

    private void onIdleRemoval(K key, IdleTicket<K, V> ticket, RemovalCause cause) {
        idleWeight.addAndGet(-ticket.weight);
        // EXPLICIT and REPLACED removals are our own, made inside slots.compute; only Caffeine's own
        // decisions (size, expiry) retire an entry here.
        if (!cause.wasEvicted()) {
            return;
        }
        Entry<K, V> entry = ticket.entry;
        boolean[] retire = {false};
        slots.computeIfPresent(key, (k, current) -> {
            if (current != entry || entry.ticket != ticket) {
                return current; // leased again (or replaced) since Caffeine decided: keep it
            }
            entry.ticket = null;
            entry.retired = true;
            retire[0] = true;
            return null;
        });
        if (retire[0]) {
            (cause == RemovalCause.SIZE ? evictedBySize : expired).increment();
            scheduleClose(entry);
        }
    }

    /** Arms one clean-up on the maintenance thread unless one is armed already. */
    private void armBoundCheck() {
        if (boundCheckArmed.compareAndSet(false, true)) {
            try {
                maintenance.schedule(this::restoreBound, BOUND_CHECK_MILLIS, TimeUnit.MILLISECONDS);
            } catch (RejectedExecutionException closing) {
                boundCheckArmed.set(false);
            }
        }
    }

    private void restoreBound() {
        // Disarmed first: a value going idle from here on arms a new check itself.
        boundCheckArmed.set(false);
        idle.cleanUp();
        // The removal notifications of this clean-up run on this thread after it, so the count may still
        // read high once: the next check then finds it settled and does not re-arm.
        if (idleWeight.get() > bound) {
            armBoundCheck();
        }
    }

    @Override
    public CompletableFuture<Void> invalidate(K key) {
        if (key == null) {
            throw new NullPointerException("key");
        }
        List<Entry<K, V>> toClose = new ArrayList<>(1);
        List<CompletableFuture<Void>> valueClosed = new ArrayList<>(1);
        slots.computeIfPresent(key, (k, current) -> {
            invalidated.increment();
            if (current instanceof Loading loading) {
                loading.invalidated = true;
                valueClosed.add(loading.valueClosed);
                return current; // keeps the creation single-flight; it drops its value when done
            }
            @SuppressWarnings("unchecked")
            Entry<K, V> entry = (Entry<K, V>) current;
            entry.retired = true;
            valueClosed.add(entry.valueClosed);
            if (entry.leases == 0) {
                leaveIdle(k, entry);
                toClose.add(entry);
            }
            return null;
        });
        toClose.forEach(this::scheduleClose);
        // A view for the caller: completing it must not complete the cache's own future.
        return valueClosed.isEmpty() ? CompletableFuture.completedFuture(null)
                : valueClosed.get(0).thenApply(ignored -> null);
    }

    private void scheduleClose(Entry<K, V> entry) {
        try {
            closerThread.execute(() -> closeValue(entry));
        } catch (RejectedExecutionException e) {
            // Only after close() gave up waiting for this lease: the closer thread is gone.
            closeValue(entry);
        }
    }

    private void closeValue(Entry<K, V> entry) {
        try {
            closer.close(entry.value);
            closes.increment();
        } catch (Throwable t) {
            closeFailures.increment();
            log.warn("closing the cached value for {} failed", describe(entry.key), t);
        } finally {
            entry.valueClosed.complete(null);
        }
    }

    @Override
    public String name() {
        return name;
    }

    @Override
    public WorkflowCacheStats stats() {
        return new WorkflowCacheStats(hits.sum(), misses.sum(), creations.sum(),
                Duration.ofNanos(creationNanos.sum()), creationFailures.sum(), evictedBySize.sum(),
                expired.sum(), invalidated.sum(), closes.sum(), closeFailures.sum(), openLeases.get(),
                idle.estimatedSize());
    }

    @Override
    public void close() {
        if (!closed.compareAndSet(false, true)) {
            return;
        }
        List<Entry<K, V>> toClose = new ArrayList<>();
        for (K key : slots.keySet()) {
            slots.computeIfPresent(key, (k, current) -> {
                if (current instanceof Loading) {
                    return current; // the creator sees the closed flag and retires its value
                }
                @SuppressWarnings("unchecked")
                Entry<K, V> entry = (Entry<K, V>) current;
                entry.retired = true;
                if (entry.leases == 0) {
                    leaveIdle(k, entry);
                    toClose.add(entry);
                }
                return null;
            });
        }
        toClose.forEach(this::scheduleClose);
        if (openLeases.get() == 0) {
            drained.complete(null);
        }
        long deadline = System.nanoTime() + closeTimeout.toNanos();
        try {
            drained.get(closeTimeout.toNanos(), TimeUnit.NANOSECONDS);
        } catch (TimeoutException e) {
            log.warn("workflow cache closed with {} lease(s) still open after {}; their values are closed "
                    + "when they are released", openLeases.get(), closeTimeout);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } catch (ExecutionException e) {
            throw new IllegalStateException(e); // never completed exceptionally
        }
        maintenance.shutdownNow();
        closerThread.shutdown();
        try {
            if (!closerThread.awaitTermination(Math.max(0, deadline - System.nanoTime()), TimeUnit.NANOSECONDS)) {
                log.warn("workflow cache closer still busy after {}", closeTimeout);
            }
            // Its work is interrupted, and a Caffeine clean-up in flight is harmless, but wait for it.
            maintenance.awaitTermination(Math.max(0, deadline - System.nanoTime()), TimeUnit.NANOSECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    /**
     * Runs Caffeine's pending maintenance (expiry, eviction) now and waits until the removals and closes it
     * caused are done; tests call it after moving the ticker, so that "not closed" is a real observation.
     */
    void cleanUp() throws InterruptedException, ExecutionException {
        idle.cleanUp();
        maintenance.submit(() -> { }).get(); // removal notifications queued by the clean-up
        closerThread.submit(() -> { }).get(); // closes queued by those notifications
    }

    String threadNamePrefix() {
        return threadNamePrefix;
    }

    /** Names a key in logs and messages without writing it whole (keys are often session ids). */
    static String describe(Object key) {
        String s = String.valueOf(key);
        return s.length() <= 8 ? "key '" + s + "'" : "key '" + SessionIds.redact(s) + "' (" + s.length() + " chars)";
    }

    private static java.util.concurrent.ThreadFactory daemon(String name) {
        return r -> {
            Thread t = new Thread(r, name);
            t.setDaemon(true);
            return t;
        };
    }

    /** What {@code slots} maps a key to. */
    private sealed interface Slot permits Loading, Entry {
    }

    /** A creation in progress; waiters block on {@link #done}, then look the key up again. */
    private static final class Loading implements Slot {
        final CompletableFuture<Void> done = new CompletableFuture<>();
        /** Completes once the value being created is closed (or its creation failed). */
        final CompletableFuture<Void> valueClosed = new CompletableFuture<>();
        boolean invalidated; // guarded by the key's slots bin lock
    }

    /** One created value. The mutable fields are read and written only inside slots.compute(key). */
    private static final class Entry<K, V> implements Slot {
        final K key;
        final V value;
        final long createdAt;
        int leases;
        /** Removed from slots; closed when the last lease closes. */
        boolean retired;
        /** Non-null exactly while the entry is idle in the Caffeine cache. */
        IdleTicket<K, V> ticket;
        /** Completes once the value is closed, whether or not its close threw. */
        final CompletableFuture<Void> valueClosed = new CompletableFuture<>();

        Entry(K key, V value, long createdAt) {
            this.key = key;
            this.value = value;
            this.createdAt = createdAt;
        }
    }

    /** One idle period of an entry; identity matters (see the class comment). */
    private static final class IdleTicket<K, V> {
        final Entry<K, V> entry;
        final int weight;

        IdleTicket(Entry<K, V> entry, int weight) {
            this.entry = entry;
            this.weight = weight;
        }
    }

    /** Idle timeout from the moment the entry became idle, capped by what is left of its maximum age. */
    private static final class IdleExpiry<K, V> implements Expiry<K, IdleTicket<K, V>> {
        private final long idleNanos;
        private final long maximumAgeNanos;

        IdleExpiry(long idleNanos, long maximumAgeNanos) {
            this.idleNanos = idleNanos;
            this.maximumAgeNanos = maximumAgeNanos;
        }

        @Override
        public long expireAfterCreate(K key, IdleTicket<K, V> ticket, long now) {
            long ageLeft = maximumAgeNanos == Long.MAX_VALUE
                    ? Long.MAX_VALUE
                    : ticket.entry.createdAt + maximumAgeNanos - now;
            return Math.max(0, Math.min(idleNanos, ageLeft));
        }

        @Override
        public long expireAfterUpdate(K key, IdleTicket<K, V> ticket, long now, long currentDuration) {
            return expireAfterCreate(key, ticket, now); // a new idle period always comes with a new ticket
        }

        @Override
        public long expireAfterRead(K key, IdleTicket<K, V> ticket, long now, long currentDuration) {
            return currentDuration;
        }
    }

    private final class DefaultLease implements Lease<V> {
        private final Entry<K, V> entry;
        private final AtomicBoolean open = new AtomicBoolean(true);

        DefaultLease(Entry<K, V> entry) {
            this.entry = entry;
        }

        @Override
        public V value() {
            if (!open.get()) {
                throw new IllegalStateException("the lease on " + describe(entry.key) + " was already closed");
            }
            return entry.value;
        }

        @Override
        public void close() {
            if (open.compareAndSet(true, false)) {
                release(entry);
            }
        }

        @Override
        public String toString() {
            return "Lease[" + describe(entry.key) + (open.get() ? ", open]" : ", closed]");
        }
    }
}
