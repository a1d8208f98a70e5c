/**
 * {@link dev.usher.gate.ratelimit.RateLimiter}: per-key token buckets (Bucket4j) with one or more limits,
 * held locally in a bounded Caffeine cache or cluster-wide in any Bucket4j {@code ProxyManager}
 * ({@link dev.usher.gate.ratelimit.RedisBuckets}, {@link dev.usher.gate.ratelimit.PostgresBuckets}), with a
 * stated policy for when that shared store is down, and the standard HTTP response headers
 * ({@link dev.usher.gate.ratelimit.RateLimitHeaders}).
 *
 * <p>Every parameter and return value is non-null unless its documentation says otherwise.
 */
package dev.usher.gate.ratelimit;
