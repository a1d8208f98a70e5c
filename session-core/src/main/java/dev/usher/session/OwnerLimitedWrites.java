package dev.usher.session;

import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.function.BooleanSupplier;

/**
 * The owner limit as check, write and trim over the plain SPI: the default of {@link SessionStore}'s
 * owner-limited writes. Atomic only as far as the caller makes it (the in-memory store holds a per-owner
 * lock around it); across instances two of these can interleave.
 */
final class OwnerLimitedWrites {
    /** Oldest first; the id breaks ties, so every instance ranks an owner's sessions alike. */
    static final Comparator<Session> OLDEST_FIRST = Comparator.comparing(Session::createdAt).thenComparing(Session::id);

    private OwnerLimitedWrites() {
    }

    /**
     * Counts the owner's live sessions other than {@code fresh} and {@code retiringId}, refuses past the
     * limit under REJECT, writes, and removes the oldest beyond the limit under END_OLDEST.
     */
    static OwnerLimitedWrite apply(SessionStore store, Session fresh, String retiringId, OwnerLimit limit,
                                   Instant now, BooleanSupplier write) {
        List<Session> live = new ArrayList<>();
        for (Session s : store.findByOwner(fresh.owner())) {
            if (!s.isExpired(now) && !s.id().equals(fresh.id()) && !s.id().equals(retiringId)) {
                live.add(s);
            }
        }
        if (limit.policy() == OwnerLimitPolicy.REJECT && live.size() >= limit.max()) {
            return OwnerLimitedWrite.atLimit();
        }
        if (!write.getAsBoolean()) {
            return OwnerLimitedWrite.refused();
        }
        if (live.size() < limit.max()) {
            return OwnerLimitedWrite.written(List.of());
        }
        live.sort(OLDEST_FIRST);
        List<Session> ended = new ArrayList<>();
        for (Session oldest : live.subList(0, live.size() + 1 - limit.max())) {
            store.remove(oldest.id()).ifPresent(ended::add);
        }
        return OwnerLimitedWrite.written(ended);
    }
}
