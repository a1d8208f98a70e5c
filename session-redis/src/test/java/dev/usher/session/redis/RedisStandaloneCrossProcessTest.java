package dev.usher.session.redis;

import org.junit.jupiter.api.Tag;
import dev.usher.session.CrossProcessContract;
import dev.usher.session.SessionProcess;
import dev.usher.session.SessionStore;
import java.time.Duration;
import org.junit.jupiter.api.AfterEach;

/** Owner limit and expiry claims across JVM processes on the shared Redis server. */
@Tag("server")
class RedisStandaloneCrossProcessTest extends CrossProcessContract {
    private static final boolean CLUSTER = false;
    private final String prefix = RedisTestSupport.uniquePrefix("cross-process-standalone");

    @Override
    protected Class<? extends SessionProcess.StoreFactory> factory() {
        return RedisStoreFactory.class;
    }

    @Override
    protected String[] factoryArgs(Duration claimTimeout) {
        return new String[] {CLUSTER ? "cluster" : "standalone", prefix, Long.toString(claimTimeout.toMillis())};
    }

    @Override
    protected SessionStore openStore(Duration claimTimeout) {
        return RedisStoreFactory.open(CLUSTER, prefix, claimTimeout);
    }

    @AfterEach
    void deleteKeys() {
        if (CLUSTER) {
            RedisTestSupport.deleteClusterKeys(prefix);
        } else {
            RedisTestSupport.deleteStandaloneKeys(prefix);
        }
    }
}
