package dev.usher.session;

import java.time.Instant;
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
     * several instances sharing the store.
     */
    List<Session> removeExpired(Instant now, int limit);

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
