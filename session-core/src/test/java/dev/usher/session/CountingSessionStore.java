package dev.usher.session;

import java.util.Optional;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Consumer;

/**
 * Counts the round trips a manager makes to the store it wraps (reads and compare-and-sets), for tests
 * that pin how many calls an operation costs. It neither closes the wrapped store nor takes over its
 * eviction listener, so it can sit beside a test's own manager on one store. Published in session-core's
 * test-jar.
 */
public class CountingSessionStore extends ForwardingSessionStore {
    public final AtomicInteger loads = new AtomicInteger();
    public final AtomicInteger replaces = new AtomicInteger();

    public CountingSessionStore(SessionStore delegate) {
        super(delegate);
    }

    @Override
    public Optional<Session> load(String id) {
        loads.incrementAndGet();
        return super.load(id);
    }

    @Override
    public boolean replace(Session session, long expectedVersion) {
        replaces.incrementAndGet();
        return super.replace(session, expectedVersion);
    }

    @Override
    public void onEviction(Consumer<Session> listener) {
        // the manager that owns the wrapped store receives its evictions
    }

    @Override
    public void close() {
        // the owner of the wrapped store closes it
    }
}
