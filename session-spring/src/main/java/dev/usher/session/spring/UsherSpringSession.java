package dev.usher.session.spring;

import java.time.Instant;
import java.util.Optional;
import org.springframework.session.Session;

/**
 * A Spring Session {@link Session} backed by an Usher session, as returned by {@link UsherSessionRepository}.
 *
 * <p>Not thread-safe: like Spring Session's own sessions, one instance serves one request; concurrent
 * requests of one user each load their own and {@link UsherSessionRepository#save save} merges their changes.
 * Changes stay in this object until {@code save}, except {@link #changeSessionId()}, which moves the stored
 * session at once (Usher draws the new id, so it is known only after the store has it).
 *
 * <ul>
 *   <li>{@link #getMaxInactiveInterval()} is the session's idle timeout: the {@code SessionManager}'s
 *       ({@code idleTimeout}) until {@link #setMaxInactiveInterval} gives the session one of its own, which
 *       {@code save} stores ({@link dev.usher.session.Session#withIdleTimeout}) so that the store expires the
 *       session by it and every instance sees it. A zero or negative interval (the Servlet API's "never
 *       expires") throws {@link MaxInactiveIntervalException} and changes nothing: every Usher session
 *       expires.
 *   <li>{@link #setLastAccessedTime} is kept in this object only: Usher records accesses itself, on
 *       {@code findById} (throttled) and on every {@code save} that writes.
 *   <li>{@link #isExpired()} also honours the absolute expiry, which Spring Session does not know.
 * </ul>
 */
public interface UsherSpringSession extends Session {

    /** The principal the Usher session belongs to, if any (see {@link UsherSessionRepository}). */
    Optional<String> owner();

    /** When the session ends whatever its use (the {@code SessionManager}'s absolute timeout). */
    Instant absoluteExpiry();
}
