package dev.usher.session.jdbc;

import dev.usher.session.SessionStoreException;
import dev.usher.session.jdbc.JdbcSessionStore.Dialect;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.sql.Connection;
import java.sql.DatabaseMetaData;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Creates and versions the store's tables, and checks the engine and the table when the store starts. Each version's DDL is a classpath resource written for the
 * default table name {@code usher_session}, so a host that runs its own migrations can apply the very
 * same file. Applied versions are recorded in {@code <table>_schema_version}. Two stores starting at once
 * are serialised by the database (a transaction-scoped advisory lock on PostgreSQL, {@code BEGIN IMMEDIATE}
 * on SQLite), and the DDL itself is idempotent.
 */
final class Schema {
    /** The schema version this code reads and writes. */
    static final int VERSION = 2;
    static final String DEFAULT_TABLE = "usher_session";

    private static final Logger log = LoggerFactory.getLogger(Schema.class);
    /** "USHR" in the high half of the advisory-lock key keeps it apart from the host's own locks. */
    private static final long ADVISORY_LOCK_TAG = 0x5553_4852L << 32;

    private Schema() {
    }

    /**
     * Checks the engine, then creates or migrates the schema of the store's table, or with
     * {@code createSchema} false only checks that the host made the table with the expected columns.
     */
    static void start(Database db, String probeSql, boolean createSchema) {
        Dialect dialect = db.dialect;
        String table = db.table;
        db.write("start", c -> {
            if (dialect == Dialect.SQLITE) {
                checkSqlite(c, table);
            }
            if (createSchema) {
                migrate(c, dialect, table);
            } else {
                try (Statement st = c.createStatement()) {
                    st.executeQuery(probeSql).close();
                } catch (SQLException e) {
                    if (EngineErrors.isUnavailable(dialect, e)) {
                        throw e;
                    }
                    throw new SessionStoreException("table " + table + " is missing or lacks the expected columns ("
                            + e.getMessage() + "); with createSchema(false) the host applies "
                            + resource(dialect, 1) + " to " + resource(dialect, VERSION) + " first", e);
                }
            }
            return null;
        });
    }

    private static void checkSqlite(Connection c, String table) throws SQLException {
        DatabaseMetaData meta = c.getMetaData();
        int major = meta.getDatabaseMajorVersion();
        int minor = meta.getDatabaseMinorVersion();
        if (major < 3 || (major == 3 && minor < 35)) {
            throw new SessionStoreException("SQLite " + meta.getDatabaseProductVersion()
                    + " is too old: JdbcSessionStore needs 3.35 or later (RETURNING)");
        }
        try (Statement st = c.createStatement(); ResultSet rs = st.executeQuery("PRAGMA journal_mode")) {
            if (rs.next() && !"wal".equalsIgnoreCase(rs.getString(1))) {
                log.warn("SQLite session store {} runs in journal_mode={}, not WAL: readers will wait for writers",
                        table, rs.getString(1));
            }
        }
    }

    /** The classpath resource holding the DDL of {@code version} for {@code dialect}. */
    static String resource(Dialect dialect, int version) {
        String dir = dialect == Dialect.POSTGRESQL ? "postgresql" : "sqlite";
        return "dev/usher/session/jdbc/schema/" + dir + "/V" + version + "__usher_session.sql";
    }

    /** Brings the schema of {@code table} up to {@link #VERSION}; a no-op when it is there already. */
    static void migrate(Connection c, Dialect dialect, String table) throws SQLException {
        long lockKey = ADVISORY_LOCK_TAG | (table.hashCode() & 0xffff_ffffL);
        SerialisedTransaction.run(c, dialect, locking -> SerialisedTransaction.advisoryLock(locking, lockKey),
                () -> {
                    try (Statement st = c.createStatement()) {
                        applyMissing(c, st, dialect, table);
                    }
                    return Boolean.TRUE;
                }, applied -> true);
    }

    private static void applyMissing(Connection c, Statement st, Dialect dialect, String table) throws SQLException {
        String versions = table + "_schema_version";
        st.execute("CREATE TABLE IF NOT EXISTS " + versions
                + " (version INTEGER PRIMARY KEY, applied_at BIGINT NOT NULL)");
        int current;
        try (ResultSet rs = st.executeQuery("SELECT COALESCE(MAX(version), 0) FROM " + versions)) {
            rs.next();
            current = rs.getInt(1);
        }
        if (current > VERSION) {
            throw new SessionStoreException("table " + table + " is at schema version " + current
                    + ", newer than the version " + VERSION + " this library supports; upgrade Usher");
        }
        for (int v = current + 1; v <= VERSION; v++) {
            for (String ddl : statements(dialect, v, table)) {
                st.execute(ddl);
            }
            try (PreparedStatement record = c.prepareStatement(
                    "INSERT INTO " + versions + " (version, applied_at) VALUES (?, ?)")) {
                record.setInt(1, v);
                record.setLong(2, System.currentTimeMillis());
                record.executeUpdate();
            }
            log.info("session table {} migrated to schema version {} ({})", table, v, dialect);
        }
    }

    /** The DDL statements of one version, for {@code table}: comments dropped, split at semicolons. */
    static List<String> statements(Dialect dialect, int version, String table) {
        String name = resource(dialect, version);
        String text;
        try (InputStream in = Schema.class.getClassLoader().getResourceAsStream(name)) {
            if (in == null) {
                throw new IllegalStateException("DDL resource " + name + " is missing from the classpath");
            }
            text = new String(in.readAllBytes(), StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new IllegalStateException("DDL resource " + name + " could not be read", e);
        }
        StringBuilder sql = new StringBuilder();
        for (String line : text.split("\n")) {
            if (!line.strip().startsWith("--")) {
                sql.append(line).append('\n');
            }
        }
        // The table name was validated as [a-z_][a-z0-9_]*, so it is safe to splice in, also as a replacement.
        String renamed = sql.toString().replaceAll("\\b" + DEFAULT_TABLE, table);
        List<String> out = new ArrayList<>();
        for (String statement : renamed.split(";")) {
            if (!statement.isBlank()) {
                out.add(statement.strip());
            }
        }
        return out;
    }
}
