package dev.usher.gate;

import dev.usher.session.Session;
import dev.usher.session.SessionManager;
import java.util.Map;
import java.util.Optional;

/**
 * One request's session: the live one it came with, or one created on first need (when the request is
 * first queued or admitted), so that a request turned away creates nothing. Used on the request's own
 * thread only.
 */
final class SessionOnDemand {
    private final SessionManager sessions;
    private Session session;

    SessionOnDemand(SessionManager sessions, Session live) {
        this.sessions = sessions;
        this.session = live;
    }

    Session get() {
        if (session == null) {
            session = sessions.create(null, Map.of());
        }
        return session;
    }

    Optional<Session> existing() {
        return Optional.ofNullable(session);
    }
}
