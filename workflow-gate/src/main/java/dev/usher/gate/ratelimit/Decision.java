package dev.usher.gate.ratelimit;

import java.time.Duration;
import java.util.List;
import java.util.Objects;

/**
 * What {@link RateLimiter#tryAcquire} decided. Immutable.
 *
 * @param allowed whether the tokens were taken (the request may proceed)
 * @param remaining tokens left under the tightest limit after this decision (0 when unknown, see
 *     {@code degraded})
 * @param retryAfter when denied, how long until the requested tokens will be available; zero when allowed
 * @param timeUntilFull how long until every limit is full again if nothing else is taken
 * @param limits the state of each limit, in the order they were configured; empty when the shared store
 *     was down and the policy was {@link StoreDownPolicy#FAIL_OPEN} or {@link StoreDownPolicy#FAIL_CLOSED}
 * @param degraded true when the shared store could not be reached and the decision came from the
 *     {@link StoreDownPolicy}
 */
public record Decision(
        boolean allowed,
        long remaining,
        Duration retryAfter,
        Duration timeUntilFull,
        List<LimitState> limits,
        boolean degraded) {

    public Decision {
        Objects.requireNonNull(retryAfter, "retryAfter");
        Objects.requireNonNull(timeUntilFull, "timeUntilFull");
        limits = List.copyOf(limits);
    }

    /**
     * The state of one limit after a decision.
     *
     * @param limit the limit
     * @param remaining tokens left under this limit
     * @param reset how long until this limit is full again if nothing else is taken
     */
    public record LimitState(Limit limit, long remaining, Duration reset) {
        public LimitState {
            Objects.requireNonNull(limit, "limit");
            Objects.requireNonNull(reset, "reset");
        }
    }
}
