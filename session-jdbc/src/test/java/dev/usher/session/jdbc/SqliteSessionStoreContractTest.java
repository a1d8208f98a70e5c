package dev.usher.session.jdbc;

import dev.usher.session.SessionStore;
import dev.usher.session.SessionStoreContract;
import java.time.Duration;
import dev.usher.session.jdbc.JdbcSessionStore.Dialect;
import java.nio.file.Path;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The session-core contract, unchanged, on a SQLite file per test; peers are stores with their own pools on that file. */
class SqliteSessionStoreContractTest extends SessionStoreContract {
    @TempDir
    static Path dir;
    private TestEngine engine;

    @Override
    protected Duration expiryClaimTimeout() {
        return Duration.ofMinutes(1);
    }

    @Override
    protected SessionStore createStore() {
        engine = TestEngine.create(Dialect.SQLITE, dir);
        return engine.builder().build();
    }

    @Override
    protected SessionStore createPeerStore() {
        return engine.builder().build();
    }

    /** 80,000 serialized write transactions on one file take many seconds: run with the slow tests. */
    @Override
    @Test
    @Tag("slow")
    public void updatesFromManyThreadsLoseNothing() throws Exception {
        super.updatesFromManyThreadsLoseNothing();
    }
}
