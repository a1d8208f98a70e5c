package dev.usher.session.jdbc;

import dev.usher.session.SessionStoreException;
import dev.usher.session.jdbc.JdbcSessionStore.Dialect;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Creates and versions the store's tables. Each version's DDL is a classpath resource written for the
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
