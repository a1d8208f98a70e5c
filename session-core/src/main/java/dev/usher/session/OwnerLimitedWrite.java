package dev.usher.session;

import java.util.List;
import java.util.Objects;

/**
 * What an owner-limited write of a {@link SessionStore} did.
 *
 * @param outcome     whether the session was written, refused as a plain write would be, or refused by the limit
 * @param endedOldest the owner's sessions the store removed in the same step to keep the limit
 *                    ({@link OwnerLimitPolicy#END_OLDEST}), oldest first; the manager reports each as
 *                    {@link EndReason#DELETED}. Reported whatever the outcome, as they are gone either way.
 */
public record OwnerLimitedWrite(Outcome outcome, List<Session> endedOldest) {

    /** The result of the write itself. */
    public enum Outcome {
        /** The session was stored. */
        WRITTEN,
        /**
         * Nothing was stored for the reason the plain write gives: the id is taken ({@code insert}), or a
         * version conflict, a vanished session or a taken id ({@code changeId}).
         */
        REFUSED,
        /** The owner already has the maximum of live sessions and the policy is {@link OwnerLimitPolicy#REJECT}. */
        OWNER_AT_LIMIT
    }

    public OwnerLimitedWrite {
        Objects.requireNonNull(outcome, "outcome");
        endedOldest = List.copyOf(endedOldest);
    }

    static OwnerLimitedWrite written(List<Session> endedOldest) {
        return new OwnerLimitedWrite(Outcome.WRITTEN, endedOldest);
    }

    static OwnerLimitedWrite refused() {
        return new OwnerLimitedWrite(Outcome.REFUSED, List.of());
    }

    static OwnerLimitedWrite atLimit() {
        return new OwnerLimitedWrite(Outcome.OWNER_AT_LIMIT, List.of());
    }
}
