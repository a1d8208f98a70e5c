package dev.usher.gate.ratelimit;

import dev.usher.session.Durations;
import io.github.bucket4j.distributed.proxy.ProxyManager;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.function.LongSupplier;
import java.util.regex.Pattern;

/**
 * Per-key token buckets with one or more limits (a sustained rate and a burst, say), keyed by any string:
 * a session id, a user, an IP address. Built on Bucket4j.
 *
 * <p><b>Thread-safety:</b> safe for any number of threads; decisions for one key are exact under
 * concurrency (a limit of 10 hit by 100 threads at once allows exactly 10), locally and, through the
 * shared store's atomic operations, across instances. <b>Ownership:</b> the limiter owns its local
 * buckets; in cluster-wide mode the caller owns the {@code ProxyManager} and the client or pool behind it,
 * and closes them after the limiter is no longer used. <b>Blocking:</b> local decisions never block; a
 * cluster-wide decision makes one round trip to the store (no lock is held meanwhile, so it is fine on
 * virtual threads). Once a shared store has failed to answer, every call applies the {@link StoreDownPolicy}
 * at once, without waiting for the store, until a background probe (a thread the limiter owns, stopped by
 * {@link #close()}) reaches the store again; the first call after that decides from the store again.
 *
 * <pre>{@code
 * RateLimiter limiter = RateLimiter.builder()
 *         .limit(Limit.of("sustained", 10, Duration.ofMinutes(1)))
 *         .limit(Limit.of("burst", 3, Duration.ofSeconds(1)))
 *         .build();
 * Decision d = limiter.tryAcquire(userId);
 * RateLimitHeaders.of(d).forEach(response::setHeader);
 * if (!d.allowed()) { response.setStatus(429); return; }
 * }</pre>
 */
public interface RateLimiter extends AutoCloseable {

    /** Starts a builder. */
    static Builder builder() {
        return new Builder();
    }

    /** Takes one token for {@code key} if every limit has one. */
    default Decision tryAcquire(String key) {
        return tryAcquire(key, 1);
    }

    /**
     * Takes {@code tokens} tokens for {@code key} if every limit has that many; otherwise takes nothing.
     *
     * @throws IllegalArgumentException if the key is empty or longer than 256 characters, or if
     *     {@code tokens} is below 1 or above the smallest quota (such a request could never be allowed)
     */
    Decision tryAcquire(String key, long tokens);

    /** The limits, in the order they were configured. */
    List<Limit> limits();

    /** The limiter's name, as given to {@link Builder#name(String)}; the {@code limiter} tag of its metrics. */
    String name();

    /** A snapshot of the counters. */
    RateLimiterStats stats();

    /**
     * Stops the thread that probes a shared store while it is down (a limiter with local buckets has none).
     * The caller still owns and closes the store's client. Idempotent.
     */
    @Override
    void close();

    /**
     * Configures and builds a {@link RateLimiter}. At least one {@link #limit} is required; everything else has
     * a default. Without {@link #shared} the buckets live in this process.
     *
     * <p>Not thread-safe; use it from one thread, then share the limiter it builds. Every setter validates at
     * once and throws {@link IllegalArgumentException} or {@link NullPointerException} naming the setting and
     * the value; {@link #build()} checks the rules between settings and throws {@link IllegalStateException}.
     */
    final class Builder {
        static final long DEFAULT_MAXIMUM_KEYS = 100_000;
        static final Duration DEFAULT_STORE_DOWN_RETRY_AFTER = Duration.ofSeconds(1);
        private static final Pattern NAME = Pattern.compile("[A-Za-z0-9._-]{1,64}");

        final List<Limit> limits = new ArrayList<>();
        String name = "default";
        long maximumKeys = DEFAULT_MAXIMUM_KEYS;
        LongSupplier ticker = System::nanoTime;
        ProxyManager<String> shared;
        StoreDownPolicy storeDownPolicy = StoreDownPolicy.LOCAL_FALLBACK;
        Duration storeDownRetryAfter = DEFAULT_STORE_DOWN_RETRY_AFTER;
        double localFallbackShare = 1.0;
        private boolean storeDownSettingsGiven;

        private Builder() {
        }

        /** Adds a limit; a request is allowed only if every limit allows it. */
        public Builder limit(Limit limit) {
            Objects.requireNonNull(limit, "limit");
            for (Limit existing : limits) {
                if (existing.name().equals(limit.name())) {
                    throw new IllegalArgumentException("limit name must be unique but was '" + limit.name()
                            + "', which an earlier limit already has");
                }
            }
            limits.add(limit);
            return this;
        }

        /** Shorthand for {@code limit(Limit.of(quota, window))}. */
        public Builder limit(long quota, Duration window) {
            return limit(Limit.of(quota, window));
        }

