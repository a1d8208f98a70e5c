package dev.usher.session;

/**
 * Receives session lifecycle events. Each end is delivered exactly once across all instances that share
 * a store: to the instance whose call (or sweeper) removed the session.
 *
 * <p>Called synchronously on the thread that caused the event (the caller's, or the sweeper's); keep it
 * short or hand the work off. A listener that throws is logged and does not stop the others.
 */
public interface SessionListener {
    default void created(Session session) {
    }

    default void ended(Session session, EndReason reason) {
    }

    /** The session moved to a new id ({@link SessionManager#changeId}); {@code oldId} no longer exists. */
    default void idChanged(String oldId, Session renamed) {
    }
}
