package dev.usher.session.jdbc;

import org.junit.jupiter.api.Tag;
import dev.usher.session.CrossProcessContract;
import dev.usher.session.SessionProcess;
import dev.usher.session.SessionStore;
import dev.usher.session.jdbc.JdbcSessionStore.Dialect;
import java.time.Duration;
import org.junit.jupiter.api.AfterEach;

/** Owner limit and expiry claims across JVM processes on one Postgres table. */
@Tag("server")
class PostgresCrossProcessTest extends CrossProcessContract {
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
            engine = TestEngine.create(Dialect.POSTGRESQL, dir);
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
