package dev.usher.session;

import java.time.Instant;
import java.util.Collection;
import java.util.List;
import java.util.Optional;
import java.util.function.Consumer;

/**
 * The storage SPI every backend implements: small and atomic, with all policy (ids, expiry, limits,
 * events) kept once in {@link SessionManager}.
 *
 * <p>Implementations are thread-safe and may be shared by several {@code SessionManager}s on several
 * machines. They receive only well-formed ids and validated attributes. They store what they are given:
 * they do not interpret expiry except in {@link #removeExpired}, so {@link #load} may return a session
 * that has expired and not yet been swept. Failures to reach the backing engine are reported as
 * {@link StoreUnavailableException} within the store's configured timeout, and, once the store has seen its
 * engine unreachable, at once (a {@link StoreCircuit}) until a probe reaches it again.
 *
 * <p>The semantics below are stated as tests in {@code SessionStoreContract} (session-core's test-jar);
 * a backend is done when it passes that suite unchanged against its real engine.
 *
 * <p>A decorator (metrics, a circuit breaker) must forward every method, the default ones included: one
 * that kept the defaults would turn an atomic owner limit into a per-process one, and one that swallowed
 * {@link #acknowledgeExpired} would leave every expiry claim to be taken over and delivered again.
 */
public interface SessionStore extends AutoCloseable {

    /** The stored session, expired or not, or empty. */
    Optional<Session> load(String id);

    /** Stores a new session; false (and nothing written) if the id is already taken. */
    boolean insert(Session session);

    /**
     * Compare-and-set: replaces the stored session with the same id by {@code session} only if the stored
     * version equals {@code expectedVersion}. {@code session.version()} is written as given (the manager
     * passes {@code expectedVersion + 1}). False on a version conflict or when the session is gone.
     */
    boolean replace(Session session, long expectedVersion);

    /**
     * Atomically moves the session {@code oldId} (at version {@code expectedVersion}) to {@code renamed.id()},
     * storing {@code renamed} there: afterwards the old id is gone and no write to it can land. False, with
     * nothing changed, on a version conflict, when the old session is gone, or when the new id is taken.
     */
    boolean changeId(String oldId, Session renamed, long expectedVersion);

    /** Removes the session and returns what was removed; only one of several concurrent callers gets it. */
    Optional<Session> remove(String id);

    /**
     * Claims and removes up to {@code limit} sessions whose {@link Session#expiresAt()} is at or before
     * {@code now}. Each removed session is returned to exactly one caller, even with several sweepers on
     * several instances sharing the store. Once claimed, a session is gone for every other method.
     *
     * <p>A store shared by several processes keeps each claim until the caller {@linkplain #acknowledgeExpired
     * acknowledges} it (its events delivered). A claim not acknowledged within the store's claim timeout
     * (the claimer died or lost its connection) is returned once more, to the next call whose {@code now} is
     * past the deadline, so no session ends without its event because a sweeper died mid-sweep. A store
     * that lives and dies with its only process (in memory) removes at once and needs no acknowledgement.
     */
    List<Session> removeExpired(Instant now, int limit);

    /**
     * Acknowledges claims returned by {@link #removeExpired}: their events were delivered and the claims can
     * be dropped. Unknown ids (already acknowledged, or taken over by another sweeper and acknowledged
     * there) are ignored. The default does nothing, for stores whose claims die with the process.
     */
    default void acknowledgeExpired(Collection<String> ids) {
    }

    /**
     * A fresh id for a new session of {@code owner} ({@code null} for anonymous), or for a session moved to
     * {@code owner} by a login. The default is 256 bits from {@link java.security.SecureRandom} in base64url
     * (43 characters). A store may choose among random ids, to place an owner's sessions together so that it
     * can decide the owner limit in one atomic step; it must return 43 base64url characters with at least
     * 224 random bits.
     */
    default String newSessionId(String owner) {
        return SessionIds.generate();
    }

    /**
     * Inserts {@code session} (which has an owner, and an id from {@link #newSessionId}) only within the
     * owner limit, deciding and writing in one step: under {@link OwnerLimitPolicy#REJECT} nothing is written
     * if the owner already has {@code limit.max()} sessions live at {@code now}; under
     * {@link OwnerLimitPolicy#END_OLDEST} the session is written and the owner's oldest live sessions beyond
     * the limit are removed in the same step, so concurrent callers on any instance never leave more than
     * the limit, nor fewer. Expired sessions not yet swept neither count nor are removed here.
     *
     * <p>The default checks, writes and trims with separate calls ({@link #findByOwner}, {@link #insert},
     * {@link #remove}): atomic only when the store itself is confined to one process and the caller
     * serialises calls per owner, which {@link SessionManager} does; not atomic across instances. Stores
     * shared by several processes override it.
     */
    default OwnerLimitedWrite insertWithinOwnerLimit(Session session, OwnerLimit limit, Instant now) {
        return OwnerLimitedWrites.apply(this, session, null, limit, now, () -> insert(session));
    }

    /**
     * {@link #changeId} within the owner limit of {@code renamed.owner()}, as {@link #insertWithinOwnerLimit}:
     * the session moving away from {@code oldId} does not count against the limit and is never the one
     * trimmed. The default has the same caveat as {@link #insertWithinOwnerLimit}'s.
     */
    default OwnerLimitedWrite changeIdWithinOwnerLimit(String oldId, Session renamed, long expectedVersion,
                                                       OwnerLimit limit, Instant now) {
        return OwnerLimitedWrites.apply(this, renamed, oldId, limit, now,
                () -> changeId(oldId, renamed, expectedVersion));
    }

    /** Every stored session of the owner (expired ones not yet swept included). */
    List<Session> findByOwner(String owner);

    /**
     * One page of stored sessions. Pass {@code null} for the first page and then each page's
     * {@link SessionPage#nextCursor()} until it is null. Every session stored for the whole listing is
     * returned at least once.
     */
    SessionPage list(String cursor, int limit);

    /** The number of stored sessions, expired ones not yet swept included. */
    long count();

    /**
     * Registers the consumer of sessions the store drops on its own (a bounded in-memory store that is
     * full); the manager turns them into {@link EndReason#EVICTED} events. Stores that never evict ignore it.
     */
    default void onEviction(Consumer<Session> listener) {
    }

    /** Releases what the store owns (pools, clients, threads). Idempotent. */
    @Override
    void close();
}
