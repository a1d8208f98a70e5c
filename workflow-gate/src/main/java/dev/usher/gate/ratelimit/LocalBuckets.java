package dev.usher.gate.ratelimit;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.time.Duration;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.LongAdder;
import java.util.concurrent.locks.ReentrantLock;
import java.util.function.LongSupplier;
import java.util.function.Predicate;

/**
 * Local token buckets, one per key in a {@link ConcurrentHashMap}, bounded by {@code maximumKeys}, and the
 * decisions made on them.
 *
 * <p><b>The decision</b> is one lock-free map lookup, one read of the ticker and one compare-and-set of the
 * key's state: a {@code long[]} of three longs per limit (when the limit was last refilled, its whole
 * tokens, and the part of a token refilled beyond them) and a count of the key's allowed decisions, never
 * changed once published. A decision refills a copy to now, takes the tokens from it, counts itself and
 * swaps it in; a denial changes nothing and swaps nothing (denials are counted in a {@link LongAdder}).
 * Counting an allowed decision in the state it swaps in costs nothing more; a shared counter would be a
 * second atomic write per decision. {@link #allowed()} adds up the keys held and those removed. The
 * arithmetic is Bucket4j's greedy refill for a 64-bit integer bucket state, decision for decision (the
 * carried fraction, the refill of whole windows first, the same fall-back to floating point where a product
 * would overflow, the same retry-after and time-until-full), so that a local bucket and a Bucket4j bucket of
 * a shared store decide alike; {@code LocalBucketsArithmeticTest} holds it to a real Bucket4j bucket. Held
 * directly as an array, a state costs one small allocation per decision and an idle key its map node, its
 * holder and its array (under half a raw Bucket4j bucket), where Bucket4j's own state wraps the same array
 * in an object that each decision copies too. A key seen for the first time also takes the map's bin lock
 * once to insert its bucket. Nothing else happens on a hit: no expiry bookkeeping, no access order beyond
 * an int written only when it changes.
 *
 * <p><b>Removal happens off the decision</b>, in a sweep run by one caller at a time (a
 * {@link ReentrantLock#tryLock} that nobody waits for) when a new key finds the map at its bound, or when a
 * new key arrives {@value #FULL_SWEEP_SECONDS} s or more after the last sweep. A sweep drops every bucket
 * that is full again (a fresh bucket is a full one, so that changes nothing), then, if still above 3/4
 * of the bound, buckets not used since the previous sweep, then any. So an idle key costs memory until
 * the next sweep; the bound holds all along (give or take the keys being inserted during a sweep).
 *
 * <p><b>Why no decision is lost to a sweep, nor counted twice.</b> The sweep removes a bucket inside the
 * key's {@code compute} (its bin lock), after marking the holder's volatile {@code retired} and only then
 * reading the bucket's state, the state it judges the bucket by and whose count it moves to the removed
 * keys' sum; a decision changes the bucket's state (a volatile compare-and-set) and only then reads
 * {@code retired}. One of the two sees the other's write: either the sweep's state holds the decision
 * (its tokens, its count: the bucket stays unless it was full again all the same, and the decision stands
 * either way), or the decision sees {@code retired} and waits on the same bin lock for the sweep's
 * verdict: if its bucket was removed and the judged state does not hold it, nobody saw it, and it is made
 * again on the key's new bucket. {@link #allowed()} waits for a sweep under way, so it never sees a count
 * both in a held bucket and among the removed, nor in neither: it only grows.
 *
 * <p>Rejected: a Caffeine cache with a per-key expiry of "until full": every decision was an
 * {@code asMap().compute} plus expiry and access-order updates, 7 to 20 times the raw bucket's cost;
 * Bucket4j {@code LocalBucket}s in the map: a quarter more heap per idle key than the raw bucket it wraps,
 * and a consumption probe to allocate and translate on every decision; Bucket4j's {@code BucketState} in
 * the holder: a copy of an object and its array per decision, and calls through its general loops (interval
 * refill, per-bandwidth configuration) that a limiter of greedy limits never needs; a per-key spin lock
 * over mutable fields: no allocation, but a preempted holder of the lock stalls every caller of its key.
 */
