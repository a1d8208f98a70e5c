package dev.usher.gate.ratelimit;

import com.github.benmanes.caffeine.cache.Ticker;
import io.github.bucket4j.Bandwidth;
import io.github.bucket4j.Bucket;
import io.github.bucket4j.BucketConfiguration;
import io.github.bucket4j.ConsumptionProbe;
import io.github.bucket4j.TimeMeter;
import io.github.bucket4j.VerboseResult;
import io.github.bucket4j.local.LocalBucket;
import io.github.bucket4j.local.LocalBucketBuilder;
import java.util.Iterator;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.ReentrantLock;

/**
 * Bucket4j lock-free local buckets in a {@link ConcurrentHashMap}, bounded by {@code maximumKeys}.
 *
 * <p><b>The decision</b> is one lock-free map lookup and the bucket's own compare-and-set; a key seen for
 * the first time also takes the map's bin lock once to insert its bucket. Nothing else happens on a hit:
 * no expiry bookkeeping, no access order beyond an int written only when it changes.
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
 * <p>Rejected: a Caffeine cache with a per-key expiry of "until full" (this class's predecessor): every
 * decision was an {@code asMap().compute} plus expiry and access-order updates, 7 to 20 times the raw
 * bucket's cost.
 */
final class LocalBuckets {
    static final long FULL_SWEEP_SECONDS = 10;
    private static final long FULL_SWEEP_NANOS = TimeUnit.SECONDS.toNanos(FULL_SWEEP_SECONDS);

    private final BucketConfiguration configuration;
    private final TimeMeter timeMeter;
    private final Ticker ticker;
    private final long maximumKeys;
    /** What a sweep for room brings the count down to. */
    private final long sweepTarget;
    private final ConcurrentHashMap<String, Holder> buckets = new ConcurrentHashMap<>();
    private final ReentrantLock sweeping = new ReentrantLock();
    /** Incremented by every sweep; a holder carries the epoch of its last use. */
    private volatile int epoch;
    private volatile long lastSweepNanos;

    LocalBuckets(BucketConfiguration configuration, long maximumKeys, Ticker ticker) {
        this.configuration = configuration;
        this.ticker = ticker;
        this.maximumKeys = maximumKeys;
        this.sweepTarget = maximumKeys - Math.max(1, maximumKeys / 4);
        this.timeMeter = new TimeMeter() {
            @Override
            public long currentTimeNanos() {
                return ticker.read();
            }

            @Override
            public boolean isWallClockBased() {
                return false;
            }
        };
        this.lastSweepNanos = ticker.read();
    }

    /** Takes {@code tokens}, with the state of every limit (diagnostics). */
    VerboseResult<ConsumptionProbe> tryConsume(String key, long tokens) {
        return consume(key, tokens, (bucket, n) -> bucket.asVerbose().tryConsumeAndReturnRemaining(n));
    }

    /** Takes {@code tokens}; enough when there is one limit, and cheaper (no diagnostics). */
    ConsumptionProbe tryConsumeSingleLimit(String key, long tokens) {
        return consume(key, tokens, LocalBucket::tryConsumeAndReturnRemaining);
    }

    /** One consumption on a bucket (a CAS loop inside Bucket4j). */
    private interface Consumption<R> {
        R apply(LocalBucket bucket, long tokens);
    }

    private <R> R consume(String key, long tokens, Consumption<R> consumption) {
        while (true) {
            Holder holder = buckets.get(key);
            if (holder == null) {
                holder = insert(key);
            }
            R result = consumption.apply(holder.bucket, tokens);
            if (!holder.retired) {
                int e = epoch;
                if (holder.epoch != e) {
                    holder.epoch = e;
                }
                return result;
            }
            // A sweep is deciding about this bucket: its verdict is final once we hold the bin lock.
            Holder settled = holder;
            boolean[] kept = {false};
            buckets.computeIfPresent(key, (k, current) -> {
                kept[0] = current == settled;
                return current;
            });
            if (kept[0]) {
                return result;
            }
        }
    }

    private Holder insert(String key) {
        long now = ticker.read();
        if (buckets.size() >= maximumKeys || now - lastSweepNanos >= FULL_SWEEP_NANOS) {
            sweep(false);
        }
        return buckets.computeIfAbsent(key, k -> new Holder(newBucket(), epoch));
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
            lastSweepNanos = ticker.read();
            int previous = epoch;
            epoch = previous + 1;
            for (String key : buckets.keySet()) {
                buckets.computeIfPresent(key, (k, h) -> removeIfFull(h) ? null : h);
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

    private void evictDownToTarget(java.util.function.Predicate<Holder> candidate) {
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
    private static boolean removeIfFull(Holder h) {
        h.retired = true;
        if (h.bucket.asVerbose().getAvailableTokens().getDiagnostics().calculateFullRefillingTime() <= 0) {
            return true;
        }
        h.retired = false;
        return false;
    }

    private LocalBucket newBucket() {
        LocalBucketBuilder builder = Bucket.builder().withCustomTimePrecision(timeMeter);
        for (Bandwidth bandwidth : configuration.getBandwidths()) {
            builder.addLimit(bandwidth);
        }
        return builder.build();
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

    private static final class Holder {
        final LocalBucket bucket;
        /** Set by a sweep deciding about this bucket; stays set once it is removed. */
        volatile boolean retired;
        /** The sweep epoch of the last decision; a plain int, a stale read only makes eviction less exact. */
        int epoch;

        Holder(LocalBucket bucket, int epoch) {
            this.bucket = bucket;
            this.epoch = epoch;
        }
    }
}
