package dev.usher.session.jdbc;

import com.zaxxer.hikari.HikariConfig;
import com.zaxxer.hikari.HikariDataSource;
import dev.usher.session.StoreCircuit;
import dev.usher.session.StoreUnavailableException;
import dev.usher.session.jdbc.JdbcSessionStore.Dialect;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.List;
import java.util.Locale;
import java.util.Properties;
import javax.sql.DataSource;

/**
 * Turns a builder's settings into the store's {@link Database}: on a host's {@code DataSource} (dialect
 * detected from its metadata), or on HikariCP pools built from a JDBC URL after {@link JdbcChecks} ruled
 * out mistakes, with the driver settings that bound every wait by the timeout. Stateless.
 */
final class DatabaseSetup {
    /** How often a store that is down is probed: recovery is seen within this plus one round trip. */
    static final Duration PROBE_INTERVAL = Duration.ofMillis(200);

    private DatabaseSetup() {
    }

    static Database onHostDataSource(JdbcSessionStore.Builder b) {
        Dialect d = b.dialect != null ? b.dialect : detect(b.dataSource);
        DataSource ds = b.dataSource;
        int seconds = probeSeconds(b);
        return new Database(d, b.tableName, b.timeout, ds, ds, List.of(), StatementCache.off(), PROBE_INTERVAL, () -> {
            try (Connection c = ds.getConnection()) {
                if (!c.isValid(seconds)) {
                    throw new SQLException("connection not valid");
                }
            }
        });
    }

    private static Dialect detect(DataSource ds) {
        String product;
        try (Connection c = ds.getConnection()) {
            product = c.getMetaData().getDatabaseProductName();
        } catch (SQLException e) {
            throw new StoreUnavailableException("could not connect to detect the session store's dialect: "
                    + e.getMessage(), e);
        }
        if ("SQLite".equalsIgnoreCase(product)) {
            return Dialect.SQLITE;
        }
        if ("PostgreSQL".equalsIgnoreCase(product)) {
            return Dialect.POSTGRESQL;
        }
        throw new IllegalArgumentException("database '" + product + "' is not supported; JdbcSessionStore speaks "
                + "SQLite and PostgreSQL (set dialect() if the driver names it differently)");
    }

    static Database withOwnedPools(JdbcSessionStore.Builder b) {
        String jdbcUrl = b.jdbcUrl;
        Dialect d = b.dialect != null ? b.dialect
                : jdbcUrl.toLowerCase(Locale.ROOT).startsWith("jdbc:sqlite:") ? Dialect.SQLITE : Dialect.POSTGRESQL;
        JdbcChecks.requireDriver(d);
        if (d == Dialect.SQLITE) {
            JdbcChecks.checkSqliteFile(jdbcUrl);
        }
        JdbcChecks.checkConnects(jdbcUrl, driverProperties(b, d, timeoutSeconds(b)), d, b.timeout, PROBE_INTERVAL);
        String poolName = "usher-session-" + b.tableName;
        Properties probeProperties = driverProperties(b, d, probeSeconds(b));
        StoreCircuit.Probe probe = () -> {
            try (Connection c = DriverManager.getConnection(jdbcUrl, probeProperties); Statement st = c.createStatement()) {
                st.execute("SELECT 1");
            }
        };
        if (d == Dialect.POSTGRESQL) {
            HikariConfig config = poolConfig(b, poolName, b.maximumPoolSize == 0 ? 10 : b.maximumPoolSize);
            // No idle floor: while the circuit is open nobody waits for a connection, so the pool stops
            // retrying the dead server and the first call after recovery connects at once, without waiting
            // out the pool's growing retry back-off.
            config.setMinimumIdle(0);
            config.setDataSourceProperties(driverProperties(b, d, timeoutSeconds(b)));
            HikariDataSource pool = new HikariDataSource(config);
            // The driver keeps server-side prepared statements per connection itself.
            return new Database(d, b.tableName, b.timeout, pool, pool, List.of(pool), StatementCache.off(),
                    PROBE_INTERVAL, probe);
        }
        // One writer, since SQLite serialises writers anyway: queueing for it in the pool is fair and
        // bounded by the timeout, where several writer connections would spin in busy handlers.
        HikariDataSource writerPool = new HikariDataSource(sqliteConfig(b, poolConfig(b, poolName + "-writer", 1)));
        int readers = b.maximumPoolSize == 0 ? 4 : b.maximumPoolSize;
        HikariDataSource readerPool;
        try {
            readerPool = new HikariDataSource(sqliteConfig(b, poolConfig(b, poolName + "-reader", readers)));
        } catch (RuntimeException e) {
            writerPool.close();
            throw e;
        }
        return new Database(d, b.tableName, b.timeout, writerPool, readerPool, List.of(writerPool, readerPool),
                StatementCache.keeping(1 + readers), PROBE_INTERVAL, probe);
    }

    private static int timeoutSeconds(JdbcSessionStore.Builder b) {
        return (int) Math.max(1, (b.timeout.toMillis() + 999) / 1000);
    }

    /** The probe's own bound: short, so a frozen server is retried often and its return is seen soon. */
    private static int probeSeconds(JdbcSessionStore.Builder b) {
        return Math.min(2, timeoutSeconds(b));
    }

    private static Properties driverProperties(JdbcSessionStore.Builder b, Dialect d, int seconds) {
        Properties p = new Properties();
        if (b.username != null) {
            p.setProperty("user", b.username);
            if (b.password != null) {
                p.setProperty("password", b.password);
            }
        }
        if (d == Dialect.POSTGRESQL) {
            p.setProperty("connectTimeout", Integer.toString(seconds));
            p.setProperty("loginTimeout", Integer.toString(seconds));
            p.setProperty("socketTimeout", Integer.toString(seconds));
            p.setProperty("tcpKeepAlive", "true");
            p.setProperty("ApplicationName", "usher-session");
            if (!b.synchronousCommit) {
                p.setProperty("options", "-c synchronous_commit=off");
            }
        }
        return p;
    }

    private static HikariConfig poolConfig(JdbcSessionStore.Builder b, String name, int size) {
        HikariConfig config = new HikariConfig();
        config.setPoolName(name);
        config.setJdbcUrl(b.jdbcUrl);
        if (b.username != null) {
            config.setUsername(b.username);
            config.setPassword(b.password);
        }
        config.setMaximumPoolSize(size);
        config.setMinimumIdle(1);
        config.setConnectionTimeout(b.timeout.toMillis());
        config.setValidationTimeout(Math.max(250, b.timeout.toMillis() / 2));
        // Connect lazily: start() reaches the database next and reports a failure as StoreUnavailableException.
        config.setInitializationFailTimeout(-1);
        return config;
    }

    private static HikariConfig sqliteConfig(JdbcSessionStore.Builder b, HikariConfig config) {
        config.addDataSourceProperty("journal_mode", "WAL");
        config.addDataSourceProperty("synchronous", "NORMAL");
        config.addDataSourceProperty("busy_timeout", Long.toString(b.timeout.toMillis()));
        // A transaction that read first and then writes must upgrade its lock, and SQLite answers a lost
        // upgrade with "database is locked" at once, whatever the busy timeout. IMMEDIATE takes the write
        // lock at BEGIN instead, where the busy timeout applies. The store's own writes are single
        // autocommit statements, which start without a read snapshot and so wait the same way.
        config.addDataSourceProperty("transaction_mode", "IMMEDIATE");
        return config;
    }
}
