package dev.usher.benchmarks;

import com.zaxxer.hikari.HikariConfig;
import com.zaxxer.hikari.HikariDataSource;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.List;

/**
 * Where the benchmarks find their servers: the endpoints of {@code scripts/test-env.sh}, overridable with
 * system properties ({@code usher.bench.postgres.url}, {@code usher.bench.postgres.user},
 * {@code usher.bench.redis.uri}), which {@link Suite} passes on to every forked JVM.
 *
 * <p>PostgreSQL benchmarks use their own database, {@code usher_bench}, created on first use, so that
 * {@code pg_stat_statements} can count their statements apart from anybody else's on a shared server.
 */
final class Servers {
    static final String POSTGRES_URL = "usher.bench.postgres.url";
    static final String POSTGRES_USER = "usher.bench.postgres.user";
    static final String REDIS_URI = "usher.bench.redis.uri";
    static final List<String> PROPERTIES = List.of(POSTGRES_URL, POSTGRES_USER, REDIS_URI);

    private static final String DATABASE = "usher_bench";

    private Servers() {
    }

    static String postgresUrl() {
        return System.getProperty(POSTGRES_URL, "jdbc:postgresql://127.0.0.1:55432/" + DATABASE);
    }

    static String postgresUser() {
        return System.getProperty(POSTGRES_USER, "usher");
    }

    static String redisUri() {
        return System.getProperty(REDIS_URI, "redis://127.0.0.1:56379");
    }

    static String redisHost() {
        return URI.create(redisUri()).getHost();
    }

    static int redisPort() {
        return URI.create(redisUri()).getPort();
    }

    /**
     * A pool on the benchmark database, creating the database first if it does not exist. Without
     * server-prepared statements, every statement the driver sends shows in {@code pg_stat_statements}:
     * once the driver has prepared its {@code COMMIT}, the server no longer counts its executions there.
     */
    static HikariDataSource postgres(int poolSize, boolean serverPrepared) {
        ensurePostgresDatabase();
        HikariConfig config = new HikariConfig();
        config.setJdbcUrl(postgresUrl());
        config.setUsername(postgresUser());
        if (!serverPrepared) {
            config.addDataSourceProperty("prepareThreshold", "0");
        }
        config.setMaximumPoolSize(poolSize);
        config.setPoolName("bench-postgres");
        return new HikariDataSource(config);
    }

    /** A pool on a fresh SQLite file in WAL mode, as an embedded deployment would run it. */
    static HikariDataSource sqlite(Path file, int poolSize) {
        HikariConfig config = new HikariConfig();
        config.setJdbcUrl("jdbc:sqlite:" + file + "?journal_mode=WAL&synchronous=NORMAL&busy_timeout=10000");
        config.setMaximumPoolSize(poolSize);
        config.setPoolName("bench-sqlite");
        return new HikariDataSource(config);
    }

    static Path temporaryDirectory(String prefix) {
        try {
            return Files.createTempDirectory(prefix);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static void ensurePostgresDatabase() {
        String url = postgresUrl();
        int slash = url.lastIndexOf('/');
        String database = url.substring(slash + 1).replaceAll("\\?.*", "");
        String admin = url.substring(0, slash + 1) + "postgres";
        try (Connection c = DriverManager.getConnection(admin, postgresUser(), null);
             Statement s = c.createStatement();
             var rs = s.executeQuery("SELECT 1 FROM pg_database WHERE datname = '" + database + "'")) {
            if (!rs.next()) {
                s.execute("CREATE DATABASE " + database);
            }
        } catch (SQLException e) {
            if (!"42P04".equals(e.getSQLState())) { // created concurrently by another fork: fine
                throw new IllegalStateException("cannot reach PostgreSQL at " + admin + ": " + e.getMessage(), e);
            }
        }
    }
}
