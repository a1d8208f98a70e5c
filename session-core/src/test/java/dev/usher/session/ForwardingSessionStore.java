package dev.usher.session;

import java.time.Instant;
import java.util.Collection;
import java.util.List;
import java.util.Optional;
import java.util.function.Consumer;

/**
 * A {@link SessionStore} that forwards every call to another one; tests extend it to observe or break
 * the calls they care about. Published in session-core's test-jar.
 */
public class ForwardingSessionStore implements SessionStore {
    private final SessionStore delegate;

    public ForwardingSessionStore(SessionStore delegate) {
        this.delegate = delegate;
    }

    @Override
    public Optional<Session> load(String id) {
        return delegate.load(id);
    }

    @Override
    public boolean insert(Session session) {
        return delegate.insert(session);
    }

    @Override
    public boolean replace(Session session, long expectedVersion) {
        return delegate.replace(session, expectedVersion);
    }

    @Override
    public boolean changeId(String oldId, Session renamed, long expectedVersion) {
        return delegate.changeId(oldId, renamed, expectedVersion);
    }

    @Override
    public Optional<Session> remove(String id) {
        return delegate.remove(id);
    }

    @Override
    public List<Session> removeExpired(Instant now, int limit) {
        return delegate.removeExpired(now, limit);
    }

    @Override
    public void acknowledgeExpired(Collection<String> ids) {
        delegate.acknowledgeExpired(ids);
    }

    @Override
    public String newSessionId(String owner) {
        return delegate.newSessionId(owner);
    }

    @Override
    public OwnerLimitedWrite insertWithinOwnerLimit(Session session, OwnerLimit limit, Instant now) {
        return delegate.insertWithinOwnerLimit(session, limit, now);
    }

    @Override
    public OwnerLimitedWrite changeIdWithinOwnerLimit(String oldId, Session renamed, long expectedVersion,
                                                      OwnerLimit limit, Instant now) {
        return delegate.changeIdWithinOwnerLimit(oldId, renamed, expectedVersion, limit, now);
    }

    @Override
    public List<Session> findByOwner(String owner) {
        return delegate.findByOwner(owner);
    }

    @Override
    public SessionPage list(String cursor, int limit) {
        return delegate.list(cursor, limit);
    }

    @Override
    public long count() {
        return delegate.count();
    }

    @Override
    public void onEviction(Consumer<Session> listener) {
        delegate.onEviction(listener);
    }

    @Override
    public void close() {
        delegate.close();
    }
}
