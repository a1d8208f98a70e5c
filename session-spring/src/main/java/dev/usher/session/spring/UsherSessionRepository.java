package dev.usher.session.spring;

import dev.usher.session.SessionManager;
import java.time.Clock;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import org.springframework.context.ApplicationEventPublisher;
import org.springframework.session.FindByIndexNameSessionRepository;
import org.springframework.session.IndexResolver;
import org.springframework.session.PrincipalNameIndexResolver;
import org.springframework.session.Session;

/**
 * Spring Session's {@link FindByIndexNameSessionRepository} over an Usher {@link SessionManager}: sessions
 * live in whatever store the manager has (in memory, SQLite, PostgreSQL, Redis, Redis Cluster), with Usher's
 * ids (256 random bits), idle and absolute timeouts, attribute limits and events.
 *
 * <p>Thread-safe; one per manager and process. It does not own the manager: the host closes it. {@link #close()}
 * only unregisters the repository's event listener. Every method may block on the store (bounded by its
 * timeout) and holds no monitor while doing so.
 *
 * <ul>
 *   <li>{@code createSession} stores the new, empty session at once (Usher draws the id in the store).
 *   <li>{@code findById} records the access ({@link SessionManager#touch}: one store read, plus a write at
 *       most once per touch threshold) and returns null for an unknown, expired or malformed id.
 *   <li>{@code save} writes only the attributes (and a new max inactive interval) changed through this
 *       object since it was loaded, merged into the stored session by {@link SessionManager#update}'s
 *       compare-and-set: two instances changing
 *       different attributes of one session at once both keep their change. A save with nothing changed
 *       costs nothing. Saving a session that was deleted or expired meanwhile throws
 *       {@link IllegalStateException} and writes nothing.
 *   <li>{@code changeSessionId} is {@link SessionManager#changeId}. When a save resolves a principal
 *       (the {@link FindByIndexNameSessionRepository#PRINCIPAL_NAME_INDEX_NAME} attribute, or Spring
 *       Security's context, by default) that is not the session's owner, the session is logged in as that
 *       owner by {@link SessionManager#login}, which moves it to a fresh id too; Spring Session's filter
 *       sends the new id. {@code findByPrincipalName} is {@link SessionManager#findByOwner}.
 *   <li>With an {@link ApplicationEventPublisher}, Usher's events become Spring Session's:
 *       {@code SessionCreatedEvent}, {@code SessionExpiredEvent} (idle or absolute timeout) and
 *       {@code SessionDeletedEvent} (deleted, or evicted by a full in-memory store), each published once
 *       across all instances sharing the store, by the instance that ended it.
 * </ul>
 *
 * <p><b>Round trips per request on Redis</b> (what Spring Session's {@code SessionRepositoryFilter} costs,
 * counted by the server in {@code RedisRoundTripsPerRequestTest}):
 * <ul>
 *   <li>a request that only reads the session: <b>1</b> ({@code findById}'s {@code HGETALL}; {@code save} with
 *       nothing changed sends nothing), plus one write once per touch threshold when the access is due to be
 *       recorded (3 minutes with the default 30-minute idle timeout);
 *   <li>a request that changes attributes: <b>2</b>, the load and one compare-and-set script on the version
 *       loaded. A handler must read the session before it can change it, so one round trip is not possible
 *       for a write; the store is read again (and the change merged) only if another request wrote the
 *       session in between;
 *   <li>a request that starts a session and sets attributes: 2 (the insert, then the compare-and-set);
 *       {@code changeSessionId} adds 3 (a load and the store's atomic move).
 * </ul>
 * On SQL stores the same calls are one statement each.
 */
public interface UsherSessionRepository extends FindByIndexNameSessionRepository<UsherSpringSession>, AutoCloseable {

    /** A builder for a repository over {@code sessions}. */
    static Builder builder(SessionManager sessions) {
        return new Builder(sessions);
    }

    /** Unregisters the event listener; the manager stays open. Idempotent. */
    @Override
    void close();

    /** Builds an {@link UsherSessionRepository}; every setting has a default listed on its method. */
    final class Builder {
        final SessionManager sessions;
        ApplicationEventPublisher eventPublisher;
        final List<AttributeCodec> codecs = new ArrayList<>();
        IndexResolver<Session> principalResolver = new PrincipalNameIndexResolver<>();
        Clock clock = Clock.systemUTC();

        private Builder(SessionManager sessions) {
            this.sessions = Objects.requireNonNull(sessions, "sessions");
        }

        /** Where Spring Session's events are published (default: none are). */
        public Builder eventPublisher(ApplicationEventPublisher publisher) {
            this.eventPublisher = Objects.requireNonNull(publisher, "eventPublisher");
            return this;
        }

        /**
         * Adds a codec for attribute values beyond the built-in scalars (default: none, so any other type
         * is refused on {@code setAttribute} with an {@link AttributeEncodingException}). Codecs are asked
         * in the order added.
         */
        public Builder attributeCodec(AttributeCodec codec) {
            codecs.add(Objects.requireNonNull(codec, "attributeCodec"));
            return this;
        }

        /**
         * How a session's principal is found on save (default: Spring Session's
         * {@link PrincipalNameIndexResolver}: the {@code PRINCIPAL_NAME_INDEX_NAME} attribute, else the name
         * in Spring Security's {@code SPRING_SECURITY_CONTEXT} attribute).
         */
        public Builder principalResolver(IndexResolver<Session> resolver) {
            this.principalResolver = Objects.requireNonNull(resolver, "principalResolver");
            return this;
        }

        /** The clock behind {@link Session#isExpired()}; give it the manager's clock (default: system UTC). */
        public Builder clock(Clock clock) {
            this.clock = Objects.requireNonNull(clock, "clock");
            return this;
        }

        /**
         * The repository, listening to the manager's events from now on.
         *
         * @throws IllegalArgumentException if two codecs share a tag, or a tag is malformed or built in
         */
        public UsherSessionRepository build() {
            return new DefaultUsherSessionRepository(this);
        }
    }
}
