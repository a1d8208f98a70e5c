package dev.usher.gate.ratelimit;

import io.github.bucket4j.TimeMeter;
import io.github.bucket4j.distributed.jdbc.PrimaryKeyMapper;
import io.github.bucket4j.distributed.proxy.ProxyManager;
import io.github.bucket4j.postgresql.Bucket4jPostgreSQL;
import java.sql.Connection;
import java.sql.Statement;
import java.util.Objects;
import java.util.regex.Pattern;
import javax.sql.DataSource;

/**
 * A PostgreSQL store for cluster-wide {@link RateLimiter} buckets ({@code bucket4j_jdk17-postgresql}).
 * Needs {@code com.bucket4j:bucket4j_jdk17-postgresql} and a PostgreSQL JDBC driver on the class path.
 *
 * <p>One row per bucket, {@code (id VARCHAR PRIMARY KEY, state BYTEA)}; each decision is one transaction
 * that locks the row ({@code SELECT ... FOR UPDATE}), so it is exact across instances. Rows are not removed
 * when buckets refill: a host with very many distinct keys deletes old rows itself. The pool's connection
 * timeout is how long a decision waits when the database is down before the store-down policy applies:
 * keep it short (a second or two).
 */
public final class PostgresBuckets {
    private static final Pattern TABLE = Pattern.compile("([a-z_][a-z0-9_]{0,62}\\.)?[a-z_][a-z0-9_]{0,62}");

    private PostgresBuckets() {
    }

    /**
     * A proxy manager over the table {@code table} (see {@link #createTable}); the caller owns
     * {@code dataSource} and closes it.
     *
     * @throws IllegalArgumentException if {@code table} is not a lower-case SQL identifier, optionally
     *     schema-qualified, of at most 63 characters per part
     */
    public static ProxyManager<String> proxyManager(DataSource dataSource, String table) {
        return proxyManager(dataSource, table, TimeMeter.SYSTEM_MILLISECONDS);
    }

    /** With the clock the buckets' refill is computed by (tests). */
    static ProxyManager<String> proxyManager(DataSource dataSource, String table, TimeMeter clock) {
        Objects.requireNonNull(dataSource, "dataSource");
        return Bucket4jPostgreSQL.selectForUpdateBasedBuilder(dataSource)
                .primaryKeyMapper(PrimaryKeyMapper.STRING)
                .clientClock(clock)
                .table(checkTable(table))
                .idColumn("id")
                .stateColumn("state")
                .build();
    }

    /**
     * Creates the bucket table if it does not exist.
     *
     * @throws RateLimitStoreException if the statement fails; {@link RateLimitStoreException#unavailable()}
     *     tells an unreachable database from a refused statement (no permission, a clash with an object)
     */
    public static void createTable(DataSource dataSource, String table) {
        String name = checkTable(table);
        Objects.requireNonNull(dataSource, "dataSource");
        try (Connection c = dataSource.getConnection(); Statement s = c.createStatement()) {
            s.execute("CREATE TABLE IF NOT EXISTS " + name + " (id VARCHAR(512) PRIMARY KEY, state BYTEA)");
        } catch (java.sql.SQLException e) {
            throw new RateLimitStoreException("cannot create rate-limit table " + name + ": " + e, e,
                    DefaultRateLimiter.isConnectionLevel(e));
        }
    }

    private static String checkTable(String table) {
        Objects.requireNonNull(table, "table");
        if (!TABLE.matcher(table).matches()) {
            throw new IllegalArgumentException("table must be a lower-case SQL identifier, optionally "
                    + "schema-qualified, at most 63 characters per part, but was '" + table + "'");
        }
        return table;
    }
}
