package dev.usher.gate.redis;

import java.util.Arrays;
import java.util.Set;
import java.util.UUID;
import java.util.stream.Collectors;
import redis.clients.jedis.HostAndPort;
import java.net.URI;
import redis.clients.jedis.Jedis;
import redis.clients.jedis.RedisClient;
import redis.clients.jedis.RedisClusterClient;
import redis.clients.jedis.UnifiedJedis;

/**
 * The shared test servers (system properties, defaulting to what scripts/test-env.sh starts). An unreachable
 * server fails the test; nothing is skipped. Every test uses a queue name of its own.
 */
final class TestRedis {
    private TestRedis() {
    }

    static String standaloneUri() {
        return System.getProperty("usher.test.redis.uri", "redis://127.0.0.1:56379");
    }

    static String clusterSpec() {
        return System.getProperty("usher.test.redis.cluster", "127.0.0.1:47001,127.0.0.1:47002,127.0.0.1:47003");
    }

    /** "redis://host:port" for standalone, "cluster:h:p,h:p" for a cluster. */
    static UnifiedJedis connect(String target) {
        if (target.startsWith("cluster:")) {
            Set<HostAndPort> nodes = Arrays.stream(target.substring("cluster:".length()).split(","))
                    .map(String::trim).map(HostAndPort::from).collect(Collectors.toSet());
            return RedisClusterClient.create(nodes);
        }
        return RedisClient.create(URI.create(target));
    }

    static String standalone() {
        return standaloneUri();
    }

    static String cluster() {
        return "cluster:" + clusterSpec();
    }

    static String uniqueName(String test) {
        return test + "-" + UUID.randomUUID().toString().substring(0, 8);
    }

    /** Deletes the queue's keys (all in one slot, so on one node): scan every node for the hash tag. */
    static void deleteQueue(String target, String name) {
        String pattern = "usher:q:{" + name + "}:*";
        String nodes = target.startsWith("cluster:") ? target.substring("cluster:".length())
                : target.replaceFirst("^redis://", "");
        for (String node : nodes.split(",")) {
            try (Jedis jedis = new Jedis(HostAndPort.from(node.trim()))) {
                for (String key : jedis.keys(pattern)) {
                    jedis.unlink(key);
                }
            } catch (RuntimeException ignored) {
                // a dedicated server already stopped: nothing left to clean
            }
        }
    }
}
