package dev.usher.session.redis;

import org.apache.commons.pool2.impl.GenericObjectPool;
import org.apache.commons.pool2.impl.GenericObjectPoolConfig;
import redis.clients.jedis.Connection;
import redis.clients.jedis.DefaultJedisClientConfig;
import redis.clients.jedis.HostAndPort;
import redis.clients.jedis.RedisClient;
import redis.clients.jedis.RedisClusterClient;
import redis.clients.jedis.UnifiedJedis;
import redis.clients.jedis.providers.ClusterConnectionProvider;
import redis.clients.jedis.providers.ConnectionProvider;
import redis.clients.jedis.providers.PooledConnectionProvider;
import redis.clients.jedis.util.JedisURIHelper;

/**
 * The clients a store builds and owns, from a builder's URI or cluster nodes: every network step bounded by
 * the builder's timeout, pools bounded by its connection count (and a bounded wait for a connection).
 * Stateless.
 */
final class OwnedClients {
    private OwnedClients() {
    }

    static RedisSessionStore standalone(RedisSessionStore.Builder b) {
        DefaultJedisClientConfig config = clientConfig(b)
                .user(JedisURIHelper.getUser(b.uri))
                .password(JedisURIHelper.getPassword(b.uri))
                .database(JedisURIHelper.getDBIndex(b.uri))
                .ssl(JedisURIHelper.isRedisSSLScheme(b.uri))
                .build();
        HostAndPort node = JedisURIHelper.getHostAndPort(b.uri);
        PooledConnectionProvider provider = new PooledConnectionProvider(node, config, poolConfig(b));
        UnifiedJedis standalone = RedisClient.builder()
                .hostAndPort(node)
                .clientConfig(config)
                .connectionProvider(provider)
                .build();
        return new RedisSessionStore(b, standalone, true, provider);
    }

    static RedisSessionStore cluster(RedisSessionStore.Builder b) {
        DefaultJedisClientConfig config = clientConfig(b).build();
        ClusterConnectionProvider provider = new ClusterConnectionProvider(b.clusterNodes, config, poolConfig(b));
        UnifiedJedis cluster = RedisClusterClient.builder()
                .nodes(b.clusterNodes)
                .clientConfig(config)
                .connectionProvider(provider)
                .maxTotalRetriesDuration(b.timeout)
                .build();
        return new RedisSessionStore(b, cluster, true, provider);
    }

    /** Drops the idle pooled connections of an owned client ({@code provider} null: a host's client, left alone). */
    static void dropIdleConnections(ConnectionProvider provider) {
        if (provider == null) {
            return;
        }
        for (Object pool : provider.getConnectionMap().values()) {
            if (pool instanceof GenericObjectPool<?> p) {
                p.clear();
            }
        }
    }

    private static DefaultJedisClientConfig.Builder clientConfig(RedisSessionStore.Builder b) {
        int millis = (int) b.timeout.toMillis();
        return DefaultJedisClientConfig.builder()
                .connectionTimeoutMillis(millis)
                .socketTimeoutMillis(millis)
                .clientName("usher-session-store");
    }

    private static GenericObjectPoolConfig<Connection> poolConfig(RedisSessionStore.Builder b) {
        GenericObjectPoolConfig<Connection> pool = new GenericObjectPoolConfig<>();
        pool.setMaxTotal(b.maxConnections);
        pool.setMaxIdle(b.maxConnections);
        pool.setBlockWhenExhausted(true);
        // Unbounded by default in commons-pool: a burst beyond maxConnections would hang callers forever.
        pool.setMaxWait(b.timeout);
        pool.setJmxEnabled(false);
        return pool;
    }
}
