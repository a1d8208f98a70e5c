package dev.usher.session;

/** Why a session ended. */
public enum EndReason {
    /** Ended on purpose: {@link SessionManager#end}, or pushed out by the owner limit ({@code END_OLDEST}). */
    DELETED,
    /** Its idle or absolute timeout passed. */
    EXPIRED,
    /** Dropped by a bounded store that was full. */
    EVICTED
}
