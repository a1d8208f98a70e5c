package dev.usher.session;

import java.util.Objects;

/**
 * The owner limit a {@link SessionStore} applies in one atomic step: at most {@code max} live sessions per
 * owner, and what a write past it does.
 *
 * @param max    most live (not expired) sessions of one owner, at least 1
 * @param policy what a write past the limit does
 */
public record OwnerLimit(int max, OwnerLimitPolicy policy) {
    public OwnerLimit {
        if (max < 1) {
            throw new IllegalArgumentException("maxSessionsPerOwner must be at least 1 but was " + max);
        }
        Objects.requireNonNull(policy, "policy");
    }
}
