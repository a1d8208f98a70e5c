package dev.usher.session.redis;

import dev.usher.session.SessionStore;
import dev.usher.session.SessionStoreContract;
import java.time.Duration;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Tag;

/** The session-core contract, unchanged, against the shared standalone Redis. */
@Tag("server")
class RedisSessionStoreContractTest extends SessionStoreContract {
    private String prefix;

    @Override
    protected Duration expiryClaimTimeout() {
        return Duration.ofMinutes(1);
    }

    @Override
    protected SessionStore createStore() {
        prefix = RedisTestSupport.uniquePrefix("contract-standalone");
        return open();
    }

    @Override
    protected SessionStore createPeerStore() {
        return open();
    }

    private SessionStore open() {
        return RedisSessionStore.builder().uri(RedisTestSupport.standaloneUri()).keyPrefix(prefix).build();
    }

    @AfterEach
    void deleteKeys() {
        RedisTestSupport.deleteStandaloneKeys(prefix);
    }
}
