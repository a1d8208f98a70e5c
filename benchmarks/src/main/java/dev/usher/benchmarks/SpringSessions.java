package dev.usher.benchmarks;

import org.springframework.session.Session;
import org.springframework.session.SessionRepository;

/** Spring Session's repositories as a host's filter holds them: by their interface, session type erased. */
final class SpringSessions {
    private SpringSessions() {
    }

    @SuppressWarnings("unchecked")
    static SessionRepository<Session> erase(SessionRepository<? extends Session> repository) {
        // Safe: a repository only ever gets back the sessions it created itself.
        return (SessionRepository<Session>) repository;
    }
}
