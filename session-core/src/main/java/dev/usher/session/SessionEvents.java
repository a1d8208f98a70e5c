package dev.usher.session;

import java.util.Collection;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.LongAdder;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * {@link SessionManager}'s listeners and the counts of created and ended sessions. Thread-safe: listeners
 * are called on the thread that caused the event, in the order they were added; one that throws is logged
 * and does not stop the others or the operation.
 */
final class SessionEvents {
    private static final Logger log = LoggerFactory.getLogger(SessionEvents.class);

    private final List<SessionListener> listeners = new CopyOnWriteArrayList<>();
    private final LongAdder created = new LongAdder();
    private final LongAdder endedDeleted = new LongAdder();
    private final LongAdder endedExpired = new LongAdder();
    private final LongAdder endedEvicted = new LongAdder();

    SessionEvents(Collection<SessionListener> initial) {
        listeners.addAll(initial);
    }

    void add(SessionListener listener) {
        listeners.add(Objects.requireNonNull(listener, "listener"));
    }

    void remove(SessionListener listener) {
        listeners.remove(listener);
    }

    void created(Session session) {
        created.increment();
        for (SessionListener l : listeners) {
            try {
                l.created(session);
            } catch (RuntimeException e) {
                log.warn("session listener {} failed on created({})", l, session, e);
            }
        }
    }

    void idChanged(String oldId, Session renamed) {
        for (SessionListener l : listeners) {
            try {
                l.idChanged(oldId, renamed);
            } catch (RuntimeException e) {
                log.warn("session listener {} failed on idChanged({})", l, renamed, e);
            }
        }
    }

    void ended(Collection<Session> sessions, EndReason reason) {
        for (Session s : sessions) {
            ended(s, reason);
        }
    }

    void ended(Session session, EndReason reason) {
        switch (reason) {
            case DELETED -> endedDeleted.increment();
            case EXPIRED -> endedExpired.increment();
            case EVICTED -> endedEvicted.increment();
        }
        for (SessionListener l : listeners) {
            try {
                l.ended(session, reason);
            } catch (RuntimeException e) {
                log.warn("session listener {} failed on ended({}, {})", l, session, reason, e);
            }
        }
    }

    /** The counters, with the figures only the manager knows. */
    SessionStats stats(long active, long casConflicts, long lockWaits, long malformedIds) {
        return new SessionStats(active, created.sum(), endedDeleted.sum(), endedExpired.sum(), endedEvicted.sum(),
                casConflicts, lockWaits, malformedIds);
    }
}
