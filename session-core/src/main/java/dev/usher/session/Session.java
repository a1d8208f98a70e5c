package dev.usher.session;

import java.time.Duration;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;

/**
 * One user's session: an immutable value, safe to share between threads.
 *
 * <p>A session expires at the earlier of {@link #idleExpiry()} ({@code lastAccessedAt + idleTimeout})
 * and {@link #absoluteExpiry()}. Every write through a {@link SessionStore} is a compare-and-set on
 * {@link #version()}. Attributes are plain strings so that every backend stays readable with its own
 * tools; use {@link SessionAttribute} for typed access. Instants are kept to the millisecond, the
 * precision every backend stores.
 *
 * @param id             the session id (see {@link SessionManager} for its format)
 * @param owner          the principal the session belongs to, or {@code null} for an anonymous session
 * @param createdAt      when the session was created
 * @param lastAccessedAt the last recorded access; drives idle expiry
 * @param idleTimeout    how long the session lives without access
 * @param absoluteExpiry the instant after which the session is over, whatever its use
 * @param version        incremented by every successful write
 * @param attributes     the session's data; an unmodifiable copy is kept
 */
public record Session(
        String id,
        String owner,
        Instant createdAt,
        Instant lastAccessedAt,
        Duration idleTimeout,
        Instant absoluteExpiry,
        long version,
        Map<String, String> attributes) {

    public Session {
        Objects.requireNonNull(id, "id");
        Objects.requireNonNull(createdAt, "createdAt");
        Objects.requireNonNull(lastAccessedAt, "lastAccessedAt");
        Objects.requireNonNull(idleTimeout, "idleTimeout");
        Objects.requireNonNull(absoluteExpiry, "absoluteExpiry");
        Objects.requireNonNull(attributes, "attributes");
        if (idleTimeout.isNegative() || idleTimeout.isZero()) {
            throw new IllegalArgumentException("idleTimeout must be positive but was " + Durations.format(idleTimeout));
        }
        createdAt = toMillis(createdAt);
        lastAccessedAt = toMillis(lastAccessedAt);
        absoluteExpiry = toMillis(absoluteExpiry);
        if (idleTimeout.getNano() % 1_000_000 != 0) {
            idleTimeout = Duration.ofMillis(idleTimeout.toMillis()); // else shared: one Duration for all sessions
        }
        attributes = Attributes.copyOf(attributes);
    }

    /** The instant truncated to the millisecond; the common whole-millisecond one as it is, without truncatedTo's divisions. */
    private static Instant toMillis(Instant instant) {
        return instant.getNano() % 1_000_000 == 0 ? instant : instant.truncatedTo(ChronoUnit.MILLIS);
    }

    /** The owner, if the session has one. */
    public Optional<String> ownerIfAny() {
        return Optional.ofNullable(owner);
    }

    /** When the session ends if nobody touches it again. */
    public Instant idleExpiry() {
        return lastAccessedAt.plus(idleTimeout);
    }

    /** When the session ends: the earlier of the idle and the absolute expiry. */
    public Instant expiresAt() {
        Instant idle = idleExpiry();
        return idle.isBefore(absoluteExpiry) ? idle : absoluteExpiry;
    }

    /** True once {@code now} has reached {@link #expiresAt()}. */
    public boolean isExpired(Instant now) {
        // In milliseconds, without the two Instants expiresAt() makes: this runs on every touch. Exact,
        // because every field is kept to the millisecond; instants beyond a long of milliseconds (some
        // 292 million years away) take the Instant path.
        try {
            long idleEnd = Math.addExact(lastAccessedAt.toEpochMilli(), idleTimeout.toMillis());
            return now.toEpochMilli() >= Math.min(idleEnd, absoluteExpiry.toEpochMilli());
        } catch (ArithmeticException e) {
            return !now.isBefore(expiresAt());
        }
    }

    /** {@link #isExpired} for an instant in epoch milliseconds, without making Instants: every touch asks it. */
    boolean isExpiredAt(long nowMillis) {
        try {
            long idleEnd = Math.addExact(lastAccessedAt.toEpochMilli(), idleTimeout.toMillis());
            return nowMillis >= Math.min(idleEnd, absoluteExpiry.toEpochMilli());
        } catch (ArithmeticException e) {
            return isExpired(Instant.ofEpochMilli(nowMillis));
        }
    }

    /** The raw value of an attribute. */
    public Optional<String> attribute(String name) {
        return Optional.ofNullable(attributes.get(name));
    }

    /** The decoded value of a typed attribute. */
    public <T> Optional<T> attribute(SessionAttribute<T> key) {
        String raw = attributes.get(key.name());
        return raw == null ? Optional.empty() : Optional.of(key.decode(raw));
    }

    public Session withAttribute(String name, String value) {
        return withAttributes(Attributes.with(attributes, name, value));
    }

    public <T> Session withAttribute(SessionAttribute<T> key, T value) {
        return withAttribute(key.name(), key.encode(value));
    }

    public Session withoutAttribute(String name) {
        if (!attributes.containsKey(name)) {
            return this;
        }
        return withAttributes(Attributes.without(attributes, name));
    }

    public Session withAttributes(Map<String, String> newAttributes) {
        return new Session(id, owner, createdAt, lastAccessedAt, idleTimeout, absoluteExpiry, version, newAttributes);
    }

    /**
     * This session with another idle timeout (positive). Through {@link SessionManager#update} it becomes the
     * session's own: its expiry and touches follow it on every store.
     */
    public Session withIdleTimeout(Duration newIdleTimeout) {
        return new Session(id, owner, createdAt, lastAccessedAt, newIdleTimeout, absoluteExpiry, version, attributes);
    }

    public Session withId(String newId) {
        return new Session(newId, owner, createdAt, lastAccessedAt, idleTimeout, absoluteExpiry, version, attributes);
    }

    public Session withLastAccessedAt(Instant instant) {
        return new Session(id, owner, createdAt, instant, idleTimeout, absoluteExpiry, version, attributes);
    }

    public Session withVersion(long newVersion) {
        return new Session(id, owner, createdAt, lastAccessedAt, idleTimeout, absoluteExpiry, newVersion, attributes);
    }

    /** Never prints the whole id or the attribute values: sessions end up in logs. */
    @Override
    public String toString() {
        return "Session[id=" + SessionIds.redact(id) + ", owner=" + owner + ", version=" + version
                + ", expiresAt=" + expiresAt() + ", attributes=" + attributes.keySet() + "]";
    }
}
