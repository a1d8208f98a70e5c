package dev.usher.gate.cache;

import dev.usher.session.SessionIds;
import com.github.benmanes.caffeine.cache.Cache;
import com.github.benmanes.caffeine.cache.Caffeine;
import com.github.benmanes.caffeine.cache.Expiry;
import com.github.benmanes.caffeine.cache.RemovalCause;
import com.github.benmanes.caffeine.cache.Scheduler;
import com.github.benmanes.caffeine.cache.Ticker;
import com.github.benmanes.caffeine.cache.Weigher;
import dev.usher.gate.background.BackgroundThreads;
import dev.usher.session.SessionIds;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledThreadPoolExecutor;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicIntegerFieldUpdater;
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
 *       to the {@link Loading} creation in progress. Creating, invalidating and retiring an entry happen
 *       inside {@code slots.compute(key, ...)}: that is the per-key lock (a hash-bin lock, never a global
 *       one), and it is never held while the loader or a closer runs.</li>
 *   <li>{@code idle}, a Caffeine cache holding an {@link IdleTicket} for each entry that has gone idle
 *       since it was created or last evicted. The size/weight bound, Window TinyLFU and expiry apply to it.</li>
 * </ul>
 *
 * <p><b>The hit is lock-free.</b> An entry's lease count moves only by compare-and-set, and becomes
 * {@code RETIRED} (-1) exactly once, from 0, by whoever closes the value. A hit is {@code slots.get} plus one
 * compare-and-set from n ≥ 0 to n + 1; closing the lease is one decrement. The ticket stays in Caffeine while
 * the entry is leased, so neither touches Caffeine. Whoever wants to close a value (Caffeine's removal
 * listener, {@code invalidate}, {@code close}) first marks the entry ({@code retired}, or the ticket gone)
 * and then tries to retire the count from 0; a lease close first decrements and then reads those marks.
 * One of the two always sees the other: either the closer finds the count at 0 and retires it (no lease can
 * start after that: a lease never moves a count up from -1), or the last lease close sees the mark and
 * takes the slow path, under the key's compute, to close the value or put a fresh ticket into Caffeine.
 * Never closed while leased and closed exactly once follow from the single 0 → -1 transition.
 *
 * <p><b>Consequences.</b> A leased entry that had gone idle before still holds its ticket, so it counts
 * towards the bound while leased: Caffeine may evict its ticket, the listener then finds it leased and leaves
 * it without a ticket, and its last lease close puts a new one in (so the bound holds at rest). Hits do not
 * reset Caffeine's timer, so under {@code expireAfterAccess} each lease close records its time and the
 * listener, on an expiry that comes too early, puts the ticket back for the idle time that is left.
 * {@code stats().idle()} walks the Caffeine cache to count tickets whose entry has no lease.
 *
 * <p><b>Rejected.</b> Taking the ticket out of Caffeine on every acquire and putting a new one in on every
 * lease close (this class's predecessor) kept leased entries out of the bound by construction, but cost two
 * Caffeine writes per hit (about 1% of a {@code getIfPresent}'s throughput).
 *
 * <p>Past 400 lines on purpose: the entry's count, its ticket and the key's slot form one state machine
 * whose transitions (hit, lease close, load, eviction, expiry, invalidation, close) must be read together.
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
    private final long idleNanos;
    /** Under expireAfterAccess a lease close records its time, for the expiry check. */
    private final boolean tracksIdleTime;
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
    private final ExecutorService closerThread;

    private final AtomicBoolean closed = new AtomicBoolean();
    /** Striped: every lease touches it; summed only by stats() and once the cache is closed. */
    private final LongAdder openLeases = new LongAdder();
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
        this.idleNanos = b.expireAfterAccess == null ? Long.MAX_VALUE : b.expireAfterAccess.toNanos();
        this.tracksIdleTime = b.expireAfterAccess != null;

        maintenance = BackgroundThreads.scheduler(
                BackgroundThreads.orDaemon(b.threadFactory, threadNamePrefix + "maintenance"));
        // Values may take long to close (GPU memory, remote sessions): one thread of their own keeps that
        // off both the callers and the expiry/maintenance thread.
        closerThread = BackgroundThreads.serial(BackgroundThreads.orDaemon(b.threadFactory, threadNamePrefix + "closer"));

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
            caffeine = caffeine.expireAfter(new IdleExpiry<K, V>(maximumAgeNanos));
        }
        this.idle = caffeine.build();
    }

    @Override
    public Lease<V> acquire(K key) {
        if (key == null) {
            throw new NullPointerException("key");
        }
        if (closed.get()) {
            throw new CacheClosedException("workflow cache is closed; cannot acquire " + describe(key));
        }
        // The hit: one lookup and one compare-and-set of the entry's lease count (see the class comment).
        Slot found = slots.get(key);
        if (found instanceof Entry<?, ?> e) {
            @SuppressWarnings("unchecked")
            Entry<K, V> entry = (Entry<K, V>) e;
            openLeases.increment();
            if (entry.tryLease()) {
                if (!entry.retired) {
                    hits.increment();
                    return new DefaultLease(entry);
                }
                release(entry); // invalidated since the lookup: give it back (closing it if last) and look again
            } else {
                leaseEnded();
            }
        }
        return acquireSlowly(key);
    }

    private Lease<V> acquireSlowly(K key) {
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
                    openLeases.increment();
                    // Always succeeds: an entry is retired (count -1) only inside this key's compute, which
                    // also takes it out of slots.
                    if (!found.tryLease()) {
                        throw new IllegalStateException("retired entry still mapped for " + describe(k));
                    }
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
        entry.leases = 1; // not yet published
        openLeases.increment();
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

    /** Takes the entry's ticket out of the Caffeine cache; call inside slots.compute(key). */
    private void removeTicket(K key, Entry<K, V> entry) {
        IdleTicket<K, V> ticket = entry.ticket;
        if (ticket != null) {
            entry.ticket = null;
            idle.asMap().remove(key, ticket);
        }
    }

    private void release(Entry<K, V> entry) {
        if (tracksIdleTime) {
            entry.lastReleasedAt = ticker.read();
        }
        int left = entry.endLease();
        leaseEnded();
        // The common case: still current and still in the Caffeine cache, so going idle needs nothing.
        // Both flags are read after the count's update; see the class comment for why that is enough.
        if (left > 0 || !entry.retired && entry.ticket != null
                && (maximumAgeNanos == Long.MAX_VALUE || ticker.read() - entry.createdAt < maximumAgeNanos)) {
            return;
        }
        releaseSlowly(entry);
    }

    /** The last lease closed on an entry that is retired, aged, or not in the Caffeine cache. */
    private void releaseSlowly(Entry<K, V> entry) {
        boolean[] close = {false};
        if (entry.retired) {
            close[0] = entry.retire();
        } else {
            slots.compute(entry.key, (k, current) -> {
                if (current != entry || entry.retired) {
                    close[0] = entry.retire(); // retired meanwhile: whoever wins the count closes
                    return current;
                }
                if (entry.leases != 0) {
                    return current; // leased again: that lease's close decides
                }
                boolean aged = ticker.read() - entry.createdAt >= maximumAgeNanos;
                if (aged || closed.get()) {
                    if (!entry.retire()) {
                        return current;
                    }
                    if (aged) {
                        expired.increment();
                    }
                    entry.retired = true;
                    removeTicket(k, entry);
                    close[0] = true;
                    return null;
                }
                if (entry.ticket == null) {
                    putTicket(k, entry, idleNanos);
                }
                return current;
            });
        }
        if (close[0]) {
            scheduleClose(entry);
        }
    }

    /** Puts a fresh ticket for {@code entry} into the Caffeine cache; call inside slots.compute(key). */
    private void putTicket(K key, Entry<K, V> entry, long idleNanosLeft) {
        IdleTicket<K, V> ticket = new IdleTicket<>(entry, weigher == null ? 1 : weigher.weigh(key, entry.value),
                idleNanosLeft);
        entry.ticket = ticket;
        if (idleWeight.addAndGet(ticket.weight) > bound) {
            armBoundCheck();
        }
        idle.put(key, ticket);
    }

    private void leaseEnded() {
        openLeases.decrement();
        // Each decrement is visible before its own sum, so the last lease's sum reads 0.
        if (closed.get() && openLeases.sum() == 0) {
            drained.complete(null);
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
                return current; // replaced, or already given a newer ticket: keep it
            }
            entry.ticket = null;
            if (cause == RemovalCause.EXPIRED && tracksIdleTime) {
                // Hits do not touch Caffeine, so its timer runs from the ticket's put, which may be long
                // before the last release: an early expiry is corrected here.
                long now = ticker.read();
                long idleLeft = entry.lastReleasedAt + idleNanos - now;
                boolean aged = now - entry.createdAt >= maximumAgeNanos;
                if (idleLeft > 0 && !aged) {
                    if (entry.leases == 0) {
                        putTicket(k, entry, idleLeft);
                    }
                    return current; // leased: its last release puts a ticket back
                }
            }
            if (!entry.retire()) {
                return current; // leased: out of the Caffeine cache until its last release
            }
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
            removeTicket(k, entry);
            if (entry.retire()) {
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
                expired.sum(), invalidated.sum(), closes.sum(), closeFailures.sum(), openLeases.sum(),
                idleCount());
    }

    /** Entries in the Caffeine cache with no lease: a walk over it, since a hit keeps no count of its own. */
    private long idleCount() {
        long n = 0;
        for (IdleTicket<K, V> ticket : idle.asMap().values()) {
            if (ticket.entry.leases == 0) {
                n++;
            }
        }
        return n;
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
                removeTicket(k, entry);
                if (entry.retire()) {
                    toClose.add(entry);
                }
                return null;
            });
        }
        toClose.forEach(this::scheduleClose);
        if (openLeases.sum() == 0) {
            drained.complete(null);
        }
        long deadline = System.nanoTime() + closeTimeout.toNanos();
        try {
            drained.get(closeTimeout.toNanos(), TimeUnit.NANOSECONDS);
        } catch (TimeoutException e) {
            log.warn("workflow cache closed with {} lease(s) still open after {}; their values are closed "
                    + "when they are released", openLeases.sum(), closeTimeout);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } catch (ExecutionException e) {
            throw new IllegalStateException(e); // never completed exceptionally
        }
        maintenance.shutdownNow();
        BackgroundThreads.shutdownAndAwait(closerThread, false, Duration.ofNanos(deadline - System.nanoTime()),
                "workflow cache " + name + " closer");
        // Its work is interrupted, and a Caffeine clean-up in flight is harmless, but wait for it.
        BackgroundThreads.shutdownAndAwait(maintenance, true, Duration.ofNanos(deadline - System.nanoTime()),
                "workflow cache " + name + " maintenance");
    }

    /**
     * Runs Caffeine's pending maintenance (expiry, eviction) now and waits until the removals and closes it
     * caused are done; tests call it after moving the ticker, so that "not closed" is a real observation.
     */
    void cleanUp() throws InterruptedException, ExecutionException {
        // A notification may put a ticket back (an early expiry), which a further round then bounds.
        for (int round = 0; round < 10; round++) {
            idle.cleanUp();
            maintenance.submit(() -> { }).get(); // removal notifications queued by the clean-up
            if (idleWeight.get() <= bound) {
                break;
            }
        }
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

    /**
     * One created value. {@code leases} is the lease count, or {@link #RETIRED} once its value is claimed
     * for closing; it only moves by compare-and-set. {@code retired} and {@code ticket} are written inside
     * slots.compute(key) and read anywhere.
     */
    private static final class Entry<K, V> implements Slot {
        private static final int RETIRED = -1;
        private static final VarHandle LEASES;

        static {
            try {
                LEASES = MethodHandles.lookup().findVarHandle(Entry.class, "leases", int.class);
            } catch (ReflectiveOperationException e) {
                throw new ExceptionInInitializerError(e);
            }
        }

        final K key;
        final V value;
        final long createdAt;
        volatile int leases;
        /** Removed from slots, or about to be; closed by whoever moves the count from 0 to RETIRED. */
        volatile boolean retired;
        /** Non-null while the entry has a ticket in the Caffeine cache (idle, or leased since). */
        volatile IdleTicket<K, V> ticket;
        /** Ticker time of the last lease close; kept only under expireAfterAccess. */
        volatile long lastReleasedAt;
        /** Completes once the value is closed, whether or not its close threw. */
        final CompletableFuture<Void> valueClosed = new CompletableFuture<>();

        Entry(K key, V value, long createdAt) {
            this.key = key;
            this.value = value;
            this.createdAt = createdAt;
        }

        /** One more lease, unless the value is claimed for closing. */
        boolean tryLease() {
            for (int n = leases; n != RETIRED; n = leases) {
                if (LEASES.compareAndSet(this, n, n + 1)) {
                    return true;
                }
            }
            return false;
        }

        /** One lease fewer; returns the leases left. */
        int endLease() {
            return (int) LEASES.getAndAdd(this, -1) - 1;
        }

        /** Claims the value for closing if nobody holds a lease: true for exactly one caller, ever. */
        boolean retire() {
            return LEASES.compareAndSet(this, 0, RETIRED);
        }
    }

    /** One stay of an entry in the Caffeine cache; identity matters (see the class comment). */
    private static final class IdleTicket<K, V> {
        final Entry<K, V> entry;
        final int weight;
        /** The idle time this ticket allows, from its put. */
        final long idleNanos;

        IdleTicket(Entry<K, V> entry, int weight, long idleNanos) {
            this.entry = entry;
            this.weight = weight;
            this.idleNanos = idleNanos;
        }
    }

    /** The ticket's idle time from its put, capped by what is left of the entry's maximum age. */
    private static final class IdleExpiry<K, V> implements Expiry<K, IdleTicket<K, V>> {
        private final long maximumAgeNanos;

        IdleExpiry(long maximumAgeNanos) {
            this.maximumAgeNanos = maximumAgeNanos;
        }

        @Override
        public long expireAfterCreate(K key, IdleTicket<K, V> ticket, long now) {
            long ageLeft = maximumAgeNanos == Long.MAX_VALUE
                    ? Long.MAX_VALUE
                    : ticket.entry.createdAt + maximumAgeNanos - now;
            return Math.max(0, Math.min(ticket.idleNanos, ageLeft));
        }

        @Override
        public long expireAfterUpdate(K key, IdleTicket<K, V> ticket, long now, long currentDuration) {
            return expireAfterCreate(key, ticket, now); // every put brings a new ticket
        }

        @Override
        public long expireAfterRead(K key, IdleTicket<K, V> ticket, long now, long currentDuration) {
            return currentDuration;
        }
    }

    @SuppressWarnings("rawtypes")
    private static final AtomicIntegerFieldUpdater<DefaultWorkflowCache.DefaultLease> LEASE_OPEN =
            AtomicIntegerFieldUpdater.newUpdater(DefaultWorkflowCache.DefaultLease.class, "open");

    private final class DefaultLease implements Lease<V> {
        private final Entry<K, V> entry;
        /** 1 while open; one object per lease, not two, hence a field updater. */
        @SuppressWarnings("unused")
        private volatile int open = 1;

        DefaultLease(Entry<K, V> entry) {
            this.entry = entry;
        }

        @Override
        public V value() {
            if (open == 0) {
                throw new IllegalStateException("the lease on " + describe(entry.key) + " was already closed");
            }
            return entry.value;
        }

        @Override
        public void close() {
            if (LEASE_OPEN.compareAndSet(this, 1, 0)) {
                release(entry);
            }
        }

        @Override
        public String toString() {
            return "Lease[" + describe(entry.key) + (open == 1 ? ", open]" : ", closed]");
        }
    }
}
