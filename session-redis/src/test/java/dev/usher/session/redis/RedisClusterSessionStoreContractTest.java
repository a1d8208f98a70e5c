package dev.usher.session.redis;

import dev.usher.session.SessionStore;
import dev.usher.session.SessionStoreContract;
import java.time.Duration;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Tag;

/** The session-core contract, unchanged, against the shared three-master Redis Cluster. */
@Tag("server")
class RedisClusterSessionStoreContractTest extends SessionStoreContract {
    private String prefix;

    @Override
    protected Duration expiryClaimTimeout() {
        return Duration.ofMinutes(1);
    }

    @Override
    protected SessionStore createStore() {
        prefix = RedisTestSupport.uniquePrefix("contract-cluster");
        return open();
    }

    @Override
    protected SessionStore createPeerStore() {
        return open();
    }

    private SessionStore open() {
        // More shards than the default, so that sessions spread over all three masters at a finer grain.
        return RedisSessionStore.builder().clusterNodes(RedisTestSupport.clusterNodes()).keyPrefix(prefix)
                .shards(32).build();
    }

    @AfterEach
    void deleteKeys() {
        RedisTestSupport.deleteClusterKeys(prefix);
    }
}
