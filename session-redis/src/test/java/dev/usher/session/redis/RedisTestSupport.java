package dev.usher.session.redis;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Set;
import java.util.UUID;
import java.util.stream.Collectors;
import redis.clients.jedis.HostAndPort;
import redis.clients.jedis.Jedis;
import redis.clients.jedis.params.ScanParams;
import redis.clients.jedis.resps.ScanResult;

/**
 * Endpoints of the shared test servers (system properties, defaulting to what scripts/test-env.sh starts)
 * and cleanup of one test's keys. An unreachable server fails the test; nothing is skipped.
 */
final class RedisTestSupport {
    private RedisTestSupport() {
    }

    static String standaloneUri() {
        return System.getProperty("usher.test.redis.uri", "redis://127.0.0.1:56379");
    }

    static Set<HostAndPort> clusterNodes() {
        String spec = System.getProperty("usher.test.redis.cluster", "127.0.0.1:47001,127.0.0.1:47002,127.0.0.1:47003");
        return Arrays.stream(spec.split(",")).map(String::trim).map(HostAndPort::from).collect(Collectors.toSet());
    }

    /** A key prefix no other test (of this run or a concurrent one) uses; only [a-z0-9:-], so safe in MATCH. */
    static String uniquePrefix(String testName) {
        return "usher-test:" + testName + ":" + UUID.randomUUID() + ":";
    }

    static void deleteStandaloneKeys(String prefix) {
        HostAndPort hp = HostAndPort.from(standaloneUri().replaceFirst("^redis://", ""));
        deleteKeys(List.of(hp), prefix);
    }

    static void deleteClusterKeys(String prefix) {
        deleteKeys(new ArrayList<>(clusterNodes()), prefix);
    }

    /** Scans every node and deletes the prefix's keys one by one (they span slots, so no multi-key DEL). */
    private static void deleteKeys(List<HostAndPort> nodes, String prefix) {
        for (HostAndPort node : nodes) {
            try (Jedis jedis = new Jedis(node)) {
                String cursor = ScanParams.SCAN_POINTER_START;
                ScanParams params = new ScanParams().match(prefix + "*").count(1000);
                do {
                    ScanResult<String> page = jedis.scan(cursor, params);
                    for (String key : page.getResult()) {
                        jedis.unlink(key);
                    }
                    cursor = page.getCursor();
                } while (!cursor.equals(ScanParams.SCAN_POINTER_START));
            }
        }
    }
}
