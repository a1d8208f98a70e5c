package dev.usher.gate.ratelimit;

import com.zaxxer.hikari.HikariConfig;
import com.zaxxer.hikari.HikariDataSource;
import java.net.URI;
import java.time.Duration;
import java.util.Arrays;
import java.util.Set;
import java.util.UUID;
import java.util.stream.Collectors;
import redis.clients.jedis.HostAndPort;
import redis.clients.jedis.RedisClient;
import redis.clients.jedis.RedisClusterClient;

/**
 * The shared test servers (started by scripts/test-env.sh), from system properties with the script's
 * defaults. A server that is not there makes the test fail, never skip.
 */
final class TestServers {
    static final String REDIS_URI = System.getProperty("usher.test.redis.uri", "redis://127.0.0.1:56379");
    static final String REDIS_CLUSTER = System.getProperty("usher.test.redis.cluster",
            "127.0.0.1:47001,127.0.0.1:47002,127.0.0.1:47003");
    static final String POSTGRES_URL = System.getProperty("usher.test.postgres.url",
            "jdbc:postgresql://127.0.0.1:55432/usher_test");
    static final String POSTGRES_USER = System.getProperty("usher.test.postgres.user", "usher");

    private TestServers() {
    }

    static RedisClient redis() {
        return RedisClient.create(URI.create(REDIS_URI));
    }

    static RedisClusterClient redisCluster() {
        Set<HostAndPort> nodes = Arrays.stream(REDIS_CLUSTER.split(","))
                .map(String::trim)
                .map(HostAndPort::from)
                .collect(Collectors.toSet());
        return RedisClusterClient.create(nodes);
    }

    /**
     * A pool; {@code connectionTimeout} is how long a decision waits for a connection, under contention
     * or when the database is down (then the store-down policy applies).
     */
    static HikariDataSource postgres(String jdbcUrl, int poolSize, Duration connectionTimeout) {
        HikariConfig config = new HikariConfig();
        config.setJdbcUrl(jdbcUrl);
        config.setUsername(POSTGRES_USER);
        config.setMaximumPoolSize(poolSize);
        config.setConnectionTimeout(connectionTimeout.toMillis());
        config.setValidationTimeout(500);
        return new HikariDataSource(config);
    }

    /** A name no other test run uses, for limiter names (Redis key prefixes) and table names. */
    static String unique(String prefix) {
        return prefix + "_" + UUID.randomUUID().toString().replace("-", "").substring(0, 12);
    }
}
