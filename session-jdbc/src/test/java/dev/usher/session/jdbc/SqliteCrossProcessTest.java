package dev.usher.session.jdbc;

import dev.usher.session.CrossProcessContract;
import dev.usher.session.SessionProcess;
import dev.usher.session.SessionStore;
import dev.usher.session.jdbc.JdbcSessionStore.Dialect;
import java.time.Duration;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Tag;

/** Owner limit and expiry claims across JVM processes on one Sqlite table. */
@Tag("slow")
class SqliteCrossProcessTest extends CrossProcessContract {
    private TestEngine engine;

    @Override
    protected Class<? extends SessionProcess.StoreFactory> factory() {
        return JdbcStoreFactory.class;
    }

    @Override
    protected String[] factoryArgs(Duration claimTimeout) {
        return JdbcStoreFactory.argsFor(engine(), claimTimeout);
    }

    @Override
    protected SessionStore openStore(Duration claimTimeout) {
        return engine().builder().expiryClaimTimeout(claimTimeout).build();
    }

    private TestEngine engine() {
        if (engine == null) {
            engine = TestEngine.create(Dialect.SQLITE, dir);
        }
        return engine;
    }

    @AfterEach
    void dropTable() throws Exception {
        if (engine != null) {
            engine.close();
        }
    }
}
