package dev.usher.session.spring;

import dev.usher.session.SessionIds;
import dev.usher.session.EndReason;
import dev.usher.session.Session;
import dev.usher.session.SessionListener;
import dev.usher.session.SessionManager;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Objects;
import org.springframework.context.ApplicationEvent;
import org.springframework.context.ApplicationEventPublisher;
import org.springframework.session.IndexResolver;
import org.springframework.session.events.SessionCreatedEvent;
import org.springframework.session.events.SessionDeletedEvent;
import org.springframework.session.events.SessionExpiredEvent;

/**
 * The {@link UsherSessionRepository}. Holds no lock and no state of its own beyond its settings: every
 * decision (ids, expiry, conflicts, owner limits, which instance ends a session) is the manager's, so two
 * repositories on two instances over one store behave as one.
 */
final class DefaultUsherSessionRepository implements UsherSessionRepository {
    private final SessionManager sessions;
    private final AttributeEncoding encoding;
    private final IndexResolver<org.springframework.session.Session> principalResolver;
    private final Clock clock;
    private final SessionListener eventBridge;

    DefaultUsherSessionRepository(UsherSessionRepository.Builder b) {
        this.sessions = b.sessions;
        this.encoding = new AttributeEncoding(b.codecs);
        this.principalResolver = b.principalResolver;
        this.clock = b.clock;
        this.eventBridge = b.eventPublisher == null ? null : new EventBridge(b.eventPublisher);
        if (eventBridge != null) {
            sessions.addListener(eventBridge);
        }
    }

    AttributeEncoding encoding() {
        return encoding;
    }

    Instant now() {
        return clock.instant();
    }

    @Override
    public UsherSpringSession createSession() {
        return new ManagedSpringSession(this, sessions.create(null, Map.of()));
    }

    @Override
    public void save(UsherSpringSession session) {
        ManagedSpringSession mine = own(session);
        Map<String, String> changes = mine.changes();
        Duration idleTimeout = mine.newIdleTimeout();
        if (changes.isEmpty() && idleTimeout == null) {
            return;
        }
        // Resolved before anything is written, so a principal that cannot be read leaves the store untouched.
        String principal = principalResolver.resolveIndexesFor(mine).get(PRINCIPAL_NAME_INDEX_NAME);
        String id = mine.getId();
        if (principal != null && !principal.equals(mine.storedValue().owner())) {
            // Logging in first means an owner limit that rejects the login leaves nothing written, so a
            // session never holds a login (say, Spring Security's context) its owner limit did not admit.
            String anonymousId = id;
            Session loggedIn = sessions.login(id, principal).orElseThrow(() -> invalidated(anonymousId,
                    "its changes to " + changes.keySet() + " were not saved"));
            mine.moved(loggedIn);
            id = loggedIn.id();
        }
        String savedId = id;
        // The compare-and-set is tried on the session this request loaded (one round trip); only when another
        // request changed it meanwhile is it re-read and the changes merged into the newer version.
        Session saved = sessions.update(mine.storedValue(), stored -> {
                    Session merged = changes.isEmpty() ? stored
                            : stored.withAttributes(merge(stored.attributes(), changes));
                    return idleTimeout == null ? merged : merged.withIdleTimeout(idleTimeout);
                })
                .orElseThrow(() -> invalidated(savedId, "its changes to " + changes.keySet() + " were not saved"));
        mine.stored(saved);
    }

    private static Map<String, String> merge(Map<String, String> stored, Map<String, String> changes) {
        Map<String, String> merged = new LinkedHashMap<>(stored);
        changes.forEach((name, value) -> {
            if (value == null) {
                merged.remove(name);
            } else {
                merged.put(name, value);
            }
        });
        return merged;
    }

    String changeId(ManagedSpringSession session) {
        String oldId = session.getId();
        Session renamed = sessions.changeId(oldId).orElseThrow(() -> invalidated(oldId, "its id cannot change"));
        session.moved(renamed);
        return renamed.id();
    }

    @Override
    public UsherSpringSession findById(String id) {
        if (id == null) {
            return null;
        }
        return sessions.touch(id).map(s -> (UsherSpringSession) new ManagedSpringSession(this, s)).orElse(null);
    }

    @Override
    public void deleteById(String id) {
        if (id != null) {
            sessions.end(id);
        }
    }

    /** Only {@link #PRINCIPAL_NAME_INDEX_NAME} is indexed (by the session's owner); other names find nothing. */
    @Override
    public Map<String, UsherSpringSession> findByIndexNameAndIndexValue(String indexName, String indexValue) {
        if (!PRINCIPAL_NAME_INDEX_NAME.equals(indexName) || indexValue == null) {
            return Map.of();
        }
        Map<String, UsherSpringSession> found = new LinkedHashMap<>();
        for (Session s : sessions.findByOwner(indexValue)) {
            found.put(s.id(), new ManagedSpringSession(this, s));
        }
        return found;
    }

    @Override
    public void close() {
        if (eventBridge != null) {
            sessions.removeListener(eventBridge);
        }
    }

    private ManagedSpringSession own(UsherSpringSession session) {
        Objects.requireNonNull(session, "session");
        if (!(session instanceof ManagedSpringSession managed) || managed.repository() != this) {
            throw new IllegalArgumentException("session must come from this repository's createSession or findById "
                    + "but was " + session.getClass().getName());
        }
        return managed;
    }

    private static IllegalStateException invalidated(String id, String consequence) {
        return new IllegalStateException("session " + SessionIds.redact(id) + " was deleted or has expired; " + consequence);
    }

    @Override
    public String toString() {
        return "UsherSessionRepository[" + sessions + "]";
    }

    /** Usher's events as Spring Session's; each end reaches exactly one instance, so each is published once. */
    private final class EventBridge implements SessionListener {
        private final ApplicationEventPublisher publisher;

        EventBridge(ApplicationEventPublisher publisher) {
            this.publisher = publisher;
        }

        @Override
        public void created(Session session) {
            publisher.publishEvent(new SessionCreatedEvent(DefaultUsherSessionRepository.this, view(session)));
        }

        @Override
        public void ended(Session session, EndReason reason) {
            ManagedSpringSession view = view(session);
            ApplicationEvent event = reason == EndReason.EXPIRED
                    ? new SessionExpiredEvent(DefaultUsherSessionRepository.this, view)
                    : new SessionDeletedEvent(DefaultUsherSessionRepository.this, view);
            publisher.publishEvent(event);
        }

        private ManagedSpringSession view(Session session) {
            return new ManagedSpringSession(DefaultUsherSessionRepository.this, session);
        }
    }
}