final class LocalBuckets {
    static final long FULL_SWEEP_SECONDS = 10;
    private static final long FULL_SWEEP_NANOS = TimeUnit.SECONDS.toNanos(FULL_SWEEP_SECONDS);

    /** The longs of one limit in a state: refilled-at (nanos), whole tokens, fraction (token·nanos). */
    private static final int WIDTH = 3;
    private static final int REFILLED_AT = 0;
    private static final int TOKENS = 1;
    private static final int FRACTION = 2;
    /** Marks a holder while a sweep decides about it, before the sweep reads its state. */
    private static final long[] RETIRING = new long[0];
    /** The most allowed decisions kept for reuse per limiter (a power of two). */
    static final int CACHED_DECISIONS = 128;

    private final List<Limit> limits;
    /** The only limit, or null when there are several. */
    private final Limit single;
    /** Per limit: the quota, which is both the capacity and the tokens refilled per window. */
    private final long[] quota;
    /** Per limit: the window in nanoseconds, the time the quota takes to refill. */
    private final long[] windowNanos;
    /**
     * With a single limit of at most {@value #CACHED_DECISIONS} tokens (null otherwise), an allowed decision
     * is a value of the tokens left alone (the reset follows from them), and there are only quota + 1 of
     * them: each is made once, kept at its count and handed out again instead of four new objects (the
     * decision, its limit state, its list and its reset) per call. Small quotas (20 a minute) are the common
     * case for per-user limits; a larger quota has too many counts to keep, so it allocates.
     */
    private final Decision[] allowedByTokensLeft;
    /** The only limit's window in nanoseconds, as the {@link #reset} of an allowed decision multiplies it. */
    private final double singleWindowNanos;
    private final boolean degraded;
    private final LongSupplier ticker;
    private final long maximumKeys;
    /** What a sweep for room brings the count down to. */
    private final long sweepTarget;
    private final ConcurrentHashMap<String, Holder> buckets = new ConcurrentHashMap<>();
    /** The index, after the limits, of a state's count of allowed decisions on its key. */
    private final int countAt;
    private final ReentrantLock sweeping = new ReentrantLock();
    /** Allowed decisions counted in the states of buckets removed since. */
    private final LongAdder allowedInRemoved = new LongAdder();
    private final LongAdder denied = new LongAdder();
    /** Incremented by every sweep; a holder carries the epoch of its last use. */
    private volatile int epoch;
    private volatile long lastSweepNanos;

    /** Buckets for {@code limits}; their decisions are marked {@code degraded} when these are the fallback of a shared store. */
    LocalBuckets(List<Limit> limits, boolean degraded, long maximumKeys, LongSupplier ticker) {
        this.limits = List.copyOf(limits);
        this.single = limits.size() == 1 ? limits.get(0) : null;
        this.quota = new long[limits.size()];
        this.windowNanos = new long[limits.size()];
        for (int i = 0; i < limits.size(); i++) {
            quota[i] = limits.get(i).quota();
            windowNanos[i] = limits.get(i).window().toNanos();
        }
        this.countAt = limits.size() * WIDTH;
        this.singleWindowNanos = windowNanos[0];
        // Room for every count from 0 to the quota.
        this.allowedByTokensLeft = single == null || quota[0] > CACHED_DECISIONS ? null
                : new Decision[(int) quota[0] + 1];
        this.degraded = degraded;
        this.ticker = ticker;
        this.maximumKeys = maximumKeys;
        this.sweepTarget = maximumKeys - Math.max(1, maximumKeys / 4);
        this.lastSweepNanos = ticker.getAsLong();
    }

    /** Takes {@code tokens} for {@code key} if every limit has that many. */
    Decision tryAcquire(String key, long tokens) {
        while (true) {
            Holder holder = buckets.get(key);
            if (holder == null) {
                holder = insert(key);
            }
            long now = ticker.getAsLong();
            long[] before = holder.state;
            long[] after = before.clone();
            boolean consumed;
            while (true) {
                refill(after, now);
                if (available(after) < tokens) {
                    consumed = false; // a denial changes nothing, so there is nothing to swap in
                    break;
                }
                consume(after, tokens);
                after[countAt]++;
                if (Holder.STATE.compareAndSet(holder, before, after)) {
                    consumed = true;
                    break;
                }
                before = holder.state;
                System.arraycopy(before, 0, after, 0, after.length);
            }
            if (holder.retired == null || settled(key, holder, consumed ? after : null)) {
                int e = epoch;
                if (holder.epoch != e) {
                    holder.epoch = e;
                }
                if (consumed) {
                    return allowedDecision(after);
                }
                denied.increment();
                return deniedDecision(after, tokens);
            }
        }
    }

