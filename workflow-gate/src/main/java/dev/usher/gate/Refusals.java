package dev.usher.gate;

import dev.usher.gate.ratelimit.Decision;
import dev.usher.session.StoreUnavailableException;
import java.time.Duration;

/** How the gate turns a denial or an outage into the outcome the host answers with. Stateless. */
final class Refusals {
    /** Retry hint for a store that is down and gave none. */
    static final Duration DEFAULT_RETRY_AFTER = Duration.ofSeconds(1);

    private Refusals() {
    }

    /** A denied decision: 429 for this client, or 503 when a FAIL_CLOSED limiter's store is down. */
    static <W> GateOutcome<W> refusal(Decision decision) {
        if (decision.degraded() && decision.limits().isEmpty()) {
            // FAIL_CLOSED: denied because the limiter's store is down, not because of this client.
            return new GateOutcome.Unavailable<>(decision.retryAfter(), "rate limiter's shared store is down");
        }
        return new GateOutcome.RateLimited<>(decision);
    }

    /** A session store that is down: 503 with the store's retry hint, or one second. */
    static <W> GateOutcome<W> unavailable(StoreUnavailableException e) {
        return new GateOutcome.Unavailable<>(e.retryAfter().orElse(DEFAULT_RETRY_AFTER), e.getMessage());
    }
}
