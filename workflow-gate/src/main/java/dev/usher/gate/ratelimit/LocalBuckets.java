package dev.usher.gate.ratelimit;

import com.github.benmanes.caffeine.cache.Cache;
import com.github.benmanes.caffeine.cache.Caffeine;
import com.github.benmanes.caffeine.cache.Expiry;
import com.github.benmanes.caffeine.cache.Ticker;
import io.github.bucket4j.Bandwidth;
import io.github.bucket4j.Bucket;
import io.github.bucket4j.BucketConfiguration;
import io.github.bucket4j.ConsumptionProbe;
import io.github.bucket4j.TimeMeter;
import io.github.bucket4j.VerboseResult;
import io.github.bucket4j.local.LocalBucket;
import io.github.bucket4j.local.LocalBucketBuilder;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;

/**
 * Bucket4j local buckets in a bounded Caffeine cache.
 *
 * <p>Each consumption runs inside {@code asMap().compute(key, ...)}, so the bucket's state and its expiry
 * are updated together under that key's lock (a hash-bin lock, never global; the work inside is a few
 * arithmetic operations). The expiry of a key is the time its bucket needs to be full again: dropping it
 * then and recreating a full bucket on the next request changes nothing. Caffeine's maintenance runs on the
 * calling threads ({@code executor(Runnable::run)}): no thread to own, and eviction keeps pace with a flood.
 */
final class LocalBuckets {
    /**
     * Bucket4j tracks fractions of tokens; dropping a bucket a hair before it is truly full would round a
     * 9.9999 up to 10 on re-creation. A millisecond of margin rules that out.
     */
    private static final long EXPIRY_MARGIN_NANOS = TimeUnit.MILLISECONDS.toNanos(1);

    private final BucketConfiguration configuration;
    private final TimeMeter timeMeter;
    private final Cache<String, Holder> buckets;

    LocalBuckets(BucketConfiguration configuration, long maximumKeys, Ticker ticker) {
        this.configuration = configuration;
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
        this.buckets = Caffeine.newBuilder()
                .maximumSize(maximumKeys)
                .ticker(ticker)
                .executor(Runnable::run)
                .expireAfter(new UntilFull())
                .build();
    }

    VerboseResult<ConsumptionProbe> tryConsume(String key, long tokens) {
        // Per call, not in the holder: another thread may consume from the same bucket right after us.
        AtomicReference<VerboseResult<ConsumptionProbe>> result = new AtomicReference<>();
        buckets.asMap().compute(key, (k, current) -> {
            Holder holder = current == null ? new Holder(newBucket()) : current;
            VerboseResult<ConsumptionProbe> r = holder.bucket.asVerbose().tryConsumeAndReturnRemaining(tokens);
            holder.nanosUntilFull = r.getDiagnostics().calculateFullRefillingTime();
            result.set(r);
            return holder;
        });
        return result.get();
    }

    private LocalBucket newBucket() {
        LocalBucketBuilder builder = Bucket.builder().withCustomTimePrecision(timeMeter);
        for (Bandwidth bandwidth : configuration.getBandwidths()) {
            builder.addLimit(bandwidth);
        }
        return builder.build();
    }

    long size() {
        return buckets.estimatedSize();
    }

    /** Runs pending evictions now (tests). */
    void cleanUp() {
        buckets.cleanUp();
    }

    boolean holds(String key) {
        return buckets.asMap().containsKey(key);
    }

    private static final class Holder {
        final LocalBucket bucket;
        long nanosUntilFull; // written inside compute, read by the expiry inside the same compute

        Holder(LocalBucket bucket) {
            this.bucket = bucket;
        }
    }

    private static final class UntilFull implements Expiry<String, Holder> {
        @Override
        public long expireAfterCreate(String key, Holder holder, long now) {
            return holder.nanosUntilFull + EXPIRY_MARGIN_NANOS;
        }

        @Override
        public long expireAfterUpdate(String key, Holder holder, long now, long currentDuration) {
            return holder.nanosUntilFull + EXPIRY_MARGIN_NANOS;
        }

        @Override
        public long expireAfterRead(String key, Holder holder, long now, long currentDuration) {
            return holder.nanosUntilFull + EXPIRY_MARGIN_NANOS; // a compute returning the same holder
        }
    }
}
