package dev.usher.gate.cache;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.atomic.LongAdder;

/**
 * One created value and its reference count: the whole of a cache hit's shared state.
 *
 * <p><b>One word, one atomic operation.</b> {@code word} packs the open leases (bits 0–29), the
 * {@link #CLAIMING} bit (30: a claim is counting the leases), the {@link #CLAIMED} bit (31: the value is claimed
 * for closing, no lease can start any more) and the number of hits on this entry (bits 32–63), so that a hit
 * is one compare-and-set that both takes a lease and counts itself, and closing a lease is one decrement. The
 * hits move to the cache's {@code foldedHits} when the entry is claimed (they are final then: no lease starts
 * after that) and, for a long-lived entry, each time 2³¹ of them have piled up (bit 63 set), so the count
 * never wraps.
 *
 * <p><b>Cells, once two threads collide.</b> Two threads that lease the same entry at the same moment would
 * fight over the word's cache line on every hit and close (two requests of one session, or benchmark threads
 * that walk into each other and then move in lock step). The first compare-and-set that fails because another
 * thread changed the word gives the entry {@code cells}: a few counters on cache lines of their own, picked by
 * thread, where leases and their closes are counted from then on (their hits go to {@code foldedHits}, itself
 * striped). The open leases are the word's plus the sum of the cells; a cell alone may go negative (a lease
 * taken on the word, or on another thread's cell, and closed on this one). An entry without contention never
 * has cells.
 *
 * <p><b>Claiming with cells.</b> A claim first sets {@code CLAIMING} on the word (from no claim), then sums
 * the word's leases and the cells: zero makes it {@code CLAIMED}, anything else clears {@code CLAIMING}. A
 * lease on a cell first adds itself to the cell, then reads the word: {@code CLAIMED} takes it back (no lease),
 * {@code CLAIMING} waits the few instructions until the claim has decided. Both sides write before they read
 * (atomic operations and volatile reads, in one order for all threads), so either the claim counts the lease,
 * or the lease sees the claim. Leases on the word never see {@code CLAIMING}: they wait for it as well.
 *
 * <p>{@code removed} and {@code ticket} are written by the cache inside {@code slots.compute(key)} and read
 * anywhere; see {@link DefaultWorkflowCache} for the protocol between them and the count.
 */
final class CacheEntry<K, V> implements Slot {
    static final long LEASE = 1;
    static final long LEASES = (1L << 30) - 1;
    static final long CLAIMING = 1L << 30;
    static final long CLAIMED = 1L << 31;
    static final long HIT = 1L << 32;
    /** What {@link #endLease()} returns when the count is spread over cells and was not summed. */
    static final long NOT_COUNTED = -1;
    /** Longs between two cells: 128 bytes, so neither a cache line nor its prefetched neighbour is shared. */
    private static final int CELL_STRIDE = 16;
    /** Twice the cores, rounded up to a power of two, 8 to 64: few threads share a cell, 1 to 8 KiB per entry. */
    private static final int CELL_COUNT = Math.min(64,
            Math.max(8, Integer.highestOneBit(Math.max(1, Runtime.getRuntime().availableProcessors() * 2 - 1)) * 2));
    private static final int SPINS_BEFORE_YIELD = 64;
    private static final VarHandle WORD;
    private static final VarHandle CELLS;
    private static final VarHandle CELL = MethodHandles.arrayElementVarHandle(long[].class);

