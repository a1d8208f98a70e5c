package dev.usher.gate.cache;

import com.github.benmanes.caffeine.cache.RemovalCause;
import com.github.benmanes.caffeine.cache.Ticker;
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
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.LongAdder;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The {@link WorkflowCache} implementation: the state machine of a key (hit, lease close, load, eviction,
 * expiry, invalidation, close). Its parts have their own classes: {@link CacheEntry} (the reference count),
 * {@link IdleTickets} (the bound and expiry, on Caffeine, and the maintenance thread), {@link ValueClosing}
 * (the closer thread) and {@link CacheLease}.
 *
 * <p><b>Design.</b> Two structures, with one owner of the truth:
 * <ul>
 *   <li>{@code slots}, a {@link ConcurrentHashMap} from key to the live {@link CacheEntry} (leased or idle)
 *       or to the {@link Loading} creation in progress. Creating, invalidating and removing an entry happen
 *       inside {@code slots.compute(key, ...)}: that is the per-key lock (a hash-bin lock, never a global
 *       one), and it is never held while the loader or a closer runs.</li>
 *   <li>{@link IdleTickets}, a Caffeine cache holding a ticket for each entry that has gone idle since it was
 *       created or last evicted. The size/weight bound, Window TinyLFU and expiry apply to it.</li>
 * </ul>
 *
 * <p><b>The hit is one lookup and one compare-and-set</b>, and closing its lease one decrement: no lock, no
 * clock read (but under {@code expireAfterAccess}, which needs the time of the last use), no Caffeine call,
 * nothing handed to another thread, and one 16-byte {@link CacheLease}. The entry's word holds its lease count
 * and its hit count, and becomes {@code CLAIMED} exactly once, from 0 leases, by whoever closes the value. The
 * ticket stays in Caffeine while the entry is leased, so neither the hit nor the close touches Caffeine.
 * Whoever wants to close a value (an eviction, {@code invalidate}, {@code close}) first marks the entry
 * ({@code removed}, or the ticket gone) and then tries to claim it; a lease close first decrements and then
 * reads those marks. One of the two always sees the other: either the claim finds no lease (and no lease can
 * start after it), or the last lease close sees the mark and takes the slow path, under the key's compute, to
 * close the value or to put a fresh ticket into Caffeine. Never closed while leased and closed exactly once
 * follow from the single claim. An entry removed while leased waits in {@link ValueClosing} for its last lease.
 *
 * <p><b>Consequences.</b> A leased entry that had gone idle before still holds its ticket, so it counts
 * towards the bound while leased: Caffeine may evict its ticket, {@link #onEvicted} then finds it leased and
 * leaves it without a ticket, and its last lease close puts a new one in (so the bound holds at rest). Hits do
 * not reset Caffeine's timer, so under {@code expireAfterAccess} each lease close records its time and an
 * expiry that comes too early puts the ticket back for the idle time that is left. {@code stats()} walks the
 * entries, since hits and leases are counted in them (a cache of expensive objects holds few).
 *
 * <p><b>Rejected.</b> Taking the ticket out of Caffeine on every acquire and putting a new one in on every
 * lease close kept leased entries out of the bound by construction, but cost two Caffeine writes per hit
 * (about 1% of a {@code getIfPresent}'s throughput); striped counters of hits and open leases for every
 * entry cost a hit three more atomic operations than the entry's own word (a third of its throughput), so
 * an entry gets per-thread cells only once two threads have collided on its word (see {@link CacheEntry}).
 *
 * <p><b>Lock order.</b> {@code slots} bin lock, then Caffeine's internal locks (through the ticket puts and
 * removals). Caffeine never calls back into {@code slots} while holding its locks: the removal listener runs
 * on the maintenance thread, and the expiry and weigher functions are pure.
 *
 * <p>A little past 400 lines on purpose: what is left here is one state machine whose transitions must be
 * read together; every part that can be read alone has its own class.
 */
final class DefaultWorkflowCache<K, V> implements WorkflowCache<K, V> {
    private static final Logger log = LoggerFactory.getLogger(DefaultWorkflowCache.class);
    private static final AtomicLong INSTANCES = new AtomicLong();
    private static final VarHandle CLOSED;

    static {
        try {
            CLOSED = MethodHandles.lookup().findVarHandle(DefaultWorkflowCache.class, "closed", boolean.class);
        } catch (ReflectiveOperationException e) {
            throw new ExceptionInInitializerError(e);
        }
    }

    private final WorkflowLoader<K, V> loader;
    private final String name;
    private final Ticker ticker;
    private final long maximumAgeNanos;
    private final long idleNanos;
    /** Under expireAfterAccess a lease close records its time, for the expiry check. */
    private final boolean tracksIdleTime;
    private final Duration closeTimeout;
    private final String threadNamePrefix;

    private final ConcurrentHashMap<K, Slot> slots = new ConcurrentHashMap<>();
    private final IdleTickets<K, V> idle;
    private final ValueClosing<V> closing;
    private volatile boolean closed;

    /** Hits not held in a live entry's word: the slow path's, claimed entries' (folded), minus hits given back. */
    private final LongAdder hits = new LongAdder();
    private final LongAdder misses = new LongAdder();
    private final LongAdder creations = new LongAdder();
    private final LongAdder creationNanos = new LongAdder();
    private final LongAdder creationFailures = new LongAdder();
    private final LongAdder evictedBySize = new LongAdder();
    private final LongAdder expired = new LongAdder();
    private final LongAdder invalidated = new LongAdder();
    /** Counted by {@link CacheEntry} when two threads first collide on an entry. */
    final LongAdder entriesGivenCells = new LongAdder();

    DefaultWorkflowCache(WorkflowCache.Builder<K, V> b) {
        this.loader = b.loader;
        this.name = b.name;
        this.ticker = b.ticker::getAsLong;
        this.maximumAgeNanos = b.expireAfterWrite == null ? Long.MAX_VALUE : b.expireAfterWrite.toNanos();
        this.idleNanos = b.expireAfterAccess == null ? Long.MAX_VALUE : b.expireAfterAccess.toNanos();
        this.tracksIdleTime = b.expireAfterAccess != null;
        this.closeTimeout = b.closeTimeout;
        this.threadNamePrefix = "usher-workflow-cache-" + INSTANCES.incrementAndGet() + "-";
        this.idle = new IdleTickets<>(b, maximumAgeNanos,
                BackgroundThreads.orDaemon(b.threadFactory, threadNamePrefix + "maintenance"), this::onEvicted);
        this.closing = new ValueClosing<>(b.closer,
                BackgroundThreads.orDaemon(b.threadFactory, threadNamePrefix + "closer"));
    }

    @Override
    public Lease<V> acquire(K key) {
        if (key == null) {
            throw new NullPointerException("key");
        }
        if (closed) {
            throw new CacheClosedException("workflow cache is closed; cannot acquire " + describe(key));
        }
        if (slots.get(key) instanceof CacheEntry<?, ?> found) {
            @SuppressWarnings("unchecked")
            CacheEntry<K, V> entry = (CacheEntry<K, V>) found;
            if (entry.tryLease(true, hits)) {
                if (!entry.removed) {
                    return new CacheLease<>(entry);
                }
                // Invalidated since the lookup: not a hit after all; give it back (closing it if last), look again.
                hits.decrement();
                release(entry);
            }
        }
        return acquireSlowly(key);
    }

    private Lease<V> acquireSlowly(K key) {
        boolean missed = false;
        while (true) {
            Loading mine = new Loading();
            Slot slot = slots.compute(key, (k, current) -> {
                if (closed) {
                    throw new CacheClosedException("workflow cache is closed; cannot acquire " + describe(k));
                }
                if (current == null) {
                    return mine;
                }
                // Always succeeds: an entry is claimed only inside this key's compute, which also unmaps it.
                if (current instanceof CacheEntry<?, ?> found && !found.tryLease(false, hits)) {
                    throw new IllegalStateException("claimed entry still mapped for " + describe(k));
                }
                return current;
            });
            if (slot == mine) {
                misses.increment();
                return load(key, mine);
            }
            if (slot instanceof CacheEntry<?, ?> found) {
                (missed ? misses : hits).increment();
                @SuppressWarnings("unchecked")
                CacheEntry<K, V> entry = (CacheEntry<K, V>) found;
                return new CacheLease<>(entry);
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
        CacheEntry<K, V> entry = new CacheEntry<>(this, key, value, now); // holds its creator's lease
        entry.valueClosed.whenComplete((ignored, e) -> mine.valueClosed.complete(null));
        slots.compute(key, (k, current) -> {
            if (current == mine && !mine.invalidated && !closed) {
                return entry;
            }
            // Invalidated or closed while it was being created: the creator still gets its value, which
            // is closed when this lease closes; the next acquire creates a fresh one.
            entry.removed = true;
            closing.awaitLastLease(entry);
            return current == mine ? null : current;
        });
        mine.done.complete(null);
        return new CacheLease<>(entry);
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

    /** Entries that have started counting their leases on cells (see {@link CacheEntry}); for tests. */
    long entriesGivenCells() {
        return entriesGivenCells.sum();
    }

    /** A lease on {@code entry} closed (see {@link CacheLease#close()}). */
    void release(CacheEntry<K, V> entry) {
        if (tracksIdleTime) {
            entry.lastReleasedAt = ticker.read();
        }
        long left = entry.endLease();
        // The common case: still current and still holding its ticket, so going idle needs nothing.
        // Both marks are read after the count's update; see the class comment for why that is enough. Leases
        // counted on cells are summed only when a mark says the last close has work to do.
        if (left > 0 || !entry.removed && entry.ticket != null
                && (maximumAgeNanos == Long.MAX_VALUE || ticker.read() - entry.createdAt < maximumAgeNanos)
                || left == CacheEntry.NOT_COUNTED && entry.leases() > 0) {
            return;
        }
        releaseSlowly(entry);
    }

    /** The last lease closed on an entry that is removed, aged, or without a ticket. */
    private void releaseSlowly(CacheEntry<K, V> entry) {
        boolean[] close = {false};
        if (entry.removed) {
            close[0] = entry.claim(hits);
        } else {
            slots.compute(entry.key, (k, current) -> {
                if (current != entry || entry.removed) {
                    close[0] = entry.claim(hits); // removed meanwhile: whoever claims it closes it
                    return current;
                }
                if (entry.leases() != 0) {
                    return current; // leased again: that lease's close decides
                }
                boolean aged = ticker.read() - entry.createdAt >= maximumAgeNanos;
                if (aged || closed) {
                    if (!entry.claim(hits)) {
                        return current;
                    }
                    if (aged) {
                        expired.increment();
                    }
                    entry.removed = true;
                    idle.remove(k, entry);
                    close[0] = true;
                    return null;
                }
                if (entry.ticket == null) {
                    idle.put(k, entry, idleNanos);
                }
                return current;
            });
        }
        if (close[0]) {
            closing.close(entry);
        }
    }

    /** Caffeine evicted or expired {@code ticket}; runs on the maintenance thread. */
    private void onEvicted(K key, IdleTickets.Ticket<K, V> ticket, RemovalCause cause) {
        CacheEntry<K, V> entry = ticket.entry;
        boolean[] claimed = {false};
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
                    if (entry.leases() == 0) {
                        idle.put(k, entry, idleLeft);
                    }
                    return current; // leased: its last release puts a ticket back
                }
            }
            if (!entry.claim(hits)) {
                return current; // leased: without a ticket until its last release
            }
            entry.removed = true;
            claimed[0] = true;
            return null;
        });
        if (claimed[0]) {
            (cause == RemovalCause.SIZE ? evictedBySize : expired).increment();
            closing.close(entry);
        }
    }

    @Override
    public CompletableFuture<Void> invalidate(K key) {
        if (key == null) {
            throw new NullPointerException("key");
        }
        List<CompletableFuture<Void>> valueClosed = new ArrayList<>(1);
        CacheEntry<?, ?>[] toClose = {null};
        slots.computeIfPresent(key, (k, current) -> {
            invalidated.increment();
            if (current instanceof Loading loading) {
                loading.invalidated = true;
                valueClosed.add(loading.valueClosed);
                return current; // keeps the creation single-flight; it drops its value when done
            }
            @SuppressWarnings("unchecked")
            CacheEntry<K, V> entry = (CacheEntry<K, V>) current;
            valueClosed.add(entry.valueClosed);
            toClose[0] = remove(k, entry);
            return null;
        });
        if (toClose[0] != null) {
            @SuppressWarnings("unchecked")
            CacheEntry<K, V> entry = (CacheEntry<K, V>) toClose[0];
            closing.close(entry);
        }
        // A view for the caller: completing it must not complete the cache's own future.
        return valueClosed.isEmpty() ? CompletableFuture.completedFuture(null)
                : valueClosed.get(0).thenApply(ignored -> null);
    }

    /**
     * Marks {@code entry} removed and takes its ticket; call inside slots.compute(key), which then unmaps it.
     * Returns the entry if it was claimed here (the caller closes it), null if a lease is open (the last one
     * closes it).
     */
    private CacheEntry<K, V> remove(K key, CacheEntry<K, V> entry) {
        entry.removed = true;
        idle.remove(key, entry);
        closing.awaitLastLease(entry); // before the claim: the last lease may close right after it fails
        return entry.claim(hits) ? entry : null;
    }

    @Override
    public String name() {
        return name;
    }

    @Override
    public WorkflowCacheStats stats() {
        long hitCount = hits.sum() + closing.unfoldedHitsOfRemovedEntries();
        long leased = closing.leasesOfRemovedEntries();
        for (Slot slot : slots.values()) {
            if (slot instanceof CacheEntry<?, ?> entry) {
                hitCount += entry.unfoldedHits();
                leased += entry.leases();
            }
        }
        return new WorkflowCacheStats(hitCount, misses.sum(), creations.sum(),
                Duration.ofNanos(creationNanos.sum()), creationFailures.sum(), evictedBySize.sum(),
                expired.sum(), invalidated.sum(), closing.closes.sum(), closing.closeFailures.sum(), leased,
                idle.idleCount());
    }

    @Override
    public void close() {
        if (!CLOSED.compareAndSet(this, false, true)) {
            return;
        }
        List<CacheEntry<K, V>> toClose = new ArrayList<>();
        for (K key : slots.keySet()) {
            slots.computeIfPresent(key, (k, current) -> {
                if (current instanceof Loading) {
                    return current; // the creator sees the closed flag and drops its value
                }
                @SuppressWarnings("unchecked")
                CacheEntry<K, V> entry = remove(k, (CacheEntry<K, V>) current);
                if (entry != null) {
                    toClose.add(entry);
                }
                return null;
            });
        }
        toClose.forEach(closing::close);
        long deadline = System.nanoTime() + closeTimeout.toNanos();
        long stillOpen = closing.shutdown(closeTimeout, name);
        if (stillOpen > 0) {
            log.warn("workflow cache closed with {} lease(s) still open after {}; their values are closed "
                    + "when they are released", stillOpen, closeTimeout);
        }
        idle.close(Duration.ofNanos(deadline - System.nanoTime()), name);
    }

    /**
     * Runs Caffeine's pending maintenance (expiry, eviction) now and waits until the removals and closes it
     * caused are done; tests call it after moving the ticker, so that "not closed" is a real observation.
     */
    void cleanUp() throws InterruptedException, ExecutionException {
        idle.cleanUp();
        closing.awaitQueuedCloses(); // closes queued by those removals
    }

    /** Tasks handed to the cache's own threads so far (tests: a hit must hand over none). */
    long backgroundTasks() {
        return idle.backgroundTasks() + closing.backgroundTasks();
    }

    String threadNamePrefix() {
        return threadNamePrefix;
    }

    /** Names a key in logs and messages without writing it whole (keys are often session ids). */
    static String describe(Object key) {
        String s = String.valueOf(key);
        return s.length() <= 8 ? "key '" + s + "'" : "key '" + SessionIds.redact(s) + "' (" + s.length() + " chars)";
    }
}