    /**
     * Whether a decision on {@code holder}, which a sweep is deciding about, stands: the holder was kept, or
     * the state the sweep judged (and counted) already held the tokens taken as {@code swapped} (null for a
     * denial, which took nothing). Otherwise the decision landed on a removed bucket after the sweep's read:
     * nobody saw it, and it is made again on the key's new bucket.
     */
    private boolean settled(String key, Holder holder, long[] swapped) {
        // The sweep's verdict is final once we hold the bin lock.
        boolean[] kept = {false};
        buckets.computeIfPresent(key, (k, current) -> {
            kept[0] = current == holder;
            return current;
        });
        if (kept[0]) {
            return true;
        }
        long[] judged = holder.retired;
        return swapped != null && judged.length > countAt && judged[countAt] >= swapped[countAt];
    }

    private Decision allowedDecision(long[] state) {
        Decision[] cache = allowedByTokensLeft;
        if (cache != null) {
            // Tokens were taken, so the bucket is short of its quota, and never below zero.
            long available = state[TOKENS];
            int slot = (int) available;
            Decision cached = cache[slot];
            if (cached != null) {
                return cached;
            }
            double missingShare = (double) (quota[0] - available) / quota[0];
            Duration reset = Duration.ofNanos((long) Math.ceil(missingShare * singleWindowNanos));
            Decision decision = new Decision(true, available, Duration.ZERO, reset,
                    List.of(new Decision.LimitState(single, available, reset)), degraded);
            // A racy write is fine: a decision is immutable (final fields all the way down) and the slot only
            // ever holds this count's, so a reader sees it whole, or null and makes its own.
            cache[slot] = decision;
            return decision;
        }
        return decision(true, state, Duration.ZERO);
    }

    private Decision deniedDecision(long[] state, long tokens) {
        return decision(false, state, Duration.ofNanos(nanosUntilAvailable(state, tokens)));
    }

    private Decision decision(boolean consumed, long[] state, Duration retryAfter) {
        Decision.LimitState[] states = new Decision.LimitState[limits.size()];
        for (int i = 0; i < states.length; i++) {
            Limit limit = limits.get(i);
            long available = available(limit, state[i * WIDTH + TOKENS]);
            states[i] = new Decision.LimitState(limit, available, reset(limit, available));
        }
        Duration untilFull = single != null ? states[0].reset() : Duration.ofNanos(nanosUntilFull(state));
        return new Decision(consumed, Math.max(0, available(state)), retryAfter, untilFull, List.of(states), degraded);
    }

    private static long available(Limit limit, long tokens) {
        return Math.max(0, Math.min(limit.quota(), tokens));
    }

    /** Greedy refill: the missing tokens come back at quota per window (as {@link #allowedDecision} does inline). */
    static Duration reset(Limit limit, long available) {
        if (available >= limit.quota()) {
            return Duration.ZERO;
        }
        double missingShare = (double) (limit.quota() - available) / limit.quota();
        return Duration.ofNanos((long) Math.ceil(missingShare * limit.window().toNanos()));
    }

    // ---- The bucket arithmetic: Bucket4j's greedy refill on a 64-bit integer state, limit by limit. ----

    /** A full bucket as of {@code now}. */
    private long[] initialState(long now) {
        long[] state = new long[quota.length * WIDTH + 1];
        for (int i = 0; i < quota.length; i++) {
            state[i * WIDTH + REFILLED_AT] = now;
            state[i * WIDTH + TOKENS] = quota[i];
        }
        return state;
    }

    /** Refills every limit of {@code state} (a private copy) to {@code now}. */
    private void refill(long[] state, long now) {
        for (int i = 0; i < quota.length; i++) {
            refill(state, i * WIDTH, quota[i], windowNanos[i], now);
        }
    }

