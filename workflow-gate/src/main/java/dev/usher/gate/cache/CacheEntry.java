package dev.usher.gate.cache;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.atomic.LongAdder;

/**
 * One created value and its reference count: the whole of a cache hit's shared state.
 *
 * <p><b>One word, one atomic operation.</b> {@code word} packs the open leases (bits 0–30), the
 * {@link #CLAIMED} bit (bit 31: the value is claimed for closing, no lease can start any more) and the number
 * of hits on this entry (bits 32–63), so that a hit is one compare-and-set that both takes a lease and counts
 * itself, and closing a lease is one decrement. The hits move to the cache's {@code foldedHits} when the entry
 * is claimed (they are final then: no lease starts after that) and, for a long-lived entry, each time 2³¹
 * of them have piled up (bit 63 set), so the count never wraps.
 *
 * <p>{@code removed} and {@code ticket} are written by the cache inside {@code slots.compute(key)} and read
 * anywhere; see {@link DefaultWorkflowCache} for the protocol between them and the count.
 */
final class CacheEntry<K, V> implements Slot {
    static final long LEASE = 1;
    static final long LEASES = (1L << 31) - 1;
    static final long CLAIMED = 1L << 31;
    static final long HIT = 1L << 32;
    private static final VarHandle WORD;

    static {
        try {
            WORD = MethodHandles.lookup().findVarHandle(CacheEntry.class, "word", long.class);
        } catch (ReflectiveOperationException e) {
            throw new ExceptionInInitializerError(e);
        }
    }

    final DefaultWorkflowCache<K, V> cache;
    final K key;
    final V value;
    /** Ticker time of the creation (maximum age). */
    final long createdAt;
    private volatile long word;
    /** Taken out of {@code slots}, or about to be: no lease may be handed out for it any more. */
    volatile boolean removed;
    /** Non-null while the entry has a ticket among the idle ones (idle, or leased since). */
    volatile IdleTickets.Ticket<K, V> ticket;
    /** Ticker time of the last lease close; kept only under expireAfterAccess. */
    volatile long lastReleasedAt;
    /** Completes once the value is closed, whether or not its close threw. */
    final CompletableFuture<Void> valueClosed = new CompletableFuture<>();

    /** An entry born with one lease, its creator's (not a hit), not yet published. */
    CacheEntry(DefaultWorkflowCache<K, V> cache, K key, V value, long createdAt) {
        this.cache = cache;
        this.key = key;
        this.value = value;
        this.createdAt = createdAt;
        WORD.set(this, LEASE);
    }

    /**
     * One more lease unless the value is claimed for closing; a hit ({@code hit}) also counts itself.
     * {@code foldedHits} receives 2³¹ hits whenever this call is the one that set bit 63.
     */
    boolean tryLease(boolean hit, LongAdder foldedHits) {
        long delta = hit ? HIT + LEASE : LEASE;
        for (long w = word; (w & CLAIMED) == 0; w = word) {
            if (WORD.compareAndSet(this, w, w + delta)) {
                if (w >= 0 && w + delta < 0) {
                    foldedHits.add(1L << 31);
                    WORD.getAndAdd(this, Long.MIN_VALUE); // clears bit 63: adding 2^63 carries out of the word
                }
                return true;
            }
        }
        return false;
    }

    /** One lease fewer; returns the leases left. */
    long endLease() {
        return ((long) WORD.getAndAdd(this, -LEASE) - LEASE) & LEASES;
    }

    /**
     * Claims the value for closing if nobody holds a lease: true for exactly one caller, ever. The winner's
     * hits move to {@code foldedHits}, as nothing can add to them any more.
     */
    boolean claim(LongAdder foldedHits) {
        for (long w = word; (w & (LEASES | CLAIMED)) == 0; w = word) {
            if (WORD.compareAndSet(this, w, w | CLAIMED)) {
                foldedHits.add(w >>> 32);
                return true;
            }
        }
        return false;
    }

    /** Open leases right now. */
    long leases() {
        return word & LEASES;
    }

    /** Hits not yet moved to the cache's folded count (0 once claimed). */
    long unfoldedHits() {
        long w = word;
        return (w & CLAIMED) != 0 ? 0 : w >>> 32;
    }
}
