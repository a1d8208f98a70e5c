package dev.usher.gate.ratelimit;

import com.github.benmanes.caffeine.cache.Ticker;
import io.github.bucket4j.BucketConfiguration;
import io.github.bucket4j.BucketState;
import io.github.bucket4j.MathType;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.time.Duration;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.ReentrantLock;
import java.util.function.Predicate;

/**
 * Local token buckets, one per key in a {@link ConcurrentHashMap}, bounded by {@code maximumKeys}, and the
 * decisions made on them.
 *
 * <p><b>The decision</b> is one lock-free map lookup and one compare-and-set of the key's Bucket4j
 * {@link BucketState}: the same state and arithmetic as a Bucket4j {@code LockFreeBucket} (copy, refill,
 * consume, swap), held directly in a small {@link Holder} instead of behind the bucket object, its
 * {@code AtomicReference} and its five views, which an idle key would otherwise keep (an idle key here
 * costs its map node, the holder and the state, well under a raw Bucket4j bucket). A key seen for the first
 * time also takes the map's bin lock once to insert its bucket. Nothing else happens on a hit: no expiry
 * bookkeeping, no access order beyond an int written only when it changes.
 *
 * <p><b>Removal happens off the decision</b>, in a sweep run by one caller at a time (a
 * {@link ReentrantLock#tryLock} that nobody waits for) when a new key finds the map at its bound, or when a
 * new key arrives {@value #FULL_SWEEP_SECONDS} s or more after the last sweep. A sweep drops every bucket
 * that is full again (a fresh bucket is a full one, so that changes nothing), then, if still above 3/4
 * of the bound, buckets not used since the previous sweep, then any. So an idle key costs memory until
 * the next sweep; the bound holds all along (give or take the keys being inserted during a sweep).
 *
 * <p><b>Why no decision is lost to a sweep.</b> The sweep removes a bucket inside the key's
 * {@code compute} (its bin lock), after setting the holder's volatile {@code retired} flag and only then
 * reading the bucket's state; a decision changes the bucket's state (a volatile compare-and-set) and only
 * then reads {@code retired}. One of the two sees the other's write: either the sweep sees the tokens just
 * taken (the bucket is no longer full, so it stays), or the decision sees {@code retired} and waits on the
 * same bin lock for the sweep's verdict: if its bucket was removed, it takes its tokens again from the
 * key's new bucket. (A bucket found full was full at the sweep's read; tokens taken before that read had
 * been refilled already, so taking them again errs by at most those tokens, towards denying.)
 *
 * <p>Rejected: a Caffeine cache with a per-key expiry of "until full": every decision was an
 * {@code asMap().compute} plus expiry and access-order updates, 7 to 20 times the raw bucket's cost; and
 * Bucket4j {@code LocalBucket}s in the map: a quarter more heap per idle key than the raw bucket it wraps,
 * and a consumption probe to allocate and translate on every decision.
 */
final class LocalBuckets {
    static final long FULL_SWEEP_SECONDS = 10;
    private static final long FULL_SWEEP_NANOS = TimeUnit.SECONDS.toNanos(FULL_SWEEP_SECONDS);

    private final BucketConfiguration configuration;
    private final List<Limit> limits;
    /** The only limit, or null when there are several. */
    private final Limit single;
    private final boolean degraded;
    private final Ticker ticker;
    private final long maximumKeys;
    /** What a sweep for room brings the count down to. */
    private final long sweepTarget;
    private final ConcurrentHashMap<String, Holder> buckets = new ConcurrentHashMap<>();
    private final ReentrantLock sweeping = new ReentrantLock();
    /** Incremented by every sweep; a holder carries the epoch of its last use. */
    private volatile int epoch;
    private volatile long lastSweepNanos;

    /**
     * Buckets for {@code limits} (whose Bucket4j form is {@code configuration}); their decisions are marked
     * {@code degraded} when these are the fallback of a shared store.
     */
    LocalBuckets(List<Limit> limits, BucketConfiguration configuration, boolean degraded, long maximumKeys,
            Ticker ticker) {
        this.limits = limits;
        this.single = limits.size() == 1 ? limits.get(0) : null;
        this.configuration = configuration;
        this.degraded = degraded;
        this.ticker = ticker;
        this.maximumKeys = maximumKeys;
        this.sweepTarget = maximumKeys - Math.max(1, maximumKeys / 4);
        this.lastSweepNanos = ticker.read();
    }

