package dev.usher.session;

import java.time.Instant;

/**
 * {@link SessionManager}'s owner rules: the owner's form (1 to 256 characters, no control character,
 * well-formed UTF-16) and the optional per-owner session limit, which the store decides in one atomic step
 * ({@link SessionStore#insertWithinOwnerLimit}, {@link SessionStore#changeIdWithinOwnerLimit}). Sessions that
 * a write under {@link OwnerLimitPolicy#END_OLDEST} ends are reported to the events as
 * {@link EndReason#DELETED}. Thread-safe and immutable.
 */
final class OwnerLimits {
    static final int MAX_OWNER_LENGTH = 256;

    /** Null for no limit. */
    private final OwnerLimit limit;
    private final SessionStore store;
    private final SessionEvents events;

    OwnerLimits(OwnerLimit limit, SessionStore store, SessionEvents events) {
        this.limit = limit;
        this.store = store;
        this.events = events;
    }

    /** Whether writes for {@code owner} go through the store's owner-limited steps. */
    boolean applies(String owner) {
        return owner != null && limit != null;
    }

    /**
     * Inserts within the limit.
     *
     * @return true if written, false if the store refused the id (taken), so the caller retries with a fresh one
     * @throws SessionLimitException if the owner is at the limit under {@link OwnerLimitPolicy#REJECT}
     */
    boolean insert(Session session, Instant now) {
        return settle(session.owner(), store.insertWithinOwnerLimit(session, limit, now));
    }

    /**
     * Moves session {@code oldId} to {@code renamed} (which names its new owner) within the limit.
     *
     * @return true if moved, false on a version conflict or a taken id
     * @throws SessionLimitException if the owner is at the limit under {@link OwnerLimitPolicy#REJECT}
     */
    boolean changeId(String oldId, Session renamed, long expectedVersion, Instant now) {
        return settle(renamed.owner(), store.changeIdWithinOwnerLimit(oldId, renamed, expectedVersion, limit, now));
    }

    private boolean settle(String owner, OwnerLimitedWrite write) {
        events.ended(write.endedOldest(), EndReason.DELETED);
        return switch (write.outcome()) {
            case WRITTEN -> true;
            case REFUSED -> false;
            case OWNER_AT_LIMIT -> throw new SessionLimitException("owner '" + owner + "' already has the maximum of "
                    + limit.max() + " sessions", "maxSessionsPerOwner", limit.max());
        };
    }

    /**
     * Checks an owner's form; null (anonymous) passes.
     *
     * @throws SessionLimitException    if empty or over 256 characters
     * @throws IllegalArgumentException for a control character or an unpaired surrogate
     */
    static void checkOwner(String owner) {
        if (owner == null) {
            return;
        }
        if (owner.isEmpty() || owner.length() > MAX_OWNER_LENGTH) {
            throw new SessionLimitException("owner must be 1 to " + MAX_OWNER_LENGTH + " characters but was "
                    + owner.length(), "maxOwnerLength", MAX_OWNER_LENGTH);
        }
        for (int i = 0; i < owner.length(); i++) {
            if (Character.isISOControl(owner.charAt(i))) {
                throw new IllegalArgumentException("owner contains a control character at index " + i);
            }
        }
        int bad = AttributeLimits.firstUnpairedSurrogate(owner);
        if (bad >= 0) {
            throw new IllegalArgumentException("owner contains an unpaired surrogate at index " + bad
                    + "; it must be well-formed UTF-16");
        }
    }
}
