package dev.usher.session.spring;

import dev.usher.session.SessionStore;
import java.nio.file.Path;
import java.util.function.Supplier;

/**
 * One namespace on one backend; {@link #newInstance()} opens another store instance on it (its own pools and
 * clients), as another host instance would. {@link #close()} removes the namespace's data.
 */
final class SharedStore implements AutoCloseable {
    final Backend backend;
    final String namespace;
    final Path dir;
    private final Supplier<SessionStore> instances;
    private final Runnable cleanup;

    SharedStore(Backend backend, String namespace, Path dir, Supplier<SessionStore> instances, Runnable cleanup) {
        this.backend = backend;
        this.namespace = namespace;
        this.dir = dir;
        this.instances = instances;
        this.cleanup = cleanup;
    }

    SessionStore newInstance() {
        return instances.get();
    }

    @Override
    public void close() {
        cleanup.run();
    }
}