    /** Takes {@code tokens} for {@code key} if every limit has that many. */
    Decision tryAcquire(String key, long tokens) {
        while (true) {
            Holder holder = buckets.get(key);
            if (holder == null) {
                holder = insert(key);
            }
            long now = ticker.read();
            BucketState before = holder.state;
            BucketState after = before.copy();
            boolean consumed;
            long available;
            while (true) {
                after.refillAllBandwidth(now);
                available = after.getAvailableTokens();
                if (available < tokens) {
                    consumed = false; // a denial changes nothing, so there is nothing to swap in
                    break;
                }
                after.consume(tokens);
                if (Holder.STATE.compareAndSet(holder, before, after)) {
                    consumed = true;
                    break;
                }
                before = holder.state;
                after.copyStateFrom(before);
            }
            if (!holder.retired) {
                int e = epoch;
                if (holder.epoch != e) {
                    holder.epoch = e;
                }
                return consumed ? allowedDecision(after, available - tokens, now) : deniedDecision(after, tokens, now);
            }
            // A sweep is deciding about this bucket: its verdict is final once we hold the bin lock.
            Holder settled = holder;
            boolean[] kept = {false};
            buckets.computeIfPresent(key, (k, current) -> {
                kept[0] = current == settled;
                return current;
            });
            if (kept[0]) {
                return consumed ? allowedDecision(after, available - tokens, now) : deniedDecision(after, tokens, now);
            }
        }
    }

    /** {@code remaining}: the tokens left under the tightest limit, as the consumption computed them. */
    private Decision allowedDecision(BucketState state, long remaining, long now) {
        if (single != null) {
            long available = available(single, remaining);
            Duration reset = reset(single, available);
            return new Decision(true, available, Duration.ZERO, reset,
                    List.of(new Decision.LimitState(single, available, reset)), degraded);
        }
        return decision(true, state, Duration.ZERO, now);
    }

    private Decision deniedDecision(BucketState state, long tokens, long now) {
        Duration retryAfter = Duration.ofNanos(state.calculateDelayNanosAfterWillBePossibleToConsume(tokens, now, true));
        return decision(false, state, retryAfter, now);
    }

    private Decision decision(boolean consumed, BucketState state, Duration retryAfter, long now) {
        Decision.LimitState[] states = new Decision.LimitState[limits.size()];
        for (int i = 0; i < states.length; i++) {
            Limit limit = limits.get(i);
            long available = available(limit, state.getCurrentSize(i));
            states[i] = new Decision.LimitState(limit, available, reset(limit, available));
        }
        Duration untilFull = single != null ? states[0].reset()
                : Duration.ofNanos(state.calculateFullRefillingTime(now));
        return new Decision(consumed, Math.max(0, state.getAvailableTokens()), retryAfter, untilFull,
                List.of(states), degraded);
    }

    private static long available(Limit limit, long tokens) {
        return Math.max(0, Math.min(limit.quota(), tokens));
    }

    /** Greedy refill: the missing tokens come back at quota per window. */
    static Duration reset(Limit limit, long available) {
        if (available >= limit.quota()) {
            return Duration.ZERO;
        }
        double missingShare = (double) (limit.quota() - available) / limit.quota();
        return Duration.ofNanos((long) Math.ceil(missingShare * limit.window().toNanos()));
    }

    private Holder insert(String key) {
        long now = ticker.read();
        if (buckets.size() >= maximumKeys || now - lastSweepNanos >= FULL_SWEEP_NANOS) {
            sweep(false);
        }
        return buckets.computeIfAbsent(key,
                k -> new Holder(BucketState.createInitialState(configuration, MathType.INTEGER_64_BITS, now), epoch));
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
            long now = ticker.read();
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
                    h.retired = true;
                    return null;
                });
            }
        }
    }

    /** Called inside the key's compute; see the class comment for the order of the two reads. */
    private static boolean removeIfFull(Holder h, long now) {
        h.retired = true;
        BucketState state = h.state.copy();
        state.refillAllBandwidth(now);
        if (state.calculateFullRefillingTime(now) <= 0) {
            return true;
        }
        h.retired = false;
        return false;
    }

    long size() {
        return buckets.size();
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
                STATE = MethodHandles.lookup().findVarHandle(Holder.class, "state", BucketState.class);
            } catch (ReflectiveOperationException e) {
                throw new ExceptionInInitializerError(e);
            }
        }

        /** Never changed once swapped in: a decision changes a copy. */
        volatile BucketState state;
        /** Set by a sweep deciding about this bucket; stays set once it is removed. */
        volatile boolean retired;
        /** The sweep epoch of the last decision; a plain int, a stale read only makes eviction less exact. */
        int epoch;

        Holder(BucketState state, int epoch) {
            this.state = state;
            this.epoch = epoch;
        }
    }
}
