package dev.usher.gate.ratelimit;

import java.util.List;

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
    static RateLimiterBuilder builder() {
        return new RateLimiterBuilder();
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

    /** The limiter's name, as given to {@link RateLimiterBuilder#name(String)}; the {@code limiter} tag of its metrics. */
    String name();

    /** A snapshot of the counters. */
    RateLimiterStats stats();

    /**
     * Stops the thread that probes a shared store while it is down (a limiter with local buckets has none).
     * The caller still owns and closes the store's client. Idempotent.
     */
    @Override
    void close();
}