    /**
     * The tokens that came back since the limit's last refill: whole windows first, then the rest of the time
     * times the quota, in token·nanos, plus the fraction carried from before; whole tokens out, the remainder
     * (below one window's nanos) carried on. A clock that has not moved (or moved back, as two callers' reads
     * can) refills nothing. Where a product would overflow, the tokens are computed in floating point and the
     * fraction dropped; where the count would pass the quota (or overflow), the bucket is full.
     */
    private static void refill(long[] state, int at, long quota, long window, long now) {
        long refilledAt = state[at + REFILLED_AT];
        if (now <= refilledAt) {
            return;
        }
        state[at + REFILLED_AT] = now;
        long tokens = state[at + TOKENS];
        if (tokens >= quota) {
            return;
        }
        long elapsed = now - refilledAt;
        long refilled = tokens;
        if (elapsed > window) {
            refilled += elapsed / window * quota;
            if (refilled > quota || refilled < tokens) {
                fill(state, at, quota);
                return;
            }
            elapsed %= window;
        }
        long product = productOrMax(quota, elapsed);
        long fraction = product + state[at + FRACTION];
        if (fraction < 0 || product == Long.MAX_VALUE) {
            refilled += (long) ((double) elapsed / (double) window * (double) quota);
            fraction = 0;
        } else if (fraction >= window) {
            // Tested first: a key used more often than one token's refill time needs no (slow) division.
            long whole = fraction / window;
            refilled += whole;
            fraction -= whole * window;
        }
        if (refilled >= quota || refilled < tokens) {
            fill(state, at, quota);
            return;
        }
        state[at + TOKENS] = refilled;
        state[at + FRACTION] = fraction;
    }

    private static void fill(long[] state, int at, long quota) {
        state[at + TOKENS] = quota;
        state[at + FRACTION] = 0;
    }

    /** The tokens of the tightest limit. */
    private long available(long[] state) {
        long available = state[TOKENS];
        for (int at = WIDTH; at < countAt; at += WIDTH) {
            available = Math.min(available, state[at + TOKENS]);
        }
        return available;
    }

    private void consume(long[] state, long tokens) {
        for (int at = 0; at < countAt; at += WIDTH) {
            state[at + TOKENS] -= tokens;
        }
    }

    /** How long until every limit holds {@code tokens}, as of the state's refill. */
    private long nanosUntilAvailable(long[] state, long tokens) {
        long nanos = 0;
        for (int i = 0; i < quota.length; i++) {
            long delay;
            long current = state[i * WIDTH + TOKENS];
            if (tokens > quota[i]) {
                delay = Long.MAX_VALUE;
            } else if (tokens <= current) {
                delay = 0;
            } else {
                delay = nanosToRefill(state, i, tokens - current);
            }
            nanos = Math.max(nanos, delay);
        }
        return nanos;
    }

    /** How long until every limit is full, as of the state's refill. */
    private long nanosUntilFull(long[] state) {
        long nanos = 0;
        for (int i = 0; i < quota.length; i++) {
            long current = state[i * WIDTH + TOKENS];
            nanos = Math.max(nanos, current >= quota[i] ? 0 : nanosToRefill(state, i, quota[i] - current));
        }
        return nanos;
    }

    /** The nanos for limit {@code i} to refill {@code deficit} tokens (at least 1), less the fraction it holds. */
    private long nanosToRefill(long[] state, int i, long deficit) {
        if (deficit <= 0) {
            return Long.MAX_VALUE; // the deficit overflowed
        }
        long product = productOrMax(windowNanos[i], deficit);
        if (product == Long.MAX_VALUE) {
            return (long) ((double) deficit / (double) quota[i] * (double) windowNanos[i]);
        }
        return (product - state[i * WIDTH + FRACTION]) / quota[i];
    }

    /** {@code a * b} for non-negative operands, or {@link Long#MAX_VALUE} if it does not fit (or is that). */
    private static long productOrMax(long a, long b) {
        long low = a * b;
        return Math.multiplyHigh(a, b) == 0 && low >= 0 ? low : Long.MAX_VALUE;
    }

