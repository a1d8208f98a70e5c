package dev.usher.session.redis;

import dev.usher.session.SessionProcess;
import dev.usher.session.SessionStore;
import java.time.Duration;
import java.util.List;

/** Opens a child process's store: {@code standalone|cluster <key prefix> <expiry claim timeout millis>}. */
public final class RedisStoreFactory implements SessionProcess.StoreFactory {
    @Override
    public SessionStore open(List<String> args) {
        return open(args.get(0).equals("cluster"), args.get(1), Duration.ofMillis(Long.parseLong(args.get(2))));
    }

    static SessionStore open(boolean cluster, String prefix, Duration claimTimeout) {
        RedisSessionStore.Builder b = RedisSessionStore.builder().keyPrefix(prefix).expiryClaimTimeout(claimTimeout);
        return (cluster ? b.clusterNodes(RedisTestSupport.clusterNodes()).shards(32)
                : b.uri(RedisTestSupport.standaloneUri())).build();
    }
}
