package dev.usher.session.spring;

import dev.usher.session.SessionIds;
import dev.usher.session.Session;
import java.time.Duration;
import java.time.Instant;
import java.util.Collections;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;

/**
 * One request's view of an Usher session: the stored value it was loaded as, the attribute changes made
 * since (encoded at once, so a value no codec takes fails on {@code setAttribute}, not later), and decoded
 * values cached so each is decoded once per request.
 */
final class ManagedSpringSession implements UsherSpringSession {
    private final DefaultUsherSessionRepository repository;
    private Session stored;
    /** The attributes as this request sees them: the stored ones with {@link #changes} applied. */
    private Map<String, String> current;
    /** Names set (to their encoded value) or removed (to null) since the last load or save. */
    private final Map<String, String> changes = new LinkedHashMap<>();
    private final Map<String, Object> decoded = new HashMap<>();
    private Instant lastAccessedTime;
    /** An idle timeout set since the last load or save, or null. */
    private Duration newIdleTimeout;

    ManagedSpringSession(DefaultUsherSessionRepository repository, Session stored) {
        this.repository = repository;
        this.stored = stored;
        this.current = new LinkedHashMap<>(stored.attributes());
        this.lastAccessedTime = stored.lastAccessedAt();
    }

    DefaultUsherSessionRepository repository() {
        return repository;
    }

    Map<String, String> changes() {
        return Collections.unmodifiableMap(changes);
    }

    /** The idle timeout set through {@link #setMaxInactiveInterval} since the last load or save, or null. */
    Duration newIdleTimeout() {
        return newIdleTimeout;
    }

    /** Takes the value a save or an id change stored; changes made before it are in it. */
    void stored(Session fresh) {
        Map<String, String> next = new LinkedHashMap<>(fresh.attributes());
        // Another instance may have changed an attribute this request had decoded: decode it afresh.
        decoded.keySet().removeIf(name -> !Objects.equals(current.get(name), next.get(name)));
        this.stored = fresh;
        this.current = next;
        this.changes.clear();
        this.newIdleTimeout = null;
        if (fresh.lastAccessedAt().isAfter(lastAccessedTime)) {
            lastAccessedTime = fresh.lastAccessedAt();
        }
    }

    /** Takes the value an id change stored, keeping this request's unsaved changes. */
    void moved(Session renamed) {
        this.stored = renamed;
    }

    Session storedValue() {
        return stored;
    }

    @Override
    public String getId() {
        return stored.id();
    }

    @Override
    public String changeSessionId() {
        return repository.changeId(this);
    }

    @Override
    @SuppressWarnings("unchecked")
    public <T> T getAttribute(String attributeName) {
        Object value = decoded.get(attributeName);
        if (value == null) {
            String raw = current.get(attributeName);
            if (raw == null) {
                return null;
            }
            value = repository.encoding().decode(attributeName, raw);
            decoded.put(attributeName, value);
        }
        return (T) value;
    }

    @Override
    public Set<String> getAttributeNames() {
        return Set.copyOf(current.keySet());
    }

    @Override
    public void setAttribute(String attributeName, Object attributeValue) {
        Objects.requireNonNull(attributeName, "attributeName");
        if (attributeValue == null) {
            removeAttribute(attributeName);
            return;
        }
        String encoded = repository.encoding().encode(attributeName, attributeValue);
        current.put(attributeName, encoded);
        changes.put(attributeName, encoded);
        decoded.put(attributeName, attributeValue);
    }

    @Override
    public void removeAttribute(String attributeName) {
        Objects.requireNonNull(attributeName, "attributeName");
        decoded.remove(attributeName);
        if (current.remove(attributeName) != null || changes.containsKey(attributeName)) {
            changes.put(attributeName, null);
        }
    }

    @Override
    public Instant getCreationTime() {
        return stored.createdAt();
    }

    @Override
    public void setLastAccessedTime(Instant lastAccessedTime) {
        this.lastAccessedTime = Objects.requireNonNull(lastAccessedTime, "lastAccessedTime");
    }

    @Override
    public Instant getLastAccessedTime() {
        return lastAccessedTime;
    }

    @Override
    public void setMaxInactiveInterval(Duration interval) {
        Objects.requireNonNull(interval, "interval");
        if (interval.isNegative() || interval.isZero()) {
            throw new MaxInactiveIntervalException(interval);
        }
        newIdleTimeout = interval.equals(stored.idleTimeout()) ? null : interval;
    }

    @Override
    public Duration getMaxInactiveInterval() {
        return newIdleTimeout != null ? newIdleTimeout : stored.idleTimeout();
    }

    @Override
    public boolean isExpired() {
        Instant idleExpiry = lastAccessedTime.plus(getMaxInactiveInterval());
        Instant expiresAt = idleExpiry.isBefore(stored.absoluteExpiry()) ? idleExpiry : stored.absoluteExpiry();
        return !repository.now().isBefore(expiresAt);
    }

    @Override
    public Optional<String> owner() {
        return stored.ownerIfAny();
    }

    @Override
    public Instant absoluteExpiry() {
        return stored.absoluteExpiry();
    }

    /** Never prints the whole id or any value: sessions end up in logs. */
    @Override
    public String toString() {
        return "UsherSpringSession[id=" + SessionIds.redact(stored.id()) + ", owner="
                + stored.owner() + ", attributes=" + current.keySet() + ", unsaved=" + changes.keySet() + "]";
    }
}
