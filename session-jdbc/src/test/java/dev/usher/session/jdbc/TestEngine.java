package dev.usher.session.jdbc;

import dev.usher.session.Session;
import dev.usher.session.jdbc.JdbcSessionStore.Dialect;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.ThreadLocalRandom;

/**
 * One isolated database for a test: a fresh SQLite file, or a uniquely named table on the shared PostgreSQL
 * server (dropped again on close). Builds stores on it and raw JDBC connections for inspecting it. The
 * server's address comes from {@code usher.test.postgres.url} / {@code usher.test.postgres.user}; an
 * unreachable server fails the test.
 */
final class TestEngine implements AutoCloseable {
    static final String POSTGRES_URL = System.getProperty("usher.test.postgres.url",
            "jdbc:postgresql://127.0.0.1:55432/usher_test");
    static final String POSTGRES_USER = System.getProperty("usher.test.postgres.user", "usher");
    static final String POSTGRES_PASSWORD = System.getProperty("usher.test.postgres.password", "");

    final Dialect dialect;
    final String table;
    private final Path sqliteFile;
    private final List<JdbcSessionStore> stores = new ArrayList<>();

    private TestEngine(Dialect dialect, String table, Path sqliteFile) {
        this.dialect = dialect;
        this.table = table;
        this.sqliteFile = sqliteFile;
    }

    static TestEngine create(Dialect dialect, Path dir) {
        String table = uniqueTable();
        Path file = dialect == Dialect.SQLITE ? dir.resolve(table + ".db") : null;
        return new TestEngine(dialect, table, file);
    }

    private static String uniqueTable() {
        return "t_" + Long.toHexString(ThreadLocalRandom.current().nextLong() & Long.MAX_VALUE);
    }

    String jdbcUrl() {
        return dialect == Dialect.SQLITE ? "jdbc:sqlite:" + sqliteFile : POSTGRES_URL;
    }

    /** A builder for a store on this engine's database and table, with its own pools. */
    JdbcSessionStore.Builder builder() {
        JdbcSessionStore.Builder b = JdbcSessionStore.builder().jdbcUrl(jdbcUrl()).tableName(table);
        return dialect == Dialect.POSTGRESQL ? b.credentials(POSTGRES_USER, POSTGRES_PASSWORD) : b;
    }

    /** A new store instance (separate pools) on this database, closed with the engine. */
    JdbcSessionStore open() {
        return track(builder().build());
    }

    JdbcSessionStore track(JdbcSessionStore store) {
        synchronized (stores) {
            stores.add(store);
        }
        return store;
    }

    Connection connect() throws SQLException {
        if (dialect == Dialect.SQLITE) {
            return DriverManager.getConnection(jdbcUrl());
        }
        Properties p = new Properties();
        p.setProperty("user", POSTGRES_USER);
        p.setProperty("password", POSTGRES_PASSWORD);
        p.setProperty("reWriteBatchedInserts", "true");
        return DriverManager.getConnection(POSTGRES_URL, p);
    }

    /** Inserts sessions with one batched transaction: test set-up for backlogs, not the code under test. */
    void bulkInsert(List<Session> sessions) throws SQLException {
        String sql = "INSERT INTO " + table + " (" + SqlStatements.COLUMNS + ") VALUES (?, ?, ?, ?, ?, ?, ?, ?, "
                + (dialect == Dialect.POSTGRESQL ? "CAST(? AS json)" : "?") + ")";
        try (Connection c = connect()) {
            c.setAutoCommit(false);
            try (PreparedStatement ps = c.prepareStatement(sql)) {
                int n = 0;
                for (Session s : sessions) {
                    ps.setString(1, s.id());
                    ps.setString(2, s.owner());
                    ps.setLong(3, s.createdAt().toEpochMilli());
                    ps.setLong(4, s.lastAccessedAt().toEpochMilli());
                    ps.setLong(5, s.idleTimeout().toMillis());
                    ps.setLong(6, s.absoluteExpiry().toEpochMilli());
                    ps.setLong(7, s.expiresAt().toEpochMilli());
                    ps.setLong(8, s.version());
                    ps.setString(9, JsonAttributes.encode(s.attributes()));
                    ps.addBatch();
                    if (++n % 1000 == 0) {
                        ps.executeBatch();
                    }
                }
                ps.executeBatch();
            }
            c.commit();
        }
    }

    static Session session(String id, String owner, Instant now, Map<String, String> attributes) {
        return new Session(id, owner, now, now, Duration.ofMinutes(30), now.plus(Duration.ofHours(12)), 1, attributes);
    }

    @Override
    public void close() throws Exception {
        synchronized (stores) {
            stores.forEach(JdbcSessionStore::close);
            stores.clear();
        }
        if (dialect == Dialect.POSTGRESQL) {
            try (Connection c = connect(); Statement st = c.createStatement()) {
                st.execute("DROP TABLE IF EXISTS " + table + ", " + table + "_schema_version");
            }
        } else {
            for (String suffix : new String[] {"", "-wal", "-shm"}) {
                Files.deleteIfExists(Path.of(sqliteFile + suffix));
            }
        }
    }
}
