package dev.usher.session;

/** What {@link SessionManager#create} does when the owner already has the maximum number of sessions. */
public enum OwnerLimitPolicy {
    /** Refuse the new session with a {@link SessionLimitException}. */
    REJECT,
    /** Create it and end the owner's oldest sessions ({@link EndReason#DELETED}). */
    END_OLDEST
}
