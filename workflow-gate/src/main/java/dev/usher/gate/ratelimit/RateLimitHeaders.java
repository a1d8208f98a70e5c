package dev.usher.gate.ratelimit;

import java.time.Duration;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;

/**
 * The standard HTTP response header fields for a {@link Decision}.
 *
 * <ul>
 *   <li>{@code Retry-After} (RFC 9110, section 10.2.3), on a denial only: whole seconds, rounded up, at
 *       least 1.</li>
 *   <li>{@code RateLimit-Policy} and {@code RateLimit} as defined by the IETF httpapi working group's
 *       <a href="https://datatracker.ietf.org/doc/draft-ietf-httpapi-ratelimit-headers/10/">
 *       draft-ietf-httpapi-ratelimit-headers-10</a> (September 2025), not yet an RFC: each is a Structured
 *       Field list with one item per {@link Limit}, identified by the limit's name as a String.
 *       {@code RateLimit-Policy: "burst";q=3;w=1, "sustained";q=10;w=60} states the quota {@code q} per
 *       window {@code w} (seconds); {@code RateLimit: "burst";r=2;t=1, "sustained";r=9;t=6} states the
 *       remaining quota {@code r} and the seconds {@code t} until that limit is full again. A degraded
 *       decision without per-limit state (store down, fail open or closed) gets no {@code RateLimit}
 *       field.</li>
 * </ul>
 *
 * <p>Stateless and thread-safe.
 */
public final class RateLimitHeaders {
    public static final String RETRY_AFTER = "Retry-After";
    public static final String RATE_LIMIT_POLICY = "RateLimit-Policy";
    public static final String RATE_LIMIT = "RateLimit";

    private RateLimitHeaders() {
    }

    /**
     * The header fields for {@code decision}, made by {@code limiter}, in a stable order (name to value).
     */
    public static Map<String, String> of(RateLimiter limiter, Decision decision) {
        return of(limiter.limits(), decision);
    }

    /** The header fields for {@code decision} under {@code limits}, in a stable order (name to value). */
    public static Map<String, String> of(List<Limit> limits, Decision decision) {
        Map<String, String> headers = new LinkedHashMap<>();
        if (!decision.allowed()) {
            headers.put(RETRY_AFTER, Long.toString(Math.max(1, ceilSeconds(decision.retryAfter()))));
        }
        headers.put(RATE_LIMIT_POLICY, limits.stream()
                .map(l -> quoted(l.name()) + ";q=" + l.quota() + ";w=" + l.window().getSeconds())
                .collect(Collectors.joining(", ")));
        if (!decision.limits().isEmpty()) {
            headers.put(RATE_LIMIT, decision.limits().stream()
                    .map(s -> quoted(s.limit().name()) + ";r=" + s.remaining() + ";t=" + ceilSeconds(s.reset()))
                    .collect(Collectors.joining(", ")));
        }
        return Collections.unmodifiableMap(headers);
    }

    private static long ceilSeconds(Duration d) {
        long seconds = d.getSeconds();
        return d.getNano() > 0 ? seconds + 1 : seconds;
    }

    /** A Structured Field String (RFC 8941, section 3.3.3); limit names need no escaping. */
    private static String quoted(String name) {
        return '"' + name + '"';
    }
}
