package dev.usher.spring.boot.autoconfigure;

import java.net.URI;
import java.util.Arrays;
import java.util.stream.Collectors;
import redis.clients.jedis.HostAndPort;
import redis.clients.jedis.RedisClient;
import redis.clients.jedis.RedisClusterClient;
import redis.clients.jedis.UnifiedJedis;

/**
 * The cluster queue's own Redis client, as a bean of a type no application defines, so it never collides
 * with the application's clients; Spring closes it after the queue that uses it.
 */
final class ClusterQueueClient implements AutoCloseable {
    private final UnifiedJedis redis;

    private ClusterQueueClient(UnifiedJedis redis) {
        this.redis = redis;
    }

    /** A redis:// URI for one server, or a comma-separated host:port list of Redis Cluster nodes. */
    static ClusterQueueClient connect(String spec) {
        if (spec.contains(",")) {
            return new ClusterQueueClient(RedisClusterClient.create(Arrays.stream(spec.split(","))
                    .map(String::strip).map(HostAndPort::from).collect(Collectors.toSet())));
        }
        return new ClusterQueueClient(RedisClient.create(URI.create(spec.strip())));
    }

    UnifiedJedis redis() {
        return redis;
    }

    @Override
    public void close() {
        redis.close();
    }
}