    static {
        try {
            MethodHandles.Lookup lookup = MethodHandles.lookup();
            WORD = lookup.findVarHandle(CacheEntry.class, "word", long.class);
            CELLS = lookup.findVarHandle(CacheEntry.class, "cells", long[].class);
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
    /** Null until two threads collide on {@code word}; then {@value #CELL_STRIDE} longs per cell. */
    private volatile long[] cells;
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
     * {@code foldedHits} receives 2³¹ hits whenever this call is the one that set bit 63, and the hits of
     * leases counted on cells.
     */
    boolean tryLease(boolean hit, LongAdder foldedHits) {
        long[] c = cells;
        if (c == null) {
            long delta = hit ? HIT + LEASE : LEASE;
            long w = word;
            while (true) {
                if ((w & CLAIMED) != 0) {
                    return false;
                }
                if ((w & CLAIMING) != 0) {
                    w = claimDecided();
                    continue;
                }
                if (WORD.compareAndSet(this, w, w + delta)) {
                    if (w >= 0 && w + delta < 0) {
                        foldedHits.add(1L << 31);
                        WORD.getAndAdd(this, Long.MIN_VALUE); // clears bit 63: adding 2^63 carries out of the word
                    }
                    return true;
                }
                long now = word;
                if ((now & (CLAIMED | CLAIMING)) == 0) {
                    c = withCells(); // another thread leased or closed at the same moment: spread out
                    break;
                }
                w = now;
            }
        }
        int cell = cellOfThisThread();
        CELL.getAndAdd(c, cell, LEASE);
        long w = word;
        if ((w & CLAIMING) != 0) {
            w = claimDecided();
        }
        if ((w & CLAIMED) != 0) {
            CELL.getAndAdd(c, cell, -LEASE);
            return false;
        }
        if (hit) {
            foldedHits.increment();
        }
        return true;
    }

    /**
     * One lease fewer; returns the leases left, or {@link #NOT_COUNTED} when they are spread over cells (the
     * caller sums them with {@link #leases()} only if it needs to know).
     */
    long endLease() {
        long[] c = cells;
        if (c == null) {
            return ((long) WORD.getAndAdd(this, -LEASE) - LEASE) & LEASES;
        }
        CELL.getAndAdd(c, cellOfThisThread(), -LEASE);
        return NOT_COUNTED;
    }

    /**
     * Claims the value for closing if nobody holds a lease: true for exactly one caller, ever. The winner's
     * hits move to {@code foldedHits}, as nothing can add to them any more.
     */
    boolean claim(LongAdder foldedHits) {
        long w = word;
        while (true) {
            if ((w & CLAIMED) != 0 || (w & LEASES) != 0 && cells == null) {
                return false;
            }
            if ((w & CLAIMING) != 0) {
                w = claimDecided();
            } else if (WORD.compareAndSet(this, w, w | CLAIMING)) {
                break;
            } else {
                w = word;
            }
        }
        // The word is ours to decide: count the leases (cells are read after CLAIMING was set).
        if ((w & LEASES) + cellSum() != 0) {
            WORD.getAndAdd(this, -CLAIMING);
            return false;
        }
        long before = (long) WORD.getAndAdd(this, CLAIMED - CLAIMING);
        foldedHits.add(before >>> 32);
        return true;
    }

    /** Open leases right now. */
    long leases() {
        return (word & LEASES) + cellSum();
    }

    /** Hits not yet moved to the cache's folded count (0 once claimed). */
    long unfoldedHits() {
        long w = word;
        return (w & CLAIMED) != 0 ? 0 : w >>> 32;
    }

    private long cellSum() {
        long[] c = cells;
        long sum = 0;
        if (c != null) {
            for (int i = CELL_STRIDE; i < c.length - CELL_STRIDE; i += CELL_STRIDE) {
                sum += (long) CELL.getVolatile(c, i);
            }
        }
        return sum;
    }

    /** Waits while another thread's claim counts the leases (a few reads); returns the word after it. */
    private long claimDecided() {
        long w = word;
        for (int spins = 0; (w & CLAIMING) != 0; spins++) {
            if (spins < SPINS_BEFORE_YIELD) {
                Thread.onSpinWait();
            } else {
                Thread.yield(); // the claiming thread was preempted
            }
            w = word;
        }
        return w;
    }

    private long[] withCells() {
        // One stride of padding at each end: the array's header (read on every access) and whatever the heap
        // puts after the array stay off the lines the first and last cells are written on.
        long[] made = new long[(CELL_COUNT + 2) * CELL_STRIDE];
        long[] had = (long[]) CELLS.compareAndExchange(this, null, made);
        if (had != null) {
            return had;
        }
        cache.entriesGivenCells.increment();
        return made;
    }

    /** The cell of the calling thread: its id, spread by a multiplicative hash (ids are sequential). */
    private static int cellOfThisThread() {
        long id = Thread.currentThread().getId();
        int h = (int) (id * 0x9E3779B97F4A7C15L >>> 32);
        return ((h & (CELL_COUNT - 1)) + 1) * CELL_STRIDE;
    }
}