        /**
         * The limiter's name, used in logs, as the {@code limiter} tag of its metrics and as part of every shared-store key
         * ({@code usher:rl:<name>:<fingerprint of the limits>:<key>}), so that several limiters can share one
         * store. Instances that share limits must use the same name and the same limits. Default:
         * {@code default}.
         */
        public Builder name(String name) {
            Objects.requireNonNull(name, "name");
            if (!NAME.matcher(name).matches()) {
                throw new IllegalArgumentException("name must be 1 to 64 of [A-Za-z0-9._-] but was '" + name + "'");
            }
            this.name = name;
            return this;
        }

        /**
         * At most this many keys have a bucket in this process (local mode and the local fallback). A bucket is
         * dropped once it would be full again anyway (at the next sweep, which a new key starts at
         * most every 10 s or when the bound is reached), which changes nothing; at the bound, keys not used
         * since the previous sweep are dropped first, down to 3/4 of the bound, and a dropped key starts over
         * with a full bucket. Default: 100,000 (a few tens of MiB).
         */
        public Builder maximumKeys(long maximumKeys) {
            if (maximumKeys < 1) {
                throw new IllegalArgumentException("maximumKeys must be at least 1 but was " + maximumKeys);
            }
            this.maximumKeys = maximumKeys;
            return this;
        }

        /** The source of nanosecond time for local buckets, for tests. Default {@link System#nanoTime()}. */
        public Builder ticker(LongSupplier nanoTicker) {
            this.ticker = Objects.requireNonNull(nanoTicker, "nanoTicker");
            return this;
        }

        /**
         * Keeps the buckets in a shared store, so that every instance using the same store and limiter name
         * enforces one cluster-wide limit. See {@link RedisBuckets} and {@link PostgresBuckets}; any Bucket4j
         * {@code ProxyManager<String>} works. The caller owns it and the client behind it.
         */
        public Builder shared(ProxyManager<String> proxyManager) {
            this.shared = Objects.requireNonNull(proxyManager, "proxyManager");
            return this;
        }

        /** What to decide while the shared store is down. Default: {@link StoreDownPolicy#LOCAL_FALLBACK}. */
        public Builder whenStoreDown(StoreDownPolicy policy) {
            this.storeDownPolicy = Objects.requireNonNull(policy, "policy");
            this.storeDownSettingsGiven = true;
            return this;
        }

        /**
         * The share of each limit's quota this instance may grant on its own while the shared store is down,
         * under {@link StoreDownPolicy#LOCAL_FALLBACK} (default 1.0: the full quota per instance, so N instances
         * together allow up to N times the limit). With N instances behind the store, {@code 1.0 / N} keeps the
         * cluster near its limit during an outage. Each fallback quota is rounded down, and is at least 1 token.
         *
         * @throws IllegalArgumentException if {@code share} is not in (0, 1]
         */
        public Builder localFallbackShare(double share) {
            if (!(share > 0 && share <= 1)) {
                throw new IllegalArgumentException("localFallbackShare must be in (0, 1] but was " + share);
            }
            this.localFallbackShare = share;
            return this;
        }

        /** The retry hint of a {@link StoreDownPolicy#FAIL_CLOSED} denial. Default: 1 second. */
        public Builder storeDownRetryAfter(Duration retryAfter) {
            Objects.requireNonNull(retryAfter, "retryAfter");
            if (retryAfter.isNegative() || retryAfter.isZero()) {
                throw new IllegalArgumentException("storeDownRetryAfter must be positive but was "
                        + Durations.format(retryAfter));
            }
            this.storeDownRetryAfter = retryAfter;
            this.storeDownSettingsGiven = true;
            return this;
        }

        /**
         * Builds the limiter.
         *
         * @throws IllegalStateException if no limit was added, or if store-down settings were given without a
         *     shared store (or a fallback share without {@code LOCAL_FALLBACK})
         */
        public RateLimiter build() {
            if (limits.isEmpty()) {
                throw new IllegalStateException("at least one limit is required but none was added");
            }
            if (shared == null && (localFallbackShare != 1.0 || storeDownSettingsGiven)) {
                throw new IllegalStateException("whenStoreDown, storeDownRetryAfter and localFallbackShare apply to a"
                        + " shared store, but no shared store was set");
            }
            if (localFallbackShare != 1.0 && storeDownPolicy != StoreDownPolicy.LOCAL_FALLBACK) {
                throw new IllegalStateException("localFallbackShare applies to whenStoreDown(LOCAL_FALLBACK), but the"
                        + " policy is " + storeDownPolicy);
            }
            return new DefaultRateLimiter(this);
        }
    }
}
