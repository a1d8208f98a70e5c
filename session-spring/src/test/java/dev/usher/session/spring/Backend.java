package dev.usher.session.spring;

import dev.usher.session.SessionStore;
import dev.usher.session.jdbc.JdbcSessionStore;
import dev.usher.session.memory.InMemorySessionStore;
import dev.usher.session.redis.RedisSessionStore;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ThreadLocalRandom;
import java.util.stream.Collectors;
import redis.clients.jedis.HostAndPort;
import redis.clients.jedis.Jedis;
import redis.clients.jedis.params.ScanParams;
import redis.clients.jedis.resps.ScanResult;

/**
 * Every Usher store the bridge runs on, over the shared test servers (addresses from the system properties
 * {@code usher.test.postgres.url}, {@code usher.test.redis.uri}, {@code usher.test.redis.cluster}, defaulting
 * to what scripts/test-env.sh starts). An unreachable server fails the test; nothing is skipped.
 */
enum Backend {
    MEMORY, SQLITE, POSTGRESQL, REDIS, REDIS_CLUSTER;

    static final String POSTGRES_URL = System.getProperty("usher.test.postgres.url",
            "jdbc:postgresql://127.0.0.1:55432/usher_test");
    static final String POSTGRES_USER = System.getProperty("usher.test.postgres.user", "usher");
    static final String POSTGRES_PASSWORD = System.getProperty("usher.test.postgres.password", "");
    static final String REDIS_URI = System.getProperty("usher.test.redis.uri", "redis://127.0.0.1:56379");

    static Set<HostAndPort> clusterNodes() {
        String spec = System.getProperty("usher.test.redis.cluster", "127.0.0.1:47001,127.0.0.1:47002,127.0.0.1:47003");
        return Arrays.stream(spec.split(",")).map(String::trim).map(HostAndPort::from).collect(Collectors.toSet());
    }

    /** One isolated namespace on this backend (a file, a table, a key prefix), removed again on close. */
    SharedStore open(Path dir) {
        String namespace = "ss_" + Long.toHexString(ThreadLocalRandom.current().nextLong() & Long.MAX_VALUE);
        if (this == MEMORY) {
            // One in-process store under two managers is the closest memory gets to two instances: both see
            // every session, and each manager's close() leaves it usable (it holds nothing to release).
            InMemorySessionStore store = new InMemorySessionStore();
            return new SharedStore(this, namespace, dir, () -> store, () -> { });
        }
        return new SharedStore(this, namespace, dir, () -> store(namespace, dir), () -> cleanUp(namespace));
    }

    /** A new store instance (own pools, own clients) on the namespace; also what a child process opens. */
    SessionStore store(String namespace, Path dir) {
        return switch (this) {
            case MEMORY -> throw new IllegalStateException("an in-memory store cannot be opened twice");
            case SQLITE -> JdbcSessionStore.builder().jdbcUrl("jdbc:sqlite:" + dir.resolve(namespace + ".db"))
                    .tableName(namespace).build();
            case POSTGRESQL -> JdbcSessionStore.builder().jdbcUrl(POSTGRES_URL)
                    .credentials(POSTGRES_USER, POSTGRES_PASSWORD).tableName(namespace).build();
            case REDIS -> RedisSessionStore.builder().uri(REDIS_URI).keyPrefix(redisPrefix(namespace)).build();
            case REDIS_CLUSTER -> RedisSessionStore.builder().clusterNodes(clusterNodes())
                    .keyPrefix(redisPrefix(namespace)).build();
        };
    }

    private static String redisPrefix(String namespace) {
        return "usher-test:spring:" + namespace + ":";
    }

    private void cleanUp(String namespace) {
        switch (this) {
            case POSTGRESQL -> dropTable(namespace);
            case REDIS -> deleteKeys(List.of(HostAndPort.from(REDIS_URI.replaceFirst("^redis://", ""))),
                    redisPrefix(namespace));
            case REDIS_CLUSTER -> deleteKeys(new ArrayList<>(clusterNodes()), redisPrefix(namespace));
            default -> {
                // SQLite: the file is in the test's temporary directory.
            }
        }
    }

    private static void dropTable(String table) {
        try (Connection c = DriverManager.getConnection(POSTGRES_URL, POSTGRES_USER, POSTGRES_PASSWORD);
             Statement st = c.createStatement()) {
            st.execute("DROP TABLE IF EXISTS " + table);
        } catch (SQLException e) {
            throw new IllegalStateException("could not drop test table " + table, e);
        }
    }

    /** Scans every node and unlinks the prefix's keys one by one (they span slots). */
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
