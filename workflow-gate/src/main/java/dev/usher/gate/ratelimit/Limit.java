package dev.usher.gate.ratelimit;

import java.time.Duration;
import java.util.Objects;
import java.util.regex.Pattern;

/**
 * One limit of a {@link RateLimiter}: at most {@code quota} tokens per {@code window}, as a token bucket of
 * capacity {@code quota} that refills continuously (greedily) at {@code quota / window}. A burst limit is
 * just a short window: {@code Limit.of("burst", 3, Duration.ofSeconds(1))}.
 *
 * @param name the policy name shown in the {@code RateLimit-Policy} header; letters, digits, {@code . _ -},
 *     1 to 64 characters
 * @param quota tokens per window, at least 1
 * @param window a whole number of seconds, at least 1 (the HTTP fields state it in seconds)
 */
public record Limit(String name, long quota, Duration window) {
    private static final Pattern NAME = Pattern.compile("[A-Za-z0-9._-]{1,64}");

    public Limit {
        Objects.requireNonNull(name, "name");
        Objects.requireNonNull(window, "window");
        if (!NAME.matcher(name).matches()) {
            throw new IllegalArgumentException(
                    "limit name must be 1 to 64 of [A-Za-z0-9._-] but was '" + name + "'");
        }
        if (quota < 1) {
            throw new IllegalArgumentException("limit '" + name + "': quota must be at least 1 but was " + quota);
        }
        if (window.getSeconds() < 1 || window.getNano() != 0) {
            throw new IllegalArgumentException(
                    "limit '" + name + "': window must be a whole number of seconds, at least 1, but was " + window);
        }
    }

    /** A limit named after its numbers, e.g. {@code 10-per-60s}. */
    public static Limit of(long quota, Duration window) {
        Objects.requireNonNull(window, "window");
        return new Limit(quota + "-per-" + window.getSeconds() + "s", quota, window);
    }

    /** A named limit. */
    public static Limit of(String name, long quota, Duration window) {
        return new Limit(name, quota, window);
    }
}