    /** Whether every limit is full once refilled to {@code now}. */
    private boolean fullAt(long[] published, long now) {
        long[] state = published.clone();
        refill(state, now);
        for (int i = 0; i < quota.length; i++) {
            if (state[i * WIDTH + TOKENS] < quota[i]) {
                return false;
            }
        }
        return true;
    }

    // ---- Keys: insertion, sweeps. ----

    private Holder insert(String key) {
        long now = ticker.getAsLong();
        if (buckets.size() >= maximumKeys || now - lastSweepNanos >= FULL_SWEEP_NANOS) {
            sweep(false);
        }
        return buckets.computeIfAbsent(key, k -> new Holder(initialState(now), epoch));
    }

    /**
     * Drops full buckets, then makes room down to 3/4 of the bound if the bound is reached. Skipped if
     * another thread is sweeping, unless {@code wait}.
     */
    private void sweep(boolean wait) {
        if (wait) {
            sweeping.lock();
        } else if (!sweeping.tryLock()) {
            return;
        }
        try {
            long now = ticker.getAsLong();
            lastSweepNanos = now;
            int previous = epoch;
            epoch = previous + 1;
            for (String key : buckets.keySet()) {
                buckets.computeIfPresent(key, (k, h) -> removeIfFull(h, now) ? null : h);
            }
            if (buckets.size() >= maximumKeys) {
                // Not used since the previous sweep first, then any.
                evictDownToTarget(h -> h.epoch != previous && h.epoch != previous + 1);
                evictDownToTarget(h -> true);
            }
        } finally {
            sweeping.unlock();
        }
    }

    private void evictDownToTarget(Predicate<Holder> candidate) {
        Iterator<Map.Entry<String, Holder>> it = buckets.entrySet().iterator();
        while (buckets.size() > sweepTarget && it.hasNext()) {
            Map.Entry<String, Holder> e = it.next();
            if (candidate.test(e.getValue())) {
                buckets.computeIfPresent(e.getKey(), (k, h) -> {
                    if (h != e.getValue()) {
                        return h;
                    }
                    h.retired = RETIRING;
                    retire(h, h.state);
                    return null;
                });
            }
        }
    }

    /** Called inside the key's compute; see the class comment for the order of the two reads. */
    private boolean removeIfFull(Holder h, long now) {
        h.retired = RETIRING;
        long[] state = h.state;
        if (fullAt(state, now)) {
            retire(h, state);
            return true;
        }
        h.retired = null;
        return false;
    }

    /** Removes {@code h} as of {@code judged}, its state read after it was marked: its count moves to the removed. */
    private void retire(Holder h, long[] judged) {
        allowedInRemoved.add(judged[countAt]);
        h.retired = judged;
    }

    long size() {
        return buckets.size();
    }

    /**
     * The allowed decisions so far: those counted in the buckets held plus those of the buckets removed. Waits
     * for a sweep under way, so that no count is seen both in a bucket and among the removed, nor in neither.
     */
    long allowed() {
        sweeping.lock();
        try {
            long sum = allowedInRemoved.sum();
            for (Holder h : buckets.values()) {
                sum += h.state[countAt];
            }
            return sum;
        } finally {
            sweeping.unlock();
        }
    }

    long denied() {
        return denied.sum();
    }

    /** Runs a sweep now, as a new key would (tests). */
    void cleanUp() {
        sweep(true);
    }

    boolean holds(String key) {
        return buckets.containsKey(key);
    }

    /** One key's bucket: its state, swapped whole by each decision that takes tokens. */
    private static final class Holder {
        static final VarHandle STATE;

        static {
            try {
                STATE = MethodHandles.lookup().findVarHandle(Holder.class, "state", long[].class);
            } catch (ReflectiveOperationException e) {
                throw new ExceptionInInitializerError(e);
            }
        }

        /**
         * Never changed once swapped in: a decision changes a copy. Its last long counts the allowed decisions
         * on this key.
         */
        volatile long[] state;
        /**
         * Null while the bucket is in use; {@link #RETIRING} while a sweep decides about it; once removed, the
         * state the sweep judged it by (and counted).
         */
        volatile long[] retired;
        /** The sweep epoch of the last decision; a plain int, a stale read only makes eviction less exact. */
        int epoch;

        Holder(long[] state, int epoch) {
            this.state = state;
            this.epoch = epoch;
        }
    }
}
